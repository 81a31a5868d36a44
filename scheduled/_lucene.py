"""Sigma rules as Elasticsearch Lucene queries, through the correlator's own pipeline.

`LuceneRuleConverter` reads rule files with pySigma, applies the Sigma filters found
beside them, and converts each detection rule with pySigma's Elasticsearch Lucene
backend and the logsource pipeline the in-process engine loads (logsources.yml, with
the configured `|expand` placeholders): the same field mapping and the same routing
condition, so a query selects the events the engine routes to the rule.

Sigma matches strings regardless of case (but for `|cased`), and a keyword field in
Elasticsearch compares exactly. With a store (`searchable`), a detection item whose
values are strings (or numbers, booleans, null) searches the field's lower-cased copy
`<field>.caseless` when the store indexes one, with the same query text: Elasticsearch
lower-cases the searched terms and wildcards on it. `|cased` strings search it too,
as plain strings (pySigma's Lucene backend has no case-sensitive match): the engine
re-checks every hit, so a query may find more than the rule matches, never less.
Regular expressions keep the exact field, as case-sensitive as Sigma's `re` (one with
the `i` flag is refused by the Lucene backend, so its rule runs in-process). A Lucene
regular expression matches a whole value and has no anchors, where Sigma's searches
within it: each becomes `.*(...).*`, without the `.*` on an anchored side; one with an
anchor elsewhere (`a|^b`) runs in-process. A Windows `winlog.event_data.<Name>` is also
searched as `winlog.user_data.*.<Name>`, where the engine finds it in an event without
EventData (see correlator/_event_view.py).

A rule that cannot run as a query is never an error here: its `LuceneQuery` carries no
query or a `fallback` reason, and scheduled detection evaluates it in-process instead.
Reasons: pySigma refuses the conversion (field references, some modifiers), the rule is
a correlation, it searches unbound keywords (Lucene searches every field, the engine
`message` and `event.original`), it reads fields the store does not index, it
compares a keyword field with `|lt`/`|gt` (text order, not number order, in Lucene), or
its query is longer than `MAX_QUERY_CHARS` (SigmaHQ's hash lists: thousands of
`*...*` patterns, one search of which takes Elasticsearch minutes), or it tests a
keyword field (e.g. Windows' IpAddress) with `|cidr`, which Lucene matches on ip fields
only.
"""

import copy
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.backends.elasticsearch.elasticsearch_lucene import LuceneBackend
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionAND, ConditionOR
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaFeatureNotSupportedByBackendError
from sigma.filters import SigmaFilter
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
)

from canhgac.correlator import bundled_rules_path, load_logsource_pipeline, rule_id_of

RULE_SUFFIXES = (".yml", ".yaml")

CORRELATION = "a correlation rule: evaluated in-process over the window"
KEYWORDS = (
    "searches unbound keywords: Lucene would search every field, canhgac searches "
    "message and event.original"
)

MAX_QUERY_CHARS = 16_000
"""The longest query sent to Elasticsearch; a longer rule is evaluated in-process."""

CASELESS_SUFFIX = ".caseless"
EVENT_DATA = "winlog.event_data."
USER_DATA_ANY = "winlog.user_data.*."
"""The store's lower-cased copy of a keyword field is the field's name plus this."""

# libyaml's loader when PyYAML has it (thousands of SigmaHQ files).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class LuceneQuery:
    """One rule's Lucene query, or why it has none.

    `query` is None when pySigma could not convert the rule; `fallback` says why the
    rule is evaluated in-process instead (None: the query runs in Elasticsearch).
    """

    rule_id: str | None
    title: str | None
    path: str
    query: str | None
    fallback: str | None
    fields: tuple[str, ...] = ()

    @property
    def searchable(self) -> bool:
        """Whether scheduled detection runs this query in Elasticsearch."""
        return self.query is not None and self.fallback is None


class LuceneRuleConverter:
    """Converts Sigma rule files to `LuceneQuery`s with the correlator's pipeline.

    `searchable` says whether the store indexes an event field (e.g.
    `ElasticsearchStore.searchable_field`); a rule reading another field falls back to
    in-process evaluation. Without it, every field counts as searchable.
    """

    def __init__(
        self,
        *,
        placeholders: Mapping[str, Sequence[str]] | None = None,
        logsources: Path | None = None,
        searchable: Callable[[str], bool] | None = None,
    ) -> None:
        self._placeholders = placeholders
        self._logsources = logsources
        self._searchable = searchable

    def convert_paths(self, paths: Sequence[Path], *, bundled: bool = False) -> list[LuceneQuery]:
        """Every rule under `paths` (files, folders recursively; with `bundled` the rules
        shipped with canhgac first), in file order. Filters in those files apply to the
        rules they name, as in the engine."""
        roots = ([bundled_rules_path()] if bundled else []) + list(paths)
        rules: list[tuple[str, SigmaRule | SigmaCorrelationRule]] = []
        filters: list[SigmaFilter] = []
        results: list[LuceneQuery] = []
        for path in _rule_files(roots, results):
            collection = _read(path, results)
            if collection is None:
                continue
            filters.extend(collection.filters)
            for rule in collection.rules:
                if rule.errors:
                    reason = "; ".join(str(error) for error in rule.errors)
                    results.append(_failed(rule, str(path), f"not a valid rule: {reason}"))
                elif isinstance(rule, SigmaRule | SigmaCorrelationRule):
                    rules.append((str(path), rule))
        pipeline = load_logsource_pipeline(self._logsources, placeholders=self._placeholders)
        # Regular expressions always; lower-cased copies only where the store has them.
        backend = LuceneBackend(pipeline + _lucene_values_pipeline(self._searchable or _nowhere))
        for where, rule in rules:
            if isinstance(rule, SigmaCorrelationRule):
                results.append(_failed(rule, where, CORRELATION))
                continue
            for sigma_filter in filters:
                # pySigma decides whether the filter names the rule and covers its logsource.
                copy.deepcopy(sigma_filter).apply_on_rule(rule)
            results.append(self._convert(backend, rule, where))
        return results

    def _convert(self, backend: LuceneBackend, rule: SigmaRule, path: str) -> LuceneQuery:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                queries = backend.convert_rule(rule)
        except SigmaError as err:
            hint = "; give its values in rules.placeholders" if "placeholder" in str(err) else ""
            return _failed(rule, path, f"pySigma cannot convert it to Lucene: {err}{hint}")
        except NotImplementedError as err:
            # pySigma's way of saying the Lucene backend lacks a feature (e.g. |cased).
            return _failed(rule, path, f"pySigma's Lucene backend cannot express it: {err}")
        texts = [str(query) for query in queries]
        if not texts:
            return _failed(rule, path, "pySigma gave no Lucene query for it")
        query = texts[0] if len(texts) == 1 else " OR ".join(f"({text})" for text in texts)
        # The backend applied the pipeline to the rule: its fields are the ECS names now.
        items = list(_items(rule.detection.detections.values()))
        found = {_base_name(item.field) for item in items}
        named = sorted(field for field in found if field is not None)
        fallback: str | None = None
        if None in found:
            fallback = KEYWORDS
        elif self._searchable is not None:
            searchable = self._searchable
            hidden = [f for f in named if not searchable(f)]
            ordered = sorted(
                {
                    item.field
                    for item in items
                    if item.field is not None
                    and searchable(item.field + CASELESS_SUFFIX)
                    and any(isinstance(v, SigmaCompareExpression) for v in item.value)
                }
            )
            networks = sorted(
                {
                    item.field
                    for item in items
                    if item.field is not None
                    and searchable(item.field + CASELESS_SUFFIX)
                    and any(isinstance(v, SigmaCIDRExpression) for v in item.value)
                }
            )
            if hidden:
                fallback = (
                    "reads fields the Elasticsearch store keeps but does not index "
                    f"({', '.join(hidden)}): evaluated in-process over the window"
                )
            elif len(query) > MAX_QUERY_CHARS:
                fallback = (
                    f"its Lucene query has {len(query)} characters, more than one search "
                    f"should carry ({MAX_QUERY_CHARS}): evaluated in-process over the window"
                )
            elif networks:
                fallback = (
                    f"tests keyword fields with |cidr ({', '.join(networks)}), which Lucene "
                    "matches on ip fields only: evaluated in-process over the window"
                )
            elif ordered:
                fallback = (
                    f"compares keyword fields with |lt/|gt ({', '.join(ordered)}), which "
                    "Lucene orders as text: evaluated in-process over the window"
                )
        return LuceneQuery(
            rule_id_of(rule),
            rule.title,
            path,
            query,
            fallback,
            tuple(named),
        )


def _items(detections: Iterable[SigmaDetection]) -> Iterator[SigmaDetectionItem]:
    for detection in detections:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetectionItem):
                yield item
            else:
                yield from _items([item])


def _base_name(name: str | None) -> str | None:
    """The event field a (possibly `.caseless`, or UserData) query field reads."""
    if name is not None and name.endswith(CASELESS_SUFFIX):
        name = name[: -len(CASELESS_SUFFIX)]
    if name is not None and name.startswith(USER_DATA_ANY):
        name = EVENT_DATA + name[len(USER_DATA_ANY) :]
    return name


# Values the lower-cased copy finds whenever Sigma matches them (strings, cased or not)
# or that have no letters.
_CASELESS_VALUES = (SigmaString, SigmaNumber, SigmaBool, SigmaNull)


def _flat(values: Sequence[SigmaType]) -> Iterator[SigmaType]:
    """The values, those of expansions (`|windash`) included."""
    for value in values:
        if isinstance(value, SigmaExpansion):
            yield from _flat(value.values)
        else:
            yield value


def _matches_caselessly(values: Sequence[SigmaType]) -> bool:
    return any(isinstance(v, SigmaString) for v in _flat(values)) and all(
        isinstance(v, _CASELESS_VALUES) for v in _flat(values)
    )


def _uncased(value: SigmaType) -> SigmaType:
    """A `|cased` string as a plain one (same parts): the query over-matches, the engine
    re-checks."""
    if isinstance(value, SigmaExpansion):
        return SigmaExpansion([_uncased(v) for v in value.values])
    if not isinstance(value, SigmaCasedString):
        return value
    plain = SigmaString(value.original)
    plain.s = value.s
    return plain


def _nowhere(_name: str) -> bool:
    return False


@dataclass
class _LuceneValues(DetectionItemTransformation):
    """Writes a regular expression as a search within a value, and points a detection
    item of strings at the field's `.caseless` copy where the store indexes one."""

    searchable: Callable[[str], bool] = field(default=_nowhere)

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetection | SigmaDetectionItem | None:
        name = detection_item.field
        if name is None or name.endswith(CASELESS_SUFFIX) or name.startswith(USER_DATA_ANY):
            return None
        if any(isinstance(v, SigmaRegularExpression) for v in detection_item.value):
            detection_item.value = [_searching(v) for v in detection_item.value]
        elif _matches_caselessly(detection_item.value) and self.searchable(name + CASELESS_SUFFIX):
            detection_item.field = name + CASELESS_SUFFIX
            detection_item.value = [_uncased(v) for v in detection_item.value]
        self.processing_item_applied(detection_item)
        if self.searchable is _nowhere or not name.startswith(EVENT_DATA):
            return None
        # The engine reads a missing EventData name from UserData: search both (for
        # `null`, missing from both).
        user_data = copy.deepcopy(detection_item)
        user_data.field = USER_DATA_ANY + (detection_item.field or "")[len(EVENT_DATA) :]
        null = any(isinstance(v, SigmaNull) for v in detection_item.value)
        linking = ConditionAND if null else ConditionOR
        return SigmaDetection([detection_item, user_data], item_linking=linking)


def _searching(value: SigmaType) -> SigmaType:
    """A regular expression as Lucene must write a search within a value."""
    if not isinstance(value, SigmaRegularExpression):
        return value
    pattern = value.regexp.to_plain()
    start = pattern.startswith("^")
    end = pattern.endswith("$") and not _escaped_at(pattern, len(pattern) - 1)
    core = pattern[1 if start else 0 : len(pattern) - 1 if end else len(pattern)]
    if _has_anchor(core):
        raise SigmaFeatureNotSupportedByBackendError(
            f"the regular expression {pattern!r} has an anchor Lucene cannot express"
        )
    lucene = ("" if start else ".*") + f"({core})" + ("" if end else ".*")
    searched = SigmaRegularExpression(lucene)
    searched.flags = set(value.flags)
    return searched


def _escaped_at(pattern: str, index: int) -> bool:
    backslashes = len(pattern[:index]) - len(pattern[:index].rstrip("\\"))
    return backslashes % 2 == 1


def _has_anchor(pattern: str) -> bool:
    """Whether `^` or `$` stand as anchors (not escaped, not in a character class)."""
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # `[]...]` and `[^]...]`: a leading `]` is a member.
            if pattern[index + 1 : index + 2] == "^":
                index += 1
            if pattern[index + 1 : index + 2] == "]":
                index += 1
        elif char in "^$":
            return True
        index += 1
    return False


def _lucene_values_pipeline(searchable: Callable[[str], bool]) -> ProcessingPipeline:
    """Applied after the logsource pipeline, routing conditions included."""
    return ProcessingPipeline(
        name="canhgac lucene values",
        priority=100,
        items=[
            ProcessingItem(
                identifier="canhgac_lucene_values",
                transformation=_LuceneValues(searchable=searchable),
            )
        ],
    )


def _failed(
    rule: SigmaRule | SigmaCorrelationRule | SigmaFilter, path: str, why: str
) -> LuceneQuery:
    rule_id = rule_id_of(rule) if rule.title or rule.id is not None or rule.name else None
    return LuceneQuery(rule_id, rule.title or None, path, None, why)


def _rule_files(roots: Sequence[Path], results: list[LuceneQuery]) -> list[Path]:
    files: dict[Path, Path] = {}
    for root in roots:
        if root.is_dir():
            found = sorted(
                path
                for path in root.rglob("*")
                if path.suffix in RULE_SUFFIXES
                and path.is_file()
                and not any(part.startswith(".") for part in path.relative_to(root).parts)
            )
        elif root.is_file():
            found = [root]
        else:
            results.append(LuceneQuery(None, None, str(root), None, "no such file or folder"))
            continue
        for path in found:
            files.setdefault(path.resolve(), path)
    return list(files.values())


def _read(path: Path, results: list[LuceneQuery]) -> SigmaCollection | None:
    try:
        documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER))
        return SigmaCollection.from_dicts(
            documents, collect_errors=True, collect_filters=True, resolve_references=False
        )
    except (OSError, UnicodeDecodeError, yaml.YAMLError, SigmaError) as err:
        results.append(LuceneQuery(None, None, str(path), None, f"cannot read the file: {err}"))
    except (AttributeError, TypeError) as err:
        # pySigma fails this way on a YAML document that is not a mapping.
        results.append(LuceneQuery(None, None, str(path), None, f"not a Sigma rule: {err}"))
    return None
