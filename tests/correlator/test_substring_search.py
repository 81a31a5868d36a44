"""Many substrings at once: `substring_search` and `keywords_containing` with the native
`NeedleSet` (native/src/needle_set.rs) give what Python's `in` and re.IGNORECASE give."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.correlator import _matchers as matchers
from canhgac.correlator._event_view import EventView
from canhgac.correlator._matchers import KEYWORD_FIELDS, keywords_containing, substring_search
from tests.conftest import require_native
from tests.correlator._events import compiled, event

# Letters where case and encodings get interesting: Vietnamese, İ (two characters lower),
# the Kelvin sign and ſ (re.IGNORECASE matches them with k and s), a lone surrogate.
LETTERS = st.sampled_from([*"abksKS .\\-", "ậ", "Đ", "İ", "\u212a", "ſ", "\udc80", "資"])
TEXT = st.lists(LETTERS, max_size=20).map("".join)
NEEDLES = st.lists(st.lists(LETTERS, min_size=1, max_size=4).map("".join), max_size=6)


def reference(needles: list[str], text: str) -> bool:
    return any(needle in text for needle in needles)


@settings(max_examples=300)
@given(needles=NEEDLES, text=TEXT)
def test_a_substring_search_finds_what_in_finds(needles: list[str], text: str) -> None:
    require_native()
    found = substring_search(needles)(text)
    if found is None:
        # The native search cannot read text with lone surrogates, and says so.
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        return
    assert found == reference(needles, text)


def test_the_native_search_is_used_from_two_needles_on() -> None:
    require_native()
    assert substring_search(["a", "b"])("\udc80") is None  # the native search's answer
    assert substring_search(["a"])("\udc80a") is True  # one needle: Python's `in`


def test_a_substring_search_keeps_case() -> None:
    # The rule predicates hand it lowered text and needles; it must not fold case itself.
    search = substring_search(["k", "sa"])
    assert search("K SA") is False
    assert search("ok") is True


@given(needles=NEEDLES, text=TEXT)
def test_without_the_native_module_the_search_is_python_in(needles: list[str], text: str) -> None:
    native, matchers._native = matchers._native, None
    try:
        assert substring_search(needles)(text) == reference(needles, text)
    finally:
        matchers._native = native


ASCII_NEEDLES = st.lists(
    st.text(alphabet="abcksKS -\\.", min_size=1, max_size=5).map(str.lower), min_size=2, max_size=6
)


@given(needles=ASCII_NEEDLES, text=TEXT | st.text(alphabet="aBcKkSs -\\.", max_size=30))
def test_keywords_match_as_the_ignorecase_regex_does(needles: list[str], text: str) -> None:
    require_native()
    regex = re.compile("|".join(map(re.escape, needles)), re.IGNORECASE | re.DOTALL)
    view = EventView({KEYWORD_FIELDS[0]: text})
    assert keywords_containing(needles)(view) == (regex.search(text) is not None)


def test_keywords_in_text_of_any_case_and_script() -> None:
    require_native()
    predicate = keywords_containing(["pshlspy", "mimikatz", "kekeo"])
    assert predicate(EventView({"event.original": "Threat MIMIKATZ found"}))
    assert predicate(EventView({"message": "… PshlSpy.A đã bị chặn"}))
    # re.IGNORECASE lets the Kelvin sign stand for k in non-ASCII text.
    assert predicate(EventView({"message": "\u212aekeo ở máy chủ"}))
    assert not predicate(EventView({"event.original": "nothing to see", "message": "ổn"}))


def matches_contains(values: list[str], text: str) -> bool:
    rule = compiled({"sel": {"f|contains": values}, "condition": "sel"})
    return rule.matches(event({"f": text}))


def test_a_rule_with_many_substrings_matches_any_of_them_in_any_case() -> None:
    values = ["\\whoami.exe", "\\net.exe", " /c ", "-encodedcommand", "invoke-"]
    for value in values:
        assert matches_contains(values, f"C:\\Windows{value.upper()} and more")
    assert not matches_contains(values, "C:\\Windows\\notepad.exe")
    # A lone surrogate (undecodable bytes kept by surrogateescape): Python's `in` decides.
    assert matches_contains(values, "cmd /C \udc80 dir")
    assert not matches_contains(values, "cmd \udc80 dir")
