"""Rule bodies evaluated by the native `RulePrograms` (native/src/rule_program.rs) give
what their Python predicates, the reference, give, for drawn rules and events.
(test_sigmahq_regression.py compares the two on SigmaHQ's rules and regression events.)"""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.correlator import CompiledRule
from canhgac.correlator._compile import native_programs
from canhgac.correlator._event_view import EventView
from canhgac.events import FieldValue
from tests.conftest import require_native
from tests.correlator._events import compiled

FIELDS = ("f", "g", "winlog.event_data.Image")

# Letters where case gets interesting: Vietnamese, İ (lowers to two characters), the
# Kelvin sign, ß, Σ (Python lowers it by context, so the view does), a lone surrogate
# (no UTF-8 form: the whole rule goes back to Python), a backslash and a dash.
_letter = st.sampled_from([*"aAbBkK1\\-/. ", "é", "Đ", "ư", "İ", "\u212a", "ß", "Σ", "資"])
_text = st.lists(_letter, min_size=1, max_size=5).map("".join)
_event_text = st.lists(_letter | st.just("\udc80"), max_size=8).map("".join)

_string_value = st.one_of(
    _text,
    _text.map(lambda text: f"*{text}"),
    _text.map(lambda text: f"{text}*"),
    _text.map(lambda text: f"*{text}*"),
    _text.map(lambda text: f"{text[:1]}?{text[1:]}"),  # a wildcard pattern: Python runs it
    st.just(""),
)
_modifier = st.sampled_from(
    ["", "|contains", "|startswith", "|endswith", "|contains|all", "|windash|contains", "|cased"]
)


@st.composite
def _selection(draw: st.DrawFn) -> dict[str, Any]:
    """One Sigma selection: a few field tests, ANDed, each value list ORed."""
    selection: dict[str, Any] = {}
    for field in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=2, unique=True)):
        kinds = ["strings", "strings", "plain", "fieldref", "number", "re", "exists", "null", "*"]
        kind = draw(st.sampled_from(kinds))
        if kind == "plain":  # long lists of plain values: the native side looks them up
            selection[field] = draw(st.lists(_text, min_size=4, max_size=12))
        elif kind == "strings":
            modifier = draw(_modifier)
            values = draw(st.lists(_string_value, min_size=1, max_size=7))
            if "|windash" in modifier:
                values = [f"-{value.strip('*?')}" for value in values]
            selection[field + modifier] = values
        elif kind == "fieldref":
            other = draw(st.sampled_from([name for name in FIELDS if name != field]))
            affix = draw(st.sampled_from(["", "|startswith", "|endswith", "|contains"]))
            selection[f"{field}|fieldref{affix}"] = other
        elif kind == "number":
            selection[field] = draw(st.integers(0, 20))
        elif kind == "exists":
            selection[field + "|exists"] = draw(st.booleans())
        elif kind == "null":
            selection[field] = None
        elif kind == "*":
            selection[field] = "*"
        else:
            patterns = ["^a", "b$", "k.1", "(?i)đ", "\\d+", "\\s\\w", "[^a-c]$", "^$"]
            selection[field + "|re"] = draw(st.sampled_from(patterns))
    return selection


_conditions = st.sampled_from(
    [
        "one",
        "one and two",
        "one or two",
        "one and not two",
        "not (one or two)",
        "1 of them",
        "all of them",
        "not one",
    ]
)

_value: st.SearchStrategy[FieldValue] = st.one_of(
    _event_text,
    st.integers(0, 20),
    st.lists(st.one_of(_event_text, st.integers(0, 20), st.none()), max_size=3).map(tuple),
    st.none(),
)


def _drawn_rule(draw: st.DrawFn) -> CompiledRule:
    detection: dict[str, Any] = {"one": draw(_selection()), "two": draw(_selection())}
    detection["condition"] = draw(_conditions)
    return compiled(detection)


@st.composite
def _rules(draw: st.DrawFn) -> list[CompiledRule]:
    return [_drawn_rule(draw) for _ in range(draw(st.integers(1, 5)))]


def _values_near(rules: list[CompiledRule], field: str) -> st.SearchStrategy[FieldValue]:
    """Values of `field` made of the rules' own literals for it (any field's for a
    UserData stand-in), in other cases, with things around."""
    literals = sorted(
        {text for rule in rules for text in _literals(rule.program, field)} | {"x"}, key=repr
    )
    inner = st.sampled_from(literals).flatmap(
        lambda text: st.sampled_from([text, text.upper(), text.title(), text.swapcase()])
    )
    # Mostly the literal alone, so that equal values are met often too.
    ends = st.sampled_from(["", "", "", "", "", "-", "Kb", "é", "\\"])
    return st.tuples(ends, inner, ends).map("".join)


def _literals(program: Any, field: str) -> list[str]:
    kind = program[0]
    if kind in ("all", "any"):
        return [text for part in program[1] for text in _literals(part, field)]
    if kind == "not":
        return _literals(program[1], field)
    if kind == "values" and (program[1] == field or field.startswith("winlog.user_data.")):
        return [text for group in program[2:] for text in group]
    return []


def _event_fields(rules: list[CompiledRule]) -> st.SearchStrategy[dict[str, FieldValue]]:
    names = [*FIELDS, "winlog.user_data.Log.Image", "h"]
    # Two parts in three near the rules' literals, so that rules match often.
    values = {name: st.one_of(_value, *[_values_near(rules, name)] * 2) for name in names}
    return st.fixed_dictionaries({}, optional=values)


@settings(max_examples=400, deadline=None)
@given(rules=_rules(), data=st.data())
def test_the_native_evaluation_matches_what_the_python_predicates_match(
    rules: list[CompiledRule], data: st.DataObject
) -> None:
    require_native()
    programs = native_programs(rules)
    assert programs is not None
    fields = data.draw(_event_fields(rules))
    expected = [position for position, rule in enumerate(rules) if rule.body(EventView(fields))]
    view = EventView(fields)
    everything = list(range(len(rules)))
    assert programs.matching(everything, view, fields, view.has_user_data()) == expected
    # The timed evaluation of sampled events: the same answer, a time for each rule.
    view = EventView(fields)
    matched, spent = programs.timed_matching(everything, view, fields, view.has_user_data())
    assert matched == expected
    assert len(spent) == len(everything)
    assert all(nanoseconds >= 0 for nanoseconds in spent)
    for position in everything:
        view = EventView(fields)
        found = programs.matching([position], view, fields, view.has_user_data()) == [position]
        assert found == (position in expected)


def _evaluate(rule: CompiledRule, fields: dict[str, FieldValue]) -> tuple[bool, bool]:
    programs = native_programs([rule])
    assert programs is not None
    view = EventView(fields)
    native = programs.matching([0], view, fields, view.has_user_data()) == [0]
    return native, rule.body(EventView(fields))


def test_case_vietnamese_and_stand_ins_read_as_python_reads_them() -> None:
    require_native()
    image = "winlog.event_data.Image"
    rule = compiled({"sel": {f"{image}|endswith": "\\Đà Nẵng.EXE"}, "condition": "sel"})
    cases: list[tuple[dict[str, FieldValue], bool]] = [
        ({"winlog.event_data.Image": "C:\\ĐÀ NẴNG.exe"}, True),
        ({"winlog.event_data.Image": ("x", "c:\\đà nẵng.exe")}, True),
        ({"winlog.user_data.Log.Image": "C:\\Đà Nẵng.exe"}, True),  # UserData stands in
        ({"winlog.event_data.Image": "C:\\Đà Nẵng.exe.bak"}, False),
        ({}, False),
    ]
    for fields, expected in cases:
        assert _evaluate(rule, fields) == (expected, expected), fields


def test_a_text_with_a_lone_surrogate_is_left_to_python() -> None:
    require_native()
    rule = compiled({"sel": {"f|contains": ["ab", "cd"]}, "condition": "sel"})
    # surrogateescape'd bytes: no UTF-8 form, but Python still finds "ab" in them.
    assert _evaluate(rule, {"f": "\udc80AB"}) == (True, True)
    assert _evaluate(rule, {"f": "\udc80"}) == (False, False)


def test_field_references_compare_lowered_texts() -> None:
    require_native()
    for modifier, text, other, expected in [
        ("", "C:\\A.exe", "c:\\a.EXE", True),
        ("|startswith", "C:\\a.exe -x", "c:\\A.exe", True),
        ("|endswith", "run C:\\a.exe", "c:\\A.exe", True),
        ("|contains", "xx C:\\a.exe yy", "c:\\A.exe", True),
        ("|startswith", "run C:\\a.exe", "c:\\A.exe", False),
    ]:
        rule = compiled({"sel": {f"f|fieldref{modifier}": "g"}, "condition": "sel"})
        assert _evaluate(rule, {"f": text, "g": other}) == (expected, expected), modifier


def test_long_lists_of_values_are_looked_up_whole() -> None:
    require_native()
    names = [f"Tool{number}.EXE" for number in range(12)]
    rule = compiled({"sel": {"f": names, "g|endswith": names}, "condition": "sel"})
    for last in (names[0], names[-1]):
        assert _evaluate(rule, {"f": last.lower(), "g": f"C:\\{last}"}) == (True, True)
    assert _evaluate(rule, {"f": "tool12.exe", "g": "C:\\Tool1.EXE"}) == (False, False)
    assert _evaluate(rule, {"f": "tool1.exe", "g": "C:\\Tool1.EXE.txt"}) == (False, False)
