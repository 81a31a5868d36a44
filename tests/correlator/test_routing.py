"""The routing index: which rules an event is tested against, and that it drops none."""

import importlib
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.correlator import Correlator, RuleSet
from canhgac.correlator._event_view import EventView
from canhgac.correlator._routing import RoutingIndex, all_plain
from canhgac.events import FieldValue
from tests.conftest import require_native
from tests.correlator._events import SYSMON, event, load_inline, windows_event

CHANNEL_KEY = ("winlog.channel", "security")


def test_an_event_reaches_the_rules_of_every_key_it_holds() -> None:
    index = RoutingIndex(
        [
            {(CHANNEL_KEY, ("winlog.event_id", "4624"))},
            {(CHANNEL_KEY,)},
            {(("event.dataset", "nginx.access"),)},
            {(CHANNEL_KEY, ("winlog.event_id", "4625")), (("event.category", "web"),)},
        ]
    )
    logon = index.route(EventView({"winlog.channel": "Security", "winlog.event_id": 4624}))
    assert logon is not None
    assert logon.positions == (0, 1)
    web = index.route(EventView({"event.category": ("network", "web")}))
    assert web is not None
    assert web.positions == (3,)
    assert index.route(EventView({"winlog.channel": "System", "winlog.event_id": 4624})) is None
    assert index.route(EventView({})) is None


def test_events_holding_the_same_keys_share_one_route() -> None:
    index = RoutingIndex([{(CHANNEL_KEY,)}, {(("winlog.event_id", "1"),)}])
    first = index.route(EventView({"winlog.channel": "SECURITY", "x": 1}))
    second = index.route(EventView({"winlog.channel": "security", "y": 2}))
    other = index.route(EventView({"winlog.channel": "security", "winlog.event_id": 1}))
    assert first is second
    assert first is not None
    assert other is not None
    assert other.number != first.number
    assert [route.positions for route in index.routes] == [(0,), (0, 1)]


def test_a_key_over_a_multi_valued_field_matches_any_of_its_values() -> None:
    index = RoutingIndex(
        [
            {
                (
                    ("event.category", "process"),
                    ("event.dataset", "auditd.log"),
                    ("event.type", "start"),
                )
            }
        ]
    )
    fields: dict[str, FieldValue] = {
        "event.category": ("process", "file"),
        "event.dataset": "auditd.log",
        "event.type": ("info", "start"),
    }
    route = index.route(EventView(fields))
    assert route is not None
    assert route.positions == (0,)


def test_a_rule_with_several_conditions_gets_the_keys_of_each(tmp_path: Path) -> None:
    rule = """
    title: Two Conditions
    logsource:
        product: windows
        service: security
    detection:
        logon:
            EventID: 4624
        cleared:
            EventID: 1102
        condition:
            - logon
            - cleared
    """
    (compiled,) = load_inline(tmp_path, **{"r.yml": rule}).rules
    assert compiled.route_keys == frozenset(
        {(CHANNEL_KEY, ("winlog.event_id", "4624")), (CHANNEL_KEY, ("winlog.event_id", "1102"))}
    )


def test_an_event_id_under_not_does_not_narrow_the_keys(tmp_path: Path) -> None:
    rule = """
    title: Not A Logon
    logsource:
        product: windows
        service: security
    detection:
        logon:
            EventID: 4624
        condition: not logon
    """
    (compiled,) = load_inline(tmp_path, **{"r.yml": rule}).rules
    assert compiled.route_keys == frozenset({(CHANNEL_KEY,)})


# Property: whatever the event, the engine (with its index) raises exactly the alerts of
# the rules whose whole condition, routing included, holds.

_RULES = {
    "ids.yml": """
    title: Listed Ids
    logsource: {product: windows, service: security}
    detection:
        selection:
            EventID: [4624, 4625]
            TargetUserName|startswith: adm
        condition: selection
    """,
    "or.yml": """
    title: Id Or Name
    logsource: {product: windows, service: security}
    detection:
        by_id:
            EventID: 4672
        by_name:
            TargetUserName: root
        condition: by_id or by_name
    """,
    "not.yml": """
    title: Not Logon
    logsource: {product: windows, service: security}
    detection:
        logon:
            EventID: 4624
        name:
            TargetUserName|contains: a
        condition: name and not logon
    """,
    "proc.yml": """
    title: Process
    logsource: {product: windows, category: process_creation}
    detection:
        selection:
            EventID: [1, 4688]
            Image|endswith: a
        condition: selection
    """,
    "system.yml": """
    title: System Any
    logsource: {product: windows, service: system}
    detection:
        selection:
            EventID|gt: 4600
        condition: selection
    """,
}

_RULESETS: list[RuleSet] = []


def _ruleset() -> RuleSet:
    if not _RULESETS:
        with tempfile.TemporaryDirectory() as folder:
            _RULESETS.append(load_inline(Path(folder), **_RULES))
    return _RULESETS[0]


@settings(max_examples=300, deadline=None)
@given(
    channel=st.sampled_from(["Security", "SECURITY", "System", SYSMON]),
    event_id=st.sampled_from([1, 4624, 4625, 4672, 4688, "4624", 4700]),
    name=st.sampled_from(["admin", "root", "bob", "ADM"]),
    image=st.sampled_from(["x.exe", "cmd.exea"]),
)
def test_the_index_never_hides_a_matching_rule(
    channel: str, event_id: int | str, name: str, image: str
) -> None:
    ruleset = _ruleset()
    probe = windows_event("x", 0, TargetUserName=name, Image=image, NewProcessName=image)
    fields = {**probe.fields, "winlog.channel": channel, "winlog.event_id": event_id}
    one = event(fields)
    expected = [rule.info.title for rule in ruleset.rules if rule.matches(one)]
    fired = [alert.rule_title for alert in Correlator(ruleset).process([one])]
    assert fired == expected


def test_routing_answers_kept_for_values_do_not_mix_true_and_one() -> None:
    index = RoutingIndex([{(("flag", "true"),)}, {(("flag", "1"),)}])
    first = index.route(EventView({"flag": True}))
    second = index.route(EventView({"flag": 1}))
    third = index.route(EventView({"flag": (True,)}))
    fourth = index.route(EventView({"flag": "TRUE"}))
    # Tuples too, (True,) == (1,) for Python; and a tuple of text alone is kept as it is.
    fifth = index.route(EventView({"flag": (1,)}))
    sixth = index.route(EventView({"flag": ("1", "x")}))
    seventh = index.route(EventView({"flag": ("x", True)}))
    routes = (first, second, third, fourth, fifth, sixth, seventh)
    assert [route.positions if route else None for route in routes] == [
        (0,),
        (1,),
        (0,),
        (0,),
        (1,),
        (1,),
        (0,),
    ]


def test_a_user_data_value_routes_like_its_event_data_twin() -> None:
    index = RoutingIndex([{(("winlog.event_data.EventType", "setvalue"),)}])
    assert index.route(EventView({"winlog.event_data.EventType": "SetValue"})) is not None
    assert index.route(EventView({"winlog.user_data.Op.EventType": "SetValue"})) is not None
    assert index.route(EventView({"winlog.user_data.Op.Other": "SetValue"})) is None


# Routing values of every type an event may hold, and subclasses that must not pass for
# their base type (a bool is an int; a str subclass may compare as it likes).
_Text = type("Text", (str,), {})
_Pair = type("Pair", (tuple,), {})
_SCALARS = st.one_of(
    st.text(max_size=3),
    st.integers(-3, 3),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.just(_Text("x")),
)
_ROUTING_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=3).map(tuple),
    st.lists(st.text(max_size=2), max_size=2).map(lambda items: _Pair(items)),
    st.lists(st.text(max_size=2), max_size=2),
)


@settings(max_examples=500)
@given(values=st.lists(_ROUTING_VALUES, max_size=7))
def test_the_native_routing_key_takes_exactly_the_plain_values(values: list[object]) -> None:
    require_native()
    key = importlib.import_module("canhgac._native").plain_route_key(list(values))
    if all_plain(values):
        assert key == tuple(values)
        assert [type(part) for part in key] == [type(value) for value in values]
    else:
        assert key is None


def test_subclasses_and_bools_are_not_plain_routing_values() -> None:
    require_native()
    plain_route_key = importlib.import_module("canhgac._native").plain_route_key
    assert plain_route_key(["a", 1, None, ("b", "c"), ()]) == ("a", 1, None, ("b", "c"), ())
    for odd in (True, _Text("x"), ("a", _Text("x")), ("a", 1), _Pair(("a",)), ["a"], 1.0):
        assert plain_route_key(["a", odd]) is None, odd
        assert not all_plain(["a", odd]), odd
