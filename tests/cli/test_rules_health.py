"""`canhgac rules health` as an operator runs it: rules and event files in, a table out."""

import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, run_canhgac

pytestmark = pytest.mark.slow

PORTAL = REPO / "samples" / "portal-access.log"

RULES = {
    "admin.yml": """
        title: Portal Admin Area
        id: 3f6c1a2b-9d8e-4f7a-8b6c-5d4e3f2a1b0c
        logsource:
            category: webserver
        detection:
            selection:
                cs-uri-stem|startswith: /dich-vu-cong
            condition: selection
        level: low
        """,
    "cookie.yml": """
        title: Session Cookie Theft
        id: 4a7d2b3c-0e9f-4a8b-9c7d-6e5f4a3b2c1d
        logsource:
            category: webserver
        detection:
            selection:
                cs-cookie|contains: stolen
            condition: selection
        level: high
        """,
    "broken.yml": """
        title: Night Time Logins
        logsource:
            category: webserver
        detection:
            selection:
                sc-status|hour: 3
            condition: selection
        """,
}


def write_config(folder: Path) -> Path:
    rules = folder / "rules"
    rules.mkdir()
    for name, text in RULES.items():
        (rules / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    config = folder / "canhgac.yaml"
    config.write_text(f"rules:\n  bundled: false\n  paths: ['{rules}']\n", encoding="utf-8")
    return config


def rows(stdout: str) -> dict[str, str]:
    lines = stdout.splitlines()
    assert lines[0].split()[:3] == ["RULE", "ID", "TITLE"]
    return {line.split()[0]: line for line in lines[1:]}


def test_health_after_reading_events(tmp_path: Path, data_dir: Path) -> None:
    result = run_canhgac("rules", "health", "--config", str(write_config(tmp_path)), str(PORTAL))
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    admin = table["3f6c1a2b-9d8e-4f7a-8b6c-5d4e3f2a1b0c"].split()
    routed, matches = int(admin[5]), int(admin[6])
    assert routed >= 370  # every parsed access-log line is routed to a webserver rule
    assert 0 < matches < routed
    cookie = table["4a7d2b3c-0e9f-4a8b-9c7d-6e5f4a3b2c1d"]
    assert "cs-cookie" in cookie
    assert "cannot fire" in cookie
    skipped = table["-"]
    assert "Night Time Logins" in skipped
    assert "unsupported: time modifiers" in skipped
    assert "2 rules loaded, 1 skipped" in result.stderr


def test_health_without_events_lists_the_rules(tmp_path: Path, data_dir: Path) -> None:
    result = run_canhgac("rules", "health", "--config", str(write_config(tmp_path)))
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert set(table) == {
        "3f6c1a2b-9d8e-4f7a-8b6c-5d4e3f2a1b0c",
        "4a7d2b3c-0e9f-4a8b-9c7d-6e5f4a3b2c1d",
        "-",
    }
    assert "0 events from 0 file(s)" in result.stderr


def test_an_unreadable_events_file_exits_1(tmp_path: Path, data_dir: Path) -> None:
    config = write_config(tmp_path)
    result = run_canhgac("rules", "health", "--config", str(config), str(tmp_path / "gone.log"))
    assert result.returncode == 1
    assert "gone.log" in result.stderr
