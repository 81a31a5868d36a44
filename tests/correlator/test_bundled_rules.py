"""The rules shipped in rules/, against hand-written events of the province's systems."""

import pytest

from canhgac.correlator import Alert, Correlator, Severity, load_rules
from canhgac.events import Event
from tests.correlator._events import ssh_event, sudo_event, web_event

SQLI = "SQL Injection Attempt In The URL Query"
TRAVERSAL = "Path Traversal Attempt In The URL"
SCANNER = "Vulnerability Scanner User Agent"
SENSITIVE = "Probe For Sensitive Files On A Web Server"
BRUTE_FORCE = "SSH Brute Force From One Address"
BREACH = "SSH Login Succeeds After Brute Force"
SUDO = "Sudo To Root By A User Outside The Admin List"


@pytest.fixture(scope="module")
def rules() -> Correlator:
    ruleset = load_rules([])
    assert ruleset.errors == ()
    return Correlator(ruleset)


def fired(events: list[Event]) -> list[str]:
    return [alert.rule_title for alert in Correlator(load_rules([])).process(events)]


def alerts_of(events: list[Event]) -> list[Alert]:
    return Correlator(load_rules([])).process(events)


@pytest.mark.parametrize(
    "request_event",
    [
        web_event("/dvc/thu-tuc", query="id=12&ma_ho_so=H23.45-2611-000123"),
        web_event("/", agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Safari/604.1"),
        web_event("/tra-cuu", query="q=gi%E1%BA%A5y+ph%C3%A9p+x%C3%A2y+d%E1%BB%B1ng"),
        web_event("/tra-cuu", query="q=đăng ký kết hôn"),
        web_event("/static/js/app.min.js"),
        web_event("/dang-nhap", method="POST", status=302),
        web_event("/uploads/bieu-mau/mau-01.pdf"),
        web_event("/thong-bao/lich-tiep-cong-dan", query="trang=2&select=all"),
        web_event("/tin-tuc/2026/11/24/bai-viet", query="ref=/trang-chu/tin-tuc/&page=1"),
    ],
)
def test_normal_citizen_requests_fire_nothing(request_event: Event) -> None:
    assert fired([request_event]) == []


@pytest.mark.parametrize(
    "agent",
    [
        "sqlmap/1.7.11#stable (https://sqlmap.org)",
        "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)",
        "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
        "Mozilla/5.0 zgrab/0.x",
        "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
        "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
        "DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)",
        "gobuster/3.6",
        "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    ],
)
def test_scanner_user_agents_fire_the_scanner_rule(agent: str) -> None:
    assert fired([web_event("/", agent=agent)]) == [SCANNER]


def test_a_sqlmap_injection_request_fires_both_scanner_and_sqli() -> None:
    sqlmap = web_event(
        "/dvc/thu-tuc",
        query="id=12%20UNION%20ALL%20SELECT%20NULL,CONCAT(0x7171,0x7171)--%20-",
        agent="sqlmap/1.7.11#stable (https://sqlmap.org)",
    )
    assert sorted(fired([sqlmap])) == sorted([SQLI, SCANNER])


@pytest.mark.parametrize(
    "query",
    [
        "id=1' OR '1'='1",
        "id=1%27%20OR%20%271%27%3D%271",
        "id=1'+or+'1'='1",
        "id=-1 union select username,password from users",
        "id=1+UNION+SELECT+1,2,3",
        "id=1 AND SLEEP(5)",
        "id=1%20AND%20sleep%285%29",
        "id=1 AND BENCHMARK(5000000,MD5(1))",
        "id=1;WAITFOR DELAY '0:0:5'",
        "id=1 and 1=(select count(*) from information_schema.tables)",
        "cmd=1;exec master..xp_cmdshell 'dir'",
        "ten=admin'--",
        "id=1/**/union/**/select/**/1",
        "id=1 or 1=1",
    ],
)
def test_sql_injection_in_the_query_fires_sqli(query: str) -> None:
    assert fired([web_event("/dvc/thu-tuc", query=query)]) == [SQLI]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/dvc/../../etc/passwd", None),
        ("/static/..%2f..%2f..%2fetc/shadow", None),
        ("/static/%2e%2e/%2e%2e/windows/win.ini", None),
        ("/download", "file=....//....//etc/passwd"),
        ("/download", "file=..%5c..%5cboot.ini"),
        ("/download", "file=%252e%252e%252fetc%252fpasswd"),
    ],
)
def test_path_traversal_fires_traversal(path: str, query: str | None) -> None:
    assert fired([web_event(path, query=query)]) == [TRAVERSAL]


@pytest.mark.parametrize(
    "path",
    [
        "/.env",
        "/portal/.env.production",
        "/.git/config",
        "/.git",
        "/wp-config.php.bak",
        "/wp-config.php~",
        "/config.php.old",
        "/phpinfo.php",
        "/server-status",
        "/actuator/env",
        "/api/actuator",
        "/backup.zip",
        "/db/dichvucong.sql",
        "/old/index.php.bak",
    ],
)
def test_sensitive_file_probes_fire_the_probe_rule(path: str) -> None:
    assert fired([web_event(path, status=404)]) == [SENSITIVE]


def test_a_web_attack_on_an_apache_server_fires_too() -> None:
    probe = web_event("/.git/config", dataset="apache.access")
    assert fired([probe]) == [SENSITIVE]


def test_ssh_brute_force_then_success_fires_brute_force_then_breach() -> None:
    attacker = "45.77.10.20"
    failures = [ssh_event("failure", ip=attacker, seconds=12 * i) for i in range(10)]
    success = ssh_event("success", ip=attacker, user="root", seconds=125)
    alerts = alerts_of([*failures, success])
    assert [alert.rule_title for alert in alerts] == [BRUTE_FORCE, BREACH]
    brute_force, breach = alerts
    assert brute_force.severity is Severity.HIGH
    assert brute_force.entities == (("source.ip", attacker),)
    assert brute_force.event_ids == tuple(e.id for e in failures)
    assert brute_force.timestamp == failures[-1].timestamp
    assert breach.severity is Severity.CRITICAL
    assert breach.entities == (("source.ip", attacker),)
    assert breach.event_ids == (*brute_force.event_ids, success.id)
    assert breach.timestamp == success.timestamp


def test_nine_failures_are_not_a_brute_force() -> None:
    failures = [ssh_event("failure", seconds=12 * i) for i in range(9)]
    assert fired([*failures, ssh_event("success", seconds=120)]) == []


def test_ten_failures_spread_over_more_than_five_minutes_are_not_a_brute_force() -> None:
    failures = [ssh_event("failure", seconds=40 * i) for i in range(10)]  # 6 minutes
    assert fired(failures) == []


def test_failures_from_many_addresses_are_not_one_brute_force() -> None:
    failures = [ssh_event("failure", ip=f"45.77.10.{i}", seconds=i) for i in range(20)]
    assert fired(failures) == []


def test_a_successful_login_alone_fires_nothing() -> None:
    assert fired([ssh_event("success")]) == []


def test_success_long_after_a_brute_force_is_no_breach() -> None:
    failures = [ssh_event("failure", seconds=i) for i in range(10)]
    assert fired([*failures, ssh_event("success", seconds=20 * 60)]) == [BRUTE_FORCE]


def test_sudo_to_root_by_alice_fires() -> None:
    (alert,) = alerts_of([sudo_event("alice")])
    assert alert.rule_title == SUDO
    assert alert.severity is Severity.MEDIUM
    assert alert.entities == (("user.name", "alice"), ("host.name", "motcua-app02"))


@pytest.mark.parametrize("admin", ["admin", "root", "ansible", "Admin"])
def test_sudo_to_root_by_an_admin_does_not_fire(admin: str) -> None:
    assert fired([sudo_event(admin)]) == []


def test_sudo_to_another_user_does_not_fire() -> None:
    assert fired([sudo_event("alice", target="www-data")]) == []


def test_all_bundled_rules_are_routed(rules: Correlator) -> None:
    assert all(stats.routed for stats in rules.stats())
