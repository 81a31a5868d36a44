"""`EventBuilder`: one raw line to an Event or a dead letter."""

from datetime import UTC, datetime

import orjson

from canhgac.collectors import EventBuilder, SourceLabels
from canhgac.events import DeadLetter, Event, make_event
from canhgac.parsers import JsonLinesParser, ParseContext

CONTEXT = ParseContext(datetime(2026, 11, 25, tzinfo=UTC), UTC)
SYSMON_LINE = orjson.dumps(
    {
        "Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": 1,
                "TimeCreated": {"#attributes": {"SystemTime": "2026-11-25T01:02:03.000004Z"}},
                "EventRecordID": 42,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "mot-cua-01",
            },
            "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c"},
        }
    }
)


def builder() -> EventBuilder:
    return EventBuilder(JsonLinesParser(), SourceLabels("win", system="portal"), CONTEXT, "f")


def test_a_windows_line_becomes_the_event_the_parser_and_make_event_describe() -> None:
    built = builder().build(SYSMON_LINE, 0, 1)
    assert isinstance(built, Event)
    # The builder hands the parser's fields over (no copy); the event is the same as
    # the one built from a copy.
    parsed = JsonLinesParser().parse(SYSMON_LINE.decode(), CONTEXT)
    copied = make_event(
        id=built.id,
        timestamp=parsed.timestamp,
        fields=parsed.fields,
        original=SYSMON_LINE.decode(),
        system="portal",
    )
    assert built == copied
    assert None not in built.fields.values()
    assert built.fields["process.name"] == "cmd.exe"
    assert built.fields["labels.system"] == "portal"


def test_each_line_gets_fields_of_its_own() -> None:
    first = builder().build(SYSMON_LINE, 0, 1)
    second = builder().build(SYSMON_LINE, 0, 1)
    assert isinstance(first, Event)
    assert isinstance(second, Event)
    assert first.fields == second.fields
    assert first.fields is not second.fields


def test_a_line_that_is_not_json_is_a_dead_letter_saying_why() -> None:
    dead = builder().build(b'{"Event": ', 0, 7)
    assert isinstance(dead, DeadLetter)
    assert dead.line_number == 7
    assert "invalid JSON" in dead.reason
