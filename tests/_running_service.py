"""A real `canhgac run` as a child process on a free port, for the tests that drive the
service from outside: start it and wait for /healthz, make API keys, kill it, stop it;
and the portal's access log, the source most of them watch."""

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import canhgac_command, free_port, run_canhgac


def wait_for(check: Callable[[], bool], seconds: float, what: str, log: Path | None = None) -> None:
    """Poll `check` until it holds; past `seconds`, fail naming `what` (with `log`'s text)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    detail = f"\n{log.read_text()}" if log is not None else ""
    raise AssertionError(f"timed out after {seconds}s waiting for {what}{detail}")


def portal_source(log_file: Path, name: str = "portal") -> dict[str, Any]:
    """The province's public-service portal: its nginx access log as a watched file."""
    return {
        "name": name,
        "type": "file",
        "paths": [str(log_file)],
        "format": "nginx",
        "system": "Cổng dịch vụ công",
        "organization": "Sở KH&CN",
        "poll_interval": 0.2,
    }


class RunningService:
    """`canhgac run [--component NAME] --config CONFIG` with `env`, its output in `log`."""

    def __init__(
        self, config: Path, env: dict[str, str], log: Path, *, component: str | None = None
    ) -> None:
        self.config, self.env, self.log, self.component = config, env, log, component
        self.data = Path(env["CANHGAC_DATA_DIR"])
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def in_folder(cls, folder: Path, settings: dict[str, Any]) -> "RunningService":
        """The whole service over `folder`: `settings` in canhgac.yaml, the data in data/,
        its output in service.log."""
        config = folder / "canhgac.yaml"
        config.write_text(json.dumps(settings))
        env = {**os.environ, "CANHGAC_DATA_DIR": str(folder / "data")}
        return cls(config, env, folder / "service.log")

    @property
    def name(self) -> str:
        return "canhgac run" + (f" --component {self.component}" if self.component else "")

    def create_key(self, role: str, name: str) -> str:
        """A new API key made with `canhgac apikey create`, as an operator would."""
        options = ["--role", role, "--name", name, "--config", str(self.config)]
        made = run_canhgac("apikey", "create", *options, env=self.env)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip().splitlines()[-1]

    def start(self, *, wait: bool = True, seconds: float = 90) -> None:
        """Start the process; with `wait`, until its API answers (its collectors may have
        read much by then)."""
        command = [*canhgac_command(), "run"]
        if self.component is not None:
            command += ["--component", self.component]
        command += ["--config", str(self.config), "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        if wait:
            wait_for(self.healthy, seconds, f"{self.name} to answer /healthz", self.log)

    def healthy(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, f"{self.name} exited:\n{self.log.read_text()}"
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.base}/healthz", timeout=5).json()
        return answer

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, seconds: float = 60) -> None:
        """SIGTERM, as systemd stops it; one that does not exit within `seconds` is killed
        and fails the test."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired as late:
            self.process.kill()
            self.process.wait(10)
            log = self.log.read_text()
            message = f"{self.name} did not stop within {seconds}s of SIGTERM:\n{log}"
            raise AssertionError(message) from late
