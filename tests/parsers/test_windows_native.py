"""The native flattening of evtx's shape (native/src/evtx_record.rs) against its Python
reference (`_from_evtx_in_python`): the same fields, in the same order, of the same
types, or the same ParseError; and the native path really taken on plain records."""

from pathlib import Path
from types import MappingProxyType
from typing import Any

import evtx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.parsers import ParseError, normalize_windows_event
from canhgac.parsers import _windows as windows
from tests.conftest import require_native
from tests.parsers.test_windows import CONTEXT, GOLDEN


def outcome(flatten: Any, event: Any) -> tuple[Any, ...]:
    """What a flattening gives, compared by type too: True == 1 == 1.0 for Python."""
    try:
        timestamp, fields = flatten(event)
    except ParseError as exc:
        return ("error", str(exc))
    return ("fields", timestamp, [(name, type(value), value) for name, value in fields.items()])


def flattened_natively(event: Any) -> Any:
    """The native flattener's own answer: None where it steps aside."""
    require_native()
    assert windows._EVTX_FLATTENER is not None
    return windows._EVTX_FLATTENER.flatten(event)


def assert_same(event: Any) -> None:
    assert outcome(windows._from_evtx, event) == outcome(windows._from_evtx_in_python, event)


# --- records ----------------------------------------------------------------------------

# Text with what may trip a native reader: non-ASCII, braces, a lone surrogate, NUL.
TEXT = st.text(max_size=12) | st.sampled_from(["{5770385F}", "{}", "\ud800x", "İ\x00", ""])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.integers(0, 0xFFFF)
    | st.floats(allow_nan=False)
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
# Now and then a Mapping that is no dict, or a str or int of a subclass.
ODD = st.sampled_from(
    [MappingProxyType({"#text": 4624}), type("Name", (str,), {})("x"), type("N", (int,), {})(5)]
)
ANY_VALUE = JSON_VALUES | ODD


def attributes(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({"#attributes": values}) | ANY_VALUE


def event_data(item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    names = st.sampled_from(["Image", "CommandLine", "ProcessId", "#attributes", "Data", "#text"])
    return st.dictionaries(names | TEXT, item, max_size=6)


# Data items with names, as xmltodict and attributes give them: the reference's alone.
NAMED_DATA = st.sampled_from(
    [
        [{"@Name": "Image", "#text": "C:\\x.exe"}, "loose"],
        {"#attributes": {"Name": "Image"}, "#text": "C:\\x.exe"},
        {"@Name": "Image"},
        {"#text": ["a"], "#attributes": {}},
    ]
)


XML = st.recursive(
    SCALARS | st.lists(SCALARS, max_size=3),
    lambda inner: st.dictionaries(
        st.sampled_from(["#attributes", "#text", "xmlns", "xmlns:a", "Name"]) | TEXT,
        inner,
        max_size=3,
    ),
    max_leaves=8,
)


def system(plain: bool) -> st.SearchStrategy[dict[str, Any]]:
    """System elements: `plain` ones of the values evtx writes, else anything."""
    text = TEXT if plain else ANY_VALUE
    number = st.integers(0, 2**63) if plain else ANY_VALUE
    scalar = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
    qualified = st.fixed_dictionaries(
        {"#text": st.integers(0, 0xFFFF), "#attributes": st.just({"Qualifiers": 16384})}
    )
    times = st.sampled_from(
        ["2019-04-27T15:57:25.868863Z", "2021-02-31T00:00:00.000000Z", "2020-01-01 10:00:00"]
    )

    def attributed(values: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
        inner = st.fixed_dictionaries({}, optional=values)
        return st.fixed_dictionaries({"#attributes": inner}) if plain else attributes(inner)

    required = {
        "EventID": st.integers(0, 0xFFFF) | qualified if plain else ANY_VALUE,
        "TimeCreated": (
            st.fixed_dictionaries({"#attributes": st.fixed_dictionaries({"SystemTime": times})})
            if plain
            else attributed({"SystemTime": times | ANY_VALUE})
        ),
    }
    optional = {
        "Channel": st.sampled_from(["Security", windows.SYSMON_CHANNEL]) | text,
        "Computer": text,
        "Provider": attributed({"Name": text, "Guid": text}),
        "Execution": attributed({"ProcessID": number, "ThreadID": number}),
        "Security": attributed({"UserID": text}),
        "EventRecordID": number,
        **{name: scalar if plain else ANY_VALUE for name in SYSTEM_SCALARS},
        "Correlation": st.none(),
    }
    if plain:
        return st.fixed_dictionaries(required, optional=optional)
    return st.fixed_dictionaries({}, optional={**required, **optional})


SYSTEM_SCALARS = ("Task", "Opcode", "Level", "Keywords", "Version")


def plain_event_data(items: dict[str, Any], unnamed: Any) -> dict[str, Any]:
    """Named items, and unnamed Data items unless None; no "#text" of its own."""
    data = {k: v for k, v in items.items() if k not in ("Data", "#text")}
    if unnamed is not None:
        data["Data"] = unnamed
    return data


def evtx_events(plain: bool) -> st.SearchStrategy[dict[str, Any]]:
    if plain:
        item = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
        unnamed = st.lists(item, max_size=4)
        unnamed_data = unnamed | item | st.fixed_dictionaries({"#text": unnamed | item})
        pairs = st.tuples(event_data(item), st.none() | unnamed_data)
        data: st.SearchStrategy[Any] = st.none() | pairs.map(lambda p: plain_event_data(*p))
        xml: st.SearchStrategy[Any] = XML
    else:
        data = st.one_of(st.none(), event_data(ANY_VALUE | NAMED_DATA), ANY_VALUE)
        xml = XML | ANY_VALUE
    return st.fixed_dictionaries(
        {"System": system(plain)},
        optional={"EventData": data, "UserData": xml, "ProcessingErrorData": xml},
    )


def nested_lists(node: Any) -> bool:
    """Whether an XML node holds a list with a list or object in it (JSON text, aside)."""
    if isinstance(node, list):
        return any(isinstance(item, list | dict) or nested_lists(item) for item in node)
    if isinstance(node, dict):
        return any(nested_lists(value) for value in node.values())
    return False


def surrogate_in(text: object) -> bool:
    return isinstance(text, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def surrogate_in_keys(node: Any) -> bool:
    if isinstance(node, list):
        return any(surrogate_in_keys(item) for item in node)
    if isinstance(node, dict):
        return any(surrogate_in(k) or surrogate_in_keys(v) for k, v in node.items())
    return False


def left_aside(event: dict[str, Any]) -> bool:
    """What the native flattener leaves to the reference in a plain record: text it must
    read (EventData and XML names, the provider GUID) that has no UTF-8 form, and XML
    lists holding lists or objects."""
    guid = event["System"].get("Provider", {}).get("#attributes", {}).get("Guid")
    data = event.get("EventData") or {}
    xml = [event.get(name) for name in ("UserData", "ProcessingErrorData")]
    return (
        surrogate_in(guid)
        or any(surrogate_in(name) for name in data)
        or any(surrogate_in_keys(node) or nested_lists(node) for node in xml)
    )


# --- properties -----------------------------------------------------------------------


@settings(max_examples=600)
@given(event=evtx_events(plain=False))
def test_any_evtx_shaped_record_flattens_as_the_reference_does(event: dict[str, Any]) -> None:
    require_native()
    assert_same(event)


@settings(max_examples=600)
@given(event=evtx_events(plain=True))
def test_plain_records_flatten_natively_as_the_reference_does(event: dict[str, Any]) -> None:
    flattened = flattened_natively(event)
    # The native path is taken for the plain shape (else the property above proves little),
    # except for what it leaves to the reference on purpose.
    assert (flattened is None) == left_aside(event)
    assert_same(event)


# --- examples -------------------------------------------------------------------------


def golden_events() -> list[dict[str, Any]]:
    return [
        orjson.loads(path.read_bytes())["Event"] for path in sorted(GOLDEN.glob("*.input.json"))
    ]


def golden_event(case: str) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads((GOLDEN / f"{case}.input.json").read_bytes())["Event"]
    return event


def test_the_golden_records_flatten_natively_as_the_reference_does() -> None:
    events = golden_events()
    assert len(events) >= 5
    for event in events:
        assert flattened_natively(event) is not None
        assert_same(event)


def test_unnamed_data_items_are_params_natively_too() -> None:
    for data in (["a", None, 3], {"#text": ["a", "b"]}, {"#text": "only"}, "one", {"#text": None}):
        event = golden_event("sysmon_1")
        event["EventData"] = {"Data": data, "Binary": "00FF"}
        flattened = flattened_natively(event)
        assert flattened is not None, data
        assert_same(event)
    assert flattened is not None
    assert flattened[1]["winlog.event_data.Binary"] == "00FF"


def test_field_names_are_the_references_interned_names() -> None:
    event = golden_event("sysmon_1")
    natively = flattened_natively(event)
    assert natively is not None
    _, reference = windows._from_evtx_in_python(event)
    for native_name, reference_name in zip(natively[1], reference, strict=True):
        if native_name.startswith(windows.EVENT_DATA):
            assert native_name is reference_name


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda e: e["System"].update(EventID="4624"), "an event id given as text"),
        (lambda e: e["System"].update(EventRecordID="12"), "a record id given as text"),
        (
            lambda e: e.update(EventData={"Data": [{"@Name": "Image", "#text": "x"}]}),
            "Data items with their names (xmltodict's shape)",
        ),
        (
            lambda e: e.update(EventData={"Data": {"#attributes": {"Name": "a"}, "#text": "x"}}),
            "a Data item with a Name attribute",
        ),
        (lambda e: e.update(EventData={"Image": {"#text": "x"}}), "an item holding an object"),
        (lambda e: e.update(EventData=["a"]), "EventData as a list"),
        (lambda e: e["System"].update(Channel=7), "a channel that is a number"),
        (lambda e: e.update(System=MappingProxyType(e["System"])), "a Mapping, not a dict"),
        (lambda e: e["System"].pop("TimeCreated"), "no time: the reference's error"),
        (lambda e: e["System"].update(EventID=70000), "an event id out of range"),
    ],
)
def test_unusual_records_are_left_to_the_reference(change: Any, why: str) -> None:
    event = golden_event("sysmon_1")
    change(event)
    assert flattened_natively(event) is None, why
    assert_same(event)


def test_a_time_the_calendar_lacks_is_the_references_error() -> None:
    event = golden_event("sysmon_1")
    event["System"]["TimeCreated"]["#attributes"]["SystemTime"] = "2021-02-31T00:00:00.000000Z"
    assert flattened_natively(event) is not None
    with pytest.raises(ParseError, match="not a valid time"):
        windows._from_evtx(event)
    assert_same(event)


def test_the_json_lines_parser_gives_the_same_event_either_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_native()
    lines = [path.read_text(encoding="utf-8") for path in sorted(GOLDEN.glob("*.input.json"))]
    natively = [normalize_windows_event(orjson.loads(line), CONTEXT, line) for line in lines]
    monkeypatch.setattr(windows, "_EVTX_FLATTENER", None)
    assert windows.evtx_flattening() == "python"
    in_python = [normalize_windows_event(orjson.loads(line), CONTEXT, line) for line in lines]
    assert natively == in_python


@pytest.mark.slow
def test_every_regression_record_flattens_natively_as_the_reference_does(
    shared_dir: Path,
) -> None:
    """Every record of SigmaHQ's regression .evtx files, read by the evtx package."""
    require_native()
    files = sorted((shared_dir / "sigma" / "regression_data").rglob("*.evtx"))
    assert len(files) > 90
    records = taken = 0
    for path in files:
        for item in evtx.PyEvtxParser(str(path)).records_json():
            assert item is not None
            event = orjson.loads(item["data"])["Event"]
            records += 1
            taken += flattened_natively(event) is not None
            assert_same(event)
    assert records > 100
    # Nearly every record is plain; the rest (unnamed Data items, ...) go to the reference.
    assert taken > 0.9 * records, (taken, records)
