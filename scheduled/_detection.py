"""`ScheduledDetection`: chosen rules over the stored events of a time window.

Each run covers the window from the last run's end (the store checkpoint
`scheduled:window`) to a little before now, so a restart continues where the last run
stopped, without gap or overlap. On Elasticsearch, a detection rule with a usable Lucene
query (see `LuceneRuleConverter`) is one search per window; every other rule, and every
rule on SQLite, is evaluated in-process over the window's events (`replay`, the live
engine's semantics). The engine also confirms each Lucene hit and makes its alert, so
a scheduled alert is exactly the one a live match of the event raises. The alerts join
incident grouping through the pipeline and are written with the new checkpoint in one
store write; an alert id depends only on the rule and its events, so a window searched
twice raises nothing twice.
"""

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from canhgac.config import Settings
from canhgac.correlator import (
    Alert,
    CompiledRule,
    RuleSet,
    load_rules,
    replay,
)
from canhgac.events import Event
from canhgac.pipeline import BatchOutcome, IngestPipeline
from canhgac.scheduled._errors import ScheduledError
from canhgac.scheduled._lucene import LuceneQuery, LuceneRuleConverter
from canhgac.scheduled._window import WINDOW_CHECKPOINT, StoredEventWindow, next_window
from canhgac.storage import Checkpoint, ElasticsearchStore, Store, StoreError

log = logging.getLogger(__name__)

DEFAULT_LAG = timedelta(minutes=1)
"""How far behind now a window ends: collectors poll and Elasticsearch refreshes
within seconds, so events of the window are stored by then."""

PAGE_SIZE = 1000


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RulePlan:
    """How one scheduled rule runs: `query` in Elasticsearch, else in-process (`why`)."""

    rule_id: str
    title: str
    query: str | None
    why_in_process: str | None


@dataclass(frozen=True, slots=True)
class WindowResult:
    """The alerts of one window, oldest first, and the rules whose query failed."""

    window: StoredEventWindow
    alerts: tuple[Alert, ...]
    failed_queries: tuple[tuple[str, str], ...] = ()
    """(rule id, Elasticsearch's reason): those rules were evaluated in-process."""


@dataclass(slots=True)
class _Plans:
    lucene: dict[str, tuple[CompiledRule, str]] = field(default_factory=dict)
    in_process: dict[str, CompiledRule] = field(default_factory=dict)


def select_rules(ruleset: RuleSet, names: Sequence[str]) -> tuple[RuleSet, list[str]]:
    """The rules named (by id or title) and the correlations' source rules they need,
    and the names that matched no loaded rule."""
    by_name: dict[str, list[str]] = {}
    for info in [r.info for r in ruleset.rules] + [c.info for c in ruleset.correlations]:
        by_name.setdefault(info.rule_id, []).append(info.rule_id)
        by_name.setdefault(info.title, []).append(info.rule_id)
    wanted = {rule_id for name in names for rule_id in by_name.get(name, [])}
    missing = [name for name in names if name not in by_name]
    correlations = {c.info.rule_id: c for c in ruleset.correlations}
    needed = set(wanted)
    pending = [rule_id for rule_id in wanted if rule_id in correlations]
    while pending:
        for source in correlations[pending.pop()].sources:
            if source not in needed:
                needed.add(source)
                if source in correlations:
                    pending.append(source)
    rules = tuple(
        rule if rule.info.rule_id in wanted else _silenced(rule)
        for rule in ruleset.rules
        if rule.info.rule_id in needed
    )
    chosen = tuple(c for c in ruleset.correlations if c.info.rule_id in needed)
    return RuleSet(rules=rules, correlations=chosen, errors=()), missing


def _silenced(rule: CompiledRule) -> CompiledRule:
    return replace(rule, emits_alerts=False)


class ScheduledDetection:
    """Runs `ruleset` over stored events window by window (see the module doc).

    `queries` are the rules' Lucene queries (`LuceneRuleConverter`); they are used only
    on an `ElasticsearchStore`. Use `job` (or `run_window`) from a scheduler,
    `alerts_between` for a backtest (nothing is written).
    """

    def __init__(
        self,
        store: Store,
        ruleset: RuleSet,
        queries: Sequence[LuceneQuery] = (),
        *,
        interval: timedelta = timedelta(minutes=5),
        lag: timedelta = DEFAULT_LAG,
        clock: Callable[[], datetime] = _utcnow,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._store = store
        self._ruleset = ruleset
        self._interval = interval
        self._lag = lag
        self._clock = clock
        self._page_size = page_size
        self._plans = _Plans()
        self.plan: list[RulePlan] = []
        by_id = {q.rule_id: q for q in queries if q.rule_id is not None}
        elastic = isinstance(store, ElasticsearchStore)
        for rule in ruleset.rules:
            if not rule.emits_alerts:
                continue
            rule_id = rule.info.rule_id
            query = by_id.get(rule_id)
            why: str | None
            if not elastic:
                why = "the store is SQLite"
            elif query is None:
                why = "no Lucene query was made for it"
            elif query.query is None or query.fallback is not None:
                why = query.fallback
            else:
                self._plans.lucene[rule_id] = (rule, query.query)
                self.plan.append(RulePlan(rule_id, rule.info.title, query.query, None))
                continue
            self._plans.in_process[rule_id] = rule
            self.plan.append(RulePlan(rule_id, rule.info.title, None, why))
        for correlation in ruleset.correlations:
            info = correlation.info
            self.plan.append(RulePlan(info.rule_id, info.title, None, "a correlation"))

    @classmethod
    def from_settings(
        cls, settings: Settings, store: Store, *, paths: Sequence[Path] | None = None
    ) -> "ScheduledDetection":
        """The rules `settings.rules.scheduled` names (or, with `paths`, every rule in
        those files, as a backtest takes them, with their load errors in
        `ruleset.errors`), ready to run on `store`. Names matching no loaded rule are
        logged."""
        rules = settings.rules
        if paths is None:
            roots = [Path(p) for p in rules.paths]
            loaded = load_rules(roots, bundled=rules.bundled, placeholders=rules.placeholders)
            ruleset, missing = select_rules(loaded, rules.scheduled)
            for name in missing:
                log.warning("scheduled rule %r is not among the loaded rules; skipped", name)
            bundled = rules.bundled
        else:
            roots = list(paths)
            ruleset = load_rules(roots, bundled=False, placeholders=rules.placeholders)
            bundled = False
        queries: list[LuceneQuery] = []
        if isinstance(store, ElasticsearchStore) and ruleset.rules:
            converter = LuceneRuleConverter(
                placeholders=rules.placeholders, searchable=ElasticsearchStore.searchable_field
            )
            queries = converter.convert_paths(roots, bundled=bundled)
        return cls(store, ruleset, queries, interval=timedelta(minutes=rules.schedule_minutes))

    @property
    def ruleset(self) -> RuleSet:
        return self._ruleset

    def alerts_between(self, window: StoredEventWindow) -> WindowResult:
        """What the rules raise over the stored events of `window`. Raises StoreError
        when the store cannot be read."""
        alerts: list[Alert] = []
        failed: list[tuple[str, str]] = []
        in_process = dict(self._plans.in_process)
        for rule_id, (rule, query) in self._plans.lucene.items():
            try:
                hits = [event for page in self._store_pages(query, window) for event in page]
            except StoreError as exc:
                log.warning(
                    "rule %s (%s): Elasticsearch refused its query (%s); evaluating it in-process",
                    rule_id,
                    rule.info.title,
                    exc,
                )
                failed.append((rule_id, str(exc)))
                in_process[rule_id] = rule
                continue
            # The engine confirms each hit and makes its alert: the alert a live match
            # of the same event raises, with the same id.
            alerts.extend(replay(RuleSet(rules=(rule,), correlations=(), errors=()), hits))
        alerts.extend(self._in_process(in_process, window))
        alerts.sort(key=lambda alert: (alert.timestamp, alert.id))
        return WindowResult(window, tuple(alerts), tuple(failed))

    def _store_pages(self, query: str, window: StoredEventWindow) -> Iterator[list[Event]]:
        assert isinstance(self._store, ElasticsearchStore)
        return self._store.lucene_event_pages(query, window.start, window.end, self._page_size)

    def _in_process(self, rules: dict[str, CompiledRule], window: StoredEventWindow) -> list[Alert]:
        correlations = self._ruleset.correlations
        if not rules and not correlations:
            return []
        wanted = set(rules) | {c.info.rule_id for c in correlations}
        sources = {source for c in correlations for source in c.sources}
        # Sources of correlations run too, silenced unless evaluated here themselves.
        subset = RuleSet(
            rules=tuple(
                rule if rule.info.rule_id in rules else _silenced(rule)
                for rule in self._ruleset.rules
                if rule.info.rule_id in rules or rule.info.rule_id in sources
            ),
            correlations=correlations,
            errors=(),
        )
        # A correlation window may begin before this window: read that far back, and
        # keep only the alerts raised within this window (earlier ones were raised then).
        lookback = max((c.timespan for c in correlations), default=timedelta(0))
        events = (
            event
            for page in self._store.event_pages(
                window.start - lookback, window.end, self._page_size
            )
            for event in page
        )
        return [
            alert
            for alert in replay(subset, events, until=window.end)
            if alert.rule_id in wanted and window.start <= alert.timestamp < window.end
        ]

    def next_window(self) -> StoredEventWindow | None:
        """The window the next run covers, from the stored checkpoint; None if none is due."""
        saved = self._store.checkpoint(WINDOW_CHECKPOINT)
        state = saved.state if saved is not None else None
        return next_window(state, self._clock(), self._interval, self._lag)

    def run_window(self, pipeline: IngestPipeline) -> BatchOutcome | None:
        """Run over the next window and store its alerts, incidents and the new checkpoint
        in one write; None when no window is due. Raises StoreError (nothing is written,
        the next run covers the same window)."""
        window = self.next_window()
        if window is None:
            return None
        result = self.alerts_between(window)
        outcome = pipeline.store_alerts(
            result.alerts, [Checkpoint(WINDOW_CHECKPOINT, window.checkpoint_state())]
        )
        log.log(
            logging.INFO if outcome.alerts else logging.DEBUG,
            "scheduled detection over %s: %d alerts, %d new incidents",
            window,
            outcome.alerts,
            outcome.new_incidents,
        )
        return outcome

    def job(self, pipeline: IngestPipeline) -> Callable[[], None]:
        """`run_window` for a scheduler: a failure is logged and the window kept for the
        next run."""

        def run() -> None:
            try:
                self.run_window(pipeline)
            except (StoreError, ScheduledError) as exc:
                log.warning("scheduled detection failed (%s); the next run tries again", exc)

        return run
