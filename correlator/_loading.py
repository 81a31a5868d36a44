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
- Sigma filters are reported as unsupported for now.
- A rule whose logsource the pipeline routes nowhere is loaded (see
  `RuleSet.unrouted`); that is a health note, not an error.

A detection rule referenced by a correlation with `generate: false` (Sigma's default)
raises no alerts of its own, even if that correlation could not be loaded: the rule's
author meant it as a building block.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation, SigmaRuleNotFoundError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule, SigmaRuleBase

from canhgac.correlator._compile import CompiledRule, compile_rule
from canhgac.correlator._correlation import CompiledCorrelation, compile_correlation
from canhgac.correlator._errors import RuleCompileError, sigma_error_message
from canhgac.correlator._logsources import load_logsource_pipeline, routing_detection_names
from canhgac.correlator._rule_info import rule_id_of, rule_path_of

RULE_SUFFIXES = (".yml", ".yaml")

AnyRule = SigmaRule | SigmaCorrelationRule

CYCLE = "its rule references form a cycle (directly or through a rule it references)"


@dataclass(frozen=True, slots=True)
class RuleLoadError:
    """A file or rule that was not loaded: where, which rule (title, when known), why."""

    path: str
    rule: str | None
    reason: str

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


def _read_rule_file(path: Path, errors: list[RuleLoadError]) -> list[AnyRule]:
    """The usable rules of one file; errors of the file and its rules go to `errors`."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        errors.append(RuleLoadError(where, None, f"cannot read the file: {err}"))
        return []
    try:
        collection = SigmaCollection.from_yaml(
            text,
            collect_errors=True,
            source=SigmaRuleLocation(path),
            collect_filters=True,
            resolve_references=False,
        )
    except yaml.YAMLError as err:
        errors.append(RuleLoadError(where, None, f"invalid YAML: {err}"))
        return []
    except SigmaError as err:
        errors.append(RuleLoadError(where, None, sigma_error_message(err)))
        return []
    except (AttributeError, TypeError) as err:
        # pySigma fails this way on a YAML document that is not a mapping.
        errors.append(RuleLoadError(where, None, f"not a Sigma rule (a YAML mapping): {err}"))
        return []
    for sigma_filter in collection.filters:
        errors.append(RuleLoadError(where, _label(sigma_filter), "unsupported: Sigma filters"))
    rule_errors = {id(error) for rule in collection.rules for error in rule.errors}
    for error in collection.errors:
        if id(error) not in rule_errors:
            errors.append(RuleLoadError(where, None, sigma_error_message(error)))
    usable: list[AnyRule] = []
    for rule in collection.rules:
        if rule.errors:
            reason = "; ".join(sigma_error_message(error) for error in rule.errors)
            errors.append(RuleLoadError(where, _label(rule), reason))
        else:
            usable.append(rule)
    return usable


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
            errors.append(RuleLoadError(path or "", _label(rule), reason))
            continue
        if rule.name is not None and rule.name in names:
            errors.append(
                RuleLoadError(
                    path or "",
                    _label(rule),
                    f"duplicate rule name {rule.name!r}: already loaded from {names[rule.name]}",
                )
            )
            continue
        ids[rule_id] = path
        if rule.name is not None:
            names[rule.name] = path
        kept.append(rule)
    return kept


def _error(rule: SigmaRuleBase, reason: str) -> RuleLoadError:
    return RuleLoadError(rule_path_of(rule) or "", _label(rule), reason)


def _compile_detection_rules(
    rules: list[SigmaRule], pipeline: ProcessingPipeline, errors: list[RuleLoadError]
) -> dict[str, CompiledRule]:
    routing = routing_detection_names(pipeline)
    compiled: dict[str, CompiledRule] = {}
    for rule in rules:
        try:
            pipeline.apply(rule)
            compiled[rule_id_of(rule)] = compile_rule(rule, routing_names=routing)
        except SigmaError as err:
            errors.append(_error(rule, sigma_error_message(err)))
        except RuleCompileError as err:
            errors.append(_error(rule, str(err)))
    return compiled


def _references(
    correlation: SigmaCorrelationRule, lookup: SigmaCollection
) -> list[tuple[str, AnyRule | None]]:
    """Each referenced name or id, with the rule it names (None when there is none)."""
    found: list[tuple[str, AnyRule | None]] = []
    for reference in correlation.rules or ():
        target: AnyRule | None = None
        if isinstance(reference.reference, str):  # pySigma reads an int as a list position
            try:
                target = lookup[reference.reference]
            except SigmaRuleNotFoundError:
                target = None
        found.append((str(reference.reference), target))
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
        if correlation.rules is None:
            failed.add(rule_id)
            errors.append(_error(correlation, "unsupported: extended (boolean) conditions"))
            continue
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
    paths: Sequence[Path | str], *, bundled: bool = True, logsources: Path | None = None
) -> RuleSet:
    """Load and compile Sigma rules from files and folders (recursively, *.yml/*.yaml).

    `bundled` adds the rules shipped with canhgac, first. `logsources` replaces the
    shipped logsource pipeline (correlator/logsources.yml). Problems with rules are
    returned in `RuleSet.errors`; only an unusable logsource pipeline raises
    (LogsourceConfigError).
    """
    pipeline = load_logsource_pipeline(logsources)
    errors: list[RuleLoadError] = []
    roots = ([bundled_rules_path()] if bundled else []) + [Path(path) for path in paths]
    parsed: list[AnyRule] = []
    for path in _rule_files(roots, errors):
        parsed.extend(_read_rule_file(path, errors))
    kept = _without_duplicates(parsed, errors)
    detection_rules = [rule for rule in kept if isinstance(rule, SigmaRule)]
    compiled_rules = _compile_detection_rules(detection_rules, pipeline, errors)
    failed = {rule_id_of(rule) for rule in detection_rules} - set(compiled_rules)
    lookup = SigmaCollection(init_rules=list(kept), resolve_references=False)
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
    return RuleSet(rules=rules, correlations=tuple(correlations), errors=tuple(errors))
