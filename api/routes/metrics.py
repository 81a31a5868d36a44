"""GET /metrics: canhgac's figures in the Prometheus text exposition format (0.0.4).

Read at each scrape from the store (totals, per-source counters) and from what the
correlator last wrote there (`live:service`: the queue; `live:rule-health`: the time each
rule took), so every API process answers the same. Live figures are left out when the
correlator has not written them within three of its intervals (`canhgac_service_up` 0).
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from fastapi.responses import PlainTextResponse, Response

from canhgac.api._deps import Principal, StoreDep, require_role
from canhgac.api.routes._responses import AUTH_RESPONSES, error_response
from canhgac.api.routes.collectors import read_service_live
from canhgac.storage import Role, SourceCounters, Store
from canhgac.tuning import HEALTH_CHECKPOINT

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """One metric: its samples, each with its labels (none: the metric's only sample)."""

    name: str
    kind: str  # counter | gauge
    help: str
    samples: Sequence[tuple[Labels, float]] = field(default_factory=tuple)


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, int) or (math.isfinite(value) and value == int(value)):
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def exposition(families: Iterable[MetricFamily]) -> str:
    """The families as Prometheus text: HELP and TYPE, then one line per sample."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            if labels:
                body = ",".join(f'{name}="{_escape_label(text)}"' for name, text in labels)
                lines.append(f"{family.name}{{{body}}} {_number(value)}")
            else:
                lines.append(f"{family.name} {_number(value)}")
    return "\n".join(lines) + "\n"


def _one(name: str, kind: str, help_: str, value: float) -> MetricFamily:
    return MetricFamily(name, kind, help_, (((), value),))


def _per_source(
    name: str, help_: str, sources: Sequence[SourceCounters], attribute: str
) -> MetricFamily:
    samples = tuple(((("source", c.source),), float(getattr(c, attribute))) for c in sources)
    return MetricFamily(name, "counter", help_, samples)


def _rule_health(state: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    rules = (state or {}).get("rules")
    if not isinstance(rules, list):
        return []
    return [line for line in rules if isinstance(line, dict) and line.get("rule_id")]


def metric_families(store: Store, now: datetime) -> list[MetricFamily]:
    """Every family /metrics serves, read now."""
    counts = store.counts()
    sources = store.source_counters().sources
    families = [
        _one("canhgac_events_total", "counter", "Events stored.", counts.events),
        _one("canhgac_alerts_total", "counter", "Alerts stored.", counts.alerts),
        _one("canhgac_incidents_total", "counter", "Incidents stored.", counts.incidents),
        _one(
            "canhgac_incidents_open",
            "gauge",
            "Incidents new or acknowledged.",
            counts.open_incidents,
        ),
        _one(
            "canhgac_dead_letters_total",
            "counter",
            "Records stored as dead letters (unreadable input, with its reason).",
            counts.dead_letters,
        ),
        _per_source("canhgac_source_received_total", "Records a source read.", sources, "received"),
        _per_source(
            "canhgac_source_events_total", "A source's records stored as events.", sources, "parsed"
        ),
        _per_source(
            "canhgac_source_dead_letters_total",
            "A source's records stored as dead letters.",
            sources,
            "dead_lettered",
        ),
        _per_source(
            "canhgac_source_duplicates_total",
            "A source's records stored before (read again).",
            sources,
            "duplicates",
        ),
        _per_source(
            "canhgac_source_dropped_total",
            "A source's records lost before they could be read (kernel drops).",
            sources,
            "dropped",
        ),
        _per_source(
            "canhgac_source_late_total",
            "A source's events too old for every open correlation window.",
            sources,
            "late",
        ),
        MetricFamily(
            "canhgac_source_last_event_timestamp_seconds",
            "gauge",
            "The time of a source's newest event (Unix seconds).",
            tuple(
                ((("source", c.source),), c.last_event.timestamp())
                for c in sources
                if c.last_event is not None
            ),
        ),
    ]
    live = read_service_live(store)
    running = live is not None and live.fresh(now)
    families.append(
        _one(
            "canhgac_service_up",
            "gauge",
            "1 when the correlator wrote its live state within three of its intervals.",
            1 if running else 0,
        )
    )
    if live is not None and running:
        families += [
            _one(
                "canhgac_queue_depth",
                "gauge",
                "Batches waiting for the pipeline.",
                live.queue_depth,
            ),
            _one(
                "canhgac_queue_capacity",
                "gauge",
                "Batches that may wait before collectors are slowed down.",
                live.queue_capacity,
            ),
            _one(
                "canhgac_service_uptime_seconds",
                "gauge",
                "Seconds since the correlator started.",
                live.uptime_seconds,
            ),
            _one(
                "canhgac_pipeline_failed_writes_total",
                "counter",
                "Store writes that failed and were retried, since the correlator started.",
                live.failed_writes,
            ),
        ]
    health = store.checkpoint(HEALTH_CHECKPOINT)
    rules = _rule_health(None if health is None else health.state)
    families += [
        MetricFamily(
            "canhgac_rule_evaluation_seconds_total",
            "counter",
            "Time spent evaluating a rule since the correlator started (estimated).",
            tuple(
                ((("rule", str(line["rule_id"])),), int(line.get("evaluation_ns") or 0) / 1e9)
                for line in rules
            ),
        ),
        MetricFamily(
            "canhgac_rule_matches_total",
            "counter",
            "A rule's matches since the correlator started.",
            tuple(
                ((("rule", str(line["rule_id"])),), float(int(line.get("matches") or 0)))
                for line in rules
            ),
        ),
    ]
    return families


def metrics(
    store: StoreDep,
    principal: Annotated[Principal, Depends(require_role(Role.VIEWER, every_organization=True))],
) -> PlainTextResponse:
    """Totals, per-source counters, the pipeline's queue and rule timings, for Prometheus
    (scrape with `authorization: {credentials: KEY}`)."""
    text = exposition(metric_families(store, datetime.now(UTC)))
    return PlainTextResponse(text, media_type=CONTENT_TYPE)


def metrics_router() -> APIRouter:
    """GET /metrics, outside /api/v1 where Prometheus looks; a viewer key over every
    organization (the figures cover them all)."""
    router = APIRouter(tags=["metrics"], responses=AUTH_RESPONSES)
    router.add_api_route(
        "/metrics",
        metrics,
        methods=["GET"],
        summary="Prometheus metrics",
        # No media type of its own: the errors are documented as the JSON they are.
        response_class=Response,
        responses={
            status.HTTP_200_OK: {
                "content": {"text/plain": {"schema": {"type": "string"}}},
                "description": "The Prometheus text exposition format, version 0.0.4.",
            },
            status.HTTP_403_FORBIDDEN: error_response(
                "The key is scoped to organizations; the metrics cover every one."
            ),
        },
    )
    return router
