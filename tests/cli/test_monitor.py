"""`canhgac monitor rebaseline` as an administrator runs it."""

from datetime import datetime
from pathlib import Path

import pytest

from canhgac.collectors import rebaseline_checkpoint_name
from canhgac.storage import SQLiteStore
from tests.conftest import run_canhgac

pytestmark = pytest.mark.slow

CONFIG = """
sources:
  - type: portal_monitor
    name: portals
    targets:
      - name: dichvucong
        url: https://dichvucong.haugiang.gov.vn/
      - name: eportal
        url: https://haugiang.gov.vn/
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "canhgac.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def requested(data_dir: Path, target: str) -> bool:
    with SQLiteStore.open(data_dir / "canhgac.sqlite3") as store:
        saved = store.checkpoint(rebaseline_checkpoint_name("portals", target))
    if saved is None:
        return False
    datetime.fromisoformat(str(saved.state["requested_at"]))
    return True


def test_rebaseline_stores_a_request_for_the_named_target(data_dir: Path, config: Path) -> None:
    result = run_canhgac("monitor", "rebaseline", "portals", "eportal", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "portals: the next check of eportal takes a new baseline" in result.stdout
    assert requested(data_dir, "eportal")
    assert not requested(data_dir, "dichvucong")


def test_rebaseline_without_targets_covers_all_of_the_source(data_dir: Path, config: Path) -> None:
    result = run_canhgac("monitor", "rebaseline", "portals", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert requested(data_dir, "eportal")
    assert requested(data_dir, "dichvucong")


def test_an_unknown_source_or_target_is_one_line_naming_the_known_ones(
    data_dir: Path, config: Path
) -> None:
    source = run_canhgac("monitor", "rebaseline", "portal", "--config", str(config))
    assert source.returncode == 2
    assert "no portal_monitor source named 'portal'" in source.stderr
    assert "known: portals" in source.stderr
    assert "Traceback" not in source.stderr
    target = run_canhgac("monitor", "rebaseline", "portals", "dvc", "--config", str(config))
    assert target.returncode == 2
    assert "its targets: dichvucong, eportal" in target.stderr
