"""GET /metrics, read back with a strict reader of the Prometheus text exposition format
0.0.4 written here from the format's rules, and checked against what the store holds."""

import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from canhgac.api import generate_api_key
from canhgac.api.routes.metrics import MetricFamily, exposition
from canhgac.pipeline import OutcomeTotals, PipelineStatus
from canhgac.service._live_state import ServiceLiveState
from canhgac.storage import Checkpoint, Role, SourceCounters, SQLiteStore, WriteBatch
from canhgac.tuning import HEALTH_CHECKPOINT
from tests.api.seed_data import ORG_YTE, Keys

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class FormatError(AssertionError):
    pass


@dataclass
class Family:
    name: str
    type: str = "untyped"
    help: str | None = None
    samples: dict[tuple[tuple[str, str], ...], float] = field(default_factory=dict)


def _value(text: str) -> float:
    if text in ("NaN", "+Inf", "-Inf"):
        return {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}[text]
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        raise FormatError(f"not a sample value: {text!r}")
    return float(text)


def _labels(line: str, start: int) -> tuple[tuple[tuple[str, str], ...], int]:
    """Labels from `{` at `start`; returns them and the index after `}`."""
    labels: list[tuple[str, str]] = []
    i = start + 1
    while True:
        if line[i] == "}":
            return tuple(labels), i + 1
        match = _LABEL_NAME.match(line, i)
        if not match:
            raise FormatError(f"bad label name at {i}: {line!r}")
        name = match.group()
        i = match.end()
        if line[i : i + 2] != '="':
            raise FormatError(f'expected =" after the label name: {line!r}')
        i += 2
        value: list[str] = []
        while line[i] != '"':
            if line[i] == "\\":
                if line[i + 1] not in _ESCAPES:
                    raise FormatError(f"bad escape in a label value: {line!r}")
                value.append(_ESCAPES[line[i + 1]])
                i += 2
            else:
                value.append(line[i])
                i += 1
        i += 1
        if any(existing == name for existing, _ in labels):
            raise FormatError(f"label {name} repeated: {line!r}")
        labels.append((name, "".join(value)))
        if line[i] == ",":
            i += 1
        elif line[i] != "}":
            raise FormatError(f"expected , or }} after a label: {line!r}")


def parse_exposition(text: str) -> dict[str, Family]:
    """The families of a text exposition; FormatError for anything the format forbids."""
    if not text.endswith("\n"):
        raise FormatError("the exposition must end with a line feed")
    families: dict[str, Family] = {}
    finished: set[str] = set()
    typed: set[str] = set()
    current: str | None = None
    for line in text[:-1].split("\n"):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not _METRIC_NAME.fullmatch(name):
                    raise FormatError(f"bad metric name: {line!r}")
                family = families.setdefault(name, Family(name))
                if name in finished or (family.samples and parts[1] == "TYPE"):
                    raise FormatError(f"{parts[1]} after the samples of {name}: {line!r}")
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in _TYPES:
                        raise FormatError(f"bad TYPE line: {line!r}")
                    if name in typed:
                        raise FormatError(f"second TYPE for {name}")
                    typed.add(name)
                    family.type = parts[3]
                else:
                    if family.help is not None:
                        raise FormatError(f"second HELP for {name}")
                    family.help = parts[3] if len(parts) == 4 else ""
                if current is not None and current != name:
                    finished.add(current)
                current = name
            continue
        match = _METRIC_NAME.match(line)
        if not match:
            raise FormatError(f"bad sample line: {line!r}")
        name = match.group()
        labels: tuple[tuple[str, str], ...] = ()
        i = match.end()
        if i < len(line) and line[i] == "{":
            try:
                labels, i = _labels(line, i)
            except IndexError as exc:
                raise FormatError(f"the labels are not closed: {line!r}") from exc
        if i >= len(line) or line[i] != " ":
            raise FormatError(f"expected a space before the value: {line!r}")
        rest = line[i + 1 :].split(" ")
        if not 1 <= len(rest) <= 2:
            raise FormatError(f"expected a value and an optional timestamp: {line!r}")
        value = _value(rest[0])
        if len(rest) == 2 and not re.fullmatch(r"-?\d+", rest[1]):
            raise FormatError(f"bad timestamp: {line!r}")
        if name in finished:
            raise FormatError(f"samples of {name} are not together: {line!r}")
        if current is not None and current != name:
            finished.add(current)
        current = name
        family = families.setdefault(name, Family(name))
        key = tuple(sorted(labels))
        if key in family.samples:
            raise FormatError(f"a sample repeated: {line!r}")
        family.samples[key] = value
    return families


@pytest.mark.parametrize(
    "text",
    [
        "a 1",
        "a{x=1} 1\n",
        'a{x="1} 1\n',
        "a one\n",
        "# TYPE a counter\n# TYPE a gauge\na 1\n",
        "a 1\nb 2\na 3\n",
        'a{x="1"} 1\na{x="1"} 2\n',
        "# TYPE a sometimes\na 1\n",
        'a{x="\\q"} 1\n',
    ],
)
def test_the_reader_refuses_what_the_format_forbids(text: str) -> None:
    with pytest.raises(FormatError):
        parse_exposition(text)


def test_the_reader_reads_a_valid_exposition() -> None:
    families = parse_exposition(
        "# HELP a The a.\n# TYPE a counter\n"
        'a{x="q\\"uo\\\\te\\n",y="2"} 1.5e3\na{x="b",} +Inf 1700000000000\nb NaN\n'
    )
    assert families["a"].type == "counter"
    assert families["a"].samples[(("x", 'q"uo\\te\n'), ("y", "2"))] == 1500.0
    assert families["a"].samples[(("x", "b"),)] == math.inf
    assert math.isnan(families["b"].samples[()])


# -- the route ---------------------------------------------------------------------------


class Worker:
    totals = OutcomeTotals()

    def status(self) -> PipelineStatus:
        return PipelineStatus(queue_depth=5, queue_capacity=16, batches=0, failed_writes=2)


def scrape(client: TestClient, headers: dict[str, str]) -> dict[str, Family]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse_exposition(response.text)


def one(families: dict[str, Family], name: str, kind: str) -> float:
    family = families[name]
    assert family.type == kind, name
    assert family.help, name
    assert list(family.samples) == [()], name
    return family.samples[()]


@pytest.mark.usefixtures("seeded")
def test_totals_sources_queue_and_rules_match_the_store(
    client: TestClient, keys: Keys, store: SQLiteStore
) -> None:
    odd = 'agent "7"\\west'
    last = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    store.write(
        WriteBatch(
            source_counters=[
                SourceCounters("portal", received=12, parsed=9, dead_lettered=2, duplicates=1),
                SourceCounters(odd, received=4, parsed=4, dropped=3, late=1, last_event=last),
            ]
        )
    )
    ServiceLiveState(Worker(), store).write()
    health = {
        "rules": [
            {"rule_id": "r-sqli", "evaluation_ns": 1_500_000_000, "matches": 4},
            {"rule_id": "r-ssh", "evaluation_ns": 250_000, "matches": 0},
            {"rule_id": None, "path": "broken.yml", "evaluation_ns": 0},
        ]
    }
    store.write(WriteBatch(checkpoints=[Checkpoint(HEALTH_CHECKPOINT, health)]))

    families = scrape(client, keys.header(keys.viewer))

    # The seed: 7 events; 5 incidents, 3 of them new or acknowledged.
    assert one(families, "canhgac_events_total", "counter") == 7
    assert one(families, "canhgac_incidents_total", "counter") == 5
    assert one(families, "canhgac_incidents_open", "gauge") == 3
    assert one(families, "canhgac_alerts_total", "counter") == store.counts().alerts
    assert one(families, "canhgac_dead_letters_total", "counter") == 0
    by_source = {
        name: {labels[0][1]: value for labels, value in families[name].samples.items()}
        for name in (
            "canhgac_source_received_total",
            "canhgac_source_events_total",
            "canhgac_source_dead_letters_total",
            "canhgac_source_duplicates_total",
            "canhgac_source_dropped_total",
            "canhgac_source_late_total",
        )
    }
    assert by_source["canhgac_source_received_total"] == {"portal": 12, odd: 4}
    assert by_source["canhgac_source_events_total"] == {"portal": 9, odd: 4}
    assert by_source["canhgac_source_dead_letters_total"] == {"portal": 2, odd: 0}
    assert by_source["canhgac_source_duplicates_total"] == {"portal": 1, odd: 0}
    assert by_source["canhgac_source_dropped_total"] == {"portal": 0, odd: 3}
    assert by_source["canhgac_source_late_total"] == {"portal": 0, odd: 1}
    assert all(families[name].type == "counter" for name in by_source)
    last_events = families["canhgac_source_last_event_timestamp_seconds"].samples
    assert last_events == {(("source", odd),): last.timestamp()}
    assert one(families, "canhgac_service_up", "gauge") == 1
    assert one(families, "canhgac_queue_depth", "gauge") == 5
    assert one(families, "canhgac_queue_capacity", "gauge") == 16
    assert one(families, "canhgac_pipeline_failed_writes_total", "counter") == 2
    evaluation = families["canhgac_rule_evaluation_seconds_total"]
    assert evaluation.type == "counter"
    assert evaluation.samples == {(("rule", "r-sqli"),): 1.5, (("rule", "r-ssh"),): 0.00025}
    assert families["canhgac_rule_matches_total"].samples == {
        (("rule", "r-sqli"),): 4,
        (("rule", "r-ssh"),): 0,
    }


def test_an_empty_store_without_a_correlator_reports_zeros_and_no_live_figures(
    client: TestClient, keys: Keys, store: SQLiteStore
) -> None:
    stale = ServiceLiveState(Worker(), store, clock=lambda: datetime.now(UTC) - timedelta(hours=1))
    stale.write()
    families = scrape(client, keys.header(keys.viewer))
    assert one(families, "canhgac_events_total", "counter") == 0
    assert families["canhgac_source_events_total"].samples == {}
    assert families["canhgac_source_events_total"].type == "counter"
    assert one(families, "canhgac_service_up", "gauge") == 0
    assert "canhgac_queue_depth" not in families
    assert families["canhgac_rule_evaluation_seconds_total"].samples == {}


def test_a_key_scoped_to_organizations_gets_403(client: TestClient, store: SQLiteStore) -> None:
    key, record = generate_api_key("yte", Role.VIEWER)
    store.add_api_key(replace(record, organizations=(ORG_YTE,)))
    response = client.get("/metrics", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403
    assert "organization" in response.json()["detail"]


_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True)
_VALUES = st.one_of(
    st.integers(min_value=0, max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=True),
)


@given(
    name=_NAMES,
    samples=st.dictionaries(st.text(max_size=30), _VALUES, max_size=8),
    help_text=st.text(max_size=50),
)
def test_any_family_written_reads_back_exactly(
    name: str, samples: dict[str, float], help_text: str
) -> None:
    family = MetricFamily(
        name, "counter", help_text, tuple(((("source", k),), v) for k, v in samples.items())
    )
    read = parse_exposition(exposition([family]))[name]
    assert read.type == "counter"
    assert read.samples == {(("source", k),): float(v) for k, v in samples.items()}
