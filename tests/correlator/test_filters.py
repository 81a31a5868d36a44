"""Sigma filters: exclusions written once, applied to the rules they name."""

from pathlib import Path

from canhgac.correlator import Correlator, RuleSet
from tests.correlator._events import load_inline, web_event

ADMIN_PROBE = """
title: Admin Probe
id: 0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e
name: admin_probe
logsource:
    category: webserver
detection:
    selection:
        cs-uri-stem|startswith: /admin
    condition: selection
"""

LOGIN_POST = """
title: Login Post
id: 1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f
logsource:
    category: webserver
detection:
    selection:
        cs-method: POST
    condition: selection
"""

OFFICE_FILTER = """
title: Office Network
logsource:
    category: webserver
filter:
    rules:
        - {reference}
    office:
        c-ip|cidr: 10.0.0.0/8
    condition: not office
"""


def fired(ruleset: RuleSet, ip: str, path: str = "/admin/login", method: str = "POST") -> list[str]:
    alerts = Correlator(ruleset).process([web_event(path, ip=ip, method=method)])
    return sorted(alert.rule_title for alert in alerts)


def test_a_filter_excludes_the_events_it_selects_from_the_rule_it_names(tmp_path: Path) -> None:
    ruleset = load_inline(
        tmp_path,
        **{
            "probe.yml": ADMIN_PROBE,
            "login.yml": LOGIN_POST,
            "office.yml": OFFICE_FILTER.format(reference="0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"),
        },
    )
    assert ruleset.errors == ()
    assert fired(ruleset, "203.113.131.5") == ["Admin Probe", "Login Post"]
    # From the office network the probe rule is filtered; the other rule is not.
    assert fired(ruleset, "10.1.2.3") == ["Login Post"]


def test_a_filter_may_name_a_rule_by_its_name(tmp_path: Path) -> None:
    ruleset = load_inline(
        tmp_path,
        **{"probe.yml": ADMIN_PROBE, "office.yml": OFFICE_FILTER.format(reference="admin_probe")},
    )
    assert fired(ruleset, "10.1.2.3") == []
    assert fired(ruleset, "11.1.2.3") == ["Admin Probe"]


def test_a_filter_for_any_rule_applies_to_every_rule_of_its_logsource(tmp_path: Path) -> None:
    everything = OFFICE_FILTER.replace("rules:\n        - {reference}", "rules: any")
    ruleset = load_inline(
        tmp_path, **{"probe.yml": ADMIN_PROBE, "login.yml": LOGIN_POST, "office.yml": everything}
    )
    assert fired(ruleset, "10.1.2.3") == []
    assert fired(ruleset, "11.1.2.3") == ["Admin Probe", "Login Post"]


def test_a_filter_naming_an_unknown_rule_is_an_error_and_filters_nothing(tmp_path: Path) -> None:
    ruleset = load_inline(
        tmp_path,
        **{"probe.yml": ADMIN_PROBE, "office.yml": OFFICE_FILTER.format(reference="no_such_rule")},
    )
    (error,) = ruleset.errors
    assert error.path == str(tmp_path / "office.yml")
    assert error.rule == "Office Network"
    assert error.reason == "names rule 'no_such_rule', which is not loaded"
    assert fired(ruleset, "10.1.2.3") == ["Admin Probe"]


def test_a_filter_whose_logsource_does_not_cover_the_rule_is_an_error(tmp_path: Path) -> None:
    linux = OFFICE_FILTER.format(reference="admin_probe").replace(
        "category: webserver", "product: linux"
    )
    ruleset = load_inline(tmp_path, **{"probe.yml": ADMIN_PROBE, "office.yml": linux})
    (error,) = ruleset.errors
    assert error.reason.startswith("its logsource (")
    assert "does not cover the logsource of rule 'admin_probe'" in error.reason
    assert fired(ruleset, "10.1.2.3") == ["Admin Probe"]


def test_a_filter_the_engine_cannot_evaluate_is_reported_as_the_filters_error(
    tmp_path: Path,
) -> None:
    night = OFFICE_FILTER.format(reference="admin_probe").replace(
        "c-ip|cidr: 10.0.0.0/8", "sc-status|hour: 3"
    )
    ruleset = load_inline(tmp_path, **{"probe.yml": ADMIN_PROBE, "office.yml": night})
    (error,) = ruleset.errors
    assert (error.rule, error.reason) == (
        "Office Network",
        "unsupported: time modifiers (minute, hour, day, ...)",
    )
    assert [rule.info.title for rule in ruleset.rules] == ["Admin Probe"]


def test_a_filter_in_the_same_file_as_its_rule(tmp_path: Path) -> None:
    both = ADMIN_PROBE + "---\n" + OFFICE_FILTER.format(reference="admin_probe")
    ruleset = load_inline(tmp_path, **{"both.yml": both})
    assert ruleset.errors == ()
    assert fired(ruleset, "10.1.2.3") == []
    assert fired(ruleset, "8.8.8.8") == ["Admin Probe"]


def test_several_filters_all_apply(tmp_path: Path) -> None:
    scanner = """
    title: Our Scanner
    logsource:
        category: webserver
    filter:
        rules: [admin_probe]
        scanner:
            cs-user-agent|contains: canhgac-audit
        condition: not scanner
    """
    ruleset = load_inline(
        tmp_path,
        **{
            "probe.yml": ADMIN_PROBE,
            "office.yml": OFFICE_FILTER.format(reference="admin_probe"),
            "scanner.yml": scanner,
        },
    )
    correlator = Correlator(ruleset)
    audit = web_event("/admin", ip="8.8.8.8", agent="canhgac-audit/1.0")
    office = web_event("/admin", ip="10.0.0.7")
    outsider = web_event("/admin", ip="8.8.8.8")
    assert [alert.event_ids for alert in correlator.process([audit, office, outsider])] == [
        (outsider.id,)
    ]
