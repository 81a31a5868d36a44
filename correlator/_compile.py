"""Sigma detection rules compiled into Python predicates over an event's fields.

The pySigma condition tree (after the logsource pipeline has mapped fields and added
the routing condition) is walked once, at load time, into nested closures; matching an
event calls them, it never looks at the tree again. To keep the long value lists of
SigmaHQ rules cheap:

- the values an OR tests on one field are merged into one test: plain values into a set
  lookup, `startswith` and `endswith` values into one `str.startswith`/`str.endswith`
  with a tuple, `contains` values into one substring loop;
- the parts of an AND are tested cheapest first (a set lookup before a substring search
  before a regular expression), so that an event is mostly rejected by a cheap test;
- the routing condition is left out of `CompiledRule.body`, which the engine runs only
  on events the routing index selected (and so already satisfy it).
"""

import sys
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
)

from canhgac.correlator._errors import RuleCompileError, sigma_error_message
from canhgac.correlator._event_view import EventView
from canhgac.correlator._field_needs import FieldNeeds, field_groups, field_needs
from canhgac.correlator._matchers import (
    KEYWORD_FIELDS,
    Predicate,
    StringShape,
    field_predicate,
    field_reference_kind,
    keyword_predicate,
    keywords_containing,
    regex_of,
    string_shape,
    substring_search,
    with_surrounding_wildcards,
)
from canhgac.correlator._native_module import native_module
from canhgac.correlator._native_regex import rust_regex
from canhgac.correlator._prefilter import Anchor, anchor_clauses
from canhgac.correlator._routing import (
    ROUTE_KEY_LIMIT,
    ConditionTree,
    RouteKey,
    as_route_keys,
    exact_terms,
    required_terms,
    split_routing,
)
from canhgac.correlator._rule_info import RuleInfo, rule_info
from canhgac.events import Event

if TYPE_CHECKING:
    from canhgac._native import RulePrograms


@dataclass(frozen=True, slots=True)
class Logsource:
    """A rule's Sigma logsource, as written in the rule."""

    category: str | None
    product: str | None
    service: str | None

    def __str__(self) -> str:
        parts = (("category", self.category), ("product", self.product), ("service", self.service))
        return ", ".join(f"{key}: {value}" for key, value in parts if value is not None)


Program = tuple[Any, ...]
"""The same test as a predicate, as tuples the native `RulePrograms` evaluates:
("all", parts), ("any", parts), ("not", part), ("values", field, equals, prefixes,
suffixes, needles) (the field's lower-case text equals, starts with, ends with or
contains one of them), ("fieldref", field, other, kind) (the field's lower-case text
equals, starts with, ends with or contains the other field's: kind "equals",
"startswith", "endswith" or "contains"), ("regex", field, pattern, predicate) (a text of
the field, as it is, holds a match of the Rust `regex` pattern; `_native_regex`),
("exists", field, expected) (Sigma's `exists`), ("null", field) (Sigma's `null`), or
("python", predicate) for any other part."""


def _python(predicate: Predicate) -> Program:
    return ("python", predicate)


def _always(view: EventView) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A detection rule ready to test events.

    `predicate` is the whole condition, routing condition included; `body` leaves the
    routing condition out and is only valid for events the routing index selected.
    `route_keys` are the routing keys (see `RouteKey`) of which an event must hold one
    to be routed to the rule; empty when the logsource pipeline routes no events to the
    rule's logsource. `needs` and `fields` describe the fields the body reads, for rule
    health; `anchor_clauses` are sets of literals of which the body needs one each (see
    `_prefilter`), empty when none are known. `emits_alerts` is False for a rule that
    only feeds correlations (referenced with `generate: false`). `program` is `body`
    for the native evaluator (see `Program`); None: run `body`.
    """

    info: RuleInfo
    logsource: Logsource
    predicate: Predicate
    route_keys: frozenset[RouteKey]
    body: Predicate = _always
    needs: FieldNeeds | None = None
    fields: tuple[tuple[str, ...], ...] = ()
    anchor_clauses: tuple[frozenset[Anchor], ...] = ()
    emits_alerts: bool = True
    program: Program | None = None

    @property
    def anchors(self) -> frozenset[Anchor] | None:
        """The cheapest of `anchor_clauses`, None when there are none."""
        return self.anchor_clauses[0] if self.anchor_clauses else None

    @property
    def routed(self) -> bool:
        """Whether any event can reach this rule."""
        return bool(self.route_keys)

    def matches(self, event: Event) -> bool:
        """Whether the event satisfies the rule's condition (routing condition included)."""
        return self.predicate(EventView(event.fields))


class _Test(NamedTuple):
    """A compiled condition part, a rough relative cost of running it, and its program."""

    predicate: Predicate
    cost: float
    program: Program


def _tested_in_python(predicate: Predicate, cost: float) -> _Test:
    return _Test(predicate, cost, _python(predicate))


def _combined(kind: str, predicate: Predicate, ordered: list[_Test]) -> Program:
    """The program of an AND or OR: one Python leaf when every part is one (one call
    instead of one per part)."""
    if all(test.program[0] == "python" for test in ordered):
        return _python(predicate)
    return (kind, tuple(test.program for test in ordered))


# Rough costs, relative to one set lookup on a cached field.
_COST_PLAIN = 1.0
_COST_AFFIX = 1.5
_COST_NEEDLE = 0.5  # per `contains` value
_COST_WILDCARD = 6.0
_COST_REGEX = 8.0
_COST_KEYWORD = 12.0  # searches the whole original event


def _value_cost(value: SigmaType) -> float:
    if isinstance(value, SigmaExpansion):
        return sum(_value_cost(item) for item in value.values)
    if isinstance(value, SigmaString):
        shape = string_shape(value)
        if shape is None:
            return _COST_WILDCARD
        if shape.kind == "contains":
            return _COST_AFFIX + _COST_NEEDLE
        return _COST_PLAIN if shape.kind in ("equals", "any") else _COST_AFFIX
    if isinstance(value, SigmaRegularExpression):
        return _COST_REGEX
    if isinstance(value, SigmaCIDRExpression | SigmaCompareExpression | SigmaFieldReference):
        return 3.0
    return _COST_PLAIN


def _all_of(tests: list[_Test]) -> _Test:
    """AND, cheapest part first."""
    ordered = sorted(tests, key=lambda test: test.cost)
    predicates = tuple(test.predicate for test in ordered)
    cost = sum(test.cost for test in ordered)
    if len(predicates) == 1:
        return ordered[0]
    predicate: Predicate
    if len(predicates) == 2:
        first, second = predicates
        predicate = lambda view: first(view) and second(view)  # noqa: E731
    elif len(predicates) == 3:
        one, two, three = predicates
        predicate = lambda view: one(view) and two(view) and three(view)  # noqa: E731
    else:

        def every(view: EventView) -> bool:
            # A plain loop: all() over a generator costs ~40% more in this hot path.
            for conjunct in predicates:  # noqa: SIM110
                if not conjunct(view):
                    return False
            return True

        predicate = every

    return _Test(predicate, cost, _combined("all", predicate, ordered))


def _any_of(tests: list[_Test]) -> _Test:
    """OR, cheapest part first."""
    ordered = sorted(tests, key=lambda test: test.cost)
    predicates = tuple(test.predicate for test in ordered)
    cost = sum(test.cost for test in ordered)
    if len(predicates) == 1:
        return ordered[0]
    predicate: Predicate
    if len(predicates) == 2:
        first, second = predicates
        predicate = lambda view: first(view) or second(view)  # noqa: E731
    else:

        def some(view: EventView) -> bool:
            # A plain loop: any() over a generator costs ~40% more in this hot path.
            for alternative in predicates:  # noqa: SIM110
                if alternative(view):
                    return True
            return False

        predicate = some

    return _Test(predicate, cost, _combined("any", predicate, ordered))


@dataclass(slots=True)
class _FieldValues:
    """The case-insensitive plain, prefix, suffix and substring values OR-ed on fields."""

    equals: set[str]
    prefixes: set[str]
    suffixes: set[str]
    needles: list[str]

    def add(self, shape: StringShape) -> None:
        if shape.kind == "equals":
            self.equals.add(shape.text)
        elif shape.kind == "startswith":
            self.prefixes.add(shape.text)
        elif shape.kind == "endswith":
            self.suffixes.add(shape.text)
        elif shape.text not in self.needles:
            self.needles.append(shape.text)

    def test(self, fields: tuple[str, ...]) -> _Test:
        equals = frozenset(self.equals)
        prefixes = tuple(sorted(self.prefixes))
        suffixes = tuple(sorted(self.suffixes))
        needles = tuple(self.needles)
        cost = (
            (_COST_PLAIN if equals else 0.0)
            + (_COST_AFFIX if prefixes else 0.0)
            + (_COST_AFFIX if suffixes else 0.0)
            + (_COST_AFFIX + _COST_NEEDLE * len(needles) if needles else 0.0)
        )
        if fields == KEYWORD_FIELDS and not (equals or prefixes or suffixes):
            return _tested_in_python(keywords_containing(needles), cost)
        if len(fields) == 1 and not (prefixes or suffixes or needles):
            (name,) = fields
            lookup: Predicate = lambda view: not equals.isdisjoint(view[name])  # noqa: E731
            return _Test(lookup, cost, self.program(name))

        search = substring_search(needles) if needles else None

        def predicate(view: EventView) -> bool:
            for name in fields:
                for text in view[name]:
                    if text in equals:
                        return True
                    if prefixes and text.startswith(prefixes):
                        return True
                    if suffixes and text.endswith(suffixes):
                        return True
                    if search is not None:
                        found = search(text)
                        if found or (found is None and any(n in text for n in needles)):
                            return True
            return False

        (name, *others) = fields
        return _Test(predicate, cost, _python(predicate) if others else self.program(name))

    def program(self, name: str) -> Program:
        """The program: field `name` holds one of the values."""
        equals = tuple(sorted(self.equals))
        prefixes = tuple(sorted(self.prefixes))
        suffixes = tuple(sorted(self.suffixes))
        return ("values", name, equals, prefixes, suffixes, tuple(self.needles))


def _mergeable_shape(value: SigmaType) -> StringShape | None:
    """The shape of a case-insensitive plain/affix/substring string (not `*` alone)."""
    if not isinstance(value, SigmaString) or isinstance(value, SigmaCasedString):
        return None
    shape = string_shape(value)
    if shape is None or shape.kind == "any" or (shape.kind != "equals" and not shape.text):
        return None
    return shape


def _compile_or(args: list[ConditionTree]) -> _Test:
    """OR, with the plain and affix values of each field merged into one test."""
    merged: dict[tuple[str, ...], _FieldValues] = defaultdict(
        lambda: _FieldValues(set(), set(), set(), [])
    )
    others: list[_Test] = []
    for arg in args:
        if isinstance(arg, ConditionFieldEqualsValueExpression):
            if (shape := _mergeable_shape(arg.value)) is not None:
                merged[(sys.intern(arg.field),)].add(shape)
                continue
        elif isinstance(arg, ConditionValueExpression) and isinstance(arg.value, SigmaString):
            keyword = with_surrounding_wildcards(arg.value)
            if (shape := _mergeable_shape(keyword)) is not None:
                merged[KEYWORD_FIELDS].add(shape)
                continue
        others.append(_compile(arg))
    tests = [values.test(fields) for fields, values in merged.items()]
    for position, fields in enumerate(merged):
        if fields == KEYWORD_FIELDS:
            tests[position] = tests[position]._replace(cost=tests[position].cost + _COST_KEYWORD)
    return _any_of(tests + others)


def _value_program(field: str, value: SigmaType, predicate: Predicate) -> Program | None:
    """The program of `predicate`, which is `field_predicate(field, value)`; None when
    only Python runs it."""
    if isinstance(value, SigmaRegularExpression):
        pattern = rust_regex(regex_of(value))
        return None if pattern is None else ("regex", field, pattern, predicate)
    if isinstance(value, SigmaExists):
        return ("exists", field, value.exists)
    if isinstance(value, SigmaNull):
        return ("null", field)
    if isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString):
        shape = string_shape(value)
        if shape is not None and shape.kind == "any":  # `*`: any text, even ""
            return ("values", field, (), ("",), (), ())
    if isinstance(value, SigmaFieldReference):
        return ("fieldref", field, sys.intern(value.field), field_reference_kind(value))
    # Plain, affix and substring values, alone or as alternatives (`windash`, ...).
    items = value.values if isinstance(value, SigmaExpansion) else [value]
    shapes = [shape for item in items if (shape := _mergeable_shape(item))]
    if not shapes or len(shapes) != len(items):
        return None
    values = _FieldValues(set(), set(), set(), [])
    for shape in shapes:
        values.add(shape)
    return values.program(field)


def _compile(tree: ConditionTree) -> _Test:
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        predicate = field_predicate(tree.field, tree.value)
        program = _value_program(sys.intern(tree.field), tree.value, predicate)
        return _Test(predicate, _value_cost(tree.value), program or _python(predicate))
    if isinstance(tree, ConditionValueExpression):
        cost = _COST_KEYWORD + _value_cost(tree.value)
        return _tested_in_python(keyword_predicate(tree.value), cost)
    args = [arg for arg in tree.args if arg is not None]
    if isinstance(tree, ConditionAND):
        return _all_of([_compile(arg) for arg in args])
    if isinstance(tree, ConditionOR):
        return _compile_or(args)
    if isinstance(tree, ConditionNOT):
        (negated,) = [_compile(arg) for arg in args]
        inner = negated.predicate
        negation: Predicate = lambda view: not inner(view)  # noqa: E731
        if negated.program[0] == "python":
            return _tested_in_python(negation, negated.cost)
        return _Test(negation, negated.cost, ("not", negated.program))
    raise RuleCompileError(f"unsupported: condition element {type(tree).__name__}")


def native_programs(rules: Sequence[CompiledRule]) -> "RulePrograms | None":
    """The rules' bodies for the native evaluator, by position; None without the
    native module (the bodies then run in Python)."""
    native = native_module()
    if native is None:
        return None
    programs: RulePrograms = native.RulePrograms(
        [(rule.program or _python(rule.body), rule.body) for rule in rules]
    )
    return programs


def compile_condition(tree: ConditionTree) -> Predicate:
    """The predicate of a postprocessed pySigma condition tree."""
    return _compile(tree).predicate


def _route_keys(
    routes: list[ConditionTree], body: ConditionTree | None, index_fields: Collection[str]
) -> frozenset[RouteKey]:
    """The routing keys of one condition: its routing terms, narrowed by the body."""
    terms = None
    for route in routes:
        found = exact_terms(route)
        if found is None:
            raise RuleCompileError(
                "a routing condition of the logsource pipeline cannot be indexed: "
                "use plain values of fields"
            )
        terms = found if terms is None else frozenset(a | b for a in terms for b in found)
    if terms is None:
        return frozenset()
    narrowing = required_terms(body, index_fields) if body is not None else None
    if narrowing is not None and len(terms) * len(narrowing) <= ROUTE_KEY_LIMIT:
        terms = frozenset(a | b for a in terms for b in narrowing)
    return as_route_keys(terms)


def compile_rule(
    rule: SigmaRule,
    *,
    routing_names: Collection[str] = (),
    index_fields: Collection[str] = (),
) -> CompiledRule:
    """Compile a detection rule (to which the logsource pipeline was already applied).

    `routing_names` are the detections the pipeline adds as routing conditions (see
    `routing_detection_names`); without them the rule is compiled but routed nowhere.
    `index_fields` are the fields the routing index is keyed on (see `routing_fields`):
    plain values the rule requires on them narrow its routing keys.
    Raises RuleCompileError naming what the rule uses that cannot be evaluated.
    """
    if rule.errors:
        raise RuleCompileError("; ".join(sigma_error_message(err) for err in rule.errors))
    full: list[_Test] = []
    bodies: list[_Test] = []
    body_trees: list[ConditionTree] = []
    keys: set[RouteKey] = set()
    unconditional = False
    for condition in rule.detection.parsed_condition:
        try:
            tree = condition.parse()
        except SigmaError as err:
            raise RuleCompileError(sigma_error_message(err)) from err
        if tree is None:
            raise RuleCompileError(f"condition {condition.condition!r} selects nothing")
        routes, body = split_routing(tree, routing_names)
        if routes:
            keys |= _route_keys(routes, body, index_fields)
        parts = [_compile(route) for route in routes]
        if body is None:
            unconditional = True
        else:
            body_test = _compile(body)
            bodies.append(body_test)
            body_trees.append(body)
            parts.append(body_test)
        full.append(_all_of(parts))
    whole_body = _Test(_always, 0.0, ("all", ())) if unconditional else _any_of(bodies)
    body_tree: ConditionTree | None
    if unconditional:
        body_tree = None
    elif len(body_trees) == 1:
        body_tree = body_trees[0]
    else:
        alternatives: list[ConditionIdentifier | ConditionTree | None] = list(body_trees)
        body_tree = ConditionOR(alternatives)
    logsource = Logsource(
        category=rule.logsource.category,
        product=rule.logsource.product,
        service=rule.logsource.service,
    )
    return CompiledRule(
        info=rule_info(rule),
        logsource=logsource,
        predicate=_any_of(full).predicate,
        route_keys=frozenset(keys),
        body=whole_body.predicate,
        program=whole_body.program,
        needs=field_needs(body_tree),
        fields=field_groups(body_tree),
        anchor_clauses=anchor_clauses(body_tree),
    )
