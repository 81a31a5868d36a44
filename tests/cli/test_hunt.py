"""`canhgac hunt` as an analyst runs it: rules and files in, matches out, nothing stored."""

import json
from pathlib import Path

import pytest

from canhgac.correlator import literal_scanner
from tests.conftest import REPO, run_canhgac

pytestmark = pytest.mark.slow

PORTAL = REPO / "samples" / "portal-access.log"
SCANNERS = ("sqlmap", "nuclei", "nikto")


def test_hunt_jsonl_reports_each_match_with_its_file_and_rule(data_dir: Path) -> None:
    result = run_canhgac("hunt", str(REPO / "rules"), str(PORTAL), "--jsonl")
    assert result.returncode == 0, result.stderr
    matches = [json.loads(line) for line in result.stdout.splitlines()]
    scanner = [m for m in matches if m["rule_title"] == "Vulnerability Scanner User Agent"]
    agents = [
        line.split('"')[-2].lower() for line in PORTAL.read_text().splitlines() if '"' in line
    ]
    expected = sum(1 for agent in agents if any(name in agent for name in SCANNERS))
    assert len(scanner) == expected
    first = scanner[0]
    assert first["path"] == str(PORTAL)
    assert first["level"] == "medium"
    assert first["@timestamp"].endswith("Z")
    assert {"rule_id", "record_id", "event_id"} <= first.keys()
    assert not (data_dir / "canhgac.sqlite3").exists()


def test_hunt_prints_a_table_and_stats(data_dir: Path) -> None:
    result = run_canhgac(
        "hunt", str(REPO / "rules" / "web_sql_injection_in_url.yml"), str(PORTAL), "--stats"
    )
    assert result.returncode == 0, result.stderr
    assert "SQL Injection Attempt In The URL Query" in result.stdout
    assert "rules loaded: 1" in result.stderr
    assert f"literal scan: {literal_scanner()}" in result.stderr
    assert "events/s" in result.stderr


def test_hunt_names_a_missing_path_and_still_hunts_the_rest(data_dir: Path) -> None:
    result = run_canhgac(
        "hunt", str(REPO / "rules"), str(data_dir / "gone.evtx"), str(PORTAL), "--jsonl"
    )
    assert result.returncode == 1
    assert f"cannot read {data_dir / 'gone.evtx'}" in result.stderr
    assert result.stdout.strip()
