"""Windows events to ECS: hand-written golden records, the three input shapes, errors,
robustness, and agreement with SigmaHQ's regression data (evtx file vs its JSON twin).

Golden files: golden/windows/<case>.input.json is one record in the evtx package's JSON
shape, written by hand; <case>.expected.json every field it must give ("@timestamp" in
ISO form, tuples as JSON lists), except event.original, which must hold the input.
"""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import evtx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.events import FieldValue
from canhgac.parsers import (
    ParseContext,
    ParsedRecord,
    ParseError,
    channel_dataset,
    looks_like_windows_event,
    normalize_windows_event,
    windows_event_origin,
)

GOLDEN = Path(__file__).parent / "golden" / "windows"
ICT = timezone(timedelta(hours=7))
CONTEXT = ParseContext(reference_time=datetime(2026, 11, 24, 12, 0, tzinfo=ICT), timezone=ICT)
CASES = sorted(path.name.removesuffix(".input.json") for path in GOLDEN.glob("*.input.json"))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def as_json_fields(record: ParsedRecord) -> dict[str, Any]:
    """The fields as the golden files write them: tuples as lists, plus @timestamp."""
    got: dict[str, Any] = {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in record.fields.items()
        if name != "event.original"
    }
    got["@timestamp"] = record.timestamp.isoformat()
    return got


def golden(case: str) -> dict[str, Any]:
    record: dict[str, Any] = read_json(GOLDEN / f"{case}.input.json")
    return record


# --- golden ------------------------------------------------------------------------------


def test_golden_cases_cover_the_events_sigma_rules_need() -> None:
    wanted = {"sysmon_1", "sysmon_3", "sysmon_11", "security_4624", "security_4688"}
    assert wanted <= set(CASES)
    assert any("UserData" in golden(case)["Event"] for case in CASES)


@pytest.mark.parametrize("case", CASES)
def test_golden_record(case: str) -> None:
    record = golden(case)
    parsed = normalize_windows_event(record, CONTEXT)
    assert as_json_fields(parsed) == read_json(GOLDEN / f"{case}.expected.json")
    original = parsed.fields["event.original"]
    assert isinstance(original, str)
    assert "\n" not in original
    assert json.loads(original) == record
    assert parsed.timestamp.tzinfo is not None


def test_every_event_data_item_is_kept_under_its_own_name() -> None:
    record = golden("sysmon_1")
    fields = normalize_windows_event(record, CONTEXT).fields
    for name, value in record["Event"]["EventData"].items():
        assert fields[f"winlog.event_data.{name}"] == value


# --- the other input shapes give the same fields -----------------------------------------

WINLOGBEAT_SYSMON_1: dict[str, Any] = {
    "@timestamp": "2026-11-24T01:15:02.483Z",
    "agent": {"type": "winlogbeat", "version": "8.15.0", "name": "KT-PC03"},
    "ecs": {"version": "8.0.0"},
    "message": "Process Create:\nRuleName: -",
    "host": {"name": "kt-pc03.sokhcn.haugiang.local", "os": {"family": "windows"}},
    "event": {
        "code": "1",
        "kind": "event",
        "provider": "Microsoft-Windows-Sysmon",
        "action": "Process Create (rule: ProcessCreate)",
        "created": "2026-11-24T01:15:03.120Z",
    },
    "log": {"level": "information"},
    "winlog": {
        "channel": "Microsoft-Windows-Sysmon/Operational",
        "event_id": "1",
        "provider_name": "Microsoft-Windows-Sysmon",
        "provider_guid": "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
        "computer_name": "KT-PC03.sokhcn.haugiang.local",
        "record_id": "184203",
        "process": {"pid": 3120, "thread": {"id": 4416}},
        "task": "Process Create (rule: ProcessCreate)",
        "opcode": "Info",
        "version": 5,
        "api": "wineventlog",
        "user": {
            "identifier": "S-1-5-18",
            "name": "SYSTEM",
            "domain": "NT AUTHORITY",
            "type": "User",
        },
        "event_data": {
            "RuleName": "-",
            "ProcessId": "7344",
            "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "CommandLine": (
                "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA="
            ),
            "CurrentDirectory": "C:\\Users\\nguyenvana\\Documents\\",
            "User": "SOKHCN\\nguyenvana",
            "ParentProcessId": "6120",
            "ParentImage": "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
            "ParentCommandLine": (
                '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n '
                '"C:\\Users\\nguyenvana\\Downloads\\QuyetDinh_1520_UBND.docm"'
            ),
        },
    },
}

ECS_OF_SYSMON_1 = (
    "event.code",
    "event.provider",
    "event.kind",
    "event.module",
    "event.dataset",
    "event.category",
    "event.type",
    "host.name",
    "process.executable",
    "process.name",
    "process.pid",
    "process.command_line",
    "process.working_directory",
    "process.parent.executable",
    "process.parent.name",
    "process.parent.command_line",
    "process.parent.pid",
    "user.name",
    "user.domain",
    "winlog.channel",
    "winlog.event_id",
    "winlog.computer_name",
    "winlog.record_id",
    "winlog.process.pid",
    "winlog.process.thread.id",
    "winlog.user.identifier",
)


def test_winlogbeat_document_gives_the_same_ecs_and_winlog_fields() -> None:
    from_evtx = normalize_windows_event(golden("sysmon_1"), CONTEXT)
    from_beat = normalize_windows_event(WINLOGBEAT_SYSMON_1, CONTEXT)
    for name in ECS_OF_SYSMON_1:
        assert from_beat.fields.get(name) == from_evtx.fields.get(name), name
    # Winlogbeat writes event data as strings; they stay as it wrote them.
    assert from_beat.fields["winlog.event_data.ProcessId"] == "7344"
    assert from_beat.fields["winlog.provider_guid"] == "5770385f-c22a-43e0-bf4c-06f5698ffbd9"
    assert from_beat.timestamp == datetime(2026, 11, 24, 1, 15, 2, 483000, tzinfo=UTC)


def test_winlogbeat_document_keeps_its_other_fields() -> None:
    fields = normalize_windows_event(WINLOGBEAT_SYSMON_1, CONTEXT).fields
    assert fields["agent.type"] == "winlogbeat"
    assert fields["event.action"] == "Process Create (rule: ProcessCreate)"
    assert fields["winlog.opcode"] == "Info"
    assert fields["winlog.user.name"] == "SYSTEM"
    # host.name is the computer that logged the event, whatever the agent called itself.
    assert fields["host.name"] == "KT-PC03.sokhcn.haugiang.local"
    assert "@timestamp" not in fields


def test_winlogbeat_user_data_gets_its_element_name_back() -> None:
    document = {
        "@timestamp": "2026-11-24T02:20:00.931Z",
        "winlog": {
            "channel": "Security",
            "event_id": 1102,
            "computer_name": "SRV-MOTCUA01.sokhcn.haugiang.local",
            "record_id": 5524410,
            "user_data": {
                "xml_name": "LogFileCleared",
                "SubjectUserName": "tranthib",
                "SubjectDomainName": "SOKHCN",
            },
        },
    }
    fields = normalize_windows_event(document, CONTEXT).fields
    from_evtx = normalize_windows_event(golden("security_1102"), CONTEXT).fields
    for name in (
        "winlog.user_data.LogFileCleared.SubjectUserName",
        "winlog.user_data.LogFileCleared.SubjectDomainName",
    ):
        assert fields[name] == from_evtx[name]
    assert not any(name.endswith("xml_name") for name in fields)


def test_winlogbeat_event_id_may_come_from_event_code() -> None:
    document = {
        "@timestamp": "2026-11-24T02:20:00Z",
        "event": {"code": "4625"},
        "winlog": {"channel": "Security"},
    }
    assert normalize_windows_event(document, CONTEXT).fields["winlog.event_id"] == 4625


FLAT_4688: dict[str, Any] = {
    "EventID": "4688",
    "Channel": "Security",
    "Provider_Name": "Microsoft-Windows-Security-Auditing",
    "Provider_Guid": "{54849625-5478-4994-A5BA-3E3B0328C30D}",
    "Computer": "KT-PC03.sokhcn.haugiang.local",
    "EventRecordID": "1048217",
    "SystemTime": "2026-11-24T01:15:09.312066Z",
    "Level": 0,
    "Task": 13312,
    "Opcode": 0,
    "Keywords": "0x8020000000000000",
    "Version": 2,
    "Execution_ProcessID": 4,
    "Execution_ThreadID": 7712,
    "SubjectUserSid": "S-1-5-21-3310486822-1402795577-2749128394-1107",
    "SubjectUserName": "nguyenvana",
    "SubjectDomainName": "SOKHCN",
    "SubjectLogonId": "0xb6b4f",
    "NewProcessId": "0x1d4c",
    "NewProcessName": "C:\\Windows\\System32\\whoami.exe",
    "TokenElevationType": "%%1938",
    "ProcessId": "0x1ca8",
    "CommandLine": "whoami  /all",
    "TargetUserSid": "S-1-0-0",
    "TargetUserName": "-",
    "TargetDomainName": "-",
    "TargetLogonId": "0x0",
    "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
    "MandatoryLabel": "S-1-16-8192",
}


def test_flat_export_gives_the_same_fields_as_the_evtx_record() -> None:
    from_evtx = dict(normalize_windows_event(golden("security_4688"), CONTEXT).fields)
    from_flat = dict(normalize_windows_event(FLAT_4688, CONTEXT).fields)
    del from_evtx["event.original"], from_flat["event.original"]
    assert from_flat == from_evtx


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-24 01:15:09.3120665", datetime(2026, 11, 24, 1, 15, 9, 312066, tzinfo=UTC)),
        ("2026-11-24 08:15:09.312 +07:00", datetime(2026, 11, 24, 1, 15, 9, 312000, tzinfo=UTC)),
        ("2026-11-24T01:15:09Z", datetime(2026, 11, 24, 1, 15, 9, tzinfo=UTC)),
        ("2026-11-24 01:15:09 UTC", datetime(2026, 11, 24, 1, 15, 9, tzinfo=UTC)),
    ],
)
def test_flat_export_times_in_the_ways_tools_write_them(stamp: str, expected: datetime) -> None:
    record = {**FLAT_4688, "SystemTime": stamp}
    assert normalize_windows_event(record, CONTEXT).timestamp == expected


def test_flat_export_with_time_created_and_event_id_spelled_by_evtxecmd() -> None:
    record = {
        "EventId": 4672,
        "TimeCreated": "2026-11-24 02:03:11.5830200",
        "Channel": "Security",
        "Computer": "SRV-MOTCUA01",
        "SubjectUserName": "tranthib",
    }
    parsed = normalize_windows_event(record, CONTEXT)
    assert parsed.fields["winlog.event_id"] == 4672
    assert parsed.fields["user.name"] == "tranthib"
    assert parsed.timestamp == datetime(2026, 11, 24, 2, 3, 11, 583020, tzinfo=UTC)


# --- details -------------------------------------------------------------------------------


def evtx_record(event_data: Any = None, **system: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "EventID": 4624,
        "TimeCreated": {"#attributes": {"SystemTime": "2026-11-24T02:03:11.582914Z"}},
        "EventRecordID": 7,
        "Channel": "Security",
        "Computer": "SRV-MOTCUA01",
    }
    base.update(system)
    return {"Event": {"System": base, "EventData": event_data}}


def test_named_data_items_in_xmltodict_shape() -> None:
    data = {
        "Data": [
            {"@Name": "TargetUserName", "#text": "tranthib"},
            {"#attributes": {"Name": "LogonType"}, "#text": "3"},
            "an unnamed item",
        ]
    }
    fields = normalize_windows_event(evtx_record(data), CONTEXT).fields
    assert fields["winlog.event_data.TargetUserName"] == "tranthib"
    assert fields["winlog.event_data.LogonType"] == "3"
    assert fields["winlog.event_data.param1"] == "an unnamed item"
    assert fields["winlog.logon.type"] == "Network"


def test_a_single_unnamed_data_item_is_param1() -> None:
    fields = normalize_windows_event(evtx_record({"Data": {"#text": "only"}}), CONTEXT).fields
    assert fields["winlog.event_data.param1"] == "only"


def test_host_name_falls_back_to_the_context() -> None:
    record = evtx_record(None, Computer=None)
    context = ParseContext(CONTEXT.reference_time, ICT, hostname="collector-host")
    assert normalize_windows_event(record, context).fields["host.name"] == "collector-host"


def test_an_event_without_channel_has_no_dataset() -> None:
    fields = normalize_windows_event(evtx_record(None, Channel=None), CONTEXT).fields
    assert "winlog.channel" not in fields
    assert "event.dataset" not in fields
    assert fields["event.module"] == "windows"


def test_unmapped_values_and_dashes_add_no_ecs_fields() -> None:
    data = {"TargetUserName": "-", "IpAddress": "-", "IpPort": "-", "ProcessId": "0x0"}
    fields = normalize_windows_event(evtx_record(data), CONTEXT).fields
    assert not {"user.name", "source.ip", "source.port", "process.pid"} & fields.keys()
    assert fields["winlog.event_data.IpAddress"] == "-"


@pytest.mark.parametrize(
    ("channel", "dataset"),
    [
        ("Security", "windows.security"),
        ("System", "windows.system"),
        ("Microsoft-Windows-Sysmon/Operational", "windows.sysmon_operational"),
        ("Windows PowerShell", "windows.powershell"),
        ("Microsoft-Windows-PowerShell/Operational", "windows.powershell_operational"),
        (
            "Microsoft-Windows-Windows Defender/Operational",
            "windows.windows_defender_operational",
        ),
    ],
)
def test_channel_dataset(channel: str, dataset: str) -> None:
    assert channel_dataset(channel) == dataset


def test_windows_powershell_channel_is_the_powershell_module() -> None:
    record = evtx_record(None, Channel="Windows PowerShell", EventID=400)
    assert normalize_windows_event(record, CONTEXT).fields["event.module"] == "powershell"


def test_origin_is_computer_channel_and_record_id() -> None:
    fields = normalize_windows_event(golden("security_4688"), CONTEXT).fields
    assert windows_event_origin(fields) == (
        "winlog:KT-PC03.sokhcn.haugiang.local:Security",
        1048217,
    )
    assert windows_event_origin({}) == ("winlog::", 0)


def test_looks_like_windows_event() -> None:
    assert looks_like_windows_event(golden("sysmon_3"))
    assert looks_like_windows_event(WINLOGBEAT_SYSMON_1)
    assert looks_like_windows_event(FLAT_4688)
    assert not looks_like_windows_event({"@timestamp": "2026-11-24T01:00:00Z", "message": "x"})


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"Event": {"EventData": {}}}, "Event has no System element"),
        (evtx_record(None, EventID=None), "no event id (System/EventID)"),
        (evtx_record(None, EventID="logon"), "System/EventID is not a number: 'logon'"),
        (evtx_record(None, EventID=70000), "System/EventID is not an event id: 70000"),
        (evtx_record(None, EventID={"#text": True}), "System/EventID is not a number: True"),
        (evtx_record(None, TimeCreated=None), "no System/TimeCreated@SystemTime"),
        (
            evtx_record(None, TimeCreated={"#attributes": {"SystemTime": "yesterday"}}),
            "System/TimeCreated@SystemTime is not a time: 'yesterday'",
        ),
        (
            evtx_record(None, TimeCreated={"#attributes": {"SystemTime": "2026-02-30T00:00:00Z"}}),
            "is not a valid time: '2026-02-30T00:00:00Z'",
        ),
        (evtx_record(None, EventRecordID="x7"), "System/EventRecordID is not a number: 'x7'"),
        ({"message": "hello"}, "not a Windows event: no Event.System, winlog or EventID"),
        ({"winlog": {"event_id": 4624}}, "Winlogbeat document has no @timestamp"),
        ({"EventID": 4624, "Channel": "Security"}, "no time: none of SystemTime, TimeCreated"),
    ],
)
def test_parse_errors_say_what_is_wrong(record: dict[str, Any], reason: str) -> None:
    with pytest.raises(ParseError) as raised:
        normalize_windows_event(record, CONTEXT)
    assert reason in str(raised.value)


def test_a_record_too_deep_for_json_is_a_parse_error() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(300):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(ParseError, match="cannot be written as JSON"):
        normalize_windows_event(evtx_record(deep), CONTEXT)


# --- robustness ----------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
SYSMON = "Microsoft-Windows-Sysmon/Operational"
SYSTEM_KEYS = st.sampled_from(
    [
        "Provider",
        "EventID",
        "TimeCreated",
        "EventRecordID",
        "Execution",
        "Channel",
        "Computer",
        "Security",
        "Keywords",
    ]
)
TIMES = st.datetimes(min_value=datetime(1601, 1, 2), max_value=datetime(9999, 12, 30)).map(
    lambda when: {"#attributes": {"SystemTime": when.isoformat() + "Z"}}
)
EVENT_IDS = st.integers(0, 0xFFFF) | st.integers(0, 0xFFFF).map(str) | JSON_VALUES
EVTX_LIKE = st.fixed_dictionaries(
    {
        "Event": st.fixed_dictionaries(
            {
                "System": st.fixed_dictionaries(
                    {"EventID": EVENT_IDS, "TimeCreated": TIMES | JSON_VALUES},
                    optional={"Channel": st.sampled_from(["Security", SYSMON]) | JSON_VALUES},
                ).flatmap(
                    lambda base: st.dictionaries(SYSTEM_KEYS, JSON_VALUES, max_size=4).map(
                        lambda extra: {**extra, **base}
                    )
                ),
            },
            optional={"EventData": JSON_VALUES, "UserData": JSON_VALUES},
        )
    }
)
ISO_TIMES = st.datetimes(min_value=datetime(1601, 1, 2), max_value=datetime(9999, 12, 30)).map(
    lambda when: when.isoformat() + "Z"
)
WINLOGBEAT_LIKE = st.fixed_dictionaries(
    {
        "@timestamp": ISO_TIMES | JSON_VALUES,
        "winlog": st.fixed_dictionaries(
            {"event_id": EVENT_IDS},
            optional={"event_data": JSON_VALUES, "user_data": JSON_VALUES},
        ).flatmap(
            lambda base: st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=4).map(
                lambda extra: {**extra, **base}
            )
        ),
    }
)
FLAT_LIKE = st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=6).flatmap(
    lambda extra: st.fixed_dictionaries(
        {"EventID": EVENT_IDS, "SystemTime": ISO_TIMES | JSON_VALUES}
    ).map(lambda base: {**extra, **base})
)


def normalize_or_reason(record: Any) -> str | None:
    """The ParseError's reason, or None when it normalizes; any other error propagates."""
    try:
        parsed = normalize_windows_event(record, CONTEXT)
    except ParseError as error:
        return str(error)
    assert parsed.timestamp.tzinfo is not None
    for value in parsed.fields.values():
        assert_field_value(value)
    return None


def assert_field_value(value: FieldValue) -> None:
    scalar = (str, int, float, bool)
    if isinstance(value, tuple):
        assert all(item is None or isinstance(item, scalar) for item in value)
    else:
        assert isinstance(value, scalar)


@settings(max_examples=300, deadline=None)
@given(record=st.dictionaries(st.text(max_size=12), JSON_VALUES) | JSON_VALUES)
def test_any_json_raises_only_parse_error(record: Any) -> None:
    assert normalize_or_reason(record) != ""


@settings(max_examples=500, deadline=None)
@given(record=EVTX_LIKE | WINLOGBEAT_LIKE | FLAT_LIKE)
def test_any_windows_shaped_json_raises_only_parse_error(record: dict[str, Any]) -> None:
    assert normalize_or_reason(record) != ""


@settings(max_examples=200, deadline=None)
@given(
    event_id=st.integers(0, 0xFFFF),
    record_id=st.integers(0, 2**63 - 1),
    when=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    data=st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,15}", fullmatch=True), JSON_SCALARS),
)
def test_valid_records_round_trip(
    event_id: int, record_id: int, when: datetime, data: dict[str, Any]
) -> None:
    stamp = when.isoformat(timespec="microseconds") + "Z"
    record = evtx_record(
        data,
        EventID=event_id,
        EventRecordID=record_id,
        TimeCreated={"#attributes": {"SystemTime": stamp}},
    )
    parsed = normalize_windows_event(record, CONTEXT)
    assert parsed.timestamp == when.replace(tzinfo=UTC)
    assert parsed.fields["event.code"] == str(event_id)
    assert parsed.fields["winlog.record_id"] == record_id
    for name, value in data.items():
        assert parsed.fields.get(f"winlog.event_data.{name}") == value
    assert orjson.loads(str(parsed.fields["event.original"])) == record


# --- SigmaHQ regression data ------------------------------------------------------------------


def json_documents(text: str) -> list[Any]:
    """The JSON values of a file holding one or several, one after another."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return documents
        document, index = decoder.raw_decode(text, index)
        documents.append(document)


def normalized_evtx(path: Path) -> list[dict[str, FieldValue]]:
    records = evtx.PyEvtxParser(str(path), 1).records_json()
    return [
        dict(normalize_windows_event(orjson.loads(item["data"]), CONTEXT).fields)
        for item in records
        if item is not None
    ]


def comparable(fields: dict[str, FieldValue]) -> dict[str, FieldValue]:
    """Fields less event.original, strings without trailing blanks: SigmaHQ's JSON twins
    were written by a tool that trims them (a CommandLine ending in a space loses it)."""
    return {
        name: value.rstrip() if isinstance(value, str) else value
        for name, value in fields.items()
        if name != "event.original"
    }


def test_regression_json_normalizes_like_its_evtx_twin(shared_dir: Path) -> None:
    twins = sorted((shared_dir / "sigma" / "regression_data").rglob("*.evtx"))
    compared = 0
    for evtx_path in twins:
        json_path = evtx_path.with_suffix(".json")
        if not json_path.exists():
            continue
        from_json = [
            comparable(dict(normalize_windows_event(document, CONTEXT).fields))
            for document in json_documents(json_path.read_text(encoding="utf-8"))
        ]
        from_evtx = [comparable(fields) for fields in normalized_evtx(evtx_path)]
        assert from_json == from_evtx, evtx_path.name
        compared += len(from_json)
    assert compared >= 90


def test_4688_also_carries_the_sysmon_image_names() -> None:
    fields = normalize_windows_event(golden("security_4688"), CONTEXT).fields
    assert fields["winlog.event_data.Image"] == fields["winlog.event_data.NewProcessName"]
    assert fields["winlog.event_data.ParentImage"] == fields["winlog.event_data.ParentProcessName"]
    flat = {**FLAT_4688, "Image": "C:\\Tools\\own.exe"}
    assert normalize_windows_event(flat, CONTEXT).fields["winlog.event_data.Image"] == (
        "C:\\Tools\\own.exe"
    )
    sysmon = normalize_windows_event(golden("sysmon_1"), CONTEXT).fields
    assert "winlog.event_data.NewProcessName" not in sysmon
