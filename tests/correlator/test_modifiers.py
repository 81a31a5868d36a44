"""The Sigma 2 value modifiers and their edge cases, beyond the basics of test_matchers."""

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canhgac.correlator import Correlator, LogsourceConfigError, load_rules
from canhgac.events import FieldValue
from tests.correlator._events import compiled, event, web_event, write_rules


def matches(detection_value: Any, fields: Mapping[str, FieldValue], key: str = "f") -> bool:
    rule = compiled({"sel": {key: detection_value}, "condition": "sel"})
    return rule.matches(event(fields))


def utf16le_base64(text: str) -> str:
    return base64.b64encode(text.encode("utf-16-le")).decode()


class TestEncodings:
    def test_base64_matches_the_encoded_value(self) -> None:
        encoded = base64.b64encode(b"whoami /all").decode()
        assert matches("whoami /all", {"f": encoded}, "f|base64")
        assert not matches("whoami /all", {"f": "whoami /all"}, "f|base64")

    def test_base64_with_contains_finds_it_inside_a_longer_value(self) -> None:
        encoded = base64.b64encode(b"IEX").decode()
        assert matches("IEX", {"f": f"-enc {encoded}"}, "f|base64|contains")

    @pytest.mark.parametrize("prefix", ["", "a", "ab", "abc", "Hello, "])
    def test_base64offset_finds_the_value_at_any_offset(self, prefix: str) -> None:
        payload = base64.b64encode(f"{prefix}Invoke-Mimikatz -Dump".encode()).decode()
        assert matches("Invoke-Mimikatz", {"f": payload}, "f|base64offset|contains")

    def test_base64offset_does_not_match_other_text(self) -> None:
        payload = base64.b64encode(b"Get-Process | Stop-Process").decode()
        assert not matches("Invoke-Mimikatz", {"f": payload}, "f|base64offset|contains")

    def test_wide_encodes_as_utf16_little_endian(self) -> None:
        command = f"powershell -enc {utf16le_base64('IEX (New-Object Net.WebClient)')}"
        assert matches("New-Object", {"f": command}, "f|wide|base64offset|contains")
        assert not matches("Old-Object", {"f": command}, "f|wide|base64offset|contains")

    def test_utf16le_is_the_specifications_name_for_wide(self, tmp_path: Path) -> None:
        # pySigma 1.5 only knows `wide`; load_rules teaches it the specification's alias.
        rule = """
        title: Encoded Download
        logsource:
            category: webserver
        detection:
            selection:
                cs-uri-query|utf16le|base64offset|contains: New-Object
            condition: selection
        """
        ruleset = load_rules([write_rules(tmp_path, "r.yml", rule)], bundled=False)
        assert ruleset.errors == ()
        query = f"c={utf16le_base64('IEX (New-Object Net.WebClient)')}"
        alerts = Correlator(ruleset).process([web_event("/", query=query)])
        assert len(alerts) == 1

    def test_utf16be(self) -> None:
        encoded = base64.b64encode("cmd".encode("utf-16-be")).decode()
        assert matches("cmd", {"f": encoded}, "f|utf16be|base64")
        assert not matches("cmd", {"f": utf16le_base64("cmd")}, "f|utf16be|base64")


class TestWindash:
    @pytest.mark.parametrize("dash", ["-", "/", "\u2013", "\u2014", "\u2015"])
    def test_every_dash_form_matches(self, dash: str) -> None:
        assert matches(
            " -exec bypass", {"f": f"powershell {dash}exec bypass"}, "f|windash|contains"
        )

    def test_a_dash_inside_a_word_is_not_expanded(self) -> None:
        # Only a dash that starts a parameter (after a non-word character) varies.
        assert matches("x-ray", {"f": "x-ray"}, "f|windash")
        assert not matches("x-ray", {"f": "x/ray"}, "f|windash")


class TestFieldReferences:
    def test_equal_fields(self) -> None:
        assert matches("g", {"f": "Admin", "g": "admin"}, "f|fieldref")
        assert not matches("g", {"f": "admin"}, "f|fieldref")  # the other field is missing
        assert not matches("g", {"g": "admin"}, "f|fieldref")

    def test_with_startswith_endswith_and_contains(self) -> None:
        fields: dict[str, FieldValue] = {"f": "C:\\Users\\bob\\evil.exe", "g": "c:\\users\\bob"}
        assert matches("g", fields, "f|fieldref|startswith")
        assert not matches("g", fields, "f|fieldref|endswith")
        assert matches("g", {"f": "x.exe", "g": ".EXE"}, "f|fieldref|endswith")
        assert matches("g", {"f": "a-bob-b", "g": "bob"}, "f|fieldref|contains")
        assert not matches("g", {"f": "a-bo-b", "g": "bob"}, "f|fieldref|contains")

    def test_numbers_compare_by_their_text(self) -> None:
        assert matches("g", {"f": 4624, "g": "4624"}, "f|fieldref")


class TestNumericComparisons:
    @pytest.mark.parametrize(
        ("modifier", "value", "expected"),
        [
            ("gt", 10, False),
            ("gt", 11, True),
            ("gte", 10, True),
            ("gte", 9, False),
            ("lt", 10, False),
            ("lt", 9, True),
            ("lte", 10, True),
            ("lte", 11, False),
        ],
    )
    def test_bounds(self, modifier: str, value: int, expected: bool) -> None:
        assert matches(10, {"f": value}, f"f|{modifier}") is expected

    def test_text_holding_a_number_counts_and_other_text_does_not(self) -> None:
        assert matches(1000, {"f": "1500"}, "f|gt")
        assert matches(1000, {"f": " 1500 "}, "f|gt")  # float() allows surrounding spaces
        assert not matches(1000, {"f": "lots"}, "f|gt")
        assert not matches(1000, {"f": ""}, "f|gt")
        assert not matches(1000, {}, "f|gt")

    def test_floats_and_negative_numbers(self) -> None:
        assert matches(0.5, {"f": 0.75}, "f|gt")
        assert matches(-1, {"f": -2}, "f|lt")

    def test_booleans_are_not_numbers(self) -> None:
        assert not matches(0, {"f": True}, "f|gt")

    def test_any_value_of_a_multi_valued_field(self) -> None:
        assert matches(100, {"f": (1, 2, 300)}, "f|gte")


class TestEscapesAndWildcards:
    def test_escaped_backslash_before_a_wildcard(self) -> None:
        # '\\\\*' is a backslash then a wildcard.
        assert matches("C:\\\\*", {"f": "C:\\Windows"})
        assert not matches("C:\\\\*", {"f": "C:/Windows"})

    def test_escaped_wildcards_in_startswith_and_endswith(self) -> None:
        assert matches("\\*", {"f": "*.exe"}, "f|startswith")
        assert not matches("\\*", {"f": "a.exe"}, "f|startswith")
        assert matches("\\?", {"f": "why?"}, "f|endswith")
        assert not matches("\\?", {"f": "why!"}, "f|endswith")

    def test_question_mark_inside_contains(self) -> None:
        assert matches("a?c", {"f": "xxabcxx"}, "f|contains")
        assert not matches("a?c", {"f": "xxacxx"}, "f|contains")


class TestEmptyAndMissing:
    def test_empty_contains_startswith_endswith_match_any_present_text(self) -> None:
        for modifier in ("contains", "startswith", "endswith"):
            assert matches("", {"f": "anything"}, f"f|{modifier}")
            assert matches("", {"f": ""}, f"f|{modifier}")
            assert not matches("", {}, f"f|{modifier}")

    def test_null_and_empty_string_are_different(self) -> None:
        assert matches(None, {})
        assert not matches(None, {"f": ""})
        assert matches("", {"f": ""})
        assert not matches("", {})

    def test_a_missing_field_under_not_makes_the_not_true(self) -> None:
        rule = compiled({"sel": {"a": "x"}, "flt": {"f": "y"}, "condition": "sel and not flt"})
        assert rule.matches(event({"a": "x"}))
        assert not rule.matches(event({"a": "x", "f": "Y"}))


class TestCase:
    def test_non_ascii_case_is_ignored(self) -> None:
        assert matches("ĐĂNG NHẬP", {"f": "đăng nhập thất bại"}, "f|startswith")
        assert matches("ÄÖÜ", {"f": "xäöüx"}, "f|contains")

    def test_cased_applies_to_startswith_and_endswith(self) -> None:
        assert matches("Get-", {"f": "Get-Process"}, "f|startswith|cased")
        assert not matches("Get-", {"f": "get-process"}, "f|startswith|cased")
        assert matches(".PS1", {"f": "x.PS1"}, "f|endswith|cased")
        assert not matches(".PS1", {"f": "x.ps1"}, "f|endswith|cased")

    def test_cased_in_a_list_keeps_the_other_values_insensitive(self) -> None:
        rule = compiled(
            {
                "sel": [{"f|cased": "Admin"}, {"f": "ROOT"}],
                "condition": "sel",
            }
        )
        assert rule.matches(event({"f": "Admin"}))
        assert not rule.matches(event({"f": "admin"}))
        assert rule.matches(event({"f": "root"}))


class TestLists:
    def test_all_with_startswith_needs_every_prefix_on_some_value(self) -> None:
        assert matches(["a", "ab"], {"f": "abc"}, "f|startswith|all")
        assert not matches(["a", "b"], {"f": "abc"}, "f|startswith|all")

    def test_numbers_and_strings_in_one_list(self) -> None:
        assert matches([4624, "4625"], {"f": 4625})
        assert matches([4624, "4625"], {"f": "4624"})
        assert not matches([4624, "4625"], {"f": 4626})


class TestExpand:
    RULE = """
    title: Logon From Workstation
    logsource:
        category: webserver
    detection:
        selection:
            cs-host|expand: '%Workstations%'
        condition: selection
    """

    def load(self, tmp_path: Path, placeholders: dict[str, list[str]]) -> Correlator:
        path = write_rules(tmp_path, "r.yml", self.RULE)
        ruleset = load_rules([path], bundled=False, placeholders=placeholders)
        assert ruleset.errors == ()
        return Correlator(ruleset)

    def test_a_placeholder_expands_to_its_configured_values(self, tmp_path: Path) -> None:
        correlator = self.load(tmp_path, {"Workstations": ["ws-01", "ws-02"]})
        probe = web_event("/")
        events = [event({**probe.fields, "url.domain": host}) for host in ("WS-01", "ws-02", "x")]
        assert [alert.event_ids for alert in correlator.process(events)] == [
            (events[0].id,),
            (events[1].id,),
        ]

    def test_configured_values_may_hold_wildcards(self, tmp_path: Path) -> None:
        correlator = self.load(tmp_path, {"Workstations": ["ws-*"]})
        probe = web_event("/")
        fields = {**probe.fields, "url.domain": "ws-1337"}
        assert len(correlator.process([event(fields)])) == 1

    def test_a_placeholder_inside_a_longer_value(self, tmp_path: Path) -> None:
        rule = self.RULE.replace("'%Workstations%'", "'%Workstations%.haugiang.gov.vn'")
        path = write_rules(tmp_path, "r.yml", rule)
        ruleset = load_rules([path], bundled=False, placeholders={"Workstations": ["ws-01"]})
        probe = web_event("/")
        hit = event({**probe.fields, "url.domain": "ws-01.haugiang.gov.vn"})
        miss = event({**probe.fields, "url.domain": "ws-01"})
        assert len(Correlator(ruleset).process([hit, miss])) == 1

    def test_a_placeholder_without_values_skips_the_rule(self, tmp_path: Path) -> None:
        path = write_rules(tmp_path, "r.yml", self.RULE)
        ruleset = load_rules([path], bundled=False, placeholders={"Servers": ["srv-*"]})
        (error,) = ruleset.errors
        assert error.reason.startswith("placeholder %Workstations% has no values")
        assert ruleset.rules == ()

    def test_percent_signs_without_expand_are_plain_text(self) -> None:
        assert matches("%Workstations%", {"f": "%workstations%"})

    def test_placeholder_values_must_be_a_list_of_strings(self, tmp_path: Path) -> None:
        path = write_rules(tmp_path, "r.yml", self.RULE)
        with pytest.raises(LogsourceConfigError, match="list of strings"):
            load_rules([path], bundled=False, placeholders={"Workstations": "ws-01"})
        with pytest.raises(LogsourceConfigError, match="has no values"):
            load_rules([path], bundled=False, placeholders={"Workstations": []})


# Property test: OR-ed values on one field are merged into one test by shape (equals,
# startswith, endswith, contains); the merge must agree with testing each value alone.

_pattern = st.text(alphabet="ab*", min_size=0, max_size=4)
_text = st.text(alphabet="abAB", max_size=6)


@given(patterns=st.lists(_pattern, min_size=1, max_size=5), text=_text)
def test_a_value_list_matches_when_one_of_its_values_does(patterns: list[str], text: str) -> None:
    merged = matches(patterns, {"f": text})
    alone = [matches(pattern, {"f": text}) for pattern in patterns]
    assert merged == any(alone)


@given(
    needles=st.lists(st.text(alphabet="abc", min_size=1, max_size=3), min_size=1, max_size=4),
    modifier=st.sampled_from(["contains", "startswith", "endswith"]),
    text=st.text(alphabet="abcABC", max_size=8),
)
def test_affix_lists_agree_with_python_string_tests(
    needles: list[str], modifier: str, text: str
) -> None:
    lowered = text.lower()
    tests = {
        "contains": lambda n: n in lowered,
        "startswith": lowered.startswith,
        "endswith": lowered.endswith,
    }
    expected = any(tests[modifier](needle) for needle in needles)
    assert matches(needles, {"f": text}, f"f|{modifier}") == expected
