"""Sigma detection rules compiled into Python predicates over an event's fields.

The pySigma condition tree (after the logsource pipeline has mapped fields and added
the routing condition) is walked once, at load time, into nested closures; matching an
event calls them, it never looks at the tree again. Lists of plain values on one field
become one set lookup, lists of `contains` values one substring loop, so the long value
lists of SigmaHQ rules stay cheap.
"""

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from canhgac.correlator._errors import RuleCompileError, sigma_error_message
from canhgac.correlator._event_view import EventView
from canhgac.correlator._logsources import ConditionTree, RouteKey, route_keys_of
from canhgac.correlator._matchers import (
    KEYWORD_FIELDS,
    Predicate,
    field_predicate,
    keyword_needle_of,
    keyword_predicate,
    literal_of,
    needle_of,
)
from canhgac.correlator._rule_info import RuleInfo, rule_info
from canhgac.events import Event


@dataclass(frozen=True, slots=True)
class Logsource:
    """A rule's Sigma logsource, as written in the rule."""

    category: str | None
    product: str | None
    service: str | None

    def __str__(self) -> str:
        parts = (("category", self.category), ("product", self.product), ("service", self.service))
        return ", ".join(f"{key}: {value}" for key, value in parts if value is not None)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A detection rule ready to test events.

    `route_keys` are the (field, lower-case value) pairs of which an event must hold one
    to be routed to the rule; empty when the logsource pipeline routes no events to the
    rule's logsource. `emits_alerts` is False for a rule that only feeds correlations
    (referenced with `generate: false`).
    """

    info: RuleInfo
    logsource: Logsource
    predicate: Predicate
    route_keys: frozenset[RouteKey]
    emits_alerts: bool = True

    @property
    def routed(self) -> bool:
        """Whether any event can reach this rule."""
        return bool(self.route_keys)

    def matches(self, event: Event) -> bool:
        """Whether the event satisfies the rule's condition (routing condition included)."""
        return self.predicate(EventView(event.fields))


def _all_of(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda view: first(view) and second(view)
    conjuncts = tuple(predicates)

    def predicate(view: EventView) -> bool:
        return all(conjunct(view) for conjunct in conjuncts)

    return predicate


def _any_of(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    alternatives = tuple(predicates)

    def predicate(view: EventView) -> bool:
        return any(alternative(view) for alternative in alternatives)

    return predicate


def _one_of_values(field: str, literals: frozenset[str]) -> Predicate:
    def predicate(view: EventView) -> bool:
        return not literals.isdisjoint(view.lowered(field))

    return predicate


def _contains_one_of(fields: tuple[str, ...], needles: tuple[str, ...]) -> Predicate:
    def predicate(view: EventView) -> bool:
        for name in fields:
            for text in view.lowered(name):
                for needle in needles:
                    if needle in text:
                        return True
        return False

    return predicate


def _compile_or(args: list[ConditionTree]) -> Predicate:
    """OR, with plain and `contains` values of one field merged into one test each."""
    literals: dict[str, set[str]] = defaultdict(set)
    needles: dict[tuple[str, ...], list[str]] = defaultdict(list)
    others: list[Predicate] = []
    for arg in args:
        if isinstance(arg, ConditionFieldEqualsValueExpression):
            if (literal := literal_of(arg.value)) is not None:
                literals[arg.field].add(literal)
                continue
            if needle := needle_of(arg.value):
                needles[(arg.field,)].append(needle)
                continue
        elif isinstance(arg, ConditionValueExpression) and (needle := keyword_needle_of(arg.value)):
            needles[KEYWORD_FIELDS].append(needle)
            continue
        others.append(compile_condition(arg))
    merged = [_one_of_values(field, frozenset(values)) for field, values in literals.items()]
    merged += [_contains_one_of(fields, tuple(values)) for fields, values in needles.items()]
    return _any_of(merged + others)


def compile_condition(tree: ConditionTree) -> Predicate:
    """The predicate of a postprocessed pySigma condition tree."""
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        return field_predicate(tree.field, tree.value)
    if isinstance(tree, ConditionValueExpression):
        return keyword_predicate(tree.value)
    args = [arg for arg in tree.args if arg is not None]
    if isinstance(tree, ConditionAND):
        return _all_of([compile_condition(arg) for arg in args])
    if isinstance(tree, ConditionOR):
        return _compile_or(args)
    if isinstance(tree, ConditionNOT):
        (negated,) = [compile_condition(arg) for arg in args]
        return lambda view: not negated(view)
    raise RuleCompileError(f"unsupported: condition element {type(tree).__name__}")


def compile_rule(rule: SigmaRule, *, routing_names: Collection[str] = ()) -> CompiledRule:
    """Compile a detection rule (to which the logsource pipeline was already applied).

    `routing_names` are the detections the pipeline adds as routing conditions (see
    `routing_detection_names`); without them the rule is compiled but routed nowhere.
    Raises RuleCompileError naming what the rule uses that cannot be evaluated.
    """
    if rule.errors:
        raise RuleCompileError("; ".join(sigma_error_message(err) for err in rule.errors))
    predicates: list[Predicate] = []
    for condition in rule.detection.parsed_condition:
        try:
            tree = condition.parse()
        except SigmaError as err:
            raise RuleCompileError(sigma_error_message(err)) from err
        if tree is None:
            raise RuleCompileError(f"condition {condition.condition!r} selects nothing")
        predicates.append(compile_condition(tree))
    logsource = Logsource(
        category=rule.logsource.category,
        product=rule.logsource.product,
        service=rule.logsource.service,
    )
    return CompiledRule(
        info=rule_info(rule),
        logsource=logsource,
        predicate=_any_of(predicates),
        route_keys=route_keys_of(rule, routing_names),
    )
