"""The wheel: what a province installs. Built from this checkout, installed in a fresh
virtualenv, it must put nothing but `canhgac` into site-packages and work from there."""

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_the_wheel_installs_only_canhgac_and_its_commands_work(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("canhgac-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    before = {p.name for p in site.iterdir()}
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    added = {p.name for p in site.iterdir()} - before
    assert {name for name in added if not name.endswith(".dist-info")} == {"canhgac"}

    packages = {p.name for p in (site / "canhgac").iterdir() if p.is_dir()}
    top_level_source = {
        p.name
        for p in REPO.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name != "tests"
    }
    assert top_level_source <= packages, "a top-level package is missing from only-include"
    assert any((site / "canhgac" / "rules").glob("*.yml")), "the bundled rules are not shipped"

    # Run the installed code (its dependencies borrowed from this environment, read-only).
    deps = sysconfig.get_paths()["purelib"]
    env = {"PYTHONPATH": deps, "PATH": str(env_dir / "bin")}
    sample = site / "canhgac" / "samples" / "auth.log"
    parsed = subprocess.run(
        [str(env_dir / "bin" / "canhgac"), "parse", str(sample)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=tmp_path,
    )
    assert parsed.returncode == 0, parsed.stderr
    assert len(parsed.stdout.splitlines()) == len(sample.read_text().splitlines())
    assert (
        str(site / "canhgac")
        in subprocess.run(
            [str(python), "-c", "import canhgac.cli; print(canhgac.cli.__file__)"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=tmp_path,
        ).stdout
    )
    rules = subprocess.run(
        [
            str(python),
            "-c",
            "from canhgac.cli import main; raise SystemExit(main(['rules', 'list']))",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=tmp_path,
    )
    assert rules.returncode == 0, rules.stderr

    # The wheel carries the native module wherever it could be built.
    if os.environ.get("CANHGAC_REQUIRE_NATIVE") == "1" or shutil.which("cargo"):
        scanner = subprocess.run(
            [
                str(python),
                "-c",
                "from canhgac.correlator import literal_scanner as s; "
                "from canhgac.parsers import evtx_flattening as f; print(s(), f())",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=tmp_path,
        )
        assert scanner.stdout.split() == ["native", "native"], scanner.stderr
