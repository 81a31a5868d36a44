"""Regular expressions searched by Rust's `regex` crate (`_native_regex.rust_regex`, run
by native/src/rule_program.rs) find a match in exactly the texts Python's `re` does."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.correlator._event_view import EventView
from canhgac.correlator._native_module import native_module
from canhgac.correlator._native_regex import rust_regex
from tests.conftest import require_native

# Pieces whose meaning could differ between the two engines: Unicode digits, spaces and
# word characters, the newline before `$`, `.` and the newline, negated classes.
_ATOMS = st.sampled_from(
    [
        "a",
        "b",
        "\\\\",
        "\\.",
        "-",
        "é",
        "Đ",
        " ",
        "\\n",
        ".",
        "[a-c]",
        "[^a]",
        "\\d",
        "\\s",
        "\\w",
        "\\D",
        "\\S",
        "\\W",
        "[\\d_]",
        "[^\\s.]",
        "[\\w-]",
        "\\x41",
    ]
)
_QUANTIFIERS = st.sampled_from(["", "", "*", "+", "?", "{1,3}", "{2}", "*?"])
_PIECE = st.tuples(_ATOMS, _QUANTIFIERS).map("".join)


@st.composite
def _patterns(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(_PIECE, min_size=1, max_size=4))
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(pieces)))
        pieces = [f"(?:{''.join(pieces[:cut])}|{''.join(pieces[cut:])})"]
    start = draw(st.sampled_from(["", "", "^", "\\A"]))
    end = draw(st.sampled_from(["", "", "$", "\\Z", "$\\n"]))
    return start + "".join(pieces) + end


_TEXT = st.lists(
    st.sampled_from([*"abcAB\\.-_ é", "Đ", "\n", "٣", "\x1c", "\xa0", "\u2003", "資", "ſ", "²"]),
    max_size=8,
).map("".join)


def _searches(pattern: str, text: str) -> tuple[bool, bool] | None:
    """(native, Python) answers for the pattern in `text`; None when it stays in Python."""
    regex = re.compile(pattern, re.DOTALL if "(?s)" in pattern else 0)
    translated = rust_regex(regex)
    if translated is None:
        return None

    def predicate(view: EventView) -> bool:
        return regex.search(str(view.fields["f"])) is not None

    program = ("regex", "f", translated, predicate)
    programs = native_module().RulePrograms([(program, predicate)])
    fields = {"f": text}
    native = programs.matching([0], EventView(fields), fields, False) == [0]
    return native, regex.search(text) is not None


@settings(max_examples=1500, deadline=None)
@given(pattern=_patterns(), text=_TEXT, dotall=st.booleans())
def test_a_translated_pattern_matches_where_python_matches(
    pattern: str, text: str, dotall: bool
) -> None:
    require_native()
    answers = _searches(("(?s)" if dotall else "") + pattern, text)
    if answers is not None:
        native, python = answers
        assert native == python


def test_the_sigmahq_shapes_are_translated_and_agree() -> None:
    require_native()
    snake = r"\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}"
    robin = r"\\[a-zA-Z0-9]{1,32}\.[a-zA-Z0-9]{1,6}\.[ \"']{1}"
    for pattern, text, expected in [
        (snake, f"jpsetup.exe {'a' * 64} {'F' * 16}", True),
        (snake, f"jpsetup.exe {'a' * 63} {'F' * 16}", False),
        (snake, f"x\xa0{'0' * 64}\u3000{'1' * 16}", True),  # Unicode spaces count
        (robin, "odbcconf.exe /a {regsvr C:\\ProgramData\\x.log.}", False),
        (robin, "odbcconf.exe /a {regsvr C:\\ProgramData\\x.log. }", True),
        (r"\d{3}$", "abc١٢٣\n", True),  # Arabic-Indic digits; $ before a final newline
        (r"\d{3}$", "123\n\n", False),
        (r"a.b", "a\nb", False),  # `.` is any character but a newline
        (r"(?s)a.b", "a\nb", True),
    ]:
        assert _searches(pattern, text) == (expected, expected), (pattern, text)


def test_what_might_mean_otherwise_stays_in_python() -> None:
    for pattern, flags in [
        ("abc", re.IGNORECASE),
        ("(?i)abc", 0),
        ("a(?i:b)", 0),
        ("\\bword\\b", 0),
        ("a$b", 0),
        ("^a", re.MULTILINE),
        ("(a)\\1", 0),
        ("a(?=b)", 0),
        ("(?>a+)b", 0),
        ("a++", 0),
        ("\\w+", re.ASCII),
    ]:
        assert rust_regex(re.compile(pattern, flags)) is None, pattern
