"""`canhgac run` as a child process for the panel's tests."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import canhgac_command, free_port, run_canhgac


class RunningService:
    """`canhgac run` over a data folder, with the sources given, on a free port."""

    def __init__(self, folder: Path, sources: list[dict[str, object]]) -> None:
        self.config = folder / "canhgac.yaml"
        self.config.write_text(json.dumps({"sources": sources}))
        self.data = folder / "data"
        self.env = {**os.environ, "CANHGAC_DATA_DIR": str(self.data)}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / "service.log"
        self.process: subprocess.Popen[bytes] | None = None

    def create_key(self, role: str, name: str) -> str:
        """A new API key made with `canhgac apikey create`, as an operator would."""
        made = run_canhgac(
            "apikey",
            "create",
            "--role",
            role,
            "--name",
            name,
            "--config",
            str(self.config),
            env=self.env,
        )
        assert made.returncode == 0, made.stderr
        return made.stdout.strip().splitlines()[-1]

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*canhgac_command(), "run", "--config", str(self.config), "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        log = self.log.read_text()
        raise AssertionError(f"canhgac run did not answer /healthz in 90 s:\n{log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
