"""Differential testing: canhgac against pySigma's SQLite backend (the Zircolite method).

The same rules and the same events go through canhgac's `Correlator` and through
pySigma's SQLite backend, converted with the SAME logsource pipeline (so routing and
field names are shared and only matching semantics differ), over the events flattened
into one SQLite table. The two must give the same (rule, event) matches; every
disagreement is a bug in one of them or a limit of the flat table, decided by the Sigma
specification in differential_verdicts.py.

Two data sets: SigmaHQ's Windows rules over every .evtx of ../shared (the attack samples
and SigmaHQ's regression data), and hand-written edge cases (below) for what those
events never exercise: non-ASCII case, field name case, numbers against text, lists...

The table is laid out as Zircolite lays out evtx: one row per event, one column per field
(SQLite column names are case-insensitive), INTEGER for a field that only holds integers,
else TEXT COLLATE NOCASE; booleans as 'true'/'false'; a list as its JSON text. REGEXP is
Python's `re.search`. A column a query names that no event carries is added (all NULL),
where Zircolite would fail the query.

Run with -rP to see the summary: disagreements per verdict, backend limitations with
canhgac's own match counts for those rules, rules not compared.
"""

import re
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
import yaml
from sigma.backends.sqlite.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
    ParentChainMixin,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from canhgac.collectors import EvtxReader, SourceLabels
from canhgac.correlator import Correlator, RuleSet, load_logsource_pipeline, load_rules
from canhgac.correlator._rule_info import rule_id_of
from canhgac.events import Event, FieldValue
from tests.correlator._events import normalized_windows_event
from tests.correlator.differential_verdicts import (
    BACKEND_LIMITATIONS,
    CANHGAC,
    EXPECTED_QUERY_FAILURES,
    SQLITE,
    VERDICTS,
    BackendLimitation,
    Disagreement,
    FieldTest,
    Verdict,
)

pytestmark = pytest.mark.slow

RULE_FOLDERS = ("rules/windows", "rules-emerging-threats", "rules-threat-hunting")
EVTX_FOLDERS = ("evtx-attack-samples", "sigma/regression_data")

# libyaml's loader when PyYAML has it: reading 3,000 rules with the pure-Python one is slow.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The routing columns every Windows query filters on first; indexed, the SigmaHQ queries
# ran in 6 s instead of 23.
_INDEXED_COLUMNS = ("winlog.channel", "winlog.event_id")

_MISSING_COLUMN = re.compile(r"no such column: (.+)")

NOT_ROUTED = "not compared: canhgac routes no events to its logsource (the query has no routing)"


# ------------------------------------------------------------------ the reference side


def _cell(value: FieldValue) -> object:
    """A field value as the table stores it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return orjson.dumps(list(value)).decode()
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return str(value)  # SQLite integers are 64-bit
    return value


def _column_type(kinds: set[type]) -> str:
    if kinds and kinds <= {int}:
        return "INTEGER"
    return "TEXT COLLATE NOCASE"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class ReferenceTable:
    """The events as the SQLite table `logs` the backend's queries read (see the module
    doc for the layout)."""

    def __init__(self, events: Sequence[Event]) -> None:
        kinds: dict[str, set[type]] = {}
        for event in events:
            for name, value in event.fields.items():
                found = kinds.setdefault(name.lower(), set())
                if value is not None:
                    found.add(type(value))
        self.columns = sorted(kinds)
        self._db = sqlite3.connect(":memory:")
        self._db.create_function("regexp", 2, self._regexp, deterministic=True)
        self._patterns: dict[str, re.Pattern[str]] = {}
        definitions = ", ".join(f"{_quoted(c)} {_column_type(kinds[c])}" for c in self.columns)
        self._db.execute(f"CREATE TABLE logs (row_id TEXT, {definitions})")
        rows = []
        for event in events:
            lowered = {name.lower(): value for name, value in event.fields.items()}
            rows.append((event.id, *(_cell(lowered.get(column)) for column in self.columns)))
        marks = ", ".join("?" * (len(self.columns) + 1))
        self._db.executemany(f"INSERT INTO logs VALUES ({marks})", rows)
        for column in _INDEXED_COLUMNS:
            if column in kinds:
                self._db.execute(
                    f"CREATE INDEX {_quoted('by ' + column)} ON logs ({_quoted(column)})"
                )

    def _regexp(self, pattern: str, value: object) -> bool | None:
        """SQLite's `value REGEXP pattern` calls regexp(pattern, value)."""
        if value is None:
            return None
        compiled = self._patterns.get(pattern)
        if compiled is None:
            compiled = self._patterns[pattern] = re.compile(pattern)
        return compiled.search(str(value)) is not None

    def matches(self, query: str) -> set[str]:
        """The ids of the events a backend query selects; sqlite3.Error if it fails."""
        query = query.replace("SELECT *", "SELECT row_id", 1)
        while True:
            try:
                return {row_id for (row_id,) in self._db.execute(query)}
            except sqlite3.OperationalError as err:
                missing = _MISSING_COLUMN.fullmatch(str(err))
                if missing is None:
                    raise
                # No event has the field: its column is all NULL, as for an absent field.
                column = _quoted(missing.group(1).lower())
                self._db.execute(f"ALTER TABLE logs ADD COLUMN {column} TEXT COLLATE NOCASE")


@dataclass(frozen=True, slots=True)
class ReferenceRule:
    """A rule as the backend converted it: its SQL, and its field tests after the
    logsource pipeline (for the verdicts)."""

    rule_id: str
    title: str
    queries: tuple[str, ...]
    tests: tuple[FieldTest, ...]


@dataclass(frozen=True, slots=True)
class Failure:
    """A rule the backend could not convert, or a query SQLite could not run."""

    rule_id: str
    title: str
    path: str
    stage: str
    reason: str

    def __str__(self) -> str:
        return f"{self.stage} failed: {self.title} ({self.path}): {self.reason}"


def field_tests(rule: SigmaRule) -> tuple[FieldTest, ...]:
    """Every (field, value) test in the rule's parsed conditions."""
    found: list[FieldTest] = []
    stack: list[ConditionItem | ParentChainMixin | None] = [
        condition.parsed for condition in rule.detection.parsed_condition
    ]
    while stack:
        node = stack.pop()
        if isinstance(node, ConditionFieldEqualsValueExpression):
            found.append((node.field, node.value))
        elif isinstance(node, ConditionAND | ConditionOR | ConditionNOT):
            stack.extend(node.args)
        elif node is not None and not isinstance(node, ConditionValueExpression):
            raise AssertionError(f"unexpected condition node {node!r} in {rule.title}")
    return tuple(found)


def convert_rules(
    paths: Iterable[str], wanted: set[str]
) -> tuple[dict[str, ReferenceRule], list[Failure]]:
    """Convert the wanted rules of the files with the SQLite backend and the logsource
    pipeline; the rules it cannot convert are failures."""
    # The backend has no type annotations.
    backend = sqliteBackend(processing_pipeline=load_logsource_pipeline())  # type: ignore[no-untyped-call]
    converted: dict[str, ReferenceRule] = {}
    failures: list[Failure] = []
    for path in sorted(set(paths)):
        text = Path(path).read_text(encoding="utf-8")
        documents = list(yaml.load_all(text, Loader=_YAML_LOADER))
        for rule in SigmaCollection.from_dicts(documents).rules:
            if not isinstance(rule, SigmaRule) or rule_id_of(rule) not in wanted:
                continue
            rule_id = rule_id_of(rule)
            try:
                queries = tuple(str(query) for query in backend.convert_rule(rule))  # type: ignore[no-untyped-call]
            except SigmaError as err:
                failures.append(Failure(rule_id, rule.title, path, "conversion", str(err)))
                continue
            converted[rule_id] = ReferenceRule(rule_id, rule.title, queries, field_tests(rule))
    return converted, failures


# ------------------------------------------------------------------ the comparison


@dataclass(frozen=True, slots=True)
class Differential:
    """Both sides' (rule id, event id) matches over the rules both could evaluate."""

    compared: frozenset[str]
    ours: frozenset[tuple[str, str]]
    theirs: frozenset[tuple[str, str]]
    disagreements: tuple[Disagreement, ...]
    failures: tuple[Failure, ...]
    not_compared: tuple[tuple[str, str], ...]
    our_counts: Counter[str]


def run_differential(ruleset: RuleSet, events: Sequence[Event]) -> Differential:
    """Run the rule set through canhgac and through the SQLite backend over the events
    (each event id once) and collect where they disagree."""
    unique = list({event.id: event for event in events}.values())
    routed = {rule.info.rule_id: rule for rule in ruleset.rules if rule.routed}
    not_compared = [
        (f"{rule.info.title} ({rule.info.path})", NOT_ROUTED)
        for rule in ruleset.rules
        if not rule.routed
    ]
    not_compared += [(str(error), "not compared: canhgac skipped it") for error in ruleset.errors]

    our_counts: Counter[str] = Counter()
    ours: set[tuple[str, str]] = set()
    correlator = Correlator(ruleset)
    for start in range(0, len(unique), 1000):
        for alert in correlator.process(unique[start : start + 1000]):
            our_counts[alert.rule_id] += 1
            ours.update((alert.rule_id, event_id) for event_id in alert.event_ids)

    paths = [rule.info.path for rule in routed.values() if rule.info.path is not None]
    converted, failures = convert_rules(paths, set(routed))
    table = ReferenceTable(unique)
    theirs: set[tuple[str, str]] = set()
    for rule_id, reference in converted.items():
        try:
            for query in reference.queries:
                theirs.update((rule_id, event_id) for event_id in table.matches(query))
        except sqlite3.Error as err:
            path = routed[rule_id].info.path or ""
            failures.append(Failure(rule_id, reference.title, path, "query", str(err)))
    failed = {failure.rule_id for failure in failures}
    compared = frozenset(rule_id for rule_id in converted if rule_id not in failed)
    ours_compared = {pair for pair in ours if pair[0] in compared}
    theirs_compared = {pair for pair in theirs if pair[0] in compared}

    by_id = {event.id: event for event in unique}
    disagreements = [
        Disagreement(
            rule_id=rule_id,
            title=converted[rule_id].title,
            matched_by=side,
            event=by_id[event_id],
            tests=converted[rule_id].tests,
            query="\n".join(converted[rule_id].queries),
        )
        for side, pairs in (
            (CANHGAC, ours_compared - theirs_compared),
            (SQLITE, theirs_compared - ours_compared),
        )
        for rule_id, event_id in sorted(pairs)
    ]
    return Differential(
        compared=compared,
        ours=frozenset(ours_compared),
        theirs=frozenset(theirs_compared),
        disagreements=tuple(disagreements),
        failures=tuple(failures),
        not_compared=tuple(not_compared),
        our_counts=our_counts,
    )


def verdicts_for(case: Disagreement) -> list[Verdict]:
    return [verdict for verdict in VERDICTS if verdict.applies(case)]


def uncovered(result: Differential) -> list[str]:
    return [str(case) for case in result.disagreements if not verdicts_for(case)]


def verdict_counts(result: Differential) -> Counter[str]:
    return Counter(verdict.name for case in result.disagreements for verdict in verdicts_for(case))


def limitation_of(failure: Failure) -> BackendLimitation | None:
    for limitation in BACKEND_LIMITATIONS:
        if limitation.stage == failure.stage and re.search(limitation.reason, failure.reason):
            return limitation
    return None


# ------------------------------------------------------------------ SigmaHQ's rules and events

_sigmahq: dict[Path, Differential] = {}


def sigmahq_differential(shared: Path) -> Differential:
    """SigmaHQ's Windows rules over every .evtx in ../shared, computed once a session."""
    if shared not in _sigmahq:
        sigma = shared / "sigma"
        ruleset = load_rules([sigma / folder for folder in RULE_FOLDERS], bundled=False)
        events: list[Event] = []
        files = [
            path for folder in EVTX_FOLDERS for path in sorted((shared / folder).rglob("*.evtx"))
        ]
        for path in files:
            with EvtxReader(path, SourceLabels("differential"), ZoneInfo("UTC")) as reader:
                for step in reader.batches():
                    events.extend(step.batch.events)
        _sigmahq[shared] = run_differential(ruleset, events)
    return _sigmahq[shared]


# ------------------------------------------------------------------ hand-written edge cases

SYSMON_PROCESS: dict[str, FieldValue] = {
    "winlog.channel": "Microsoft-Windows-Sysmon/Operational",
    "winlog.event_id": 1,
}
DATA = "winlog.event_data."


@dataclass(frozen=True, slots=True)
class EdgeCase:
    """A one-selection process_creation rule and the Sysmon events it is tried on (every
    edge rule runs over every edge event)."""

    name: str
    selection: Mapping[str, Any]
    events: tuple[Mapping[str, FieldValue], ...]


EDGE_CASES: tuple[EdgeCase, ...] = (
    EdgeCase(
        "non-ASCII contains",
        {"CommandLine|contains": "BÁO CÁO"},
        ({DATA + "CommandLine": "mở báo cáo"}, {DATA + "CommandLine": "MỞ BÁO CÁO"}),
    ),
    EdgeCase(
        "non-ASCII equals",
        {"User": "NGUYỄN"},
        ({DATA + "User": "nguyễn"}, {DATA + "User": "Nguyễn"}, {DATA + "User": "NGUYỄN"}),
    ),
    EdgeCase("Cyrillic equals", {"User": "ПРИВЕТ"}, ({DATA + "User": "привет"},)),
    EdgeCase(
        "dotted capital I", {"User|contains": "İ"}, ({DATA + "User": "i̇"}, {DATA + "User": "I"})
    ),
    EdgeCase("field name case", {"ProcessID": 4242}, ({DATA + "ProcessId": 4242},)),
    EdgeCase(
        "escaped wildcard",
        {"CommandLine": "a\\*b"},
        ({DATA + "CommandLine": "a*b"}, {DATA + "CommandLine": "axb"}),
    ),
    EdgeCase(
        "escaped backslash before a wildcard",
        {"CommandLine": "a\\\\*"},
        ({DATA + "CommandLine": "a\\xyz"}, {DATA + "CommandLine": "a\\"}),
    ),
    EdgeCase(
        "single-character wildcard on non-ASCII",
        {"CommandLine": "ng?y"},
        ({DATA + "CommandLine": "ngày"}, {DATA + "CommandLine": "ngy"}),
    ),
    EdgeCase(
        "SQL wildcards in the value",
        {"CommandLine|contains": "50%_x"},
        ({DATA + "CommandLine": "a50%_xb"}, {DATA + "CommandLine": "a50AAxb"}),
    ),
    EdgeCase(
        "wildcards across lines",
        {"CommandLine": "a*b?c"},
        ({DATA + "CommandLine": "aXXbYc"}, {DATA + "CommandLine": "A\nb\nc"}),
    ),
    EdgeCase(
        "empty string",
        {"OriginalFileName": ""},
        ({DATA + "OriginalFileName": ""}, {DATA + "Description": "no OriginalFileName"}),
    ),
    EdgeCase("contains nothing", {"Company|contains": ""}, ({DATA + "Company": ""},)),
    EdgeCase("star", {"Product": "*"}, ({DATA + "Product": ""},)),
    EdgeCase(
        "null",
        {"IntegrityLevel": None},
        ({DATA + "IntegrityLevel": "High"}, {DATA + "IntegrityLevel": None}),
    ),
    EdgeCase(
        "exists",
        {"Hashes|exists": True},
        ({DATA + "Hashes": ""}, {DATA + "Hashes": None}),
    ),
    EdgeCase("does not exist", {"Signature|exists": False}, ({DATA + "Signature": None},)),
    EdgeCase(
        "rule text with leading zero against a number",
        {"DestinationPort": "0443"},
        ({DATA + "DestinationPort": 443},),
    ),
    EdgeCase(
        "rule number against text",
        {"Size": 443},
        ({DATA + "Size": "443"}, {DATA + "Size": "0443"}, {DATA + "Size": "abc"}),
    ),
    EdgeCase("rule number against a float", {"Count": 5}, ({DATA + "Count": 5.0},)),
    EdgeCase("not equal", {"Count|neq": 5}, ({DATA + "Count": 6}, {DATA + "Count": "5"})),
    EdgeCase("gt on text", {"Size|gt": 1000}, ({DATA + "Size": "999"}, {DATA + "Size": "2000"})),
    EdgeCase("gte", {"Count|gte": 10}, ({DATA + "Count": 9}, {DATA + "Count": 10})),
    EdgeCase("lt float", {"Count|lt": 1.5}, ({DATA + "Count": 1}, {DATA + "Count": -1})),
    EdgeCase(
        "contains on a number",
        {"ParentProcessId|contains": "23"},
        ({DATA + "ParentProcessId": 1234},),
    ),
    EdgeCase(
        "boolean as text",
        {"Initiated": "True"},
        ({DATA + "Initiated": True}, {DATA + "Initiated": "true"}),
    ),
    EdgeCase("boolean", {"Initiated": True}, ({DATA + "Initiated": 1},)),
    EdgeCase(
        "windash",
        {"CommandLine|windash|contains": "-enc"},
        ({DATA + "CommandLine": "x /enc y"}, {DATA + "CommandLine": "x \u2013ENC y"}),
    ),
    EdgeCase(
        "base64offset",
        {"CommandLine|base64offset|contains": "http"},
        ({DATA + "CommandLine": "aHR0cA=="}, {DATA + "CommandLine": "AGh0dHA"}),
    ),
    EdgeCase(
        "utf16le base64offset",
        {"CommandLine|utf16le|base64offset|contains": "ab"},
        ({DATA + "CommandLine": "YQBiAA=="},),
    ),
    EdgeCase(
        "cidr",
        {"DestinationIp|cidr": "10.0.0.0/30"},
        ({DATA + "DestinationIp": "10.0.0.1"}, {DATA + "DestinationIp": "10.0.0.10"}),
    ),
    EdgeCase(
        "cidr not on an octet",
        {"DestinationIp|cidr": "192.168.1.128/25"},
        ({DATA + "DestinationIp": "192.168.1.130"}, {DATA + "DestinationIp": "192.168.1.13"}),
    ),
    EdgeCase(
        "cidr IPv6", {"DestinationIp|cidr": "fe80::/10"}, ({DATA + "DestinationIp": "FE80::1"},)
    ),
    EdgeCase(
        "fieldref",
        {"TargetUser|fieldref": "SubjectUser"},
        ({DATA + "TargetUser": "Admin", DATA + "SubjectUser": "admin"},),
    ),
    EdgeCase(
        "fieldref contains with SQL wildcards",
        {"CurrentDirectory|fieldref|contains": "ParentUser"},
        ({DATA + "CurrentDirectory": "a%b", DATA + "ParentUser": "%"},),
    ),
    EdgeCase(
        "cased",
        {"Description|cased": "ABC"},
        ({DATA + "Description": "abc"}, {DATA + "Description": "ABC"}),
    ),
    EdgeCase(
        "re",
        {"CommandLine|re": "ab[0-9]+"},
        ({DATA + "CommandLine": "xAB12"}, {DATA + "CommandLine": "ab12"}),
    ),
    EdgeCase("re i", {"CommandLine|re|i": "^abc.*d$"}, ({DATA + "CommandLine": "ABCxxD"},)),
    EdgeCase("re m", {"CommandLine|re|m": "^b$"}, ({DATA + "CommandLine": "a\nb\nc"},)),
    EdgeCase("re s", {"CommandLine|re|s": "a.c"}, ({DATA + "CommandLine": "a\nc"},)),
    EdgeCase("all", {"CommandLine|contains|all": ["a", "B"]}, ({DATA + "CommandLine": "xAxb"},)),
    EdgeCase(
        "list value",
        {"event.type": "start"},
        ({"event.type": ("connection", "start")},),
    ),
)


def edge_rule(case: EdgeCase) -> str:
    """The case's rule as YAML, with an id derived from its name."""
    document = {
        "title": f"edge: {case.name}",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"canhgac-differential/{case.name}")),
        "logsource": {"category": "process_creation", "product": "windows"},
        "detection": {"selection": dict(case.selection), "condition": "selection"},
        "level": "low",
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def edge_events() -> list[Event]:
    moment = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    return [
        Event(id=f"{case.name} #{number}", timestamp=moment, fields={**SYSMON_PROCESS, **fields})
        for case in EDGE_CASES
        for number, fields in enumerate(case.events)
    ]


@pytest.fixture(scope="module")
def edge_differential(tmp_path_factory: pytest.TempPathFactory) -> Differential:
    folder = tmp_path_factory.mktemp("edge-rules")
    for number, case in enumerate(EDGE_CASES):
        (folder / f"edge_{number:02d}.yml").write_text(edge_rule(case), encoding="utf-8")
    return run_differential(load_rules([folder], bundled=False), edge_events())


# ------------------------------------------------------------------ the tests


def _summary(title: str, result: Differential) -> None:
    print(f"== {title}: {len(result.compared)} rules compared")
    print(f"   canhgac {len(result.ours)} matches, pySigma-SQLite {len(result.theirs)}")
    for name, count in sorted(verdict_counts(result).items()):
        print(f"   verdict {name!r}: {count}")


def test_sigmahq_comparison_is_substantial(shared_dir: Path) -> None:
    result = sigmahq_differential(shared_dir)
    _summary("SigmaHQ", result)
    assert len(result.compared) > 2800, "nearly the whole Windows rule set is compared"
    assert len(result.ours & result.theirs) > 1000, "both sides find the same attacks"


def test_every_sigmahq_disagreement_has_a_verdict(shared_dir: Path) -> None:
    assert uncovered(sigmahq_differential(shared_dir)) == []


def test_every_edge_case_disagreement_has_a_verdict(edge_differential: Differential) -> None:
    _summary("edge cases", edge_differential)
    assert uncovered(edge_differential) == []


def test_every_edge_rule_is_compared(edge_differential: Differential) -> None:
    assert edge_differential.failures == ()
    assert edge_differential.not_compared == ()
    assert len(edge_differential.compared) == len(EDGE_CASES)


def test_no_verdict_is_stale(shared_dir: Path, edge_differential: Differential) -> None:
    seen = verdict_counts(sigmahq_differential(shared_dir)) + verdict_counts(edge_differential)
    assert [verdict.name for verdict in VERDICTS if not seen[verdict.name]] == []


def test_sqlite_failures_are_the_recorded_backend_limitations(shared_dir: Path) -> None:
    result = sigmahq_differential(shared_dir)
    unexplained = [str(f) for f in result.failures if limitation_of(f) is None]
    assert unexplained == []
    counted = Counter(limitation.name for f in result.failures if (limitation := limitation_of(f)))
    for limitation in BACKEND_LIMITATIONS:
        assert counted[limitation.name] == limitation.expected, limitation.name
    query_failures = [f for f in result.failures if f.stage == "query"]
    assert len(query_failures) == EXPECTED_QUERY_FAILURES
    print("== rules only canhgac evaluates (nothing to compare): canhgac's alerts")
    for failure in sorted(result.failures, key=lambda f: f.path):
        print(f"   {result.our_counts[failure.rule_id]:5d}  {failure.title} ({failure.path})")
    print(f"== rules not compared: {len(result.not_compared)}")
    for rule, why in result.not_compared:
        print(f"   {rule}: {why}")


def test_verdicts_against_canhgac_have_a_strict_xfail_test() -> None:
    module = globals()
    for verdict in VERDICTS:
        if verdict.right != SQLITE:
            continue
        test = module.get(verdict.xfail_test or "")
        marks = [mark for mark in getattr(test, "pytestmark", []) if mark.name == "xfail"]
        assert marks, f"{verdict.name}: no xfail test named {verdict.xfail_test!r}"
        assert marks[0].kwargs.get("strict") is True, f"{verdict.xfail_test} is not strict"


# ------------------------------------------------------------------ a bug both sides shared

NULL_PARENT_RULE = {
    "title": "svchost with an uncommon parent",
    "id": "00000000-0000-4000-8000-00000000d1ff",
    "logsource": {"category": "process_creation", "product": "windows"},
    "detection": {
        "selection": {"Image|endswith": "\\svchost.exe"},
        "filter_null": {"ParentImage": None},
        "condition": "selection and not filter_null",
    },
}


def test_null_on_a_field_of_process_creation(tmp_path: Path) -> None:
    # logsources.yml once mapped ParentImage to ParentImage and ParentProcessName (for
    # Security 4688): `ParentImage: null` became "either is null", true for every event
    # (each carried only one), and pySigma's SQLite backend did the same with the same
    # pipeline, so the differential could not show it (15 SigmaHQ process_creation rules
    # test Image or ParentImage for null or |exists: false). Now the normalizer gives
    # 4688 events the Sysmon names and the mapping is one to one.
    path = tmp_path / "null_parent.yml"
    path.write_text(yaml.safe_dump(NULL_PARENT_RULE), encoding="utf-8")
    ruleset = load_rules([path], bundled=False)
    assert ruleset.errors == ()
    svchost = "C:\\Windows\\System32\\svchost.exe"
    sysmon = Event(
        id="svchost-from-evil",
        timestamp=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        fields={
            **SYSMON_PROCESS,
            DATA + "Image": svchost,
            DATA + "ParentImage": "C:\\Users\\Public\\evil.exe",
        },
    )
    sysmon_no_parent = Event(
        id="svchost-no-parent",
        timestamp=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        fields={**SYSMON_PROCESS, DATA + "Image": svchost},
    )
    security = normalized_windows_event(
        "Security", 4688, NewProcessName=svchost, ParentProcessName="C:\\Users\\x\\evil.exe"
    )
    security_no_parent = normalized_windows_event("Security", 4688, NewProcessName=svchost)
    alerts = Correlator(ruleset).process([sysmon, sysmon_no_parent, security, security_no_parent])
    assert [alert.event_ids for alert in alerts] == [("svchost-from-evil",), (security.id,)]
