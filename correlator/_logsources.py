"""Logsource routing and field mapping: one pySigma processing pipeline (logsources.yml).

The pipeline is the single description of which events a rule of a logsource sees and
how its field names map to ECS. For each logsource it holds

- `field_name_mapping` items (e.g. the SigmaHQ webserver taxonomy's `cs-uri-query` →
  `url.query`), and
- one `add_condition` item, the routing condition (e.g. `event.dataset` is
  `nginx.access` or `apache.access`), which pySigma adds to the rule's condition.

Because routing is an ordinary Sigma condition inside the rule, a backend that converts
the rules with the same pipeline (pySigma's Lucene backend for Elasticsearch) selects
the same events. This engine evaluates the condition too, and in addition derives from
it an index (field value → rules), so an event is only tested against the rules of its
own logsource.

Routing conditions must be plain values of one or more fields, OR-ed (a list of
mappings) or AND-ed (one mapping); their names must start with "_" so that a rule's
`1 of them` / `all of them` does not count them (pySigma skips such names).
"""

from collections.abc import Collection
from pathlib import Path

import yaml
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionOR,
    ConditionValueExpression,
    SigmaCondition,
)
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation
from sigma.rule import SigmaDetection, SigmaDetections, SigmaRule
from sigma.types import SigmaNumber

from canhgac.correlator._errors import LogsourceConfigError, RuleCompileError
from canhgac.correlator._event_view import scalar_text
from canhgac.correlator._matchers import literal_of

# Routing index keys: (ECS field, lower-case value).
RouteKey = tuple[str, str]

ConditionTree = ConditionItem | ConditionFieldEqualsValueExpression | ConditionValueExpression


def default_logsources_path() -> Path:
    """The logsources.yml shipped beside this module (also inside an installed wheel)."""
    return Path(__file__).parent / "logsources.yml"


def load_logsource_pipeline(path: Path | None = None) -> ProcessingPipeline:
    """Read the routing pipeline; a fresh object per call, since pySigma keeps state in it.

    Raises LogsourceConfigError when the file is missing, is not a valid pySigma
    pipeline, or holds a routing condition the engine cannot index.
    """
    source = path if path is not None else default_logsources_path()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as err:
        raise LogsourceConfigError(f"cannot read the logsource pipeline {source}: {err}") from err
    try:
        pipeline = ProcessingPipeline.from_yaml(text)
    except (SigmaError, yaml.YAMLError) as err:
        raise LogsourceConfigError(f"{source} is not a valid pySigma pipeline: {err}") from err
    except (AttributeError, TypeError) as err:
        # pySigma fails this way on a document that is not a mapping of the right shape.
        raise LogsourceConfigError(
            f"{source} is not a pySigma pipeline (a mapping with 'transformations'): {err}"
        ) from err
    _check_routing_conditions(pipeline, source)
    return pipeline


def _routing_transformations(pipeline: ProcessingPipeline) -> list[AddConditionTransformation]:
    return [
        item.transformation
        for item in pipeline.items
        if isinstance(item.transformation, AddConditionTransformation)
    ]


def routing_detection_names(pipeline: ProcessingPipeline) -> frozenset[str]:
    """The names of the detections the pipeline's routing conditions add to rules."""
    return frozenset(t.name for t in _routing_transformations(pipeline))


def _check_routing_conditions(pipeline: ProcessingPipeline, source: Path) -> None:
    for transformation in _routing_transformations(pipeline):
        where = f"{source}: routing condition {transformation.name!r}"
        if not transformation.name.startswith("_"):
            raise LogsourceConfigError(
                f"{where}: its name must start with '_' so that '1 of them' ignores it"
            )
        if transformation.negated:
            raise LogsourceConfigError(f"{where}: a negated condition cannot route events")
        if transformation.template:
            continue  # values depend on the rule; checked when a rule is compiled
        try:
            detection = SigmaDetection.from_definition(transformation.conditions)
            detections = SigmaDetections({transformation.name: detection}, [transformation.name])
            tree = detections.parsed_condition[0].parse()
        except SigmaError as err:
            raise LogsourceConfigError(f"{where}: {err}") from err
        if tree is None or _route_keys(tree) is None:
            raise LogsourceConfigError(
                f"{where}: use plain values of fields (no wildcards or modifiers)"
            )


def _route_keys(tree: ConditionTree) -> frozenset[RouteKey] | None:
    """Keys of which an event must hold at least one for the tree to match, if any."""
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        value = tree.value
        if isinstance(value, SigmaNumber):
            text = scalar_text(value.number)
            return frozenset({(tree.field, text)}) if text is not None else None
        literal = literal_of(value)
        return frozenset({(tree.field, literal)}) if literal is not None else None
    if isinstance(tree, ConditionOR):
        union: set[RouteKey] = set()
        for arg in tree.args:
            keys = _route_keys(arg) if arg is not None else None
            if keys is None:
                return None
            union |= keys
        return frozenset(union)
    if isinstance(tree, ConditionAND):
        # Any one conjunct is a valid index; the smallest one selects fewest events.
        options = [
            keys for arg in tree.args if arg is not None and (keys := _route_keys(arg)) is not None
        ]
        return min(options, key=len) if options else None
    return None


def route_keys_of(rule: SigmaRule, routing_names: Collection[str]) -> frozenset[RouteKey]:
    """The index keys of a rule the pipeline was applied to; empty when nothing routes to it.

    A rule may carry several routing conditions (all must hold); the most selective
    one is used.
    """
    best: frozenset[RouteKey] | None = None
    for name in sorted(routing_names):
        if name not in rule.detection.detections:
            continue
        try:
            tree = SigmaCondition(name, rule.detection, rule.source).parse()
        except SigmaError as err:
            raise RuleCompileError(f"routing condition {name!r}: {err}") from err
        keys = _route_keys(tree) if tree is not None else None
        if keys is None:
            raise RuleCompileError(
                f"routing condition {name!r} of the logsource pipeline cannot be indexed: "
                "use plain values of fields"
            )
        if best is None or len(keys) < len(best):
            best = keys
    return best if best is not None else frozenset()
