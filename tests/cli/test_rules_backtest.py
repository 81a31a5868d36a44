"""`canhgac rules backtest` as a user runs it: stored events, a rule, a time range."""

import re
import uuid
from pathlib import Path

import orjson
import pytest

from canhgac.storage import SQLiteStore, StoreCounts
from tests.conftest import REPO, run_canhgac
from tests.storage.elasticsearch_node import delete_prefix, elasticsearch_url

pytestmark = pytest.mark.slow

PORTAL = REPO / "samples" / "portal-access.log"
SCANNER_RULE = REPO / "rules" / "web_scanner_user_agent.yml"
# The rule's user agent substrings, copied from rules/web_scanner_user_agent.yml.
SCANNERS = (
    "sqlmap",
    "nikto",
    "nuclei",
    "zgrab",
    "masscan",
    "wpscan",
    "dirbuster",
    "gobuster",
    "feroxbuster",
    "Fuzz Faster U Fool",
    "acunetix",
    "Nmap Scripting Engine",
    "WhatWeb",
)
EVER = ("--from", "2000-01-01T00:00:00Z", "--to", "2100-01-01T00:00:00Z")


def scanner_lines(*, exact_case: bool) -> int:
    """Access-log lines whose user agent (the last quoted field) names a scanner."""
    count = 0
    for line in PORTAL.read_text(encoding="utf-8").splitlines():
        found = re.search(r'"([^"]*)"\s*$', line)
        agent = found.group(1) if found else ""
        if exact_case:
            count += any(name in agent for name in SCANNERS)
        else:
            count += any(name.lower() in agent.lower() for name in SCANNERS)
    return count


def alerts_of(stdout: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stdout.splitlines() if line.strip()]


def counts(data_dir: Path) -> StoreCounts:
    with SQLiteStore.open(data_dir / "canhgac.sqlite3") as store:
        return store.counts()


def test_a_backtest_on_sqlite_prints_every_alert_and_writes_nothing(data_dir: Path) -> None:
    ingested = run_canhgac("ingest", str(PORTAL), "--json")
    assert ingested.returncode == 0, ingested.stderr
    before = counts(data_dir)

    result = run_canhgac("rules", "backtest", str(SCANNER_RULE), *EVER, "--jsonl")

    assert result.returncode == 0, result.stderr
    alerts = alerts_of(result.stdout)
    assert len(alerts) == scanner_lines(exact_case=False)
    assert {a["rule_title"] for a in alerts} == {"Vulnerability Scanner User Agent"}
    assert "in-process (the store is SQLite)" in result.stderr
    assert counts(data_dir) == before


def test_a_range_before_the_events_gives_no_alert(data_dir: Path) -> None:
    assert run_canhgac("ingest", str(PORTAL)).returncode == 0
    result = run_canhgac(
        "rules",
        "backtest",
        str(SCANNER_RULE),
        *("--from", "2020-01-01T00:00Z", "--to", "2020-01-02T00:00Z"),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "0 alerts from 2020-01-01T00:00:00+00:00 to 2020-01-02T00:00:00+00:00" in result.stderr


def test_a_time_without_a_zone_is_refused_with_how_to_write_it(data_dir: Path) -> None:
    result = run_canhgac(
        "rules",
        "backtest",
        str(SCANNER_RULE),
        *("--from", "2026-11-20T08:00", "--to", "2026-11-21T00:00Z"),
    )

    assert result.returncode == 2
    assert "has no time zone" in result.stderr
    assert "+07:00" in result.stderr


@pytest.mark.integration
def test_a_backtest_on_elasticsearch_runs_the_rule_as_a_lucene_query(
    tmp_path: Path, data_dir: Path
) -> None:
    url = elasticsearch_url()
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    config = tmp_path / "canhgac.yaml"
    config.write_text(
        f"storage: elasticsearch\nelasticsearch:\n  url: {url}\n  index_prefix: {prefix}\n",
        encoding="utf-8",
    )
    try:
        ingested = run_canhgac("ingest", str(PORTAL), "--config", str(config))
        assert ingested.returncode == 0, ingested.stderr

        result = run_canhgac(
            "rules", "backtest", str(SCANNER_RULE), *EVER, "--jsonl", "--config", str(config)
        )
    finally:
        delete_prefix(url, prefix)

    assert result.returncode == 0, result.stderr
    assert "Vulnerability Scanner User Agent: lucene" in result.stderr
    alerts = alerts_of(result.stdout)
    # Between the two: Elasticsearch matches keyword fields case-sensitively (see
    # tests/scheduled/lucene_verdicts.py); once it does not, this gives every line.
    assert scanner_lines(exact_case=True) <= len(alerts) <= scanner_lines(exact_case=False)
    assert scanner_lines(exact_case=True) > 0
