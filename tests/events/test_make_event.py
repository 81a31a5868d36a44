"""`make_event`: parser output plus what the source says, as the Event every stage reads."""

from datetime import UTC, datetime, timedelta, timezone

from canhgac.events import FieldValue, make_event

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=timezone(timedelta(hours=7)))


def test_the_callers_fields_are_copied_without_their_none_values() -> None:
    fields: dict[str, FieldValue] = {"source.ip": "10.0.0.1", "user.name": None}
    event = make_event(id="e1", timestamp=T0, fields=fields, original="line", system="portal")
    assert dict(event.fields) == {
        "source.ip": "10.0.0.1",
        "event.original": "line",
        "labels.system": "portal",
    }
    assert fields == {"source.ip": "10.0.0.1", "user.name": None}  # untouched
    assert event.timestamp == T0
    assert event.timestamp.tzinfo is UTC


def test_owned_fields_become_the_events_own() -> None:
    fields: dict[str, FieldValue] = {"source.ip": "10.0.0.1", "event.original": "parser's"}
    event = make_event(id="e1", timestamp=T0, fields=fields, original="line", owned=True)
    assert event.fields is fields
    assert dict(event.fields) == {"source.ip": "10.0.0.1", "event.original": "line"}
