"""The deployment's journey with real processes on one real Elasticsearch: `canhgac run
--component correlator`, `--component api` and `--component collectors` side by side.

Lines appended to a watched file reach the correlator through its ingest API and become
an incident readable from the api process; the correlator is killed (SIGKILL) in the
middle of the ingest and kept down a while, the collectors spool, and once it is back
every line is stored exactly once, the collectors process killed and restarted meanwhile
included.
"""

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests._running_service import RunningService, wait_for
from tests.conftest import run_canhgac
from tests.service.test_run_journey import ATTACKER, access_line
from tests.storage.elasticsearch_node import delete_prefix, elasticsearch_url, new_prefix

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SQLMAP = "sqlmap/1.8.11#stable (https://sqlmap.org)"
INJECTION = "/ho-so/tra-cuu?ma=1%27%20UNION%20SELECT%20username,password%20FROM%20users--"


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[dict[str, RunningService], Path, str, str]]:
    url = elasticsearch_url()
    prefix = new_prefix()
    log_file = tmp_path / "access.log"
    log_file.write_text("")
    config = tmp_path / "canhgac.yaml"
    config.write_text(
        json.dumps(
            {
                "rules": {"bundled": True},
                "sources": [
                    {
                        "name": "portal",
                        "type": "file",
                        "paths": [str(log_file)],
                        "format": "nginx",
                        "system": "Cổng dịch vụ công",
                        "from_beginning": True,
                        "poll_interval": 0.2,
                    }
                ],
            }
        )
    )
    components: dict[str, RunningService] = {}
    try:
        yield components, config, url, prefix
    finally:
        # Every process is stopped and the indices deleted even when one stop fails.
        with ExitStack() as cleanup:
            cleanup.callback(delete_prefix, url, prefix)
            for component in components.values():
                cleanup.callback(component.stop)


def stored_originals(url: str, prefix: str) -> list[str]:
    with Elasticsearch(url.split(","), request_timeout=60) as client:
        client.indices.refresh(index=f"{prefix}-events*")
        found = client.search(index=f"{prefix}-events", size=10_000, query={"match_all": {}})
    originals = []
    for hit in found["hits"]["hits"]:
        source = hit["_source"]
        original = source.get("event.original") or source.get("event", {}).get("original")
        originals.append(str(original))
    return originals


def test_collectors_forward_to_the_correlator_and_a_killed_correlator_loses_nothing(
    deployment: tuple[dict[str, RunningService], Path, str, str], tmp_path: Path
) -> None:
    components, config, url, prefix = deployment
    env = {
        **os.environ,
        "CANHGAC_ES_URL": url,
        "CANHGAC_ELASTICSEARCH__INDEX_PREFIX": prefix,
    }

    def key(role: str) -> str:
        made = run_canhgac("apikey", "create", "--role", role, "--name", f"{role}-1", env=env)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip().splitlines()[-1]

    ingest_key, analyst_key = key("ingest"), key("analyst")

    def component(name: str) -> RunningService:
        own = {**env, "CANHGAC_DATA_DIR": str(tmp_path / name)}
        made = RunningService(config, own, tmp_path / f"{name}.log", component=name)
        components[name] = made
        return made

    correlator = component("correlator")
    api = component("api")
    collectors = component("collectors")
    collectors.env["CANHGAC_FORWARDING__URL"] = correlator.base
    collectors.env["CANHGAC_FORWARDING__API_KEY"] = ingest_key
    correlator.start()
    api.start()
    collectors.start()

    log_file = tmp_path / "access.log"
    written = [access_line(n) for n in range(30)]
    written += [access_line(100 + n, ATTACKER, INJECTION, SQLMAP) for n in range(5)]
    with log_file.open("a") as out:
        out.writelines(written)

    analyst = {"Authorization": f"Bearer {analyst_key}"}

    def incident_from_attacker() -> bool:
        answer = httpx.get(f"{api.base}/api/v1/incidents", headers=analyst, timeout=5)
        assert answer.status_code == 200, answer.text
        return any(ATTACKER in json.dumps(item) for item in answer.json()["items"])

    wait_for(
        incident_from_attacker, 90, "the attacker's incident in the api process", collectors.log
    )
    # The correlator serves only ingest: reading incidents there is not its job.
    assert httpx.get(f"{correlator.base}/api/v1/incidents", headers=analyst).status_code == 404
    # The api process does not take events.
    ingest = {"Authorization": f"Bearer {ingest_key}", "Content-Type": "application/x-ndjson"}
    assert httpx.post(f"{api.base}/api/v1/ingest", headers=ingest, content=b"{}\n").status_code in (
        404,
        405,
    )

    # Mid-ingest: lines keep coming while the correlator is killed and kept down.
    more = [access_line(200 + n) for n in range(800)]
    with log_file.open("a") as out:
        out.writelines(more[:200])
        out.flush()
        correlator.kill9()
        out.writelines(more[200:400])
    wait_for(
        lambda: collectors.health()["spooled_bytes"] > 0,
        60,
        "the collectors to spool",
        collectors.log,
    )
    # The collectors die too, with batches in their spool; restarted while the
    # correlator is still down, they resume after what their spool holds.
    spooled = collectors.health()["spooled_bytes"]
    collectors.kill9()
    with log_file.open("a") as out:
        out.writelines(more[400:600])
    collectors.start()
    wait_for(
        lambda: collectors.health()["spooled_bytes"] > spooled,
        60,
        "the restarted collectors to read on into the spool",
        collectors.log,
    )
    with log_file.open("a") as out:
        out.writelines(more[600:])
    correlator.start()

    expected = [line.rstrip("\n") for line in written + more]
    wait_for(
        lambda: (
            len(stored_originals(url, prefix)) >= len(expected)
            and collectors.health()["spooled_bytes"] == 0
        ),
        120,
        "every line to be stored",
        collectors.log,
    )
    time.sleep(1)  # anything doubled would arrive now
    stored = Counter(stored_originals(url, prefix))
    assert sorted(stored) == sorted(expected)
    assert max(stored.values()) == 1
