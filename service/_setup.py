"""Opening what every component needs: the configured store, rules and correlator."""

import logging
from pathlib import Path

from canhgac.config import Settings
from canhgac.correlator import Correlator, RuleSet, load_rules
from canhgac.pipeline import STATE_CHECKPOINT
from canhgac.storage import ElasticsearchStore, SQLiteStore, Store

log = logging.getLogger(__name__)


def load_ruleset(settings: Settings) -> RuleSet:
    """The configured rules; every rule that failed to load is logged with its reason."""
    ruleset = load_rules(
        [Path(p) for p in settings.rules.paths],
        bundled=settings.rules.bundled,
        placeholders=settings.rules.placeholders,
    )
    for error in ruleset.errors:
        log.warning("rule skipped: %s", error)
    loaded = len(ruleset.rules) + len(ruleset.correlations)
    log.info("%d rules loaded, %d skipped", loaded, len(ruleset.errors))
    return ruleset


def open_store(settings: Settings) -> Store:
    """The configured store: SQLite in data_dir, or the Elasticsearch cluster."""
    if settings.storage == "sqlite":
        return SQLiteStore.open(settings.database_path)
    es = settings.elasticsearch
    assert es.url is not None  # Settings refuses elasticsearch without a URL
    return ElasticsearchStore.open(
        [url.strip() for url in es.url.split(",") if url.strip()],
        spool_dir=settings.data_dir / "elasticsearch-spool",
        index_prefix=es.index_prefix,
        api_key=es.api_key,
        username=es.username,
        password=es.password,
        ca_file=es.ca_file,
        retention_days=es.retention_days,
        replicas=es.replicas,
    )


def build_correlator(settings: Settings, store: Store) -> Correlator:
    """The configured rules, with the correlation windows open at the last stop."""
    saved = store.checkpoint(STATE_CHECKPOINT)
    return Correlator(load_ruleset(settings), state=saved.state if saved else None)
