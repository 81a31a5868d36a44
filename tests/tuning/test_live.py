"""`LiveRuleTuning` with a real pipeline worker: settings and uploads written through
`RuleAdministration` (the API's side) reach the running correlator between batches."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from canhgac.config import Settings
from canhgac.correlator import Correlator, load_rules
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline import CollectedBatch, IngestPipeline, PipelineWorker
from canhgac.storage import IncidentQuery, SQLiteStore, Store
from canhgac.tuning import (
    HEALTH_CHECKPOINT,
    ExceptionMatch,
    LiveRuleTuning,
    RuleAdministration,
    settings_fingerprint,
)
from tests.storage.elasticsearch_node import elasticsearch_url, fresh_store
from tests.tuning.test_pipeline_tuning import BRUTE_FORCE, TRAVERSAL, failed_ssh, web

UPLOADED_ID = "0f4a8d65-3d0b-4a43-9c9e-5f1f2c7e8a11"
UPLOADED = f"""\
title: Probe For The Provincial Admin Console
id: {UPLOADED_ID}
logsource:
    category: webserver
detection:
    selection:
        cs-uri|contains: /quantri
    condition: selection
level: medium
"""


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Both stores: the settings are store documents (Elasticsearch: CANHGAC_TEST_ES_URL)."""
    if request.param == "sqlite":
        with SQLiteStore.open(tmp_path / "db.sqlite3") as opened:
            yield opened
    else:
        with fresh_store(elasticsearch_url(), tmp_path) as elastic:
            yield elastic


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def running(store: Store) -> tuple[IngestPipeline, PipelineWorker]:
    correlator = Correlator(load_rules([], bundled=True))
    pipeline = IngestPipeline(store, correlator, IncidentGrouper(timedelta(minutes=15)))
    return pipeline, PipelineWorker(pipeline)


def rules_with_incidents(store: Store) -> list[str]:
    return sorted(i.rule_id for i in store.list_incidents(IncidentQuery(limit=100)).items)


def test_stored_settings_apply_before_the_first_batch(store: Store, settings: Settings) -> None:
    RuleAdministration(store, settings).update(TRAVERSAL, "soc-admin", enabled=False)
    pipeline, worker = running(store)
    LiveRuleTuning(settings, store, pipeline, worker)
    worker.start()
    worker.submit(CollectedBatch("portal", [web(1, "198.51.100.9")]))
    worker.stop()
    assert rules_with_incidents(store) == []


def test_a_change_applies_between_batches_and_rule_health_is_written(
    store: Store, settings: Settings
) -> None:
    admin = RuleAdministration(store, settings)
    pipeline, worker = running(store)
    live = LiveRuleTuning(settings, store, pipeline, worker)
    worker.start()
    worker.submit(CollectedBatch("portal", [web(1, "198.51.100.9")]))
    admin.add_exception(
        TRAVERSAL,
        "soc-admin",
        field="source.ip",
        value="203.0.113.0/24",
        match=ExceptionMatch.CIDR,
        reason="the CERT's scanner",
        until=None,
    )
    live.refresh()
    worker.submit(CollectedBatch("portal", [web(2, "203.0.113.7")]))
    live.refresh()  # the next beat reports the health after that batch
    worker.stop()
    assert rules_with_incidents(store) == [TRAVERSAL]
    saved = store.checkpoint(HEALTH_CHECKPOINT)
    assert saved is not None
    line = next(r for r in saved.state["rules"] if r["rule_id"] == TRAVERSAL)
    assert (line["matches"], line["suppressed"], line["events"]) == (2, 1, 2)
    health = admin.health()
    assert health.live
    assert health.settings_fingerprint == settings_fingerprint(admin.rule_settings())
    assert any(r["rule_id"] == TRAVERSAL and r["suppressed"] == 1 for r in health.rules)


def test_an_uploaded_rule_is_loaded_and_correlation_windows_survive_the_reload(
    store: Store, settings: Settings
) -> None:
    admin = RuleAdministration(store, settings)
    pipeline, worker = running(store)
    live = LiveRuleTuning(settings, store, pipeline, worker)
    worker.start()
    # Nine failed logins open the brute-force window; the reload must keep it.
    worker.submit(CollectedBatch("auth", [failed_ssh(n, "192.0.2.50") for n in range(9)]))
    before = pipeline.correlator
    admin.upload(UPLOADED, "soc-admin")
    live.refresh()
    worker.submit(CollectedBatch("auth", [failed_ssh(9, "192.0.2.50")]))
    worker.submit(CollectedBatch("portal", [web(30, "198.51.100.9", "/quantri/login")]))
    worker.stop()
    assert pipeline.correlator is not before
    assert rules_with_incidents(store) == sorted([BRUTE_FORCE, UPLOADED_ID])
    saved = store.checkpoint(HEALTH_CHECKPOINT)
    assert saved is not None
    assert any(r["rule_id"] == UPLOADED_ID for r in saved.state["rules"])
    history = admin.history(UPLOADED_ID)
    assert [(h.actor, h.action) for h in history] == [("soc-admin", "rule.uploaded")]
