"""Documents and mappings of the Elasticsearch store, without a cluster."""

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.events import Event, FieldValue
from canhgac.incidents import GroupKey
from canhgac.storage import StoreError
from canhgac.storage._elasticsearch_docs import (
    ECS_FIELD_TYPES,
    EXTRA_FIELDS,
    FAMILY_LONGS,
    check_prefix,
    event_document,
    event_from_document,
    event_index,
    event_index_day,
    event_json,
    event_mappings,
    field_kind,
    group_key_id,
    index_templates,
    searchable_field_name,
)

NGINX_FIELDS: dict[str, FieldValue] = {
    "event.kind": "event",
    "event.category": ("web",),
    "event.dataset": "nginx.access",
    "source.ip": "203.113.131.5",
    "http.response.status_code": 403,
    "url.original": "/cong-dich-vu?q=Nguyễn",
    "event.original": '203.113.131.5 - - "GET /cong-dich-vu?q=Nguyễn HTTP/1.1" 403 0',
    "labels.system": "Cổng dịch vụ công",
}


def read_back(event: Event, body: bytes) -> Event:
    """What a search hit of the document gives back."""
    return event_from_document(event.id, orjson.loads(body))


def test_an_ecs_event_is_indexed_under_its_ecs_names_with_nothing_extra() -> None:
    event = Event("e1", datetime(2026, 11, 24, 1, 15, 2, 123456, tzinfo=UTC), NGINX_FIELDS)
    document = event_document(event)
    assert document == {
        "@timestamp": "2026-11-24T01:15:02.123456Z",
        "event.kind": "event",
        "event.category": ["web"],
        "event.dataset": "nginx.access",
        "source.ip": "203.113.131.5",
        "http.response.status_code": 403,
        "url.original": "/cong-dich-vu?q=Nguyễn",
        "event.original": '203.113.131.5 - - "GET /cong-dich-vu?q=Nguyễn HTTP/1.1" 403 0',
        "labels.system": "Cổng dịch vụ công",
    }
    assert orjson.loads(event_json(event)) == document


def test_fields_without_an_ecs_mapping_are_kept_aside_as_json_text() -> None:
    fields: dict[str, FieldValue] = {
        "source.ip": "10.0.0.9",
        "vendor.rule": "sqli-42",
        "source": "a scalar where ECS has an object",
        "labels.deep.name": "x",
    }
    event = Event("e2", datetime(2026, 11, 24, tzinfo=UTC), fields)
    document = event_document(event)
    assert document["source.ip"] == "10.0.0.9"
    assert "vendor.rule" not in document
    assert orjson.loads(document[EXTRA_FIELDS]) == {
        "vendor.rule": "sqli-42",
        "source": "a scalar where ECS has an object",
        "labels.deep.name": "x",
    }
    assert read_back(event, event_json(event)) == event


def test_values_json_cannot_carry_are_searchable_sanitized_and_read_back_exact() -> None:
    fields: dict[str, FieldValue] = {
        "user.name": "r\udcc3\udca9mi",  # undecodable bytes kept by surrogateescape
        "http.response.body.bytes": 2**70,
        "event.risk_score": float("inf"),
    }
    event = Event("e3", datetime(2026, 11, 24, tzinfo=UTC), fields)
    document = event_document(event)
    assert document["user.name"] == "r\ufffd\ufffdmi"
    assert "http.response.body.bytes" not in document
    assert read_back(event, orjson.dumps(document)).fields["user.name"] == "r\udcc3\udca9mi"
    assert read_back(event, event_json(event)).fields["http.response.body.bytes"] == 2**70


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    # Undecodable log bytes, as surrogateescape keeps them (\udc80-\udcff).
    st.text(st.sampled_from(["\udc80", "\udcc3", "\udcff", "a", "ệ"]), max_size=4),
)
_NAMES = st.one_of(
    st.sampled_from(sorted(ECS_FIELD_TYPES)),
    st.from_regex(r"labels\.[a-z_]{1,8}(\.[a-z]{1,3})?", fullmatch=True),
    st.from_regex(r"(winlog|auditd)(\.[A-Za-z_.]{0,8}){1,3}(\.caseless)?", fullmatch=True),
    st.sampled_from(["@timestamp", EXTRA_FIELDS, "canhgac", "source", "a..b", ""]),
    st.text(max_size=12),
)


@settings(max_examples=300)
@given(
    fields=st.dictionaries(_NAMES, st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3).map(tuple))),
    moment=st.datetimes(timezones=st.just(UTC)),
)
def test_every_event_reads_back_equal_from_its_document(
    fields: dict[str, FieldValue], moment: datetime
) -> None:
    event = Event("e", moment, fields)
    assert read_back(event, event_json(event)) == event
    assert read_back(event, orjson.dumps(event_document(event))) == event


@given(
    fields=st.dictionaries(_NAMES, st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3).map(tuple)))
)
def test_the_searchable_part_holds_only_mapped_names_and_exact_json(
    fields: dict[str, FieldValue],
) -> None:
    document = event_document(Event("e", datetime(2026, 1, 1, tzinfo=UTC), fields))
    for name, value in document.items():
        if name in ("@timestamp", EXTRA_FIELDS):
            continue
        assert field_kind(name) is not None
        assert name in ECS_FIELD_TYPES or name.startswith(("labels.", "winlog.", "auditd."))
        # A document field never takes the name of a lower-cased copy (a sub-field).
        assert not name.endswith(".caseless")
        assert orjson.loads(orjson.dumps(value)) == value  # nothing JSON would change


def test_daily_indices_take_the_utc_day_of_the_event() -> None:
    hanoi = timezone(timedelta(hours=7))
    assert event_index("canhgac", datetime(2026, 11, 24, 6, 59, tzinfo=hanoi)) == (
        "canhgac-events-2026.11.23"
    )
    assert event_index("canhgac", datetime(2026, 11, 24, 7, 0, tzinfo=hanoi)) == (
        "canhgac-events-2026.11.24"
    )
    assert event_index("p", datetime(1, 1, 1, tzinfo=UTC)) == "p-events-0001.01.01"
    assert event_index_day("canhgac", "canhgac-events-2026.11.24") == datetime(
        2026, 11, 24, tzinfo=UTC
    )
    assert event_index_day("canhgac", "canhgac-incidents") is None
    assert event_index_day("canhgac", "canhgac-events-2026.13.01") is None
    assert event_index_day("canhgac", "other-events-2026.11.24") is None


@pytest.mark.parametrize("prefix", ["canhgac", "soc-haugiang", "t_1"])
def test_index_prefixes_elasticsearch_accepts(prefix: str) -> None:
    assert check_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["", "Canhgac", "-canhgac", "canh gac", "a/b", "x" * 51])
def test_index_prefixes_elasticsearch_refuses_are_refused_with_the_rule(prefix: str) -> None:
    with pytest.raises(StoreError, match="lowercase letters"):
        check_prefix(prefix)


def test_grouping_keys_have_one_token_each_whatever_their_length() -> None:
    key = GroupKey("r-sqli", "source.ip", "203.113.131.5", "So TTTT")
    assert group_key_id(key) == group_key_id(
        GroupKey("r-sqli", "source.ip", "203.113.131.5", "So TTTT")
    )
    assert group_key_id(key) != group_key_id(GroupKey("r-sqli", "source.ip", "203.113.131.5", None))
    assert group_key_id(key) != group_key_id(GroupKey("r-sqli", None, None, "So TTTT"))
    long_key = GroupKey("r", "url.original", "/" + "a" * 100_000, None)
    assert len(group_key_id(long_key)) == 32


def test_event_mappings_give_ecs_types_and_index_nothing_unknown() -> None:
    mappings = event_mappings()
    assert mappings["dynamic"] is False
    properties = mappings["properties"]
    assert properties["@timestamp"] == {"type": "date"}
    source = properties["source"]["properties"]
    assert source["ip"] == {"type": "ip", "ignore_malformed": True}
    assert source["port"]["type"] == "long"
    status = properties["http"]["properties"]["response"]["properties"]["status_code"]
    assert status["type"] == "long"
    assert properties["user"]["properties"]["name"]["type"] == "keyword"
    original = properties["url"]["properties"]["original"]
    assert original["fields"]["text"] == {"type": "text"}
    # Every keyword has its lower-cased copy; ip, long and text fields have none.
    caseless = {"type": "keyword", "ignore_above": 8191, "normalizer": "caseless"}
    assert original["fields"]["caseless"] == caseless
    assert properties["user"]["properties"]["name"]["fields"]["caseless"]["normalizer"] == (
        "caseless"
    )
    assert "fields" not in source["ip"]
    assert "fields" not in properties["message"]
    assert properties["message"] == {"type": "text"}
    assert properties["canhgac"] == {"type": "object", "enabled": False}


def test_templates_cover_the_daily_event_indices_and_each_kind() -> None:
    templates = index_templates("soc", replicas=None, event_shards=2)
    assert set(templates) == {
        "soc-events",
        "soc-incidents",
        "soc-alerts",
        "soc-dead-letters",
        "soc-checkpoints",
        "soc-api-keys",
        "soc-source-counters",
    }
    events = templates["soc-events"]
    assert events["index_patterns"] == ["soc-events-*"]
    # The store puts each day in the alias once it can be searched, not the template.
    assert "aliases" not in events["template"]
    assert events["template"]["settings"]["number_of_shards"] == 2
    assert events["template"]["settings"]["auto_expand_replicas"] == "0-1"
    incidents = templates["soc-incidents"]["template"]
    assert incidents["mappings"]["properties"]["last_seen"] == {"type": "keyword"}
    assert incidents["mappings"]["properties"]["history"] == {"type": "object", "enabled": False}
    fixed = index_templates("soc", replicas=2, event_shards=1)["soc-alerts"]["template"]
    assert fixed["settings"]["number_of_replicas"] == 2


def test_windows_and_audit_families_are_indexed_by_name_shape() -> None:
    assert field_kind("winlog.event_data.TargetUserName") == "long_keyword"
    assert field_kind("winlog.user_data.LogFileCleared.SubjectUserName") == "long_keyword"
    assert field_kind("auditd.log.type") == "long_keyword"
    assert {name: field_kind(name) for name in FAMILY_LONGS} == dict.fromkeys(FAMILY_LONGS, "long")
    for kept_aside in ("winlog.", "winlog..x", "winlog.event_data.a b", "auditd.x.caseless"):
        assert field_kind(kept_aside) is None
    mappings = event_mappings()
    winlog = mappings["properties"]["winlog"]
    # Leaves keep dotted names: winlog.user_data.A and winlog.user_data.A.B never clash.
    assert winlog["subobjects"] is False
    assert winlog["dynamic"] is True
    assert winlog["properties"]["event_id"] == {"type": "long", "ignore_malformed": True}
    dynamic = {
        name: t for template in mappings["dynamic_templates"] for name, t in template.items()
    }
    assert dynamic["winlog_as_keywords"]["path_match"] == "winlog.*"
    assert dynamic["auditd_as_keywords"]["mapping"]["fields"]["caseless"]["type"] == "keyword"


def test_lower_cased_copies_are_searchable_names_but_never_document_fields() -> None:
    assert searchable_field_name("user.name.caseless")
    assert searchable_field_name("winlog.event_data.Image.caseless")
    assert searchable_field_name("labels.system.caseless")
    assert not searchable_field_name("source.ip.caseless")
    assert not searchable_field_name("winlog.event_id.caseless")
    assert not searchable_field_name("message.caseless")
    event = Event("e", datetime(2026, 1, 1, tzinfo=UTC), {"user.name.caseless": "x"})
    assert "user.name.caseless" not in event_document(event)
    assert read_back(event, event_json(event)) == event


def test_event_indices_define_the_normalizer_and_a_wide_field_limit() -> None:
    settings = index_templates("soc", replicas=None, event_shards=1)["soc-events"]["template"][
        "settings"
    ]
    assert settings["analysis"]["normalizer"]["caseless"] == {
        "type": "custom",
        "filter": ["lowercase"],
    }
    limit = settings["mapping"]["total_fields"]
    assert limit["limit"] >= 5000
    assert limit["ignore_dynamic_beyond_limit"] is True
