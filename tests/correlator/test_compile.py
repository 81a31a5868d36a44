"""Condition forms: and/or/not, parentheses, `1 of`, `all of`, lists of conditions."""

from collections.abc import Mapping
from typing import Any

import pytest

from canhgac.correlator import RuleCompileError, compile_rule
from canhgac.events import FieldValue
from tests.correlator._events import compiled, event, sigma_rule

DETECTIONS: dict[str, Any] = {
    "sel_get": {"http.request.method": "GET"},
    "sel_admin": {"url.path|startswith": "/admin"},
    "filter_office": {"source.ip|cidr": "10.0.0.0/8"},
}


def fires(condition: str | list[str], fields: Mapping[str, FieldValue]) -> bool:
    rule = compiled({**DETECTIONS, "condition": condition})
    return rule.matches(event(fields))


GET_ADMIN_OUTSIDE = {"http.request.method": "GET", "url.path": "/admin", "source.ip": "1.2.3.4"}
GET_ADMIN_OFFICE = {"http.request.method": "GET", "url.path": "/admin", "source.ip": "10.1.2.3"}
POST_HOME = {"http.request.method": "POST", "url.path": "/", "source.ip": "1.2.3.4"}
GET_HOME = {"http.request.method": "GET", "url.path": "/", "source.ip": "1.2.3.4"}


def test_and() -> None:
    assert fires("sel_get and sel_admin", GET_ADMIN_OUTSIDE)
    assert not fires("sel_get and sel_admin", GET_HOME)


def test_or() -> None:
    assert fires("sel_get or sel_admin", GET_HOME)
    assert not fires("sel_get or sel_admin", POST_HOME)


def test_not() -> None:
    assert fires("sel_admin and not filter_office", GET_ADMIN_OUTSIDE)
    assert not fires("sel_admin and not filter_office", GET_ADMIN_OFFICE)


def test_parentheses_change_the_grouping() -> None:
    # "not a or b" is "(not a) or b"; with parentheses it is "not (a or b)".
    assert fires("not sel_get or sel_admin", GET_ADMIN_OUTSIDE)
    assert not fires("not (sel_get or sel_admin)", GET_ADMIN_OUTSIDE)
    assert fires("not (sel_get or sel_admin)", POST_HOME)


def test_one_of_a_prefix() -> None:
    assert fires("1 of sel_*", GET_HOME)
    assert not fires("1 of sel_*", POST_HOME)


def test_all_of_a_prefix() -> None:
    assert fires("all of sel_*", GET_ADMIN_OUTSIDE)
    assert not fires("all of sel_*", GET_HOME)


def test_one_of_them_and_all_of_them() -> None:
    assert fires("1 of them", POST_HOME | {"source.ip": "10.0.0.1"})
    assert not fires("all of them", GET_ADMIN_OUTSIDE)
    assert fires("all of them", GET_ADMIN_OFFICE)


def test_a_list_of_conditions_is_an_or() -> None:
    assert fires(["sel_admin", "sel_get"], GET_HOME)
    assert not fires(["sel_admin", "sel_get"], POST_HOME)


def test_a_mapping_ands_its_fields_and_a_list_of_mappings_ors_them() -> None:
    rule = compiled(
        {
            "sel": [
                {"http.request.method": "GET", "url.path": "/a"},
                {"http.request.method": "POST", "url.path": "/b"},
            ],
            "condition": "sel",
        }
    )
    assert rule.matches(event({"http.request.method": "GET", "url.path": "/a"}))
    assert rule.matches(event({"http.request.method": "POST", "url.path": "/b"}))
    assert not rule.matches(event({"http.request.method": "GET", "url.path": "/b"}))


def test_a_long_value_list_on_one_field_matches_each_value() -> None:
    agents = [f"tool{n}/" for n in range(200)]
    rule = compiled({"sel": {"user_agent.original|contains": agents}, "condition": "sel"})
    assert rule.matches(event({"user_agent.original": "x TOOL137/2.0"}))
    assert not rule.matches(event({"user_agent.original": "Mozilla/5.0"}))


def test_an_unknown_detection_in_the_condition_is_a_compile_error() -> None:
    rule = sigma_rule({**DETECTIONS, "condition": "sel_get and sel_missing"})
    with pytest.raises(RuleCompileError, match="sel_missing"):
        compile_rule(rule)


def test_a_rule_compiled_without_the_pipeline_is_routed_nowhere() -> None:
    rule = compiled({**DETECTIONS, "condition": "sel_get"})
    assert not rule.routed
    assert rule.route_keys == frozenset()


def test_metadata_is_copied_from_the_rule() -> None:
    rule = compiled(
        {**DETECTIONS, "condition": "sel_get"},
        id="11111111-2222-4333-8444-555555555555",
        level="high",
        tags=["attack.t1190"],
        description="Probe of the admin area.\n",
    )
    assert rule.info.rule_id == "11111111-2222-4333-8444-555555555555"
    assert rule.info.severity == "high"
    assert rule.info.tags == ("attack.t1190",)
    assert rule.info.description == "Probe of the admin area."
    assert str(rule.logsource) == "category: test"
