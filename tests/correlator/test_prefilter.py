"""The literal prefilter: rules skipped for lacking their anchors could not have matched."""

import functools
import importlib
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.rule import SigmaRule

from canhgac.correlator import Correlator, RuleSet
from canhgac.correlator._event_view import EventView
from canhgac.correlator._prefilter import (
    Anchor,
    Prefilter,
    anchor_clauses,
    regex_literals,
    rule_anchors,
)
from canhgac.events import FieldValue
from tests.conftest import require_native
from tests.correlator._events import event, load_inline, sigma_rule

WEB = "    category: webserver"

Select = Callable[[Prefilter, EventView], list[int]]


@pytest.fixture(params=["native", "python"])
def select(request: pytest.FixtureRequest) -> Select:
    """`Prefilter.select` by each scan: the native one (when built) and the reference."""
    if request.param == "python":
        return Prefilter.select_in_python
    require_native()
    return Prefilter.select


def anchors_of(detection: dict[str, object]) -> frozenset[Anchor] | None:
    rule: SigmaRule = sigma_rule(detection)
    return rule_anchors(rule.detection.parsed_condition[0].parse())


def test_an_and_keeps_the_cheapest_anchors() -> None:
    found = anchors_of(
        {
            "img": {"Image|endswith": ["\\cmd.exe", "\\powershell.exe"]},
            "cli": {"CommandLine|contains": " -enc "},
            "condition": "img and cli",
        }
    )
    assert found == frozenset(
        {
            Anchor("Image", "endswith", "\\cmd.exe"),
            Anchor("Image", "endswith", "\\powershell.exe"),
        }
    )


def test_an_and_keeps_a_clause_per_part_cheapest_first() -> None:
    rule: SigmaRule = sigma_rule(
        {
            "img": {"Image|endswith": ["\\cmd.exe", "\\powershell.exe"]},
            "cli": {"CommandLine|contains": " -enc "},
            "pid": {"Pid|gt": 4},
            "condition": "img and cli and pid",
        }
    )
    assert anchor_clauses(rule.detection.parsed_condition[0].parse()) == (
        frozenset(
            {
                Anchor("Image", "endswith", "\\cmd.exe"),
                Anchor("Image", "endswith", "\\powershell.exe"),
            }
        ),
        frozenset({Anchor("CommandLine", "contains", " -enc ")}),
    )


def test_a_rule_with_clauses_is_selected_only_when_each_has_a_hit(select: Select) -> None:
    image = frozenset({Anchor("image", "endswith", "\\cmd.exe")})
    command = frozenset({Anchor("cli", "contains", "/c"), Anchor("cli", "contains", "/k")})
    prefilter = Prefilter([0, 1], {0: (image, command), 1: (command,)})
    cmd = "C:\\Windows\\cmd.exe"
    assert select(prefilter, EventView({"image": cmd, "cli": "cmd /K dir"})) == [0, 1]
    assert select(prefilter, EventView({"image": cmd, "cli": "cmd"})) == []
    assert select(prefilter, EventView({"image": "x.exe", "cli": "cmd /c dir"})) == [1]
    assert select(prefilter, EventView({"cli": "/c"})) == [1]


def test_an_or_needs_anchors_on_every_side() -> None:
    assert anchors_of(
        {
            "a": {"Image|endswith": "\\x.exe"},
            "b": {"OriginalFileName": "X.EXE"},
            "condition": "a or b",
        }
    ) == frozenset(
        {Anchor("Image", "endswith", "\\x.exe"), Anchor("OriginalFileName", "equals", "x.exe")}
    )
    assert (
        anchors_of({"a": {"Image|endswith": "\\x.exe"}, "b": {"Pid|gt": 4}, "condition": "a or b"})
        is None
    )


def test_not_regex_and_lone_wildcards_give_no_anchors() -> None:
    assert anchors_of({"a": {"Image": "x"}, "condition": "not a"}) is None
    assert anchors_of({"a": {"Image|re": "x.*"}, "condition": "a"}) is None
    assert anchors_of({"a": {"Image": "*"}, "condition": "a"}) is None
    assert anchors_of({"a": {"Image": "*?*"}, "condition": "a"}) is None


def test_a_wildcard_pattern_is_anchored_on_its_longest_plain_run() -> None:
    assert anchors_of({"a": {"CommandLine|contains": "Net*|*Find"}, "condition": "a"}) == (
        frozenset({Anchor("CommandLine", "contains", "find")})
    )
    assert anchors_of({"a": {"Path": "/usr/*/Python?.so"}, "condition": "a"}) == (
        frozenset({Anchor("Path", "contains", "/python")})
    )


def test_the_prefilter_selects_rules_by_their_anchors(select: Select) -> None:
    prefilter = Prefilter(
        [0, 1, 2, 3, 4],
        {
            0: (frozenset({Anchor("f", "equals", "x")}),),
            1: (frozenset({Anchor("f", "startswith", "/admin")}),),
            2: (frozenset({Anchor("f", "endswith", ".php")}),),
            3: (frozenset({Anchor("f", "contains", "union select")}),),
            4: (),
        },
    )
    assert select(prefilter, EventView({"f": "X"})) == [0, 4]
    assert select(prefilter, EventView({"f": "/ADMIN/index.php"})) == [1, 2, 4]
    assert select(prefilter, EventView({"f": "id=1 UNION SELECT 2"})) == [3, 4]
    assert select(prefilter, EventView({"g": "/admin"})) == [4]


def test_a_long_value_is_scanned_whole(select: Select) -> None:
    prefilter = Prefilter([0, 1], {0: (frozenset({Anchor("f", "contains", "mimikatz")}),), 1: ()})
    assert select(prefilter, EventView({"f": "x" * 100_000})) == [1]
    assert select(prefilter, EventView({"f": "x" * 100_000 + "MimiKatz" + "x" * 10})) == [0, 1]


def test_prefixes_and_suffixes_count_only_at_the_ends_of_the_value(select: Select) -> None:
    prefilter = Prefilter(
        [0, 1, 2],
        {
            0: (frozenset({Anchor("f", "startswith", "ab")}),),
            1: (frozenset({Anchor("f", "endswith", "ab")}),),
            2: (frozenset({Anchor("f", "contains", "ab")}),),
        },
    )
    assert select(prefilter, EventView({"f": "xabx"})) == [2]
    assert select(prefilter, EventView({"f": "abxab"})) == [0, 1, 2]
    assert select(prefilter, EventView({"f": "ab"})) == [0, 1, 2]
    assert select(prefilter, EventView({"f": "xab"})) == [1, 2]
    assert select(prefilter, EventView({"f": "a"})) == []


# Property: with the prefilter in play (a route of many rules), the engine raises exactly
# the alerts of the rules whose condition holds.

_NEEDLES = ["admin", "php", "a/b", ".bak", "union", "x", "?id=", "wp-", "/"]
_KINDS = ["", "|contains", "|startswith", "|endswith", "|contains|cased"]


def _rules() -> dict[str, str]:
    rules: dict[str, str] = {}
    for number in range(40):
        needle = _NEEDLES[number % len(_NEEDLES)]
        kind = _KINDS[number % len(_KINDS)]
        other = _NEEDLES[(number * 7 + 3) % len(_NEEDLES)]
        rules[f"r{number}.yml"] = f"""
        title: rule {number}
        logsource:
        {WEB}
        detection:
            path:
                cs-uri-stem{kind}: '{needle}'
            agent:
                - cs-user-agent|contains: '{other}'
                - cs-method: POST
            condition: path and {"not " if number % 3 == 0 else ""}agent
        """
    return rules


def _loaded(rules: dict[str, str]) -> RuleSet:
    with tempfile.TemporaryDirectory() as folder:
        return load_inline(Path(folder), **rules)


@functools.cache
def _ruleset() -> RuleSet:
    return _loaded(_rules())


_part = st.sampled_from(["admin", "ADMIN", "php", "a/b", ".bak", "x", "wp-", "/", "?id=", "q"])


@settings(max_examples=300, deadline=None)
@given(
    path=st.lists(_part, max_size=4).map("".join),
    agent=st.lists(_part, max_size=3).map("".join),
    method=st.sampled_from(["GET", "POST", "post"]),
)
def test_the_prefilter_never_hides_a_matching_rule(path: str, agent: str, method: str) -> None:
    ruleset = _ruleset()
    probe = event(
        {
            "event.dataset": "nginx.access",
            "url.path": path,
            "user_agent.original": agent,
            "http.request.method": method,
        }
    )
    expected = [rule.info.title for rule in ruleset.rules if rule.matches(probe)]
    assert [alert.rule_title for alert in Correlator(ruleset).process([probe])] == expected


def test_a_regex_is_anchored_on_the_literals_it_needs() -> None:
    regex: dict[str, object] = {
        "a": {"CommandLine|re": "Invoke-(Mimikatz|Kerberoast)"},
        "condition": "a",
    }
    assert anchors_of(regex) == frozenset({Anchor("CommandLine", "contains", "invoke-")})
    assert regex_literals("-(mimikatz|kerberoast)") == frozenset({"mimikatz", "kerberoast"})
    # Under IGNORECASE "s" also matches U+017F, whose lower case is not "s": cut there.
    assert regex_literals("(?i)powershell.*-enc") == frozenset({"power"})
    assert regex_literals("ab(cde|fgh)+") == frozenset({"cde", "fgh"})
    assert regex_literals("abc|d") is None  # one side needs nothing long enough
    assert regex_literals("(xyz)?abc") == frozenset({"abc"})
    assert regex_literals("x(?=abcd)") is None
    assert regex_literals("[") is None  # not a regex: the rule's own test reports it


def test_a_regex_with_only_short_runs_is_anchored_on_a_rare_character() -> None:
    # SigmaHQ's PowerShell token obfuscation rule: a backtick, rare in command lines.
    assert regex_literals("\\w+`(?:\\w+|-|.)`[\\w+|\\s]") == frozenset({"`"})
    assert regex_literals('"(?:\\{\\d\\})+"\\s*-f') == frozenset({"{"})
    assert regex_literals("(?i)\\$\\{`?e`?n`?v") == frozenset({"${"})
    assert regex_literals("a.b") is None  # short runs of common characters anchor nothing


REGEX_ALPHABET = "abcdeABCDE.-$ ist`{}\u0130\u0131\u017f\u212a"
PATTERNS = (
    "ab+c",
    "(?i)dEad|beef",
    "(?i)abc(de|e.a)",
    "(cat|dog)s?",
    "[a-c]+\\.exe",
    "(?i)-ENC\\s",
    "a(b|c)de",
    "(?i)test",
    "(?i:KIT)e",
    "a`(?:b|-|.)`",
    "(?i)\\$\\{`?e",
    "(?:\\{a\\})+-",
)


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    text=st.text(alphabet=REGEX_ALPHABET, max_size=16),
)
def test_a_text_a_regex_matches_holds_one_of_its_literals(pattern: str, text: str) -> None:
    literals = regex_literals(pattern)
    if literals is not None and re.search(pattern, text):
        assert any(literal in text.lower() for literal in literals), (pattern, text, literals)


# The native scan against the Python one (the reference): the same selection for any
# anchors and any values, ASCII or not, upper or lower case, numbers, lists, missing
# fields and UserData stand-ins.

_ANCHOR_FIELDS = ("f", "g", "winlog.event_data.Image")
# Non-ASCII letters whose lower case is special: İ lowers to two characters, the Kelvin
# sign to an ASCII k, ß and ſ stay as they are, capital ẞ lowers to ß, the ohm sign to
# ω; Vietnamese letters, a combining accent; Σ, whose lower case depends on what
# follows (so Python lower-cases it, not the native scan).
_letters = st.sampled_from(
    [*"aAbBkK1\\. é", "İ", "ß", "ſ", "\u212a", "Đ", "ư", "Ậ", "\u1e9e", "\u2126", "\u0301", "Σ"]
)
_letters |= st.just("\udc80")
_text = st.lists(_letters, min_size=1, max_size=6).map("".join)
_anchor = st.builds(
    Anchor,
    st.sampled_from(_ANCHOR_FIELDS),
    st.sampled_from(["equals", "startswith", "endswith", "contains"]),
    _text.map(str.lower),
)
_clauses = st.lists(st.frozensets(_anchor, min_size=1, max_size=3), max_size=3)
_value: st.SearchStrategy[FieldValue] = st.one_of(
    _text,
    st.lists(_text, min_size=1, max_size=8).map("".join),
    st.integers(-5, 120),
    st.lists(st.one_of(_text, st.integers(0, 20)), max_size=3).map(tuple),
)


def _around(texts: list[str]) -> st.SearchStrategy[str]:
    """Values holding one of `texts` whole, at the start, end or middle, in any case."""
    inner = st.sampled_from(texts).flatmap(
        lambda text: st.sampled_from([text, text.upper(), text.title(), text.swapcase()])
    )
    # Mostly the text alone, so that equal values are met often too.
    ends = st.sampled_from(["", "", "", "x", "Kb", "é", "."])
    return st.tuples(ends, inner, ends).map("".join)


@settings(max_examples=1000, deadline=None)
@given(rules=st.lists(_clauses, min_size=1, max_size=8), data=st.data())
def test_the_native_scan_selects_what_the_python_scan_does(
    rules: list[list[frozenset[Anchor]]], data: st.DataObject
) -> None:
    require_native()
    texts = sorted({anchor.text for clauses in rules for clause in clauses for anchor in clause})
    values = st.one_of(_value, _around(texts)) if texts else _value
    names = st.sampled_from([*_ANCHOR_FIELDS, "winlog.user_data.Log.Image", "h"])
    fields = data.draw(st.dictionaries(names, values, max_size=4))
    prefilter = Prefilter(range(len(rules)), dict(enumerate(rules)))
    assert prefilter.select(EventView(fields)) == prefilter.select_in_python(EventView(fields))


def test_the_native_scan_matches_other_text_numbers_lists_and_stand_ins() -> None:
    require_native()
    prefilter = Prefilter(
        [0, 1, 2],
        {
            0: (frozenset({Anchor("f", "equals", "đà nẵng")}),),
            1: (frozenset({Anchor("f", "contains", "42")}),),
            2: (frozenset({Anchor("winlog.event_data.Image", "endswith", "\\x.exe")}),),
        },
    )
    assert prefilter.select(EventView({"f": "ĐÀ NẴNG"})) == [0]
    assert prefilter.select(EventView({"f": 1420})) == [1]
    assert prefilter.select(EventView({"f": ("a", "b42")})) == [1]
    assert prefilter.select(EventView({"winlog.user_data.Log.Image": "C:\\X.EXE"})) == [2]
    # A lone surrogate (surrogateescape'd bytes) has no UTF-8 form; the scan still reads.
    assert prefilter.select(EventView({"f": "4\udc802"})) == []
    assert prefilter.select(EventView({"f": "42\udc80"})) == [1]


# Where the native scan lower-cases non-ASCII text itself (native/src/literal_scan.rs).
LOWERED_NATIVELY = ((0, 0x250), (0x300, 0x370), (0x1E00, 0x1F00), (0x2000, 0x2150))


def test_the_native_scan_lowers_text_as_python_does_wherever_it_lowers_it() -> None:
    require_native()
    lowered_text = importlib.import_module("canhgac._native").lowered_text
    checked = 0
    for start, end in LOWERED_NATIVELY:
        for code in range(start, end):
            character = chr(code)
            # Every character alone and among others: none lowers by context here.
            for text in (character, f"A{character}b", f"x{character}{character}Y"):
                assert lowered_text(text) == text.lower(), hex(code)
            checked += 1
    assert checked == 1296
    # Outside those blocks Python's str.lower() does it: Greek (Σ lowers by context),
    # Cyrillic, CJK, and lone surrogates.
    for text in ("ΟΔΟΣ", "Хуế", "資料", "a\udc80"):
        assert lowered_text(text) is None


def test_only_two_characters_beyond_ascii_lower_case_to_ascii() -> None:
    # The native scan searches tables of ASCII anchors in the text as it is, ASCII case
    # ignored, unless the text holds one of these two (native/src/literal_scan.rs).
    lowering_to_ascii = [
        code
        for code in range(0x80, sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF and any(map(str.isascii, chr(code).lower()))
    ]
    assert lowering_to_ascii == [0x130, 0x212A]


def test_ascii_anchors_are_found_in_text_of_any_case_and_script(select: Select) -> None:
    prefilter = Prefilter(
        [0, 1, 2],
        {
            0: (frozenset({Anchor("f", "contains", "kekeo")}),),
            1: (frozenset({Anchor("f", "equals", "ok")}),),
            2: (frozenset({Anchor("f", "startswith", "ab"), Anchor("f", "endswith", "yz")}),),
        },
    )
    for text, expected in [
        ("MIMIKATZ KEKEO ®", [0]),
        ("đã chặn Kekeo", [0]),
        ("\u212aekeo", [0]),  # the Kelvin sign lowers to k
        ("OK", [1]),
        ("Oк", []),  # a Cyrillic letter
        ("AB ® XYZ", [2]),
        ("ÀB xyz ®", []),
        ("\u0130ab", []),  # İ lowers to i and a combining dot: "ab" is no longer first
        ("kekö oké", []),
    ]:
        assert select(prefilter, EventView({"f": text})) == expected, text


def test_a_keyword_is_anchored_in_each_field_it_is_searched_in() -> None:
    assert anchors_of({"k": ["\\perfc.dat"], "condition": "k"}) == frozenset(
        {
            Anchor("event.original", "contains", "\\perfc.dat"),
            Anchor("message", "contains", "\\perfc.dat"),
        }
    )
    # Under IGNORECASE "i" also matches "ı" and "İ", whose lower case is not "i": only the
    # run without it is sound.
    assert anchors_of({"k": ["Mimikatz"], "condition": "k"}) == frozenset(
        {Anchor("event.original", "contains", "katz"), Anchor("message", "contains", "katz")}
    )
    assert anchors_of({"k": ["ab"], "condition": "k"}) is None  # too short to anchor


# Property: keyword rules (searched under IGNORECASE) are never hidden by their anchors,
# whatever letters the text holds.

_KEYWORDS = ["Mimikatz", "perfc.dat", "Trojan:Win32", "KERNEL", "sekurlsa", "đăng nhập", "wscript"]


def _keyword_rules() -> dict[str, str]:
    rules: dict[str, str] = {}
    for number, keyword in enumerate(_KEYWORDS + ["x" + k for k in _KEYWORDS[:3]]):
        modifier = "|cased" if number % 4 == 3 else ""
        rules[f"k{number}.yml"] = f"""
        title: keyword {number}
        logsource:
        {WEB}
        detection:
            keywords{modifier}:
                - '{keyword}'
            condition: keywords
        """
    return rules


@functools.cache
def _keyword_ruleset() -> RuleSet:
    return _loaded(_keyword_rules())


_keyword_part = st.sampled_from(
    [*_KEYWORDS, "MİMİKATZ", "mımıkatz", "ſekurlſa", "\u212aERNEL", "ĐĂNG NHẬP", "xx", " ", "é"]
)


@settings(max_examples=300, deadline=None)
@given(
    message=st.lists(_keyword_part, max_size=3).map("".join),
    original=st.lists(_keyword_part, max_size=3).map("".join),
    case=st.sampled_from([str, str.upper, str.lower, str.swapcase]),
)
def test_the_prefilter_never_hides_a_matching_keyword_rule(
    message: str, original: str, case: Callable[[str], str]
) -> None:
    ruleset = _keyword_ruleset()
    probe = event(
        {"event.dataset": "nginx.access", "message": case(message), "event.original": original}
    )
    expected = [rule.info.title for rule in ruleset.rules if rule.matches(probe)]
    assert [alert.rule_title for alert in Correlator(ruleset).process([probe])] == expected
