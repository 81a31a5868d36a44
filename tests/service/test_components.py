"""`canhgac run --component`: what each component refuses before it starts."""

from pathlib import Path

import pytest

from canhgac.config import Settings
from canhgac.service import COMPONENTS, DemoReplay, Service
from tests.conftest import run_canhgac


def test_the_components_are_the_ones_the_deployment_uses() -> None:
    assert set(COMPONENTS) == {"all", "api", "collectors", "correlator"}


def test_collectors_without_a_correlator_to_forward_to_say_what_to_set(data_dir: Path) -> None:
    result = run_canhgac("run", "--component", "collectors")

    assert result.returncode != 0
    assert "forwarding.url" in result.stderr
    assert "apikey create --role ingest" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_runs_only_as_one_process(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one process"):
        Service(Settings(), component="api", demo=DemoReplay(tmp_path, Settings().zone))


def test_an_ingest_key_is_created_like_any_other(data_dir: Path) -> None:
    result = run_canhgac("apikey", "create", "--role", "ingest", "--name", "agency-agents")

    assert result.returncode == 0, result.stderr
    assert "Created ingest key" in result.stdout
    assert len(result.stdout.strip().splitlines()[-1]) > 30
