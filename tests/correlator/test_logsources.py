"""The logsource pipeline: field mapping, routing, and the routing index it yields."""

from pathlib import Path

import pytest

from canhgac.correlator import (
    NOT_ROUTED,
    Correlator,
    LogsourceConfigError,
    default_logsources_path,
    load_logsource_pipeline,
    load_rules,
    routing_detection_names,
)
from canhgac.tests.correlator._events import event, load_inline, ssh_event, sudo_event, web_event

WEB_RULE = """
title: {title}
id: {id}
logsource:
    category: webserver
detection:
    selection:
        {field}: '{value}'
    condition: selection
"""

AUTH_RULE = """
title: {title}
logsource:
    product: {product}
    service: {service}
detection:
    selection:
        user.name: root
    condition: selection
"""


def test_the_shipped_pipeline_loads_with_its_routing_conditions() -> None:
    pipeline = load_logsource_pipeline()
    assert default_logsources_path().name == "logsources.yml"
    assert {
        "_route_webserver",
        "_route_linux_auth",
        "_route_linux_sshd",
        "_route_linux_sudo",
        "_route_linux_su",
    } <= routing_detection_names(pipeline)


@pytest.mark.parametrize(
    ("sigma_field", "ecs_field", "value"),
    [
        ("c-ip", "source.ip", "203.113.131.5"),
        ("cs-method", "http.request.method", "PROPFIND"),
        ("cs-uri-query", "url.query", "id=12"),
        ("cs-uri-stem", "url.path", "/dvc/thu-tuc"),
        ("cs-uri", "url.original", "/dvc/thu-tuc?id=12"),
        ("cs-user-agent", "user_agent.original", "curl/8.5.0"),
        ("sc-status", "http.response.status_code", 418),
        ("cs-referer", "http.request.referrer", "https://evil.example/"),
        ("cs-host", "url.domain", "dichvucong.haugiang.gov.vn"),
        ("cs-username", "user.name", "canbo.motcua"),
    ],
)
def test_webserver_taxonomy_fields_map_to_ecs(
    tmp_path: Path, sigma_field: str, ecs_field: str, value: str | int
) -> None:
    rule = WEB_RULE.format(
        title="t", id="8c2e1d5a-3b4f-4a6e-9d7c-0f1e2d3c4b5a", field=sigma_field, value=value
    )
    ruleset = load_inline(tmp_path, **{"web.yml": rule})
    assert ruleset.errors == ()
    correlator = Correlator(ruleset)
    fields = {"event.dataset": "nginx.access", ecs_field: value}
    assert len(correlator.process([event(fields)])) == 1
    assert correlator.process([event({"event.dataset": "nginx.access"})]) == []


@pytest.mark.parametrize(
    ("fields", "routed"),
    [
        ({"event.dataset": "nginx.access"}, True),
        ({"event.dataset": "apache.access"}, True),
        ({"event.dataset": "iis.access", "event.category": ("web", "network")}, True),
        ({"event.dataset": "NGINX.ACCESS"}, True),
        ({"event.dataset": "system.auth"}, False),
        ({}, False),
    ],
)
def test_webserver_rules_see_web_access_events_only(
    tmp_path: Path, fields: dict[str, str | tuple[str, ...]], routed: bool
) -> None:
    rule = WEB_RULE.format(
        title="t", id="8c2e1d5a-3b4f-4a6e-9d7c-0f1e2d3c4b5a", field="cs-method", value="GET"
    )
    correlator = Correlator(load_inline(tmp_path, **{"web.yml": rule}))
    alerts = correlator.process([event({**fields, "http.request.method": "GET"})])
    assert len(alerts) == int(routed)
    (stats,) = correlator.stats()
    assert stats.events == int(routed)  # not even evaluated when not routed


def test_linux_services_see_their_own_program_only(tmp_path: Path) -> None:
    ruleset = load_inline(
        tmp_path,
        **{
            f"{service}.yml": AUTH_RULE.format(title=service, product="linux", service=service)
            for service in ("auth", "sshd", "sudo", "su")
        },
    )
    assert ruleset.errors == ()
    correlator = Correlator(ruleset)
    titles = {
        "sshd": {a.rule_title for a in correlator.process([ssh_event("failure", user="root")])},
        "sudo": {a.rule_title for a in correlator.process([sudo_event("root")])},
    }
    su_event = event({"event.dataset": "system.auth", "process.name": "su", "user.name": "root"})
    titles["su"] = {a.rule_title for a in correlator.process([su_event])}
    assert titles == {"sshd": {"auth", "sshd"}, "sudo": {"auth", "sudo"}, "su": {"auth", "su"}}


def test_canhgac_product_aliases_route_like_their_sources(tmp_path: Path) -> None:
    ruleset = load_inline(
        tmp_path,
        **{
            "portal.yml": AUTH_RULE.format(title="portal", product="canhgac", service="portal"),
            "auth.yml": AUTH_RULE.format(title="auth", product="canhgac", service="auth"),
        },
    )
    correlator = Correlator(ruleset)
    web = event({"event.dataset": "nginx.access", "user.name": "root"})
    assert [a.rule_title for a in correlator.process([web])] == ["portal"]
    assert [a.rule_title for a in correlator.process([sudo_event("root")])] == ["auth"]


def test_a_rule_of_an_unrouted_logsource_loads_but_sees_nothing(tmp_path: Path) -> None:
    rule = AUTH_RULE.format(title="windows", product="windows", service="security")
    ruleset = load_inline(tmp_path, **{"win.yml": rule})
    assert ruleset.errors == ()
    assert [r.info.title for r in ruleset.unrouted] == ["windows"]
    correlator = Correlator(ruleset)
    assert correlator.process([sudo_event("root"), web_event("/")]) == []
    (stats,) = correlator.stats()
    assert (stats.routed, stats.events, stats.note) == (False, 0, NOT_ROUTED)


def test_a_routed_rule_is_tested_only_on_its_own_events(tmp_path: Path) -> None:
    ruleset = load_inline(
        tmp_path,
        **{
            "web.yml": WEB_RULE.format(
                title="web", id="8c2e1d5a-3b4f-4a6e-9d7c-0f1e2d3c4b5a", field="c-ip", value="x"
            ),
            "auth.yml": AUTH_RULE.format(title="auth", product="linux", service="auth"),
        },
    )
    correlator = Correlator(ruleset)
    correlator.process([web_event("/") for _ in range(3)] + [sudo_event("bob")])
    events = {stats.title: stats.events for stats in correlator.stats()}
    assert events == {"web": 3, "auth": 1}


def _pipeline(tmp_path: Path, transformation: str) -> Path:
    path = tmp_path / "logsources.yml"
    path.write_text(f"name: test\ntransformations:\n{transformation}", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("transformation", "message"),
    [
        (
            "  - type: add_condition\n    name: route\n    conditions: {event.dataset: a}\n",
            "must start with '_'",
        ),
        (
            "  - type: add_condition\n    name: _r\n    negated: true\n"
            "    conditions: {event.dataset: a}\n",
            "negated",
        ),
        (
            "  - type: add_condition\n    name: _r\n    conditions: {event.dataset: 'nginx.*'}\n",
            "plain values",
        ),
        ("  - type: no_such_transformation\n", "not a valid pySigma pipeline"),
    ],
)
def test_an_unusable_pipeline_is_a_configuration_error(
    tmp_path: Path, transformation: str, message: str
) -> None:
    with pytest.raises(LogsourceConfigError, match=message):
        load_logsource_pipeline(_pipeline(tmp_path, transformation))


def test_a_missing_pipeline_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(LogsourceConfigError, match="cannot read"):
        load_logsource_pipeline(tmp_path / "absent.yml")


def test_a_custom_pipeline_replaces_the_shipped_one(tmp_path: Path) -> None:
    pipeline = _pipeline(
        tmp_path,
        "  - type: add_condition\n    name: _route_fw\n    conditions: {event.dataset: fw.log}\n"
        "    rule_conditions: [{type: logsource, product: firewall}]\n",
    )
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "fw.yml").write_text(
        AUTH_RULE.format(title="fw", product="firewall", service="x"), encoding="utf-8"
    )
    ruleset = load_rules([rules], bundled=False, logsources=pipeline)
    fw = event({"event.dataset": "fw.log", "user.name": "root"})
    assert [a.rule_title for a in Correlator(ruleset).process([fw])] == ["fw"]


def test_correlation_group_by_uses_the_mapped_field_names(tmp_path: Path) -> None:
    base = WEB_RULE.format(
        title="probe", id="8c2e1d5a-3b4f-4a6e-9d7c-0f1e2d3c4b5a", field="cs-uri-stem", value="/x"
    ).replace("logsource:", "name: probe\nlogsource:")
    count = """
    title: Many Probes
    correlation:
        type: event_count
        rules: [probe]
        group-by: [c-ip]
        timespan: 1m
        condition:
            gte: 2
    """
    ruleset = load_inline(tmp_path, **{"probe.yml": base, "count.yml": count})
    assert ruleset.correlations[0].group_by == ("source.ip",)
    alerts = Correlator(ruleset).process([web_event("/x"), web_event("/x", seconds=1)])
    assert [alert.entities for alert in alerts] == [(("source.ip", "203.113.131.5"),)]


def test_a_loaded_rule_includes_its_routing_condition(tmp_path: Path) -> None:
    rule = WEB_RULE.format(
        title="t", id="8c2e1d5a-3b4f-4a6e-9d7c-0f1e2d3c4b5a", field="cs-method", value="GET"
    )
    (compiled,) = load_inline(tmp_path, **{"web.yml": rule}).rules
    assert compiled.matches(event({"event.dataset": "nginx.access", "http.request.method": "GET"}))
    assert not compiled.matches(event({"http.request.method": "GET"}))
