"""The literal prefilter: rules skipped for lacking their anchors could not have matched."""

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.rule import SigmaRule

from canhgac.correlator import Correlator, RuleSet
from canhgac.correlator._event_view import EventView
from canhgac.correlator._prefilter import Anchor, Prefilter, rule_anchors
from canhgac.tests.correlator._events import event, load_inline, sigma_rule

WEB = "    category: webserver"


def anchors_of(detection: dict[str, object]) -> frozenset[Anchor] | None:
    rule: SigmaRule = sigma_rule(detection)
    return rule_anchors(rule.detection.parsed_condition[0].parse())


def test_an_and_keeps_the_cheapest_anchors() -> None:
    found = anchors_of(
        {
            "img": {"Image|endswith": ["\\cmd.exe", "\\powershell.exe"]},
            "cli": {"CommandLine|contains": " -enc "},
            "condition": "img and cli",
        }
    )
    assert found == frozenset(
        {
            Anchor("Image", "endswith", "\\cmd.exe"),
            Anchor("Image", "endswith", "\\powershell.exe"),
        }
    )


def test_an_or_needs_anchors_on_every_side() -> None:
    assert anchors_of(
        {
            "a": {"Image|endswith": "\\x.exe"},
            "b": {"OriginalFileName": "X.EXE"},
            "condition": "a or b",
        }
    ) == frozenset(
        {Anchor("Image", "endswith", "\\x.exe"), Anchor("OriginalFileName", "equals", "x.exe")}
    )
    assert (
        anchors_of({"a": {"Image|endswith": "\\x.exe"}, "b": {"Pid|gt": 4}, "condition": "a or b"})
        is None
    )


def test_not_regex_and_lone_wildcards_give_no_anchors() -> None:
    assert anchors_of({"a": {"Image": "x"}, "condition": "not a"}) is None
    assert anchors_of({"a": {"Image|re": "x.*"}, "condition": "a"}) is None
    assert anchors_of({"a": {"Image": "*"}, "condition": "a"}) is None
    assert anchors_of({"a": {"Image": "a*b"}, "condition": "a"}) is None


def test_the_prefilter_selects_rules_by_their_anchors() -> None:
    prefilter = Prefilter(
        [0, 1, 2, 3, 4],
        {
            0: frozenset({Anchor("f", "equals", "x")}),
            1: frozenset({Anchor("f", "startswith", "/admin")}),
            2: frozenset({Anchor("f", "endswith", ".php")}),
            3: frozenset({Anchor("f", "contains", "union select")}),
            4: None,
        },
    )
    assert prefilter.select(EventView({"f": "X"})) == [0, 4]
    assert prefilter.select(EventView({"f": "/ADMIN/index.php"})) == [1, 2, 4]
    assert prefilter.select(EventView({"f": "id=1 UNION SELECT 2"})) == [3, 4]
    assert prefilter.select(EventView({"g": "/admin"})) == [4]


def test_a_value_too_long_to_scan_keeps_every_rule_anchored_on_its_field() -> None:
    prefilter = Prefilter([0, 1], {0: frozenset({Anchor("f", "contains", "mimikatz")}), 1: None})
    assert prefilter.select(EventView({"f": "x" * 10_000})) == [0, 1]


# Property: with the prefilter in play (a route of many rules), the engine raises exactly
# the alerts of the rules whose condition holds.

_NEEDLES = ["admin", "php", "a/b", ".bak", "union", "x", "?id=", "wp-", "/"]
_KINDS = ["", "|contains", "|startswith", "|endswith", "|contains|cased"]


def _rules() -> dict[str, str]:
    rules: dict[str, str] = {}
    for number in range(40):
        needle = _NEEDLES[number % len(_NEEDLES)]
        kind = _KINDS[number % len(_KINDS)]
        other = _NEEDLES[(number * 7 + 3) % len(_NEEDLES)]
        rules[f"r{number}.yml"] = f"""
        title: rule {number}
        logsource:
        {WEB}
        detection:
            path:
                cs-uri-stem{kind}: '{needle}'
            agent:
                - cs-user-agent|contains: '{other}'
                - cs-method: POST
            condition: path and {"not " if number % 3 == 0 else ""}agent
        """
    return rules


_RULESETS: list[RuleSet] = []


def _ruleset() -> RuleSet:
    if not _RULESETS:
        with tempfile.TemporaryDirectory() as folder:
            _RULESETS.append(load_inline(Path(folder), **_rules()))
    return _RULESETS[0]


_part = st.sampled_from(["admin", "ADMIN", "php", "a/b", ".bak", "x", "wp-", "/", "?id=", "q"])


@settings(max_examples=300, deadline=None)
@given(
    path=st.lists(_part, max_size=4).map("".join),
    agent=st.lists(_part, max_size=3).map("".join),
    method=st.sampled_from(["GET", "POST", "post"]),
)
def test_the_prefilter_never_hides_a_matching_rule(path: str, agent: str, method: str) -> None:
    ruleset = _ruleset()
    probe = event(
        {
            "event.dataset": "nginx.access",
            "url.path": path,
            "user_agent.original": agent,
            "http.request.method": method,
        }
    )
    expected = [rule.info.title for rule in ruleset.rules if rule.matches(probe)]
    assert [alert.rule_title for alert in Correlator(ruleset).process([probe])] == expected
