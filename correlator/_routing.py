"""Which rules an event is tested against: an index from routing keys to rules.

A `RouteKey` is a conjunction of (field, lower-case text) pairs, sorted: an event holds
the key when it holds every pair (for a multi-valued field, any element counts). A rule
is indexed under the keys of which an event must hold at least one for the rule to
match. They come from two places of the rule's condition:

- the routing conditions the logsource pipeline adds (e.g. `winlog.channel` is
  "Security"), which are exact, and
- plain values the rest of the condition requires on the same fields (a Security rule
  that only looks at `EventID: 4624` is indexed under channel and event id together),
  which only narrow the keys and never drop an event the rule could match.

Looking an event up costs one dict lookup per key shape (the tuple of fields of a key;
a few dozen at most, whatever the number of rules), never work per rule.
"""

import itertools
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard, TypeVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionItem,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import SigmaBool, SigmaExpansion, SigmaNumber, SigmaString, SigmaType

from canhgac.correlator._event_view import EVENT_DATA_PREFIX, EventView, scalar_text
from canhgac.correlator._native_module import native_module

# (field, lower-case text) pairs sorted by field then text; all must hold.
RouteKey = tuple[tuple[str, str], ...]

ConditionTree = ConditionItem | ConditionFieldEqualsValueExpression | ConditionValueExpression

# Keys one rule may get from narrowing; beyond, the routing condition's keys are used.
ROUTE_KEY_LIMIT = 256

# Routing answers kept for events' routing values; beyond, the cache starts afresh.
ROUTE_CACHE_SIZE = 65_536

_Term = frozenset[tuple[str, str]]
_PLAIN_TYPES = frozenset((str, int, type(None)))
_STR = frozenset((str,))
_PLAIN_OR_TUPLE = _PLAIN_TYPES | {tuple}


def _is_tuple(value: object) -> TypeGuard[tuple[object, ...]]:
    return value.__class__ is tuple


_LOWERED = object()  # marks a key part that holds lowered texts

# The native module, or None when it was not built (a machine without cargo).
_native: Any = native_module()


def all_plain(values: Sequence[object]) -> bool:
    """Whether each routing value stands for itself in the routing cache's key: a str,
    an int, None or a tuple of str, of exactly those types (True and 1 are equal keys
    but route apart). The reference of the native `plain_route_key`."""
    return _PLAIN_TYPES.issuperset(map(type, values)) or (
        # The usual exception: ECS lists (event.category) holding only text.
        _PLAIN_OR_TUPLE.issuperset(map(type, values))
        and _STR.issuperset(map(type, itertools.chain.from_iterable(filter(_is_tuple, values))))
    )


_Item = TypeVar("_Item")


def literal_texts(value: SigmaType) -> frozenset[str] | None:
    """The lower-case texts a plain value equals (several for an expansion), else None.

    A number reads as `scalar_text` writes it, so that 4624 and "4624" give one key;
    wildcards, placeholders, regular expressions and the like give None.
    """
    if isinstance(value, SigmaString):
        if value.contains_special() or value.contains_placeholder():
            return None
        return frozenset({value.to_plain().lower()})
    if isinstance(value, SigmaBool):
        return frozenset({"true" if value.boolean else "false"})
    if isinstance(value, SigmaNumber):
        text = scalar_text(value.number)
        return frozenset({text}) if text is not None else None
    if isinstance(value, SigmaExpansion):
        return union_of_each(value.values, literal_texts)
    return None


def union_of_each(
    items: Iterable[_Item], texts_of: Callable[[_Item], frozenset[str] | None]
) -> frozenset[str] | None:
    """The union of every item's texts; None as soon as one item has none."""
    union: set[str] = set()
    for item in items:
        found = texts_of(item)
        if found is None:
            return None
        union |= found
    return frozenset(union)


def _detection_name(node: object) -> str | None:
    """The name of the detection a condition node was built from (first identifier up)."""
    parent = getattr(node, "parent", None)
    while parent is not None:
        if isinstance(parent, ConditionIdentifier):
            return str(parent.identifier)
        parent = getattr(parent, "parent", None)
    return None


def split_routing(
    tree: ConditionTree, routing_names: Collection[str]
) -> tuple[list[ConditionTree], ConditionTree | None]:
    """The routing conditions AND-ed at the top of a condition, and the rest (None: none).

    The pipeline turns a condition `c` into `_route and (c)`; several routing items
    nest the same way.
    """
    if _detection_name(tree) in routing_names:
        return [tree], None
    if not isinstance(tree, ConditionAND):
        return [], tree
    routes: list[ConditionTree] = []
    rest: list[ConditionTree] = []
    for arg in tree.args:
        if arg is None:
            continue
        found, remainder = split_routing(arg, routing_names)
        routes += found
        if remainder is not None:
            rest.append(remainder)
    if not rest:
        return routes, None
    if len(rest) == 1:
        return routes, rest[0]
    args: list[ConditionIdentifier | ConditionTree | None] = list(rest)
    return routes, ConditionAND(args)


def _conjoin(first: frozenset[_Term], second: frozenset[_Term]) -> frozenset[_Term]:
    return frozenset(a | b for a in first for b in second)


def exact_terms(tree: ConditionTree) -> frozenset[_Term] | None:
    """The condition as an OR of ANDs of plain values, when it is one; else None."""
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        texts = literal_texts(tree.value)
        if texts is None:
            return None
        return frozenset(frozenset({(tree.field, text)}) for text in texts)
    if isinstance(tree, ConditionOR | ConditionAND):
        parts = [exact_terms(arg) for arg in tree.args if arg is not None]
        if not parts or any(part is None for part in parts):
            return None
        known = [part for part in parts if part is not None]
        if isinstance(tree, ConditionOR):
            return frozenset(itertools.chain.from_iterable(known))
        result = known[0]
        for part in known[1:]:
            result = _conjoin(result, part)
        return result
    return None


def required_terms(tree: ConditionTree, fields: Collection[str]) -> frozenset[_Term] | None:
    """Plain values on `fields` of which the condition needs one conjunction, if bounded.

    Sound rather than exact: whenever the condition holds, the event holds one of the
    returned conjunctions (None: no such bound is known, e.g. under a NOT).
    """
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        if tree.field not in fields:
            return None
        texts = literal_texts(tree.value)
        if texts is None:
            return None
        return frozenset(frozenset({(tree.field, text)}) for text in texts)
    if isinstance(tree, ConditionOR):
        union: set[_Term] = set()
        for arg in tree.args:
            terms = required_terms(arg, fields) if arg is not None else None
            if terms is None:
                return None
            union |= terms
            if len(union) > ROUTE_KEY_LIMIT:
                return None
        return frozenset(union)
    if isinstance(tree, ConditionAND):
        result: frozenset[_Term] | None = None
        for arg in tree.args:
            terms = required_terms(arg, fields) if arg is not None else None
            if terms is None:
                continue
            if result is None:
                result = terms
            elif len(result) * len(terms) <= ROUTE_KEY_LIMIT:
                result = _conjoin(result, terms)
            else:
                result = min(result, terms, key=len)  # either bound alone is still sound
        return result
    return None


def as_route_keys(terms: Iterable[_Term]) -> frozenset[RouteKey]:
    return frozenset(tuple(sorted(term)) for term in terms)


@dataclass(frozen=True, slots=True)
class Route:
    """The rules one event is tested against.

    `number` identifies the combination of routing keys the event held (events with the
    same number reach the same rules); `positions` are the rules' positions, ascending.
    """

    number: int
    positions: tuple[int, ...]


class RoutingIndex:
    """Routing keys → rule positions, looked up once per key shape for each event."""

    __slots__ = ("_cache", "_data_names", "_names", "_routes", "_shapes", "routes")

    def __init__(self, keys_by_position: Sequence[Collection[RouteKey]]) -> None:
        tables: dict[tuple[str, ...], dict[tuple[str, ...], list[int]]] = {}
        for position, keys in enumerate(keys_by_position):
            for key in keys:
                shape = tuple(field for field, _ in key)
                values = tuple(text for _, text in key)
                tables.setdefault(shape, {}).setdefault(values, []).append(position)
        self._shapes = tuple(
            (shape, {values: tuple(found) for values, found in table.items()})
            for shape, table in sorted(tables.items())
        )
        self._routes: dict[tuple[int, ...], Route] = {}
        self.routes: list[Route] = []
        """Every combination met so far, by number."""
        self._names = tuple(sorted({field for shape, _ in self._shapes for field in shape}))
        self._data_names = tuple(
            (position, name)
            for position, name in enumerate(self._names)
            if name.startswith(EVENT_DATA_PREFIX)
        )
        self._cache: dict[tuple[object, ...], Route | None] = {}

    def _cache_key(self, view: EventView) -> tuple[object, ...]:
        """What `_lookup` reads of the event, cheaply: the routing fields' values as held
        (a str, int or tuple of str stands for its lowered texts; another value is
        replaced by its lowered texts after a marker, so that True and 1 differ)."""
        values: list[object] = list(map(view.fields.get, self._names))
        if view.has_user_data():  # else nothing stands in for a missing value
            for position, name in self._data_names:
                if values[position] is None:
                    values[position] = view.get_value(name)
        if _native is not None:
            plain: tuple[object, ...] | None = _native.plain_route_key(values)
            if plain is not None:
                return plain
        elif all_plain(values):
            return tuple(values)
        for position, value in enumerate(values):
            kind = value.__class__
            if kind in _PLAIN_TYPES or (_is_tuple(value) and _STR.issuperset(map(type, value))):
                continue
            values[position] = (_LOWERED, *view[self._names[position]])
        return tuple(values)

    def route(self, view: EventView) -> Route | None:
        """The rules this event must be tested against; None when there are none.

        Events with the same routing values share a cached answer (most events of a
        source do: a channel and an event id).
        """
        key = self._cache_key(view)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = self._lookup(view)
        if len(self._cache) >= ROUTE_CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = found
        return found

    def _lookup(self, view: EventView) -> Route | None:
        found: list[tuple[int, ...]] = []
        for shape, table in self._shapes:
            if len(shape) == 1:
                for text in view[shape[0]]:
                    hit = table.get((text,))
                    if hit is not None:
                        found.append(hit)
                continue
            texts = [view[field] for field in shape]
            if not all(texts):
                continue
            for values in itertools.product(*texts):
                hit = table.get(values)
                if hit is not None:
                    found.append(hit)
        if not found:
            return None
        # The hit tuples live as long as the index: their ids name them cheaply.
        combination = tuple(map(id, found))
        route = self._routes.get(combination)
        if route is None:
            positions = tuple(sorted(set(itertools.chain.from_iterable(found))))
            route = Route(number=len(self.routes), positions=positions)
            self.routes.append(route)
            self._routes[combination] = route
        return route
