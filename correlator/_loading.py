"""Loading Sigma rules from files and folders into a compiled `RuleSet`.

Rules are read only through pySigma (`SigmaCollection`), with its error collection
on, so that one bad rule never stops the others: every rule that cannot be used
becomes a `RuleLoadError` naming its file, its title and why, and is skipped.

What is reported, and how much it costs:

- A file pySigma cannot read at all (broken YAML, a correlation condition it rejects
  outright, a document that is not a mapping) costs the whole file: one error for it.
- A rule pySigma reports errors for (unknown modifier, missing title, bad regex...),
  a rule that uses a feature this engine does not evaluate ("unsupported: ..."), a
  second rule with an id (or name) already loaded, a correlation whose references are
  missing, failed, or circular: one error each, and only that rule is skipped.
- A Sigma filter (a `filter:` document) is applied to the rules it names (by id or
  name; `rules: any` or an empty list: every rule whose logsource it covers): an event
  it selects is excluded from those rules. A filter naming a rule that is not loaded,
  or one whose logsource does not cover a named rule's, or that cannot be evaluated,
  is reported and skipped as a whole (so no rule is silently filtered less than
  written). Filters are applied before the logsource pipeline, so their fields are
  mapped like the rule's own.
- A rule whose logsource the pipeline routes nowhere is loaded (see
  `RuleSet.unrouted`); that is a health note, not an error.

A detection rule referenced by a correlation with `generate: false` (Sigma's default)
raises no alerts of its own, even if that correlation could not be loaded: the rule's
author meant it as a building block.
"""

import copy
import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule, SigmaExtendedCorrelationCondition
from sigma.exceptions import SigmaError, SigmaRuleLocation, SigmaRuleNotFoundError
from sigma.filters import SigmaFilter
from sigma.modifiers import SigmaWideModifier, modifier_mapping
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaDetections, SigmaRule, SigmaRuleBase

from canhgac.correlator._compile import CompiledRule, compile_rule
from canhgac.correlator._correlation import (
    CompiledCorrelation,
    compile_correlation,
    readable_correlation_document,
)
from canhgac.correlator._errors import RuleCompileError, sigma_error_message
from canhgac.correlator._logsources import (
    load_logsource_pipeline,
    routing_detection_names,
    routing_fields,
)
from canhgac.correlator._matchers import PLACEHOLDER_WITHOUT_VALUES
from canhgac.correlator._rule_info import rule_id_of, rule_path_of

RULE_SUFFIXES = (".yml", ".yaml")

AnyRule = SigmaRule | SigmaCorrelationRule

# libyaml's safe loader when PyYAML was built with it, else the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CYCLE = "its rule references form a cycle (directly or through a rule it references)"


@dataclass(frozen=True, slots=True)
class RuleLoadError:
    """A file or rule that was not loaded: where, which rule (title, when known), why.

    `rule_id` is the rule's Sigma id when pySigma could read it.
    """

    path: str
    rule: str | None
    reason: str
    rule_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}: {self.rule}" if self.rule else self.path
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The compiled rules, ready for a `Correlator`, and what could not be loaded.

    `rules` are the detection rules in load order; `correlations` are ordered so that a
    correlation comes after every correlation it references.
    """

    rules: tuple[CompiledRule, ...]
    correlations: tuple[CompiledCorrelation, ...]
    errors: tuple[RuleLoadError, ...]
    unconfigured: tuple[RuleLoadError, ...] = ()
    """Bundled rules waiting for a placeholder's values (e.g. the block list), skipped
    until an admin configures them: not errors, but shown with the reason in health."""

    @property
    def unrouted(self) -> tuple[CompiledRule, ...]:
        """Detection rules no event is routed to: "no events routed to this logsource"."""
        return tuple(rule for rule in self.rules if not rule.routed)


def bundled_rules_path() -> Path:
    """The rules shipped with canhgac (the repository's rules/ folder, canhgac/rules when
    installed); not resolved, so the development symlink keeps pointing at the repo."""
    return Path(__file__).parent.parent / "rules"


def _label(rule: SigmaRuleBase) -> str | None:
    if rule.title:
        return rule.title
    if rule.id is not None:
        return str(rule.id)
    return rule.name


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _rule_files(roots: Sequence[Path], errors: list[RuleLoadError]) -> list[Path]:
    """Rule files under the roots (folders recursively, hidden ones skipped), each once."""
    files: dict[Path, Path] = {}
    for root in roots:
        if root.is_dir():
            found = sorted(
                path
                for path in root.rglob("*")
                if path.suffix in RULE_SUFFIXES and path.is_file() and not _is_hidden(path, root)
            )
        elif root.is_file():
            found = [root]
        else:
            errors.append(RuleLoadError(str(root), None, "no such file or folder"))
            continue
        for path in found:
            files.setdefault(path.resolve(), path)
    return list(files.values())


def _read_rule_file(
    path: Path, errors: list[RuleLoadError]
) -> tuple[list[AnyRule], list[SigmaFilter]]:
    """The usable rules and filters of one file; errors of the file and its rules go to
    `errors`."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        errors.append(RuleLoadError(where, None, f"cannot read the file: {err}"))
        return [], []
    try:
        # As from_yaml reads, with correlation documents passed through
        # readable_correlation_document.
        # libyaml's loader when PyYAML has it: the pure-Python one is most of the load time.
        collection = SigmaCollection.from_dicts(
            [
                readable_correlation_document(document)
                for document in yaml.load_all(text, Loader=_YAML_LOADER)
            ],
            collect_errors=True,
            source=SigmaRuleLocation(path),
            collect_filters=True,
            resolve_references=False,
        )
    except yaml.YAMLError as err:
        errors.append(RuleLoadError(where, None, f"invalid YAML: {err}"))
        return [], []
    except SigmaError as err:
        errors.append(RuleLoadError(where, None, sigma_error_message(err)))
        return [], []
    except (AttributeError, TypeError) as err:
        # pySigma fails this way on a YAML document that is not a mapping.
        errors.append(RuleLoadError(where, None, f"not a Sigma rule (a YAML mapping): {err}"))
        return [], []
    documents: list[AnyRule | SigmaFilter] = [*collection.rules, *collection.filters]
    rule_errors = {id(error) for rule in documents for error in rule.errors}
    for error in collection.errors:
        if id(error) not in rule_errors:
            errors.append(RuleLoadError(where, None, sigma_error_message(error)))
    usable: list[AnyRule] = []
    filters: list[SigmaFilter] = []
    for rule in documents:
        if rule.errors:
            reason = "; ".join(sigma_error_message(error) for error in rule.errors)
            errors.append(_error(rule, reason, where))
        elif isinstance(rule, SigmaFilter):
            filters.append(rule)
        else:
            usable.append(rule)
    return usable, filters


def _without_duplicates(rules: list[AnyRule], errors: list[RuleLoadError]) -> list[AnyRule]:
    """Drop a rule whose id (or name) an earlier rule already has."""
    ids: dict[str, str | None] = {}
    names: dict[str, str | None] = {}
    kept: list[AnyRule] = []
    for rule in rules:
        rule_id = rule_id_of(rule)
        path = rule_path_of(rule)
        if rule_id in ids:
            what = f"rule id {rule_id}" if rule.id is not None else "name or title (and no id)"
            reason = f"duplicate {what}: already loaded from {ids[rule_id]}"
            errors.append(_error(rule, reason))
            continue
        if rule.name is not None and rule.name in names:
            reason = f"duplicate rule name {rule.name!r}: already loaded from {names[rule.name]}"
            errors.append(_error(rule, reason))
            continue
        ids[rule_id] = path
        if rule.name is not None:
            names[rule.name] = path
        kept.append(rule)
    return kept


def _error(rule: SigmaRuleBase, reason: str, path: str | None = None) -> RuleLoadError:
    return RuleLoadError(
        path if path is not None else rule_path_of(rule) or "",
        _label(rule),
        reason,
        str(rule.id) if rule.id is not None else None,
    )


def _register_spec_modifiers() -> None:
    """Teach pySigma the modifier names of the Sigma 2 specification it lacks.

    The specification names `utf16le` and says `wide` is its alias; pySigma 1.5 only
    knows `wide`. Its modifier table is the registry rule parsing reads, so the alias
    goes there (idempotent, and a pySigma that knows the name keeps its own).
    """
    modifier_mapping.setdefault("utf16le", SigmaWideModifier)


def _filter_targets(
    sigma_filter: SigmaFilter, rules: list[SigmaRule], lookup: SigmaCollection
) -> list[SigmaRule] | str:
    """The rules a filter applies to, or why it cannot be applied."""
    references = sigma_filter.filter.rules
    if isinstance(references, str):  # "any": every rule whose logsource it covers
        return [rule for rule in rules if rule.logsource in sigma_filter.logsource]
    targets: list[SigmaRule] = []
    for reference in references:
        try:
            target = lookup[str(reference.reference)]
        except SigmaRuleNotFoundError:
            return f"names rule {reference.reference!r}, which is not loaded"
        if not isinstance(target, SigmaRule):
            return f"names {reference.reference!r}, a correlation: filters apply to detections"
        if target.logsource not in sigma_filter.logsource:
            return (
                f"its logsource ({sigma_filter.logsource}) does not cover the logsource "
                f"of rule {reference.reference!r} ({target.logsource})"
            )
        targets.append(target)
    return targets


def _check_filter(sigma_filter: SigmaFilter, pipeline: ProcessingPipeline) -> None:
    """Compile the filter's own condition, so a filter the engine cannot evaluate is
    reported as the filter's problem, not as one of every rule it names."""
    probe = SigmaRule(
        title=sigma_filter.title,
        logsource=copy.deepcopy(sigma_filter.logsource),
        detection=SigmaDetections(
            copy.deepcopy(sigma_filter.filter.detections), list(sigma_filter.filter.condition)
        ),
    )
    pipeline.apply(probe)
    compile_rule(probe)


def _apply_filters(
    filters: list[SigmaFilter],
    rules: list[SigmaRule],
    lookup: SigmaCollection,
    pipeline: ProcessingPipeline,
    errors: list[RuleLoadError],
) -> None:
    """Add each usable filter's condition to the rules it names (see the module doc)."""
    for sigma_filter in filters:
        targets = _filter_targets(sigma_filter, rules, lookup)
        if isinstance(targets, str):
            errors.append(_error(sigma_filter, targets))
            continue
        try:
            _check_filter(sigma_filter, pipeline)
        except SigmaError as err:
            errors.append(_error(sigma_filter, sigma_error_message(err)))
            continue
        except RuleCompileError as err:
            errors.append(_error(sigma_filter, str(err)))
            continue
        for rule in targets:
            # Each rule gets its own copy: the pipeline maps field names in place.
            copy.deepcopy(sigma_filter).apply_on_rule(rule)


def _compile_detection_rules(
    rules: list[SigmaRule], pipeline: ProcessingPipeline, errors: list[RuleLoadError]
) -> dict[str, CompiledRule]:
    routing = routing_detection_names(pipeline)
    fields = routing_fields(pipeline)
    compiled: dict[str, CompiledRule] = {}
    for rule in rules:
        try:
            pipeline.apply(rule)
            compiled[rule_id_of(rule)] = compile_rule(
                rule, routing_names=routing, index_fields=fields
            )
        except SigmaError as err:
            errors.append(_error(rule, sigma_error_message(err)))
        except RuleCompileError as err:
            errors.append(_error(rule, str(err)))
    return compiled


def _references(
    correlation: SigmaCorrelationRule, lookup: SigmaCollection
) -> list[tuple[str, AnyRule | None]]:
    """Each referenced name or id, with the rule it names (None when there is none).

    Without a `rules` list, the rules named in the extended condition are referenced.
    """
    if correlation.rules is not None:
        names: list[object] = [reference.reference for reference in correlation.rules]
    elif isinstance(correlation.condition, SigmaExtendedCorrelationCondition):
        names = list(correlation.condition.get_referenced_rules())
    else:
        names = []
    found: list[tuple[str, AnyRule | None]] = []
    for name in names:
        target: AnyRule | None = None
        if isinstance(name, str):  # pySigma reads an int as a list position
            try:
                target = lookup[name]
            except SigmaRuleNotFoundError:
                target = None
        found.append((str(name), target))
    return found


def _compile_correlations(
    correlations: list[SigmaCorrelationRule],
    lookup: SigmaCollection,
    failed: set[str],
    pipeline: ProcessingPipeline,
    errors: list[RuleLoadError],
) -> tuple[list[CompiledCorrelation], set[str]]:
    """Compile correlations, referenced ones first; return them and the silenced rule ids."""
    silenced: set[str] = set()
    pending: dict[str, SigmaCorrelationRule] = {}
    targets: dict[str, list[tuple[str, AnyRule | None]]] = {}
    for correlation in correlations:
        rule_id = rule_id_of(correlation)
        pending[rule_id] = correlation
        targets[rule_id] = _references(correlation, lookup)
        if not correlation.generate:
            silenced.update(
                rule_id_of(target)
                for _, target in targets[rule_id]
                if isinstance(target, SigmaRule)
            )
    compiled: list[CompiledCorrelation] = []
    while pending:
        progress = False
        for rule_id, correlation in list(pending.items()):
            references = targets[rule_id]
            if any(rule_id_of(t) in pending for _, t in references if t is not None):
                continue  # wait until the correlations it references are decided
            del pending[rule_id]
            progress = True
            missing = [name for name, t in references if t is None]
            broken = [name for name, t in references if t is not None and rule_id_of(t) in failed]
            if missing:
                reason = f"references rule {missing[0]!r}, which is not loaded"
            elif broken:
                reason = f"references rule {broken[0]!r}, which could not be loaded"
            else:
                try:
                    correlation.resolve_rule_references(lookup)
                    pipeline.apply(correlation)
                    compiled.append(compile_correlation(correlation))
                    continue
                except SigmaError as err:
                    reason = sigma_error_message(err)
                except RuleCompileError as err:
                    reason = str(err)
            failed.add(rule_id)
            errors.append(_error(correlation, reason))
        if not progress:
            for rule_id, correlation in pending.items():
                failed.add(rule_id)
                errors.append(_error(correlation, CYCLE))
            break
    return compiled, silenced


def load_rules(
    paths: Sequence[Path | str],
    *,
    bundled: bool = True,
    logsources: Path | None = None,
    placeholders: Mapping[str, Sequence[str]] | None = None,
) -> RuleSet:
    """Load and compile Sigma rules and filters from files and folders (recursively,
    *.yml/*.yaml).

    `bundled` adds the rules shipped with canhgac, first. `logsources` replaces the
    shipped logsource pipeline (correlator/logsources.yml). `placeholders` gives the
    values of `|expand` placeholders by name (`{"Workstations": ["ws-*"]}`); a rule using
    a placeholder without values is skipped with that reason, as the Sigma
    specification requires. Problems with rules are returned in `RuleSet.errors`; only
    an unusable logsource pipeline or placeholder list raises (LogsourceConfigError).
    """
    _register_spec_modifiers()
    pipeline = load_logsource_pipeline(logsources, placeholders=placeholders)
    roots = ([bundled_rules_path()] if bundled else []) + [Path(path) for path in paths]
    # Loading allocates about a million long-lived objects: every full collection on the
    # way walked them all (2 of the 5 s of loading SigmaHQ's rules) and freed nothing.
    with _collector_paused():
        ruleset = _read_and_compile(roots, pipeline, bundled)
    _retire_loading_objects()
    return ruleset


def _read_and_compile(
    roots: Sequence[Path], pipeline: ProcessingPipeline, bundled: bool
) -> RuleSet:
    """`load_rules` once its pipeline is ready: read, filter and compile every rule."""
    errors: list[RuleLoadError] = []
    parsed: list[AnyRule] = []
    filters: list[SigmaFilter] = []
    for path in _rule_files(roots, errors):
        found, found_filters = _read_rule_file(path, errors)
        parsed.extend(found)
        filters.extend(found_filters)
    kept = _without_duplicates(parsed, errors)
    detection_rules = [rule for rule in kept if isinstance(rule, SigmaRule)]
    lookup = SigmaCollection(init_rules=list(kept), resolve_references=False)
    _apply_filters(filters, detection_rules, lookup, pipeline, errors)
    compiled_rules = _compile_detection_rules(detection_rules, pipeline, errors)
    failed = {rule_id_of(rule) for rule in detection_rules} - set(compiled_rules)
    correlations, silenced = _compile_correlations(
        [rule for rule in kept if isinstance(rule, SigmaCorrelationRule)],
        lookup,
        failed,
        pipeline,
        errors,
    )
    rules = tuple(
        replace(rule, emits_alerts=False) if rule_id in silenced else rule
        for rule_id, rule in compiled_rules.items()
    )
    unconfigured = tuple(e for e in errors if bundled and _awaits_placeholder(e))
    return RuleSet(
        rules=rules,
        correlations=tuple(correlations),
        errors=tuple(e for e in errors if e not in unconfigured),
        unconfigured=unconfigured,
    )


def _awaits_placeholder(error: RuleLoadError) -> bool:
    """A bundled rule skipped only because a placeholder it expands has no values yet."""
    if error.path is None or PLACEHOLDER_WITHOUT_VALUES not in error.reason:
        return False
    bundled = bundled_rules_path().resolve()
    return Path(error.path).resolve().is_relative_to(bundled)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off inside, as it was after (reference counting still
    frees what is dropped)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _retire_loading_objects() -> None:
    """Free pySigma's parse trees now and keep the cyclic collector off what survives.

    The parsed rules are reference cycles (parent links) that only a full collection
    frees, and the compiled rules are hundreds of thousands of closures and tuples that
    every full collection would scan again while events flow (measured: about half of
    the engine's time on the SigmaHQ rule set). `gc.freeze` moves the survivors to the
    permanent generation; they are still freed by reference counting when dropped.
    """
    gc.collect()
    gc.freeze()
