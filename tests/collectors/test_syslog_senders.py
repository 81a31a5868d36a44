"""Real senders into the syslog receiver: util-linux `logger` and an rsyslog forwarder."""

import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from canhgac.collectors import SyslogReceiver
from tests.collectors._syslog_sink import Sink, address, running, syslog_config, wait_until
from tests.conftest import free_port, require_tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAILED_LOGIN = "Failed password for root from 203.0.113.7 port 50122 ssh2"
RSYSLOG_MODULES = Path("/usr/lib/x86_64-linux-gnu/rsyslog")


def logger(receiver: SyslogReceiver, protocol: str, *options: str) -> None:
    host, port = address(receiver, protocol)
    command = [require_tool("logger", "bsdutils"), "--server", host, "--port", str(port)]
    subprocess.run(
        [*command, f"--{protocol}", *options], check=True, timeout=30, capture_output=True
    )


def by_message(sink: Sink) -> dict[str, dict[str, object]]:
    with sink.lock:
        return {str(e.get("message")).strip(): dict(e.fields) for e in sink.events}


def test_logger_over_tcp_and_udp_in_both_formats(tmp_path: Path) -> None:
    sink = Sink()
    with running(syslog_config(), sink, tmp_path / "spool") as receiver:
        logger(
            receiver,
            "tcp",
            "--rfc5424",
            "--octet-count",
            "--tag",
            "portal",
            "--msgid",
            "LOGIN",
            "--sd-id",
            "canhgac@32473",
            "--sd-param",
            'agency="UBND"',
            "tcp 5424 octet-counted",
        )
        logger(receiver, "tcp", "--rfc3164", "--tag", "app", "tcp 3164 newline")
        logger(receiver, "udp", "--rfc5424", "--tag", "app", "udp 5424")
        logger(
            receiver, "udp", "--rfc3164", "--tag", "sshd", "--priority", "auth.info", FAILED_LOGIN
        )
        wait_until(lambda: len(sink.events) == 4, "four messages from logger")
    got = by_message(sink)
    assert set(got) == {"tcp 5424 octet-counted", "tcp 3164 newline", "udp 5424", FAILED_LOGIN}
    five = got["tcp 5424 octet-counted"]
    assert five["log.syslog.version"] == "1"
    assert five["log.syslog.appname"] == "portal"
    assert five["log.syslog.msgid"] == "LOGIN"
    assert five["log.syslog.structured_data.canhgac@32473.agency"] == "UBND"
    assert five["log.syslog.structured_data.timeQuality.tzKnown"] == "1"
    assert five["log.source.address"] == "127.0.0.1"
    assert five["host.name"] == socket.gethostname()
    login = got[FAILED_LOGIN]
    assert login["log.syslog.facility.name"] == "auth"
    assert login["event.action"] == "ssh_login"
    assert login["event.outcome"] == "failure"
    assert login["source.ip"] == "203.0.113.7"
    assert sink.dead == []


@contextmanager
def rsyslog_forwarder(tmp_path: Path, action: str, extra: str = "") -> Iterator[int]:
    """An unprivileged rsyslogd that forwards what it gets on a UDP port; yields that port."""
    rsyslogd = require_tool("rsyslogd", "rsyslog")
    work = tmp_path / "rsyslog"
    work.mkdir()
    port = free_port()
    config = work / "rsyslog.conf"
    config.write_text(
        f'global(workDirectory="{work}")\n'
        f"{extra}"
        'module(load="imudp")\n'
        f'input(type="imudp" address="127.0.0.1" port="{port}")\n'
        f"{action}\n",
        encoding="utf-8",
    )
    check = subprocess.run(
        [rsyslogd, "-N1", "-f", str(config)], capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [rsyslogd, "-n", "-f", str(config), "-i", str(work / "rsyslogd.pid")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: (work / "rsyslogd.pid").exists(), "rsyslogd to start")
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def send_to_rsyslog(port: int, *messages: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for message in messages:
            sock.sendto(message.encode(), ("127.0.0.1", port))


def test_rsyslog_forwards_over_tcp(tmp_path: Path) -> None:
    sink = Sink()
    with running(syslog_config(), sink, tmp_path / "spool") as receiver:
        host, port = address(receiver, "tcp")
        action = (
            f'action(type="omfwd" target="{host}" port="{port}" protocol="tcp" '
            'TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")\n'
            f'action(type="omfwd" target="{host}" port="{port}" protocol="tcp" '
            'template="RSYSLOG_ForwardFormat")'
        )
        with rsyslog_forwarder(tmp_path, action) as forwarder:
            send_to_rsyslog(
                forwarder,
                f"<38>Nov 24 08:15:02 web01 sshd[1234]: {FAILED_LOGIN}",
                "<165>Nov 24 08:15:03 fw01 filterlog[77]: block in on em0",
            )
            # Each message comes twice: once per framing and format.
            wait_until(lambda: len(sink.events) == 4, "four forwarded messages")
    events = by_message(sink)
    assert set(events) == {FAILED_LOGIN, "block in on em0"}
    with sink.lock:
        logins = [e for e in sink.events if str(e.get("message")).strip() == FAILED_LOGIN]
    assert {e.get("log.syslog.version") for e in logins} == {"1", None}
    for login in logins:
        assert login.get("host.name") == "web01"
        assert login.get("process.pid") == 1234
        assert login.get("event.action") == "ssh_login"
        assert login.get("user.name") == "root"


def test_rsyslog_forwards_over_tls(tmp_path: Path) -> None:
    require_tool("rsyslogd", "rsyslog")
    require_tool(str(RSYSLOG_MODULES / "lmnsd_ossl.so"), "rsyslog-openssl")
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("web01.example")
    files = {
        name: tmp_path / name for name in ("ca.pem", "server.pem", "server.key", "c.pem", "c.key")
    }
    ca.cert_pem.write_to_path(str(files["ca.pem"]))
    server.cert_chain_pems[0].write_to_path(str(files["server.pem"]))
    server.private_key_pem.write_to_path(str(files["server.key"]))
    client.cert_chain_pems[0].write_to_path(str(files["c.pem"]))
    client.private_key_pem.write_to_path(str(files["c.key"]))
    config = syslog_config(
        listen=[
            {
                "protocol": "tls",
                "address": "127.0.0.1",
                "port": 0,
                "certificate": str(files["server.pem"]),
                "key": str(files["server.key"]),
                "client_ca": str(files["ca.pem"]),
            }
        ]
    )
    sink = Sink()
    with running(config, sink, tmp_path / "spool") as receiver:
        host, port = address(receiver, "tls")
        tls = (
            f'global(DefaultNetstreamDriverCAFile="{files["ca.pem"]}" '
            f'DefaultNetstreamDriverCertFile="{files["c.pem"]}" '
            f'DefaultNetstreamDriverKeyFile="{files["c.key"]}")\n'
        )
        action = (
            f'action(type="omfwd" target="{host}" port="{port}" protocol="tcp" '
            'StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name" '
            'StreamDriverPermittedPeers="localhost" TCP_Framing="octet-counted" '
            'template="RSYSLOG_SyslogProtocol23Format")'
        )
        with rsyslog_forwarder(tmp_path, action, tls) as forwarder:
            send_to_rsyslog(forwarder, f"<38>Nov 24 08:15:02 web01 sshd[1234]: {FAILED_LOGIN}")
            wait_until(lambda: len(sink.events) == 1, "the message forwarded over TLS")
    (login,) = sink.events
    assert str(login.get("message")).strip() == FAILED_LOGIN
    assert login.get("event.action") == "ssh_login"
