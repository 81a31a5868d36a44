"""The README's first command: `canhgac demo` lists incidents within a minute."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import canhgac_command, free_port

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_demo_replays_the_samples_into_incidents_within_a_minute(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    env = {**os.environ, "CANHGAC_DATA_DIR": str(tmp_path / "data")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*canhgac_command(), "demo", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        started = time.monotonic()
        key = None
        rules_seen: set[str] = set()
        while time.monotonic() - started < 60:
            assert process.poll() is None, log.read_text()
            if key is None:
                found = re.search(r"demo admin key: (\S+)", log.read_text())
                key = found.group(1) if found else None
            if key is not None:
                try:
                    answer = httpx.get(
                        f"http://127.0.0.1:{port}/api/v1/incidents?limit=100",
                        headers={"Authorization": f"Bearer {key}"},
                        timeout=2,
                    )
                except httpx.TransportError:
                    answer = None
                if answer is not None and answer.status_code == 200:
                    rules_seen = {i["rule_title"] for i in answer.json()["items"]}
                    if len(rules_seen) >= 5:
                        break
            time.sleep(0.5)
        # SQL injection, path traversal, scanner, sensitive files, SSH brute force, ...
        assert len(rules_seen) >= 5, (rules_seen, log.read_text()[-3000:])
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, log.read_text()[-3000:]
