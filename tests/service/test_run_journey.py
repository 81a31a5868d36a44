"""The SOC's first journey, end to end with real processes, files and sockets:
a watched log file is appended to, the incident appears through the HTTP API, and a
`kill -9` in the middle of a read loses and doubles nothing."""

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import canhgac_command, free_port, run_canhgac

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ATTACKER = "45.142.212.61"


def access_line(
    n: int, ip: str = "113.161.4.2", target: str | None = None, agent: str = "Mozilla/5.0"
) -> str:
    target = target or f"/dich-vu-cong/thu-tuc?id={n}"
    return (
        f"{ip} - - [24/Nov/2026:08:{n // 60 % 60:02d}:{n % 60:02d} +0700] "
        f'"GET {target} HTTP/1.1" 200 {500 + n} "-" "{agent}"\n'
    )


class RunningService:
    def __init__(self, config: Path, env: dict[str, str], port: int, log: Path) -> None:
        self.config, self.env, self.port, self.log = config, env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*canhgac_command(), "run", "--config", str(self.config), "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(
            "canhgac run did not answer /healthz within 60 s:\n" + self.log.read_text()
        )

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    data = tmp_path / "data"
    log_file = tmp_path / "access.log"
    log_file.write_text("")
    config = tmp_path / "canhgac.yaml"
    config.write_text(
        json.dumps(
            {
                "sources": [
                    {
                        "name": "portal",
                        "type": "file",
                        "paths": [str(log_file)],
                        "format": "nginx",
                        "system": "Cổng dịch vụ công",
                        "organization": "Sở KH&CN",
                        "poll_interval": 0.2,
                    }
                ]
            }
        )
    )
    env = {**os.environ, "CANHGAC_DATA_DIR": str(data)}
    running = RunningService(config, env, free_port(), tmp_path / "service.log")
    yield running
    running.stop()


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def stored_originals(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT doc FROM events").fetchall()
    return [json.loads(doc)["event.original"] for (doc,) in rows]


def test_an_appended_attack_becomes_an_incident_and_kill_9_loses_and_doubles_nothing(
    service: RunningService, tmp_path: Path
) -> None:
    key_run = run_canhgac(
        "apikey", "create", "--role", "analyst", "--name", "analyst-1", env=service.env
    )
    assert key_run.returncode == 0, key_run.stderr
    key = key_run.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    base = f"http://127.0.0.1:{service.port}"
    log_file = tmp_path / "access.log"
    service.start()

    written = [access_line(n) for n in range(20)]
    written += [
        access_line(
            100 + n,
            ATTACKER,
            "/ho-so/tra-cuu?ma=1%27%20UNION%20SELECT%20username,password%20FROM%20users--",
            "sqlmap/1.8.11#stable (https://sqlmap.org)",
        )
        for n in range(5)
    ]
    with log_file.open("a") as out:
        out.writelines(written)

    def incident_listed() -> bool:
        answer = httpx.get(f"{base}/api/v1/incidents", headers=headers, timeout=5)
        assert answer.status_code == 200, answer.text
        return any(i["entity_value"] == ATTACKER for i in answer.json()["items"])

    wait_for(incident_listed, 30, "the SQL-injection incident to be listed")
    assert httpx.get(f"{base}/api/v1/incidents", timeout=5).status_code == 401

    # A large append, killed while it is being read, then read on after a restart.
    database = Path(service.env["CANHGAC_DATA_DIR"]) / "canhgac.sqlite3"
    burst = [access_line(1000 + n) for n in range(100_000)]
    with log_file.open("a") as out:
        out.writelines(burst)
    written += burst
    wait_for(lambda: len(stored_originals(database)) > 30, 30, "the burst to start being read")
    service.kill9()
    stored_at_kill = len(stored_originals(database))
    assert stored_at_kill < len(written), "the kill came after the whole burst was read"
    with log_file.open("a") as out:
        out.writelines(tail := [access_line(50_000 + n) for n in range(10)])
    written += tail
    service.start()

    expected = sorted(line.rstrip("\n") for line in written)
    wait_for(
        lambda: len(stored_originals(database)) >= len(expected), 90, "every line to be stored"
    )
    time.sleep(1)  # anything doubled would arrive now
    assert sorted(stored_originals(database)) == expected

    answer = httpx.get(f"{base}/api/v1/incidents", headers=headers, timeout=5).json()
    attack = Counter(i["rule_id"] for i in answer["items"] if i["entity_value"] == ATTACKER)
    assert attack, answer
    assert set(attack.values()) == {1}, "an incident was doubled by the restart"
