"""Each Sigma value form and modifier, against events a user would expect to (not) match."""

import fnmatch
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from canhgac.correlator import RuleCompileError
from canhgac.events import FieldValue
from tests.correlator._events import compiled, event


def matches(detection_value: Any, fields: Mapping[str, FieldValue], key: str = "f") -> bool:
    rule = compiled({"sel": {key: detection_value}, "condition": "sel"})
    return rule.matches(event(fields))


def sigma_escape(text: str) -> str:
    """Escape Sigma's special characters so the text is matched literally."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


class TestPlainStrings:
    def test_equality_ignores_case(self) -> None:
        assert matches("GET", {"f": "get"})
        assert matches("post", {"f": "POST"})

    def test_equality_is_whole_value(self) -> None:
        assert not matches("GET", {"f": "GETX"})
        assert not matches("GET", {"f": " GET"})

    def test_vietnamese_text_ignores_case(self) -> None:
        assert matches("Nguyễn Văn An", {"f": "NGUYỄN VĂN AN"})
        assert not matches("Nguyễn Văn An", {"f": "Nguyen Van An"})

    def test_sharp_s_is_not_folded_to_ss(self) -> None:
        # str.lower(), not casefold(): "ß" and "ss" stay different, as in the backends.
        assert not matches("straße", {"f": "STRASSE"})

    def test_empty_string_matches_only_an_empty_value(self) -> None:
        assert matches("", {"f": ""})
        assert not matches("", {"f": "x"})
        assert not matches("", {})

    def test_string_value_matches_a_number_field_by_its_text(self) -> None:
        assert matches("404", {"f": 404})
        assert matches("404", {"f": 404.0})
        assert not matches("404", {"f": 4040})

    def test_string_value_matches_a_boolean_field_by_its_text(self) -> None:
        assert matches("true", {"f": True})
        assert not matches("true", {"f": False})

    def test_missing_field_never_matches_a_string(self) -> None:
        assert not matches("x", {"g": "x"})


class TestWildcards:
    def test_star_matches_any_run_of_characters(self) -> None:
        assert matches("/admin*", {"f": "/admin/login.php"})
        assert matches("*.php", {"f": "/index.PHP"})
        assert matches("*admin*", {"f": "/ADMIN"})
        assert matches("a*b*c", {"f": "a--b--c"})
        assert not matches("a*b*c", {"f": "a--c--b"})

    def test_question_mark_matches_exactly_one_character(self) -> None:
        assert matches("adm?n", {"f": "admin"})
        assert not matches("adm?n", {"f": "admn"})
        assert not matches("adm?n", {"f": "adm--n"})

    def test_star_alone_matches_any_present_value(self) -> None:
        assert matches("*", {"f": ""})
        assert matches("*", {"f": "anything"})
        assert not matches("*", {})

    def test_escaped_star_and_question_mark_are_literal(self) -> None:
        assert matches("what\\*", {"f": "what*"})
        assert not matches("what\\*", {"f": "whatever"})
        assert matches("why\\?", {"f": "why?"})
        assert not matches("why\\?", {"f": "whyy"})

    def test_escaped_backslash_is_one_backslash(self) -> None:
        assert matches("C:\\\\Windows\\\\*", {"f": "c:\\windows\\system32"})

    def test_backslash_before_an_ordinary_character_is_kept(self) -> None:
        assert matches("C:\\Windows", {"f": "C:\\Windows"})

    def test_wildcards_span_newlines(self) -> None:
        assert matches("a*b", {"f": "a\nb"})

    def test_regex_characters_in_wildcard_values_are_literal(self) -> None:
        assert matches("*(a+b)*", {"f": "x(a+b)y"})
        assert not matches("*(a+b)*", {"f": "xaaby"})


class TestStringModifiers:
    def test_contains_startswith_endswith(self) -> None:
        assert matches("union select", {"f": "id=1 UNION SELECT 2"}, "f|contains")
        assert matches("/api/", {"f": "/API/v1"}, "f|startswith")
        assert not matches("/api/", {"f": "/v1/api/"}, "f|startswith")
        assert matches(".bak", {"f": "/db.BAK"}, "f|endswith")
        assert not matches(".bak", {"f": "/db.bak.txt"}, "f|endswith")

    def test_contains_keeps_inner_wildcards(self) -> None:
        assert matches("union*select", {"f": "1 union all select"}, "f|contains")

    def test_contains_with_escaped_wildcard(self) -> None:
        assert matches("/\\*!", {"f": "a/*!50000union*/"}, "f|contains")
        assert not matches("/\\*!", {"f": "/x/!"}, "f|contains")
        assert matches("/*!", {"f": "/x/!"}, "f|contains")
        assert matches("a\\*b", {"f": "xa*by"}, "f|contains")
        assert not matches("a\\*b", {"f": "xaZZby"}, "f|contains")

    def test_all_requires_every_value(self) -> None:
        assert matches(["union", "select"], {"f": "union all select"}, "f|contains|all")
        assert not matches(["union", "select"], {"f": "union all"}, "f|contains|all")

    def test_cased_compares_case_sensitively(self) -> None:
        assert matches("Admin", {"f": "Admin"}, "f|cased")
        assert not matches("Admin", {"f": "admin"}, "f|cased")
        assert matches("Adm", {"f": "xAdmy"}, "f|contains|cased")
        assert not matches("Adm", {"f": "xadmy"}, "f|contains|cased")

    def test_neq_negates(self) -> None:
        assert matches("root", {"f": "alice"}, "f|neq")
        assert not matches("root", {"f": "ROOT"}, "f|neq")

    def test_windash_matches_either_dash(self) -> None:
        assert matches(" -enc ", {"f": "powershell /enc abc"}, "f|windash|contains")
        assert matches(" -enc ", {"f": "powershell -enc abc"}, "f|windash|contains")

    def test_base64offset_matches_an_encoded_fragment(self) -> None:
        # "http://" base64-encoded at offset 0 inside a longer string.
        assert matches("http://", {"f": "x aHR0cDovL2V2aWwuY29t"}, "f|base64offset|contains")


class TestRegularExpressions:
    def test_search_is_unanchored_and_case_sensitive(self) -> None:
        assert matches("sel.ct", {"f": "1 union select"}, "f|re")
        assert not matches("sel.ct", {"f": "1 UNION SELECT"}, "f|re")

    def test_anchors_are_honoured(self) -> None:
        assert matches("^/admin", {"f": "/admin/x"}, "f|re")
        assert not matches("^/admin", {"f": "/x/admin"}, "f|re")

    def test_i_flag_ignores_case(self) -> None:
        assert matches("sel.ct", {"f": "UNION SELECT"}, "f|re|i")

    def test_m_flag_makes_anchors_work_per_line(self) -> None:
        assert not matches("^b$", {"f": "a\nb\nc"}, "f|re")
        assert matches("^b$", {"f": "a\nb\nc"}, "f|re|m")

    def test_s_flag_lets_dot_match_newline(self) -> None:
        assert not matches("a.b", {"f": "a\nb"}, "f|re")
        assert matches("a.b", {"f": "a\nb"}, "f|re|s")

    def test_regex_wildcard_characters_are_regex_syntax(self) -> None:
        assert matches("a*b", {"f": "b"}, "f|re")
        assert matches("\\d{3}\\.php", {"f": "/123.php"}, "f|re")


class TestNumbers:
    def test_integer_matches_integer_and_float_fields(self) -> None:
        assert matches(404, {"f": 404})
        assert matches(404, {"f": 404.0})
        assert not matches(404, {"f": 403})

    def test_number_matches_a_string_field_holding_its_text(self) -> None:
        assert matches(404, {"f": "404"})
        assert not matches(404, {"f": "0404"})
        assert not matches(404, {"f": "404 "})

    def test_float_value(self) -> None:
        assert matches(1.5, {"f": 1.5})
        assert matches(1.5, {"f": "1.5"})

    def test_number_never_matches_a_boolean(self) -> None:
        assert not matches(1, {"f": True})

    def test_comparisons(self) -> None:
        assert matches(500, {"f": 503}, "f|gte")
        assert matches(500, {"f": "503"}, "f|gte")
        assert not matches(500, {"f": 499}, "f|gte")
        assert matches(1000, {"f": 999}, "f|lt")
        assert not matches(1000, {"f": "many"}, "f|lt")


class TestNullAndExists:
    def test_null_matches_a_missing_field(self) -> None:
        assert matches(None, {})
        assert matches(None, {"f": None})
        assert matches(None, {"f": ()})

    def test_null_does_not_match_empty_text(self) -> None:
        assert not matches(None, {"f": ""})
        assert not matches(None, {"f": "x"})

    def test_exists(self) -> None:
        assert matches(True, {"f": ""}, "f|exists")
        assert not matches(True, {}, "f|exists")
        assert matches(False, {}, "f|exists")
        assert not matches(False, {"f": "x"}, "f|exists")


class TestBooleans:
    def test_boolean_value(self) -> None:
        assert matches(True, {"f": True})
        assert matches(True, {"f": "TRUE"})
        assert not matches(True, {"f": False})
        assert not matches(True, {"f": 1})


class TestCidr:
    def test_ipv4_network(self) -> None:
        assert matches("10.0.0.0/8", {"f": "10.20.30.40"}, "f|cidr")
        assert not matches("10.0.0.0/8", {"f": "11.0.0.1"}, "f|cidr")

    def test_ipv6_network(self) -> None:
        assert matches("2001:db8::/32", {"f": "2001:db8::1"}, "f|cidr")
        assert not matches("2001:db8::/32", {"f": "10.0.0.1"}, "f|cidr")

    def test_values_that_are_no_address_do_not_match(self) -> None:
        assert not matches("10.0.0.0/8", {"f": "portal.local"}, "f|cidr")
        assert not matches("10.0.0.0/8", {}, "f|cidr")


class TestListsAndMultiValuedFields:
    def test_a_list_matches_any_of_its_values(self) -> None:
        assert matches(["admin", "root"], {"f": "ROOT"})
        assert not matches(["admin", "root"], {"f": "alice"})

    def test_a_list_mixing_kinds_of_values(self) -> None:
        values = ["*.php", 404, "adm?n", "exact"]
        assert matches(values, {"f": "x.php"})
        assert matches(values, {"f": 404})
        assert matches(values, {"f": "admin"})
        assert matches(values, {"f": "EXACT"})
        assert not matches(values, {"f": "exactly"})

    def test_a_multi_valued_field_matches_when_any_element_does(self) -> None:
        assert matches("web", {"f": ("network", "web")})
        assert matches("*work", {"f": ("network", "web")})
        assert not matches("file", {"f": ("network", "web")})

    def test_field_reference_compares_two_fields(self) -> None:
        assert matches("g", {"f": "Alice", "g": "alice"}, "f|fieldref")
        assert not matches("g", {"f": "alice", "g": "bob"}, "f|fieldref")


class TestKeywords:
    def test_keywords_are_searched_in_the_original_line(self) -> None:
        rule = compiled({"keywords": ["Corrupted MAC on input"], "condition": "keywords"})
        assert rule.matches(event({"event.original": "sshd[1]: corrupted mac on input."}))

    def test_keywords_are_searched_in_the_message(self) -> None:
        rule = compiled({"keywords": ["error in libcrypto"], "condition": "keywords"})
        assert rule.matches(event({"message": "fatal: error in libcrypto"}))

    def test_keywords_ignore_other_fields(self) -> None:
        rule = compiled({"keywords": ["sqlmap"], "condition": "keywords"})
        assert not rule.matches(event({"user_agent.original": "sqlmap/1.7"}))

    def test_keyword_wildcards(self) -> None:
        rule = compiled({"keywords": ["union*select"], "condition": "keywords"})
        assert rule.matches(event({"message": "x UNION ALL SELECT y"}))
        assert not rule.matches(event({"message": "select then union"}))

    def test_keywords_ignore_case_in_a_line_with_non_ascii_text(self) -> None:
        rule = compiled({"keywords": ["\\perfc.dat", "đăng nhập"], "condition": "keywords"})
        line = "Người dùng ® chạy C:\\Windows\\PERFC.DAT"
        assert rule.matches(event({"event.original": line}))
        assert rule.matches(event({"message": "ĐĂNG NHẬP thất bại"}))
        assert not rule.matches(event({"message": "dang nhap that bai"}))

    def test_a_keyword_wildcard_spans_lines(self) -> None:
        rule = compiled({"keywords": ["begin*end", "x?y"], "condition": "keywords"})
        assert rule.matches(event({"event.original": "BEGIN\nthe middle\nEND"}))
        assert rule.matches(event({"message": "X\nY"}))
        assert not rule.matches(event({"message": "xy"}))

    def test_keyword_regex(self) -> None:
        rule = compiled({"keywords": {"|re": "port \\d+ ssh2$"}, "condition": "keywords"})
        assert rule.matches(event({"message": "Failed password for x from 1.2.3.4 port 22 ssh2"}))


class TestUnsupported:
    def test_placeholders_without_values_are_reported(self) -> None:
        with pytest.raises(RuleCompileError, match=r"^placeholder %admins% has no values"):
            compiled({"sel": {"user.name|expand": "%admins%"}, "condition": "sel"})

    def test_time_modifiers_are_reported(self) -> None:
        with pytest.raises(RuleCompileError, match=r"^unsupported: time modifiers"):
            compiled({"sel": {"f|hour": 3}, "condition": "sel"})


# Property tests: an independent oracle for the wildcard semantics.

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@given(text=_text)
def test_an_escaped_value_matches_exactly_its_text(text: str) -> None:
    assert matches(sigma_escape(text), {"f": text})


@given(text=_text)
def test_an_escaped_value_matches_its_text_in_other_case(text: str) -> None:
    assume(text.upper().lower() == text.lower())
    assert matches(sigma_escape(text), {"f": text.upper()})


@given(text=_text, other=_text)
def test_an_escaped_value_matches_no_other_text(text: str, other: str) -> None:
    assume(text.lower() != other.lower())
    assert not matches(sigma_escape(text), {"f": other})


@given(before=_text, needle=_text, after=_text)
def test_contains_finds_the_text_anywhere(before: str, needle: str, after: str) -> None:
    assert matches(sigma_escape(needle), {"f": before + needle + after}, "f|contains")


@given(
    pattern=st.text(alphabet="ab*?", max_size=8),
    text=st.text(alphabet="abAB", max_size=8),
)
def test_wildcards_agree_with_fnmatch(pattern: str, text: str) -> None:
    expected = fnmatch.fnmatchcase(text.lower(), pattern)
    assert matches(pattern, {"f": text}) == expected


@given(
    keyword=st.text(alphabet="aAđĐ*?", min_size=1, max_size=6),
    text=st.text(alphabet="aAbđĐ\n", max_size=10),
    alone=st.booleans(),
)
def test_keywords_agree_with_fnmatch_on_the_lowered_text(
    keyword: str, text: str, alone: bool
) -> None:
    # Alone, or beside another keyword (merged with it into one search).
    keywords = [keyword] if alone else [keyword, "zzz"]
    rule = compiled({"keywords": keywords, "condition": "keywords"})
    expected = fnmatch.fnmatchcase(text.lower(), f"*{keyword.lower()}*")
    assert rule.matches(event({"message": text})) == expected
