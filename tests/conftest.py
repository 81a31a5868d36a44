"""Fixtures shared by the whole suite: running the real `canhgac` command."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from canhgac.correlator import literal_scanner
from canhgac.parsers import evtx_flattening

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def canhgac_command() -> list[str]:
    """The console script of the environment running the tests."""
    script = Path(sys.executable).parent / "canhgac"
    return [str(script)] if script.exists() else [sys.executable, "-m", "canhgac.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh CANHGAC_DATA_DIR for this test, for in-process and child processes alike."""
    folder = tmp_path / "data"
    monkeypatch.setenv("CANHGAC_DATA_DIR", str(folder))
    return folder


def run_canhgac(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*canhgac_command(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture
def shared_dir() -> Path:
    """../shared, or a skip naming it (a failure when CANHGAC_REQUIRE_SHARED=1)."""
    if not SHARED.is_dir():
        message = f"needs the development data in {SHARED} (../shared beside the repo)"
        if os.environ.get("CANHGAC_REQUIRE_SHARED") == "1":
            pytest.fail(message + "; CANHGAC_REQUIRE_SHARED=1 makes its absence an error")
        pytest.skip(message)
    return SHARED


def require_tool(command: str, package: str) -> str:
    """The path of a command (or of a file, given absolute) the test needs, or a skip naming
    the Debian package (a failure when CANHGAC_REQUIRE_TOOLS=1, as scripts/test sets after
    installing them)."""
    if command.startswith("/"):
        found = command if Path(command).exists() else None
    else:
        found = shutil.which(command) or (
            f"/usr/sbin/{command}" if Path(f"/usr/sbin/{command}").exists() else None
        )
    if found is None:
        message = f"needs {command}: apt-get install {package} (scripts/system-packages)"
        if os.environ.get("CANHGAC_REQUIRE_TOOLS") == "1":
            pytest.fail(message + "; CANHGAC_REQUIRE_TOOLS=1 makes its absence an error")
        pytest.skip(message)
    return found


def require_native() -> None:
    """Skip without canhgac's native module (no cargo); scripts/test sets
    CANHGAC_REQUIRE_NATIVE=1, which makes its absence a failure."""
    if literal_scanner() != "native" or evtx_flattening() != "native":
        message = "canhgac's native module is not built: run scripts/build-native (needs cargo)"
        if os.environ.get("CANHGAC_REQUIRE_NATIVE") == "1":
            pytest.fail(message + "; CANHGAC_REQUIRE_NATIVE=1 makes its absence an error")
        pytest.skip(message)
