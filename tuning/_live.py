"""`LiveRuleTuning`: the running correlator follows the admin's rule settings.

Every `RELOAD_SECONDS` (a scheduler job) it reads `rules:settings` and `rules:uploaded`
from the store. New settings, and a correlator rebuilt for new uploaded rules (loaded
here, on the scheduler's thread, so matching does not wait for pySigma), are handed to
the pipeline's worker thread and take effect between two batches; a rebuilt correlator
starts from the old one's correlation windows. On the same beat the worker thread writes
`live:rule-health`: every rule's health (skipped ones with their reasons) and the alerts
each had suppressed or dropped, which the API serves at GET /api/v1/rules.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from canhgac.config import Settings
from canhgac.correlator import Correlator, RuleHealth, RuleSet
from canhgac.storage import Checkpoint, Store, StoreError, WriteBatch
from canhgac.tuning._settings import (
    HEALTH_CHECKPOINT,
    SETTINGS_CHECKPOINT,
    UPLOADED_CHECKPOINT,
    RuleSettings,
    TuningError,
    UploadedRules,
    settings_fingerprint,
    settings_from_state,
    uploaded_from_state,
)
from canhgac.tuning._tuning import RuleTuning
from canhgac.tuning._uploaded import load_with_uploaded

log = logging.getLogger(__name__)

RELOAD_SECONDS = 15
UPLOADED_FOLDER = "uploaded-rules"


class TunablePipeline(Protocol):
    """What `LiveRuleTuning` needs of the ingest pipeline (`pipeline.IngestPipeline`)."""

    tuning: RuleTuning

    @property
    def correlator(self) -> object: ...

    def use_correlator(self, correlator: Correlator) -> None: ...

    def tuning_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """(suppressed, disabled) alerts by rule id since the start."""
        ...


class BetweenBatches(Protocol):
    """The pipeline worker: runs a call on its thread, between two batches."""

    def call_between_batches(self, call: Callable[[], None]) -> None: ...


@dataclass(frozen=True, slots=True)
class _Loaded:
    settings: RuleSettings
    uploaded: UploadedRules


def health_document(
    lines: tuple[RuleHealth, ...],
    suppressed: dict[str, int],
    disabled: dict[str, int],
    now: datetime,
    settings: RuleSettings | None = None,
) -> dict[str, Any]:
    """The `live:rule-health` document: plain JSON data; `settings` are the ones in force."""

    def when(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "written_at": now.isoformat(),
        "settings_fingerprint": None if settings is None else settings_fingerprint(settings),
        "rules": [
            {
                "rule_id": line.rule_id,
                "title": line.title,
                "level": None if line.level is None else line.level.value,
                "kind": line.kind,
                "path": line.path,
                "routed": line.routed,
                "events": line.events,
                "matches": line.matches,
                "last_match": when(line.last_match),
                "evaluation_ns": line.evaluation_ns,
                "never_seen": list(line.never_seen),
                "note": line.note,
                "suppressed": suppressed.get(line.rule_id or "", 0),
                "disabled": disabled.get(line.rule_id or "", 0),
            }
            for line in lines
        ],
    }


class LiveRuleTuning:
    """Keeps `pipeline` tuned to the stored rule settings (see the module doc).

    Made before the worker takes batches: the stored settings (and uploaded rules) are
    read at once and queued first, so no batch is correlated untuned.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        pipeline: TunablePipeline,
        worker: BetweenBatches,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._store = store
        self._pipeline = pipeline
        self._worker = worker
        self._clock = clock
        self._folder = settings.data_dir / UPLOADED_FOLDER
        self._applied: _Loaded | None = None
        self.refresh()

    def refresh(self) -> None:
        """The job: read the stored settings; queue what changed and a health write."""
        try:
            loaded = self._read()
        except (StoreError, TuningError) as exc:
            log.warning("rule settings not reloaded (%s); the ones in force stay", exc)
            self._worker.call_between_batches(self._write_health)
            return
        previous = self._applied
        tuning = None
        ruleset: RuleSet | None = None
        if previous is None or loaded.settings != previous.settings:
            tuning = RuleTuning(loaded.settings)
        uploaded_changed = (
            loaded.uploaded.fingerprint() != previous.uploaded.fingerprint()
            if previous is not None
            else bool(loaded.uploaded.files)
        )
        if uploaded_changed:
            ruleset = load_with_uploaded(self._settings, loaded.uploaded, self._folder)
        self._applied = loaded
        self._worker.call_between_batches(partial(self._apply, tuning, ruleset))

    def _read(self) -> _Loaded:
        settings = self._store.checkpoint(SETTINGS_CHECKPOINT)
        uploaded = self._store.checkpoint(UPLOADED_CHECKPOINT)
        return _Loaded(
            settings_from_state(None if settings is None else settings.state),
            uploaded_from_state(None if uploaded is None else uploaded.state),
        )

    def _apply(self, tuning: RuleTuning | None, ruleset: RuleSet | None) -> None:
        """On the worker thread: swap what changed in, then report health."""
        if tuning is not None:
            self._pipeline.tuning = tuning
            log.info("rule settings applied (%d rules tuned)", len(tuning.settings.rules))
        if ruleset is not None:
            old = self._pipeline.correlator
            state = old.snapshot() if isinstance(old, Correlator) else None
            self._pipeline.use_correlator(Correlator(ruleset, state=state))
            loaded = len(ruleset.rules) + len(ruleset.correlations)
            log.info("rules reloaded: %d loaded, %d skipped", loaded, len(ruleset.errors))
        self._write_health()

    def _write_health(self) -> None:
        correlator = self._pipeline.correlator
        if not isinstance(correlator, Correlator):
            return
        suppressed, disabled = self._pipeline.tuning_counts()
        document = health_document(
            correlator.health(), suppressed, disabled, self._clock(), self._pipeline.tuning.settings
        )
        try:
            self._store.write(WriteBatch(checkpoints=[Checkpoint(HEALTH_CHECKPOINT, document)]))
        except StoreError as exc:
            log.warning("rule health not written (%s); the next beat tries again", exc)
