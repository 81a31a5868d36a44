"""Differential testing: the in-process engine against the Lucene queries on Elasticsearch.

The same rules (canhgac's rules/ and SigmaHQ's web, Linux and Windows rules) over the
same events (the bundled sample logs, SigmaHQ's regression data, and a few hand-written
network, web and Windows events for what those never exercise: CIDR on IPv4 and IPv6,
malformed addresses, mixed case) go through `replay` in-process and, converted by
`LuceneRuleConverter`, through `ElasticsearchStore.lucene_event_pages` on a real node.
Both must give the same (rule, event) matches; every disagreement is decided by the
Sigma specification in lucene_verdicts.py.

Rules the store cannot search (their fields are stored but not indexed, unbound
keywords, keyword fields compared as numbers, conversion refused by pySigma) are not
compared: scheduled detection runs
them in-process, and the test checks each carries its reason. Run with -rP to see the
summary.
"""

import dataclasses
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from elasticsearch import Elasticsearch

from canhgac.collectors import EvtxReader, FileReader, SourceLabels
from canhgac.correlator import RuleSet, load_rules, replay
from canhgac.events import Event, FieldValue
from canhgac.scheduled import LuceneQuery, LuceneRuleConverter
from canhgac.storage import ElasticsearchStore, WriteBatch
from tests.scheduled.lucene_verdicts import (
    CANHGAC,
    ELASTICSEARCH,
    VERDICTS,
    LuceneDisagreement,
)
from tests.storage.elasticsearch_node import elasticsearch_url, fresh_store, new_prefix

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent.parent
SIGMAHQ_FOLDERS = ("rules/web", "rules/linux", "rules/windows")
ROUTING_FIELDS = frozenset({"event.dataset", "event.category", "winlog.channel", "winlog.event_id"})
EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
FOLDED = "folded-"


def _edge(n: int, fields: dict[str, FieldValue]) -> Event:
    return Event(f"edge-{n}", datetime(2026, 11, 24, 9, 0, n, tzinfo=UTC), fields)


def _connection(n: int, destination: str) -> Event:
    return _edge(
        n,
        {
            "event.dataset": "network.connection",
            "source.ip": "10.10.1.4",
            "destination.ip": destination,
            "destination.port": 443,
        },
    )


EDGE_EVENTS = (
    _connection(1, "8.8.8.8"),
    _connection(2, "192.168.1.20"),
    _connection(3, "172.20.0.5"),
    _connection(4, "172.32.0.5"),  # just outside 172.16.0.0/12
    _connection(5, "100.64.1.1"),
    _connection(6, "fd00::1"),
    _connection(7, "::1"),
    _connection(8, "2001:db8::7"),
    _connection(9, "not-an-address"),
    _edge(
        20,
        {
            "event.dataset": "nginx.access",
            "event.category": ("web",),
            "http.request.method": "GET",
            "url.original": "/.ENV",
            "url.path": "/.ENV",
            "user_agent.original": "Mozilla/5.0 (compatible; Nuclei - Open-source project)",
            "http.response.status_code": 404,
        },
    ),
    _edge(
        30,
        {
            "event.dataset": "windows.sysmon_operational",
            "winlog.channel": "Microsoft-Windows-Sysmon/Operational",
            "winlog.event_id": 1,
            "winlog.event_data.Image": "C:\\WINDOWS\\SYSTEM32\\WHOAMI.EXE",
            "winlog.event_data.OriginalFileName": "WHOAMI.EXE",
            "winlog.event_data.CommandLine": "WHOAMI /ALL",
            "winlog.event_data.ParentImage": "C:\\Windows\\System32\\CMD.exe",
        },
    ),
    _edge(
        21,
        {
            "event.dataset": "nginx.access",
            "event.category": ("web",),
            "http.request.method": "GET",
            "url.original": "/static/app.js",
            "url.path": "/static/app.js",
            "user_agent.original": "Mozilla/5.0",
            "http.response.status_code": 200,
        },
    ),
)


@dataclass(frozen=True, slots=True)
class Comparison:
    queries: tuple[LuceneQuery, ...]
    compared_rules: int
    agreeing: int
    disagreements: tuple[LuceneDisagreement, ...]


def _events(shared: Path) -> list[Event]:
    events: list[Event] = list(EDGE_EVENTS)
    for name in ("portal-access.log", "auth.log"):
        with FileReader(
            REPO / "samples" / name,
            format="auto",
            labels=SourceLabels("differential"),
            timezone=ZoneInfo("Asia/Ho_Chi_Minh"),
            batch_lines=500,
        ) as reader:
            for step in reader.batches():
                events.extend(step.batch.events)
    for path in sorted((shared / "sigma" / "regression_data").rglob("*.evtx")):
        with EvtxReader(path, SourceLabels("differential"), ZoneInfo("UTC")) as reader:
            for step in reader.batches():
                events.extend(step.batch.events)
    return events


def _folded(rule_id: str, event: Event, fields: tuple[str, ...]) -> Event:
    """The event with the string values of `fields` (but the routing ones) lower-cased."""

    def fold(value: FieldValue) -> FieldValue:
        if isinstance(value, str):
            return value.lower()
        if isinstance(value, tuple):
            return tuple(v.lower() if isinstance(v, str) else v for v in value)
        return value

    changed = {
        name: fold(value) if name in fields and name not in ROUTING_FIELDS else value
        for name, value in event.fields.items()
    }
    return Event(f"{FOLDED}{rule_id}-{event.id}", event.timestamp, changed)


def _matches(store: ElasticsearchStore, query: str) -> Iterator[str]:
    for page in store.lucene_event_pages(query, *EVER):
        for event in page:
            yield event.id


def _all_matches(url: str, prefix: str, queries: dict[str, str]) -> set[tuple[str, str]]:
    """(rule id, event id) of every query's hits, many queries a request: thousands of
    rules, one search each through the store would take minutes on a shared node. The
    query is the store's (`lucene_event_pages`); scheduled detection's path itself is
    what the other tests here and tests/scheduled/test_detection.py exercise."""
    index = f"{prefix}-events-*"
    found: set[tuple[str, str]] = set()
    refused: list[tuple[str, str]] = []
    with Elasticsearch(url.split(","), request_timeout=300) as client:
        client.indices.refresh(index=index)
        items = list(queries.items())
        for start in range(0, len(items), 100):
            chunk = items[start : start + 100]
            searches: list[dict[str, Any]] = []
            for _, query in chunk:
                searches.append({"index": index})
                searches.append(
                    {
                        "query": {"query_string": {"query": query, "analyze_wildcard": True}},
                        "size": 10_000,
                        "_source": False,
                    }
                )
            responses = client.msearch(searches=searches)["responses"]
            for (rule_id, _), response in zip(chunk, responses, strict=True):
                if "error" in response:
                    refused.append((rule_id, str(response["error"])[:200]))
                    continue
                assert len(response["hits"]["hits"]) < 10_000
                found.update((rule_id, hit["_id"]) for hit in response["hits"]["hits"])
    # Elasticsearch refuses none of the queries scheduled detection would send.
    assert refused == []
    return found


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    shared = REPO.parent / "shared"
    if not (shared / "sigma").is_dir():
        pytest.skip("needs ../shared (SigmaHQ rules and regression data)")
    url = elasticsearch_url()
    paths = [REPO / "rules", *(shared / "sigma" / folder for folder in SIGMAHQ_FOLDERS)]
    loaded = load_rules(paths, bundled=False)
    # Every detection rule raises its own alerts here, building blocks of correlations too.
    ruleset = RuleSet(
        rules=tuple(dataclasses.replace(r, emits_alerts=True) for r in loaded.rules),
        correlations=(),
        errors=(),
    )
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)
    queries = tuple(converter.convert_paths(paths))
    searchable = {q.rule_id: q for q in queries if q.searchable and q.rule_id is not None}
    events = _events(shared)
    by_id = {event.id: event for event in events}
    in_process = {(alert.rule_id, alert.event_ids[0]) for alert in replay(ruleset, events)}
    in_process = {(rule, event) for rule, event in in_process if rule in searchable}
    prefix = new_prefix()
    with fresh_store(url, tmp_path_factory.mktemp("lucene"), index_prefix=prefix) as store:
        for start in range(0, len(events), 2000):
            store.write(WriteBatch(events=events[start : start + 2000]))
        # Daily indices are made as the batch is sent: a busy machine takes a while.
        assert store.flush(600)
        lucene = _all_matches(
            url, prefix, {rule_id: q.query or "" for rule_id, q in searchable.items()}
        )
        only_in_process = sorted(in_process - lucene)
        # For each disagreement, a case-folded copy of the event: does Lucene match that?
        folded = [_folded(r, by_id[e], searchable[r].fields) for r, e in only_in_process]
        store.write(WriteBatch(events=folded))
        assert store.flush(600)
        folded_hits = {
            (rule_id, event_id)
            for rule_id in {r for r, _ in only_in_process}
            for event_id in _matches(store, searchable[rule_id].query or "")
        }
    disagreements = [
        LuceneDisagreement(
            rule_id,
            searchable[rule_id].title or "",
            searchable[rule_id].query or "",
            CANHGAC,
            by_id[event_id],
            (rule_id, f"{FOLDED}{rule_id}-{event_id}") in folded_hits,
        )
        for rule_id, event_id in only_in_process
    ]
    disagreements += [
        LuceneDisagreement(
            rule_id,
            searchable[rule_id].title or "",
            searchable[rule_id].query or "",
            ELASTICSEARCH,
            by_id[event_id],
            False,
        )
        for rule_id, event_id in sorted(lucene - in_process)
    ]
    return Comparison(queries, len(searchable), len(in_process & lucene), tuple(disagreements))


def test_every_disagreement_has_a_verdict(comparison: Comparison) -> None:
    undecided = [
        (d.title, d.matched_by, d.event.id, d.query[:200])
        for d in comparison.disagreements
        if not any(verdict.applies(d) for verdict in VERDICTS)
    ]
    by_verdict = Counter(
        next(v.name for v in VERDICTS if v.applies(d))
        for d in comparison.disagreements
        if any(v.applies(d) for v in VERDICTS)
    )
    print(
        f"{comparison.compared_rules} rules compared, {comparison.agreeing} matches on both "
        f"sides, {len(comparison.disagreements)} disagreements: {dict(by_verdict)}"
    )
    reasons = Counter((q.fallback or "")[:70] for q in comparison.queries if not q.searchable)
    print(f"not compared (evaluated in-process by scheduled detection): {dict(reasons)}")
    assert undecided == []


def test_every_verdict_still_occurs(comparison: Comparison) -> None:
    stale = [v.name for v in VERDICTS if not any(v.applies(d) for d in comparison.disagreements)]
    assert stale == []


def test_the_comparison_covers_real_rules_and_matches(comparison: Comparison) -> None:
    # canhgac's own rules and SigmaHQ's Windows rules, now that winlog.* is indexed.
    assert comparison.compared_rules >= 1000
    assert comparison.agreeing >= 150


def test_every_rule_the_store_cannot_search_says_why(comparison: Comparison) -> None:
    silent = [q.path for q in comparison.queries if not q.searchable and not q.fallback]
    assert silent == []
    windows = [q for q in comparison.queries if "/windows/" in q.path and q.query is not None]
    # winlog.* is indexed: nearly every Windows rule pySigma converts runs as a query.
    assert sum(q.searchable for q in windows) >= 0.95 * len(windows)


def _search(tmp_path: Path, rule_text: str, events: list[Event]) -> list[str]:
    """The ids of `events` the rule's Lucene query finds on a fresh store."""
    rule = tmp_path / "rule.yml"
    rule.write_text(rule_text, encoding="utf-8")
    converter = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field)
    (query,) = converter.convert_paths([rule])
    assert query.searchable, query.fallback
    with fresh_store(elasticsearch_url(), tmp_path) as store:
        store.write(WriteBatch(events=events))
        assert store.flush(600)
        return sorted(_matches(store, query.query or ""))


def _web(n: int, query: str) -> Event:
    return _edge(
        40 + n,
        {"event.dataset": "nginx.access", "url.original": f"/q?{query}", "url.query": query},
    )


def test_a_cased_rule_may_over_match_in_elasticsearch_but_never_misses(tmp_path: Path) -> None:
    rule = (
        "title: Cased\n"
        "id: 7b0b1a48-4f44-4a5e-9f0e-2d9c1f7f3a12\n"
        "logsource: {category: webserver}\n"
        "detection:\n"
        "  selection: {cs-uri-query|cased|contains: UNION}\n"
        "  condition: selection\n"
    )
    events = [_web(1, "a=UNION"), _web(2, "a=union"), _web(3, "a=other")]

    found = _search(tmp_path, rule, events)

    # The engine, which re-checks every hit, keeps the exact case only.
    assert found == ["edge-41", "edge-42"]
    loaded = load_rules([tmp_path / "rule.yml"], bundled=False)
    confirmed = {alert.event_ids[0] for alert in replay(loaded, events)}
    assert confirmed == {"edge-41"}


def test_a_regular_expression_stays_case_sensitive(tmp_path: Path) -> None:
    rule = (
        "title: Regex\n"
        "id: 7b0b1a48-4f44-4a5e-9f0e-2d9c1f7f3a13\n"
        "logsource: {category: webserver}\n"
        "detection:\n"
        "  selection: {cs-uri-query|re: 'a=Sel\\w+'}\n"
        "  condition: selection\n"
    )
    events = [_web(1, "a=Select"), _web(2, "a=select"), _web(3, "a=SELECT")]

    assert _search(tmp_path, rule, events) == ["edge-41"]


def test_elasticsearch_matches_string_values_regardless_of_case(tmp_path: Path) -> None:
    rule = tmp_path / "nikto.yml"
    rule.write_text(
        "title: Nikto\n"
        "id: 7b0b1a48-4f44-4a5e-9f0e-2d9c1f7f3a10\n"
        "logsource: {category: webserver}\n"
        "detection:\n"
        "  selection: {cs-user-agent|contains: nikto}\n"
        "  condition: selection\n",
        encoding="utf-8",
    )
    (query,) = LuceneRuleConverter(searchable=ElasticsearchStore.searchable_field).convert_paths(
        [rule]
    )
    assert query.query is not None
    event = Event(
        "e-nikto",
        datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        {"event.dataset": "nginx.access", "user_agent.original": "Mozilla/5.00 (Nikto/2.5.0)"},
    )
    with fresh_store(elasticsearch_url(), tmp_path) as store:
        store.write(WriteBatch(events=[event]))
        assert list(_matches(store, query.query)) == ["e-nikto"]
