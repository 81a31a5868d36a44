"""The same one-shot ingest on the Elasticsearch store, chosen by CANHGAC_ES_URL alone."""

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, run_canhgac
from tests.storage.elasticsearch_node import delete_prefix, elasticsearch_url, new_prefix

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_ingest_on_elasticsearch_raises_incidents_and_never_doubles(data_dir: Path) -> None:
    url = elasticsearch_url()
    prefix = new_prefix()
    env = {"CANHGAC_ES_URL": url, "CANHGAC_ELASTICSEARCH__INDEX_PREFIX": prefix}
    sample = str(REPO / "samples" / "auth.log")
    try:
        first = run_canhgac("ingest", sample, "--json", env=env)
        assert first.returncode == 0, first.stderr
        counts = json.loads(first.stdout.splitlines()[-1])
        assert counts["incidents"] >= 3  # brute force, login after it, sudo to root
        again = json.loads(run_canhgac("ingest", sample, "--json", env=env).stdout.splitlines()[-1])
        assert (again["events"], again["alerts"]) == (0, 0)
        assert not (data_dir / "canhgac.sqlite3").exists()
    finally:
        delete_prefix(url, prefix)
