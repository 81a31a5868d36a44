"""`PortalMonitor`: the collector of a `type: portal_monitor` source.

Each `poll` (every `poll_interval` s, from the scheduler) checks the targets whose
interval has passed: fetch (collectors/_portal_fetch.py), assess (pure,
collectors/_portal_checks.py), and submit the findings as events with the target's new
state as a checkpoint (`portal:<source>:<target>`), so that the baseline and the open
conditions survive a restart in the same transaction as the events they explain.

Re-baselining: `canhgac monitor rebaseline SOURCE TARGET` stores a request as the
checkpoint `portal-rebaseline:<source>:<target>`; the next check of that target takes
its page as the new baseline. The monitor never writes that checkpoint, so a request
cannot be lost to one of its own writes.
"""

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import orjson

from canhgac.collectors._portal_checks import (
    FetchResult,
    Finding,
    TargetState,
    assess,
    read_certificate,
)
from canhgac.collectors._portal_fetch import HttpPortalFetcher, PortalFetcher
from canhgac.config import PortalMonitorSourceConfig, PortalTarget
from canhgac.events import Event, FieldValue, event_id, make_event
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

log = logging.getLogger(__name__)

DATASET = "canhgac.portal_monitor"
MAX_PARALLEL_FETCHES = 8

_OUTCOMES = {"portal_up": "success"}


def state_checkpoint_name(source: str, target: str) -> str:
    return f"portal:{source}:{target}"


def rebaseline_checkpoint_name(source: str, target: str) -> str:
    return f"portal-rebaseline:{source}:{target}"


class PortalMonitor:
    def __init__(
        self,
        config: PortalMonitorSourceConfig,
        *,
        load_checkpoint: Callable[[str], Checkpoint | None],
        submit: Callable[[CollectedBatch], None],
        fetcher: PortalFetcher | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`fetcher` replaces the HTTP fetcher (tests); `clock` is the monotonic clock
        that decides which targets are due."""
        self.config = config
        self._load_checkpoint = load_checkpoint
        self._submit = submit
        self._fetcher = fetcher
        self._clock = clock
        self._states: dict[str, TargetState] = {}
        self._due: dict[str, float] = {}

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def poll_interval(self) -> float:
        return self.config.poll_interval

    def start(self) -> None:
        """Open the HTTP clients and read each target's stored state."""
        if self._fetcher is None:
            self._fetcher = HttpPortalFetcher(
                ca_file=self.config.ca_file,
                proxy=self.config.proxy,
                max_body_bytes=self.config.max_body_bytes,
            )
        now = self._clock()
        for target in self.config.targets:
            saved = self._load_checkpoint(state_checkpoint_name(self.name, target.name))
            self._states[target.name] = (
                TargetState.from_json(saved.state) if saved else TargetState()
            )
            self._due[target.name] = now

    def poll(self) -> int:
        """Check every target that is due; returns how many were checked."""
        if self._fetcher is None:
            self.start()
        now = self._clock()
        due = [t for t in self.config.targets if self._due.get(t.name, now) <= now]
        if not due:
            return 0
        for target in due:
            self._due[target.name] = now + target.interval
        fetcher = self._fetcher
        assert fetcher is not None  # start() set it
        if len(due) == 1:
            results = [fetcher.fetch(due[0])]
        else:
            with ThreadPoolExecutor(min(len(due), MAX_PARALLEL_FETCHES)) as pool:
                results = list(pool.map(fetcher.fetch, due))
        for target, result in zip(due, results, strict=True):
            self._record(target, result)
        return len(due)

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
            self._fetcher = None

    def _record(self, target: PortalTarget, result: FetchResult) -> None:
        state = self._states.get(target.name, TargetState())
        findings, new_state = assess(
            target, result, state, rebaseline=self._rebaseline_requested(target, state)
        )
        self._states[target.name] = new_state
        for finding in findings:
            level = logging.INFO if finding.action == "portal_up" else logging.WARNING
            log.log(level, "%s %s: %s: %s", self.name, target.name, finding.action, finding.reason)
        if not findings and new_state == state:
            return  # nothing new to store
        # Records are the findings (lines left at 0): a quiet check is not a lost record.
        self._submit(
            CollectedBatch(
                source=self.name,
                events=[portal_event(self.config, target, result, f) for f in findings],
                checkpoints=(
                    Checkpoint(state_checkpoint_name(self.name, target.name), new_state.to_json()),
                ),
            )
        )

    def _rebaseline_requested(self, target: PortalTarget, state: TargetState) -> bool:
        request = self._load_checkpoint(rebaseline_checkpoint_name(self.name, target.name))
        if request is None:
            return False
        requested = datetime.fromisoformat(str(request.state["requested_at"]))
        return state.baseline_at is None or requested > state.baseline_at


def portal_event(
    config: PortalMonitorSourceConfig,
    target: PortalTarget,
    result: FetchResult,
    finding: Finding,
) -> Event:
    """One finding as an ECS event of dataset canhgac.portal_monitor."""
    url = target.url
    fields: dict[str, FieldValue] = {
        "event.kind": "event",
        "event.category": ("web",),
        "event.type": ("info",),
        "event.module": "canhgac",
        "event.dataset": DATASET,
        "event.action": finding.action,
        "event.outcome": _OUTCOMES.get(finding.action, "failure"),
        "event.reason": finding.reason,
        "event.duration": int(result.elapsed * 1_000_000_000),
        "service.name": target.name,
        "observer.name": config.name,
        "url.full": str(url),
        "url.scheme": url.scheme,
        "url.domain": url.host,
        "url.port": url.port,
        "url.path": url.path or "/",
    }
    if result.status is not None:
        fields["http.response.status_code"] = result.status
    if result.certificate is not None:
        _certificate_fields(result.certificate, fields)
    fields.update(finding.fields)
    original = orjson.dumps(
        {"target": target.name, "url": str(url), "action": finding.action, "reason": finding.reason}
    ).decode()
    return make_event(
        id=event_id(
            state_checkpoint_name(config.name, target.name),
            result.started.isoformat(),
            finding.action,
        ),
        timestamp=result.started,
        fields=fields,
        original=original,
        system=target.system or config.system,
        organization=target.organization or config.organization,
    )


def _certificate_fields(der: bytes, fields: dict[str, FieldValue]) -> None:
    try:
        cert = read_certificate(der)
    except ValueError:
        return
    fields["tls.server.x509.not_after"] = _iso(cert.not_after)
    fields["tls.server.x509.not_before"] = _iso(cert.not_before)
    fields["tls.server.x509.subject.common_name"] = cert.subject
    fields["tls.server.x509.issuer.common_name"] = cert.issuer
    fields["tls.server.hash.sha256"] = cert.sha256


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
