"""The SOC's first journey, end to end with real processes, files and sockets:
a watched log file is appended to, the incident appears through the HTTP API, and a
`kill -9` in the middle of a read loses and doubles nothing."""

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests._running_service import RunningService, portal_source, wait_for

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


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    log_file = tmp_path / "access.log"
    log_file.write_text("")
    running = RunningService.in_folder(tmp_path, {"sources": [portal_source(log_file)]})
    yield running
    running.stop()


def stored_originals(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT doc FROM events").fetchall()
    return [json.loads(doc)["event.original"] for (doc,) in rows]


def test_an_appended_attack_becomes_an_incident_and_kill_9_loses_and_doubles_nothing(
    service: RunningService, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {service.create_key('analyst', 'analyst-1')}"}
    base = service.base
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
    database = service.data / "canhgac.sqlite3"
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
