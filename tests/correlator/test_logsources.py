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
from tests.correlator._events import event, load_inline, ssh_event, sudo_event, web_event

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
        ("cs-uri-query", "url.original", "/dvc/thu-tuc"),
        ("cs-version", "http.version", "1.0"),
        ("sc-bytes", "http.response.body.bytes", 5123),
        ("cs-bytes", "http.request.body.bytes", 77),
        ("cs-content-type", "http.request.mime_type", "application/octet-stream"),
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
    rule = AUTH_RULE.format(title="okta", product="okta", service="okta")
    ruleset = load_inline(tmp_path, **{"okta.yml": rule})
    assert ruleset.errors == ()
    assert [r.info.title for r in ruleset.unrouted] == ["okta"]
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


def test_cs_uri_query_matches_the_query_and_paths_written_in_it(tmp_path: Path) -> None:
    # W3C's cs-uri-query is the query string, but SigmaHQ rules often put paths in it.
    rules = {
        "path.yml": WEB_RULE.format(
            title="bash api",
            id="8c2e1d5a-3b4f-4a6e-9d7c-0f1e2d3c4b5a",
            field="cs-uri-query|endswith",
            value="/mgmt/tm/util/bash",
        ),
        "query.yml": WEB_RULE.format(
            title="cmd param",
            id="9d3f2e6b-4c5a-4b7f-8e8d-1a2b3c4d5e6f",
            field="cs-uri-query|startswith",
            value="cmd=",
        ),
    }
    correlator = Correlator(load_inline(tmp_path, **rules))
    bash = web_event("/mgmt/tm/util/bash")
    command = web_event("/shell.jsp", query="cmd=id")
    plain = web_event("/index.html", query="page=2")
    fired = [(a.rule_title, a.event_ids) for a in correlator.process([bash, command, plain])]
    assert fired == [("bash api", (bash.id,)), ("cmd param", (command.id,))]


@pytest.mark.parametrize("program", ["sshd", "sshd-session", "sshd-auth"])
def test_sshd_rules_see_the_openssh_9_8_process_names(tmp_path: Path, program: str) -> None:
    rule = AUTH_RULE.format(title="sshd", product="linux", service="sshd")
    correlator = Correlator(load_inline(tmp_path, **{"sshd.yml": rule}))
    line = event({"event.dataset": "system.auth", "process.name": program, "user.name": "root"})
    assert [alert.rule_title for alert in correlator.process([line])] == ["sshd"]


LINUX_RULE = """
title: {title}
logsource:
{logsource}
detection:
    selection:
        {field}: '{value}'
    condition: selection
"""


@pytest.mark.parametrize(
    ("logsource", "field", "value", "fields"),
    [
        (
            "    product: linux\n    service: auditd",
            "exe",
            "/usr/bin/nc",
            {"event.dataset": "auditd.log", "auditd.log.exe": "/usr/bin/nc"},
        ),
        (
            "    product: linux\n    category: process_creation",
            "CommandLine|contains",
            "base64 -d",
            {
                "event.dataset": "auditd.log",
                "event.category": ("process",),
                "event.type": ("start",),
                "process.command_line": "echo x | base64 -d | sh",
            },
        ),
        (
            "    product: linux\n    category: file_event",
            "TargetFilename|startswith",
            "/etc/cron.d/",
            {
                "event.dataset": "auditd.log",
                "event.category": ("file",),
                "event.type": ("creation",),
                "file.path": "/etc/cron.d/evil",
            },
        ),
        (
            "    product: linux\n    category: network_connection",
            "DestinationPort",
            "4444",
            {"event.dataset": "network.connection", "destination.port": 4444},
        ),
        (
            "    category: network_connection",
            "destination.ip|cidr",
            "10.0.0.0/8",
            {"event.dataset": "network.connection", "destination.ip": "10.1.1.1"},
        ),
        (
            "    category: dns",
            "query|endswith",
            ".onion",
            {"event.dataset": "network.dns", "dns.question.name": "x.onion"},
        ),
        (
            "    category: dns",
            "record_type",
            "TXT",
            {"event.dataset": "zeek.dns", "dns.question.type": "TXT"},
        ),
        (
            "    category: firewall",
            "dst_port",
            "3389",
            {"event.dataset": "network.firewall", "destination.port": 3389},
        ),
        (
            "    category: proxy",
            "c-useragent|contains",
            "sqlmap",
            {"event.dataset": "network.proxy", "user_agent.original": "sqlmap/1.8"},
        ),
        (
            "    category: proxy",
            "c-uri-extension",
            "hta",
            {"event.dataset": "network.proxy", "url.extension": "hta"},
        ),
    ],
)
def test_linux_and_network_logsources_route_and_map(
    tmp_path: Path,
    logsource: str,
    field: str,
    value: str,
    fields: dict[str, str | int | tuple[str, ...]],
) -> None:
    rule = LINUX_RULE.format(title="t", logsource=logsource, field=field, value=value)
    ruleset = load_inline(tmp_path, **{"r.yml": rule})
    assert ruleset.errors == ()
    assert ruleset.unrouted == ()
    correlator = Correlator(ruleset)
    assert len(correlator.process([event(fields)])) == 1
    other = {**fields, "event.dataset": "other.dataset"}
    assert correlator.process([event(other)]) == []


def test_windows_network_connections_are_not_routed_to_flow_events(tmp_path: Path) -> None:
    rule = LINUX_RULE.format(
        title="win",
        logsource="    product: windows\n    category: network_connection",
        field="DestinationPort",
        value="4444",
    )
    ruleset = load_inline(tmp_path, **{"r.yml": rule})
    flow = event({"event.dataset": "network.connection", "destination.port": 4444})
    assert Correlator(ruleset).process([flow]) == []
