"""The ECS fields of Windows events added natively (`EcsPlan`, native/src/ecs_plan.rs)
against the Python reference (`_add_ecs_in_python`): the same fields, in the same order,
of the same types, for every channel and event id the parser knows."""

import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.events import FieldValue
from canhgac.parsers import ParseContext
from canhgac.parsers import _windows as windows
from tests.conftest import require_native
from tests.parsers.test_windows import CONTEXT

KINDS = sorted(
    {*windows._ECS_FROM_EVENT_DATA, *windows._EVENT_DATA_ALIASES, *windows._ECS_CONSTANTS}
    | {(windows.SYSMON_CHANNEL, 4), ("Windows PowerShell", 400), ("Application", 1000)}
)
# Spaces Python strips and Rust's own trim would not (and the reverse: U+180E, U+200B).
SPACES = st.sampled_from(
    [" ", "\t", "\x1c", "\x1f", "\x85", "\xa0", "\u2000", "\u3000", "\u180e", "\u200b"]
)
PIECES = st.sampled_from(
    [
        "C:\\Windows\\System32\\cmd.exe",
        "CORP\\admin",
        "\\x",
        "x\\",
        "/usr/bin/a",
        "-",
        "",
        "0x1F4",
        "0X0",
        "0x",
        "4688",
        "007",
        "+5",
        "1_000",
        "-3",
        "99999999999999999999",
        "٣",
        "10.0.0.5",
        "::ffff:10.0.0.5",
        "fe80::1%eth0",
        "TCP",
        "Đà Nẵng",
        "İ",
        "\udc80",
        "3",
        "65535",
        "65536",
        "0xFFFF",
    ]
)
TEXTS = st.lists(PIECES | SPACES, max_size=4).map("".join)
VALUES: st.SearchStrategy[FieldValue] = (
    TEXTS
    | st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.integers(-2, 70000)
    | st.sampled_from([0, 1, 65535, 65536])
    | st.floats(allow_nan=False)
    | st.lists(TEXTS, max_size=2).map(tuple)
    | st.sampled_from([type("Name", (str,), {})(" x "), type("N", (int,), {})(5)])
)


def fields_of(kind: tuple[str, int], values: dict[str, FieldValue]) -> dict[str, FieldValue]:
    channel, event_id = kind
    return {"winlog.channel": channel, "winlog.event_id": event_id, **values}


def outcome(fields: dict[str, FieldValue]) -> list[tuple[str, type, Any]]:
    """Compared by type too: True == 1 == 1.0 for Python."""
    return [(name, type(value), value) for name, value in fields.items()]


def both_ways(fields: dict[str, FieldValue], context: ParseContext) -> tuple[Any, Any]:
    require_native()
    channel = fields.get("winlog.channel")
    plan = windows._ecs_plan(
        channel if isinstance(channel, str) else None, fields["winlog.event_id"]
    )
    assert plan.native is not None
    native, reference = dict(fields), dict(fields)
    plan.native.apply(native, context.hostname)
    windows._add_ecs_in_python(reference, context, plan)
    return outcome(native), outcome(reference)


def sources_of(kind: tuple[str, int]) -> list[str]:
    """The event fields the plan of `kind` reads."""
    steps = windows._ECS_FROM_EVENT_DATA.get(kind, ())
    aliases = windows._EVENT_DATA_ALIASES.get(kind, ())
    names = {source for source, _, _ in steps} | {name for pair in aliases for name in pair}
    return sorted(names | {"winlog.provider_name", "winlog.computer_name"})


@settings(max_examples=800, deadline=None)
@given(kind=st.sampled_from(KINDS), hostname=st.none() | st.just("portal-01"), data=st.data())
def test_the_native_plan_adds_what_the_reference_adds(
    kind: tuple[str, int], hostname: str | None, data: st.DataObject
) -> None:
    optional = {name: VALUES for name in sources_of(kind)}
    values = data.draw(st.fixed_dictionaries({}, optional=optional))
    context = ParseContext(CONTEXT.reference_time, CONTEXT.timezone, hostname=hostname)
    native, reference = both_ways(fields_of(kind, values), context)
    assert native == reference


def test_a_sysmon_process_start_gets_its_ecs_fields() -> None:
    image = "winlog.event_data.Image"
    fields = fields_of(
        (windows.SYSMON_CHANNEL, 1),
        {
            image: " C:\\Windows\\System32\\cmd.exe\xa0",
            "winlog.event_data.ProcessId": "0x1F4",
            "winlog.event_data.ParentProcessId": 0,
            "winlog.event_data.User": "CORP\\admin",
            "winlog.event_data.CommandLine": "-",
            "winlog.computer_name": "",
        },
    )
    native, reference = both_ways(fields, CONTEXT)
    assert native == reference
    added = {name: value for name, _, value in native}
    assert added["process.executable"] == "C:\\Windows\\System32\\cmd.exe"
    assert added["process.name"] == "cmd.exe"
    assert added["process.pid"] == 500
    assert "process.parent.pid" not in added  # pid 0 is no process
    assert "process.command_line" not in added  # "-" says nothing
    assert (added["user.name"], added["user.domain"]) == ("admin", "CORP")
    assert added["event.code"] == "1"


def test_every_character_python_strips_is_stripped_natively() -> None:
    require_native()
    plan = windows._native.EcsPlan("1", (), (), [("a", "b", windows._clean, "_clean")], ())
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        character = chr(code)
        fields: dict[str, FieldValue] = {"a": f"{character}x{character}"}
        plan.apply(fields, None)
        assert fields["b"] == f"{character}x{character}".strip(), hex(code)


EDGES: list[tuple[tuple[str, int], str, FieldValue]] = (
    [
        ((windows.SYSMON_CHANNEL, 3), "winlog.event_data.SourcePort", value)
        for value in (65535, 65536, 0, "65535", "0xFFFF", "0x10000", "+80", "80 ")
    ]
    + [
        ((windows.SYSMON_CHANNEL, 1), "winlog.event_data.ProcessId", value)
        for value in ("0x1F4", "0X1F4", "0x", "-1", "1_000", "99999999999999999999", True, 2**70)
    ]
    + [
        ((windows.SYSMON_CHANNEL, 1), "winlog.event_data.User", value)
        for value in ("\\admin", "CORP\\", "CORP\\\\admin", "admin", " - ", "\udc80\\x")
    ]
    + [
        ((windows.SYSMON_CHANNEL, 11), "winlog.event_data.TargetFilename", value)
        for value in ("/usr/bin/a", "C:\\x/y", "C:\\dir\\", "a/", "-", "", 5)
    ]
    + [
        ((windows.SYSMON_CHANNEL, 3), "winlog.event_data.Protocol", value)
        for value in ("TCP", "Udp ", "ĐÀ", "İ")
    ]
    + [
        ((windows.SYSMON_CHANNEL, 13), "winlog.event_data.Details", value)
        for value in ("DWORD (0x00000001)", ("a", "b"), None)
    ]
)


def test_edge_values_convert_as_the_reference_converts() -> None:
    for kind, name, value in EDGES:
        native, reference = both_ways(fields_of(kind, {name: value}), CONTEXT)
        assert native == reference, (name, value)
