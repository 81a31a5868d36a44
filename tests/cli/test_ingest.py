"""`canhgac ingest` and `canhgac parse` as a user runs them, on the bundled samples."""

import json
from pathlib import Path

import pytest

from canhgac.storage import Checkpoint, IncidentQuery, SQLiteStore, WriteBatch
from canhgac.tuning import SETTINGS_CHECKPOINT, RuleSetting, RuleSettings, settings_to_state
from tests.conftest import REPO, run_canhgac

pytestmark = pytest.mark.slow

PORTAL = REPO / "samples" / "portal-access.log"
AUTH = REPO / "samples" / "auth.log"
# The portal sample holds one deliberately truncated line (line 151).
PORTAL_BROKEN_LINE = 151


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def last_json(stdout: str) -> dict[str, int]:
    counts: dict[str, int] = json.loads(stdout.strip().splitlines()[-1])
    return counts


def test_ingest_stores_events_raises_incidents_and_never_doubles_on_a_second_run(
    data_dir: Path,
) -> None:
    first = run_canhgac(
        "ingest", str(PORTAL), str(AUTH), "--json", "--system", "portal", "--org", "So KHCN"
    )
    assert first.returncode == 0, first.stderr
    counts = last_json(first.stdout)
    total = line_count(PORTAL) + line_count(AUTH)
    assert counts["lines"] == total
    assert counts["dead_letters"] == 1
    assert counts["events"] == total - 1
    assert counts["alerts"] > 0
    assert counts["incidents"] >= 4  # SQL injection, traversal, scanner, brute force at least

    again = run_canhgac("ingest", str(PORTAL), str(AUTH), "--json")
    repeat = last_json(again.stdout)
    assert (repeat["events"], repeat["alerts"], repeat["incidents"]) == (0, 0, 0)
    assert repeat["duplicates"] == total - 1


def test_a_missing_path_is_one_line_and_the_other_files_are_still_read(data_dir: Path) -> None:
    result = run_canhgac("ingest", str(data_dir / "nope.log"), str(AUTH), "--json")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"canhgac: error: cannot read {data_dir / 'nope.log'}: No such file or directory"
    ]
    assert "Traceback" not in result.stderr
    assert last_json(result.stdout)["lines"] == line_count(AUTH)


def test_parse_prints_ecs_json_and_reports_bad_lines_without_storing(data_dir: Path) -> None:
    result = run_canhgac("parse", str(PORTAL))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == line_count(PORTAL) - 1
    first = events[0]
    assert first["@timestamp"].endswith("Z")
    assert first["log"]["file"]["path"] == str(PORTAL)
    assert first["event"]["original"] == PORTAL.read_text().splitlines()[0]
    assert {"source", "http", "url", "user_agent"} <= first.keys()
    assert result.stderr.startswith(f"{PORTAL}:{PORTAL_BROKEN_LINE}: ")
    assert not (data_dir / "canhgac.sqlite3").exists()


def test_every_command_has_help() -> None:
    for command in (
        ["run"],
        ["demo"],
        ["ingest"],
        ["parse"],
        ["apikey", "create"],
        ["rules", "list"],
    ):
        result = run_canhgac(*command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert "Usage: canhgac" in result.stdout


def test_apikey_create_prints_the_key_last_and_stores_only_its_hash(data_dir: Path) -> None:
    result = run_canhgac("apikey", "create", "--role", "viewer", "--name", "IOC dashboard")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("cg_")
    assert len(key) > 30
    assert key.encode() not in (data_dir / "canhgac.sqlite3").read_bytes()


def test_correlation_windows_survive_between_runs(data_dir: Path, tmp_path: Path) -> None:
    """Half of an SSH brute force in one run, half in the next: one alert, as if read at once."""
    lines = [
        f"Nov 24 08:00:{n:02d} app01 sshd[{100 + n}]: Failed password for root "
        f"from 203.0.113.77 port {40000 + n} ssh2"
        for n in range(12)
    ]
    first, second = tmp_path / "auth.1.log", tmp_path / "auth.2.log"
    first.write_text("\n".join(lines[:6]) + "\n")
    second.write_text("\n".join(lines[6:]) + "\n")
    one = last_json(run_canhgac("ingest", str(first), "--format", "auth", "--json").stdout)
    two = last_json(run_canhgac("ingest", str(second), "--format", "auth", "--json").stdout)
    assert one["incidents"] == 0
    assert two["incidents"] == 1  # the brute-force rule: 10 failures in 5 minutes


def test_ingest_applies_the_rule_settings_an_admin_stored(data_dir: Path) -> None:
    """A rule disabled through the API (a `rules:settings` document) raises nothing here."""
    brute_force = "d8880e0d-014c-4313-8092-c7139a5affed"  # rules/linux_ssh_brute_force.yml
    disabled = RuleSettings({brute_force: RuleSetting(enabled=False)})
    data_dir.mkdir(parents=True)
    with SQLiteStore.open(data_dir / "canhgac.sqlite3") as store:
        store.write(
            WriteBatch(checkpoints=[Checkpoint(SETTINGS_CHECKPOINT, settings_to_state(disabled))])
        )
    result = run_canhgac("ingest", str(AUTH), "--json")
    assert result.returncode == 0, result.stderr
    with SQLiteStore.open(data_dir / "canhgac.sqlite3") as store:
        rules = {i.rule_id for i in store.list_incidents(IncidentQuery(limit=500)).items}
    assert rules, "the other rules still raise incidents"
    assert brute_force not in rules
