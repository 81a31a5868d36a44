"""Logsource routing and field mapping: one pySigma processing pipeline (logsources.yml).

The pipeline is the single description of which events a rule of a logsource sees and
how its field names map to ECS. For each logsource it holds

- `field_name_mapping` items (e.g. the SigmaHQ webserver taxonomy's `cs-uri-query` →
  `url.query`), and
- one `add_condition` item, the routing condition (e.g. `event.dataset` is
  `nginx.access` or `apache.access`), which pySigma adds to the rule's condition.

Because routing is an ordinary Sigma condition inside the rule, a backend that converts
the rules with the same pipeline (pySigma's Lucene backend for Elasticsearch) selects
the same events. This engine derives from it an index (routing key → rules, see
`_routing`), so an event is only tested against the rules of its own logsource; a key
may combine fields (Windows: channel and event id).

Routing conditions must be plain values of one or more fields, OR-ed (a list of
mappings) or AND-ed (one mapping); their names must start with "_" so that a rule's
`1 of them` / `all of them` does not count them (pySigma skips such names), and be
unique. `|expand` placeholder values are added to the pipeline here too.
"""

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    AddConditionTransformation,
    ValueListPlaceholderTransformation,
)
from sigma.rule import SigmaDetection, SigmaDetections

from canhgac.correlator._errors import LogsourceConfigError
from canhgac.correlator._routing import exact_terms

PLACEHOLDER_ITEM_ID = "canhgac_placeholders"


def default_logsources_path() -> Path:
    """The logsources.yml shipped beside this module (also inside an installed wheel)."""
    return Path(__file__).parent / "logsources.yml"


def load_logsource_pipeline(
    path: Path | None = None, *, placeholders: Mapping[str, Sequence[str]] | None = None
) -> ProcessingPipeline:
    """Read the routing pipeline; a fresh object per call, since pySigma keeps state in it.

    `placeholders` gives the values of the rules' `|expand` placeholders (name without
    the percent signs → values); a value may hold Sigma wildcards (`srv-*`). They become
    the pipeline's variables, expanded by pySigma's value-list placeholder transformation
    before anything else, so a backend converting with this pipeline expands them alike.

    Raises LogsourceConfigError when the file is missing, is not a valid pySigma
    pipeline, or holds a routing condition the engine cannot index.
    """
    source = path if path is not None else default_logsources_path()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as err:
        raise LogsourceConfigError(f"cannot read the logsource pipeline {source}: {err}") from err
    try:
        with warnings.catch_warnings():
            # pySigma 1.5 parses `rule_cond_expr` with a pyparsing call it deprecated.
            warnings.simplefilter("ignore", DeprecationWarning)
            pipeline = ProcessingPipeline.from_yaml(text)
    except (SigmaError, yaml.YAMLError) as err:
        raise LogsourceConfigError(f"{source} is not a valid pySigma pipeline: {err}") from err
    except (AttributeError, TypeError) as err:
        # pySigma fails this way on a document that is not a mapping of the right shape.
        raise LogsourceConfigError(
            f"{source} is not a pySigma pipeline (a mapping with 'transformations'): {err}"
        ) from err
    _check_routing_conditions(pipeline, source)
    if not placeholders:
        return pipeline
    return _with_placeholders(pipeline, placeholders)


def _with_placeholders(
    pipeline: ProcessingPipeline, placeholders: Mapping[str, Sequence[str]]
) -> ProcessingPipeline:
    values: dict[str, list[str]] = {}
    for name, items in placeholders.items():
        if isinstance(items, str) or not all(isinstance(item, str) for item in items):
            raise LogsourceConfigError(
                f"placeholder {name!r}: give a list of strings, e.g. {name}: ['srv-*']"
            )
        if not items:
            raise LogsourceConfigError(f"placeholder {name!r} has no values")
        values[name] = list(items)
    expand = ProcessingItem(
        ValueListPlaceholderTransformation(include=sorted(values)),
        identifier=PLACEHOLDER_ITEM_ID,
    )
    combined = ProcessingPipeline(items=[expand], vars=values) + pipeline
    combined.name = pipeline.name
    combined.priority = pipeline.priority
    return combined


def _routing_transformations(pipeline: ProcessingPipeline) -> list[AddConditionTransformation]:
    return [
        item.transformation
        for item in pipeline.items
        if isinstance(item.transformation, AddConditionTransformation)
    ]


def routing_detection_names(pipeline: ProcessingPipeline) -> frozenset[str]:
    """The names of the detections the pipeline's routing conditions add to rules."""
    return frozenset(t.name for t in _routing_transformations(pipeline))


def routing_fields(pipeline: ProcessingPipeline) -> frozenset[str]:
    """The fields the routing conditions test: the fields the routing index is keyed on."""
    fields: set[str] = set()
    for transformation in _routing_transformations(pipeline):
        # pySigma types it as a mapping; a YAML list of mappings (an OR) also comes here.
        conditions: object = transformation.conditions
        for item in conditions if isinstance(conditions, list) else [conditions]:
            if isinstance(item, dict):
                fields.update(str(key).split("|")[0] for key in item)
    return frozenset(fields)


def _check_routing_conditions(pipeline: ProcessingPipeline, source: Path) -> None:
    names: set[str] = set()
    for transformation in _routing_transformations(pipeline):
        where = f"{source}: routing condition {transformation.name!r}"
        if not transformation.name.startswith("_"):
            raise LogsourceConfigError(
                f"{where}: its name must start with '_' so that '1 of them' ignores it"
            )
        if transformation.name in names:
            raise LogsourceConfigError(f"{where}: the name is used twice; give each its own")
        names.add(transformation.name)
        if transformation.negated:
            raise LogsourceConfigError(f"{where}: a negated condition cannot route events")
        if transformation.template:
            raise LogsourceConfigError(f"{where}: templates cannot be indexed; write the values")
        try:
            detection = SigmaDetection.from_definition(transformation.conditions)
            detections = SigmaDetections({transformation.name: detection}, [transformation.name])
            tree = detections.parsed_condition[0].parse()
        except SigmaError as err:
            raise LogsourceConfigError(f"{where}: {err}") from err
        if tree is None or exact_terms(tree) is None:
            raise LogsourceConfigError(
                f"{where}: use plain values of fields (no wildcards or modifiers)"
            )
