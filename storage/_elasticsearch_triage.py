"""The Query DSL of incident triage in `ElasticsearchStore`: listing filters and sorts,
the dashboard's aggregations and how their answers become `IncidentStats`. Pure: the
store sends what these build and hands back what Elasticsearch answered.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from canhgac.incidents import OPEN_STATUSES, IncidentStatus
from canhgac.storage._elasticsearch_docs import INCIDENT_TEXT_FIELDS
from canhgac.storage._encoding import format_time, sql_text
from canhgac.storage._incident_listing import (
    SORT_FIELDS,
    day_starts,
    hour_starts,
    text_words,
)
from canhgac.storage._model import (
    CountByKey,
    CountByTime,
    IncidentQuery,
    IncidentStats,
    OrganizationScope,
)

TOP = 10
"""How many rules and source addresses the statistics name."""

_MANY = 1000  # systems and organizations the statistics count, at most
_SEVERITY_ORDER = ("critical", "high", "medium", "low", "informational")
_OPEN_STATUS_VALUES = [status.value for status in OPEN_STATUSES]


def scope_filter(scope: OrganizationScope) -> list[dict[str, Any]]:
    """The filter keeping a scope's organizations (none: no filter; an empty scope
    matches nothing, as terms of nothing do)."""
    if scope is None:
        return []
    return [{"terms": {"organization": [sql_text(name) for name in scope]}}]


def listing_filters(query: IncidentQuery) -> list[dict[str, Any]]:
    """The bool filters of a listing: every filter of `query`, its scope and free text."""
    filters: list[dict[str, Any]] = []
    for field, values in (
        ("status", [s.value for s in query.statuses]),
        ("severity", [s.value for s in query.severities]),
        ("system", [sql_text(s) for s in query.systems]),
        ("organization", [sql_text(org) for org in query.organizations]),
        ("rule_id", [sql_text(rule) for rule in query.rules]),
        ("entity_value", [sql_text(value) for value in query.entities]),
    ):
        if values:
            filters.append({"terms": {field: values}})
    filters += scope_filter(query.scope)
    if (words := text_words(query.text)) is not None:
        # Every word in some field; analyzed like the text sub-fields.
        filters.append(
            {
                "multi_match": {
                    "query": sql_text(words),
                    "fields": list(INCIDENT_TEXT_FIELDS),
                    "type": "cross_fields",
                    "operator": "and",
                }
            }
        )
    if query.since is not None:
        filters.append({"range": {"last_seen": {"gte": format_time(query.since)}}})
    if query.until is not None:
        filters.append({"range": {"first_seen": {"lt": format_time(query.until)}}})
    return filters


def listing_sort(query: IncidentQuery) -> list[dict[str, str]]:
    return [{name: "desc"} for name in SORT_FIELDS[query.sort]]


def _counted(field: str, size: int) -> dict[str, Any]:
    return {"terms": {"field": field, "size": size, "order": [{"_count": "desc"}, {"_key": "asc"}]}}


def stats_search(
    since: datetime | None, until: datetime | None, scope: OrganizationScope, now: datetime
) -> dict[str, Any]:
    """The body of the one search behind `incident_stats` (size 0, aggregations only)."""
    created: dict[str, str] = {}
    if since is not None:
        created["gte"] = format_time(since)
    if until is not None:
        created["lt"] = format_time(until)
    ranged = [{"range": {"created_at": created}}] if created else [{"match_all": {}}]
    end = until or now
    hours, days = hour_starts(end), day_starts(end)
    return {
        "query": {"bool": {"filter": scope_filter(scope)}},
        "size": 0,
        "track_total_hits": False,
        "aggs": {
            "ranged": {
                "filter": {"bool": {"filter": ranged}},
                "aggs": {
                    "open": {"filter": {"terms": {"status": _OPEN_STATUS_VALUES}}},
                    "acknowledge": {"avg": {"field": "acknowledge_seconds"}},
                    "resolve": {"avg": {"field": "resolve_seconds"}},
                    "by_severity": _counted("severity", 10),
                    "by_status": _counted("status", 10),
                    "by_system": _counted("system", _MANY),
                    "no_system": {"missing": {"field": "system"}},
                    "by_organization": _counted("organization", _MANY),
                    "no_organization": {"missing": {"field": "organization"}},
                    "top_rules": {
                        **_counted("rule_id", TOP),
                        "aggs": {"title": {"terms": {"field": "rule_title", "size": 1}}},
                    },
                    "sources": {
                        "filter": {"term": {"entity_field": "source.ip"}},
                        "aggs": {"top": _counted("entity_value", TOP)},
                    },
                },
            },
            "by_hour": _time_buckets(hours, timedelta(hours=1)),
            "by_day": _time_buckets(days, timedelta(days=1)),
        },
    }


def _time_buckets(starts: Sequence[datetime], step: timedelta) -> dict[str, Any]:
    # created_at is fixed-width time text (a keyword): a range of text is a range of time.
    return {
        "filters": {
            "filters": {
                format_time(start): {
                    "range": {
                        "created_at": {"gte": format_time(start), "lt": format_time(start + step)}
                    }
                }
                for start in starts
            }
        }
    }


def stats_from_answer(
    answer: Mapping[str, Any], until: datetime | None, now: datetime
) -> IncidentStats:
    """The statistics from the answer to `stats_search`."""
    aggs = answer["aggregations"]
    ranged = aggs["ranged"]
    end = until or now
    acknowledge = ranged["acknowledge"]["value"]
    resolve = ranged["resolve"]["value"]
    return IncidentStats(
        open=int(ranged["open"]["doc_count"]),
        total=int(ranged["doc_count"]),
        mean_time_to_acknowledge_seconds=None if acknowledge is None else float(acknowledge),
        mean_time_to_resolve_seconds=None if resolve is None else float(resolve),
        by_severity=_ordered(ranged["by_severity"], _SEVERITY_ORDER),
        by_status=_ordered(ranged["by_status"], tuple(status.value for status in IncidentStatus)),
        by_system=_with_missing(ranged["by_system"], ranged["no_system"]),
        by_organization=_with_missing(ranged["by_organization"], ranged["no_organization"]),
        top_rules=_sorted(
            [
                (bucket["title"]["buckets"][0]["key"], bucket["doc_count"])
                for bucket in ranged["top_rules"]["buckets"]
                if bucket["title"]["buckets"]
            ]
        ),
        top_source_addresses=_sorted(
            [(b["key"], b["doc_count"]) for b in ranged["sources"]["top"]["buckets"]]
        ),
        by_hour=_series(aggs["by_hour"], hour_starts(end)),
        by_day=_series(aggs["by_day"], day_starts(end)),
    )


def _ordered(terms: Mapping[str, Any], order: Sequence[str]) -> tuple[CountByKey, ...]:
    counts = {bucket["key"]: int(bucket["doc_count"]) for bucket in terms["buckets"]}
    return tuple(CountByKey(key, counts[key]) for key in order if key in counts)


def _with_missing(terms: Mapping[str, Any], missing: Mapping[str, Any]) -> tuple[CountByKey, ...]:
    rows: list[tuple[str | None, int]] = [(b["key"], int(b["doc_count"])) for b in terms["buckets"]]
    if missing["doc_count"]:
        rows.append((None, int(missing["doc_count"])))
    return _sorted(rows)


def _sorted(rows: Sequence[tuple[str | None, int]]) -> tuple[CountByKey, ...]:
    """Most first; ties by key, incidents without a value last."""
    ordered = sorted(rows, key=lambda row: (-row[1], row[0] is None, row[0] or ""))
    return tuple(CountByKey(key, count) for key, count in ordered)


def _series(filters: Mapping[str, Any], starts: Sequence[datetime]) -> tuple[CountByTime, ...]:
    buckets = filters["buckets"]
    return tuple(
        CountByTime(start, int(buckets[format_time(start)]["doc_count"])) for start in starts
    )
