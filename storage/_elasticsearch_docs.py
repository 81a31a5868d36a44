"""How canhgac's values become Elasticsearch documents and back, and the index templates.

Events keep two parts in one document. The searchable part holds the ECS fields this
module maps (`ECS_FIELD_TYPES`, and `labels.*`), under their dotted names, exactly as
the event carries them, so Kibana and the Query DSL see ECS. Every other field, and any
value JSON cannot carry exactly (lone surrogates, integers beyond 64 bits, NaN), goes
into `canhgac.fields`: JSON text that Elasticsearch stores but never parses. Reading
joins both, so an event reads back equal to the one written, whatever its fields.

Typed fields (ip, long, double, date) ignore malformed values: a bad value is kept in
the document and left out of the index, instead of failing the whole document.

Besides the ECS fields, the Windows and Linux audit families are indexed: every
`winlog.*` and `auditd.*` name of a plain shape (`FAMILY_PREFIXES`), as keywords (the
ids and pids as longs), by dynamic templates. Those objects do not make sub-objects
(`subobjects: false`): `winlog.user_data.A` and `winlog.user_data.A.B` are two leaves,
so no name can conflict with another's object.

Every keyword field of an event also has a lower-cased copy, `<name>.caseless` (a
`lowercase` normalizer, which Elasticsearch also applies to the terms, wildcards and
regular expressions searched on it): Sigma matches strings regardless of case, and
scheduled detection's Lucene queries search those copies (see scheduled/_lucene.py).

Times that the store sorts or compares (incident first/last seen, alert times, audit
times) are fixed-width UTC text as in SQLite (`format_time`), mapped as keyword: text
order is time order to the microsecond. Each kind also has a `@timestamp` date field
for Kibana and range queries.
"""

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from canhgac.correlator import Alert, Severity
from canhgac.events import DeadLetter, Event, FieldValue
from canhgac.incidents import AuditEntry, GroupKey, Incident, IncidentStatus
from canhgac.storage._encoding import (
    dump_json,
    event_fields,
    format_time,
    load_json,
    parse_time,
    sql_text,
)
from canhgac.storage._model import ApiKeyRecord, Checkpoint, Role, SourceCounters
from canhgac.storage._store import StoreError

EXTRA_FIELDS = "canhgac.fields"
"""The event document's field holding, as JSON text, what the searchable part cannot."""

_KEYWORD = "keyword"
_LONG_KEYWORD = "long_keyword"  # keyword that indexes values up to 8191 characters
_TEXT_KEYWORD = "text_keyword"  # keyword plus a `.text` full-text sub-field
_TEXT = "text"
_STORED = "stored"  # kept in _source only: neither indexed nor aggregatable
_IP = "ip"
_LONG = "long"
_DOUBLE = "double"
_DATE = "date"

ECS_FIELD_TYPES: Mapping[str, str] = {
    # event
    "event.kind": _KEYWORD,
    "event.category": _KEYWORD,
    "event.type": _KEYWORD,
    "event.module": _KEYWORD,
    "event.dataset": _KEYWORD,
    "event.outcome": _KEYWORD,
    "event.action": _KEYWORD,
    "event.reason": _KEYWORD,
    "event.code": _KEYWORD,
    "event.provider": _KEYWORD,
    "event.id": _KEYWORD,
    "event.severity": _LONG,
    "event.sequence": _LONG,
    "event.risk_score": _DOUBLE,
    "event.created": _DATE,
    "event.ingested": _DATE,
    "event.start": _DATE,
    "event.end": _DATE,
    "event.original": _STORED,
    "message": _TEXT,
    "tags": _KEYWORD,
    "log.level": _KEYWORD,
    "log.logger": _KEYWORD,
    "log.file.path": _LONG_KEYWORD,
    "log.offset": _LONG,
    # who and where
    "source.ip": _IP,
    "source.port": _LONG,
    "source.address": _KEYWORD,
    "source.domain": _KEYWORD,
    "source.bytes": _LONG,
    "destination.ip": _IP,
    "destination.port": _LONG,
    "destination.address": _KEYWORD,
    "destination.domain": _KEYWORD,
    "destination.bytes": _LONG,
    "client.ip": _IP,
    "client.port": _LONG,
    "client.address": _KEYWORD,
    "server.ip": _IP,
    "server.port": _LONG,
    "server.address": _KEYWORD,
    "host.name": _KEYWORD,
    "host.hostname": _KEYWORD,
    "host.ip": _IP,
    "observer.name": _KEYWORD,
    "observer.ip": _IP,
    "related.ip": _IP,
    "related.user": _KEYWORD,
    "related.hosts": _KEYWORD,
    "network.protocol": _KEYWORD,
    "network.transport": _KEYWORD,
    "network.bytes": _LONG,
    "user.name": _KEYWORD,
    "user.id": _KEYWORD,
    "user.domain": _KEYWORD,
    "user.effective.name": _KEYWORD,
    "user.target.name": _KEYWORD,
    "organization.name": _KEYWORD,
    "organization.id": _KEYWORD,
    "service.name": _KEYWORD,
    # processes and files
    "process.name": _KEYWORD,
    "process.pid": _LONG,
    "process.parent.pid": _LONG,
    "process.executable": _LONG_KEYWORD,
    "process.working_directory": _LONG_KEYWORD,
    "process.command_line": _TEXT_KEYWORD,
    "file.path": _LONG_KEYWORD,
    "file.name": _KEYWORD,
    # the web
    "http.request.method": _KEYWORD,
    "http.request.referrer": _LONG_KEYWORD,
    "http.request.bytes": _LONG,
    "http.request.body.bytes": _LONG,
    "http.response.status_code": _LONG,
    "http.response.bytes": _LONG,
    "http.response.body.bytes": _LONG,
    "http.version": _KEYWORD,
    "url.original": _TEXT_KEYWORD,
    "url.full": _TEXT_KEYWORD,
    "url.scheme": _KEYWORD,
    "url.domain": _KEYWORD,
    "url.port": _LONG,
    "url.path": _LONG_KEYWORD,
    "url.query": _LONG_KEYWORD,
    "user_agent.original": _TEXT_KEYWORD,
    "dns.question.name": _KEYWORD,
    "error.message": _TEXT,
    # processes (Linux process creation rules read the parent too)
    "process.parent.executable": _LONG_KEYWORD,
    "process.parent.command_line": _TEXT_KEYWORD,
    "process.parent.name": _KEYWORD,
    "url.extension": _KEYWORD,
    "http.request.mime_type": _KEYWORD,
    # network captures and flows
    "event.duration": _LONG,
    "source.packets": _LONG,
    "destination.packets": _LONG,
    "network.packets": _LONG,
    "network.type": _KEYWORD,
    "network.iana_number": _KEYWORD,
    "dns.id": _KEYWORD,
    "dns.type": _KEYWORD,
    "dns.op_code": _KEYWORD,
    "dns.response_code": _KEYWORD,
    "dns.header_flags": _KEYWORD,
    "dns.question.type": _KEYWORD,
    "dns.question.class": _KEYWORD,
    "dns.question.registered_domain": _KEYWORD,
    "dns.question.subdomain": _KEYWORD,
    "dns.question.top_level_domain": _KEYWORD,
    "dns.answers.name": _KEYWORD,
    "dns.answers.type": _KEYWORD,
    "dns.answers.class": _KEYWORD,
    "dns.answers.data": _LONG_KEYWORD,
    "dns.answers.ttl": _LONG,
    "dns.resolved_ip": _IP,
    "tls.version": _KEYWORD,
    "tls.version_protocol": _KEYWORD,
    "tls.established": _KEYWORD,
    "tls.client.server_name": _KEYWORD,
    "tls.client.ja3": _KEYWORD,
    "tls.client.ja4": _KEYWORD,
    "tls.client.supported_protocols": _KEYWORD,
    "tls.server.hash.sha256": _KEYWORD,
    "tls.server.x509.subject.common_name": _LONG_KEYWORD,
    "tls.server.x509.issuer.common_name": _LONG_KEYWORD,
    "tls.server.x509.not_before": _DATE,
    "tls.server.x509.not_after": _DATE,
    "rule.name": _KEYWORD,
}
"""The event fields indexed with an explicit ECS type; `labels.<name>` are keywords too."""

FAMILY_PREFIXES = ("winlog.", "auditd.")
"""Field families indexed by name shape (`searchable_field_name`), as keywords but for
`FAMILY_LONGS`: the Windows normalizer's winlog.* and the Linux audit records' auditd.*."""

FAMILY_LONGS: Mapping[str, str] = {
    "winlog.event_id": _LONG,
    "winlog.record_id": _LONG,
    "winlog.process.pid": _LONG,
    "winlog.process.thread.id": _LONG,
}

CASELESS = "caseless"
"""The sub-field holding a keyword field's value lower-cased: `<name>.caseless`."""

_KEYWORD_KINDS = frozenset({_KEYWORD, _LONG_KEYWORD, _TEXT_KEYWORD})
# A family name: dotted parts of plain characters (Windows EventData names, audit keys).
_FAMILY_NAME = re.compile(r"(?:winlog|auditd)(?:\.[A-Za-z0-9_@$-]{1,100}){1,8}")

# labels.<name>: ECS labels are flat keywords; a deeper name would need an object there.
_LABEL_NAME = re.compile(r"labels\.[A-Za-z0-9][A-Za-z0-9_@-]{0,99}")
_PREFIX = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
_TEMPLATE_PRIORITY = 500

INDEX_KINDS = (
    "incidents",
    "alerts",
    "dead-letters",
    "checkpoints",
    "api-keys",
    "source-counters",
)
"""The store's indices besides the daily event indices, each `<prefix>-<kind>`."""


def check_prefix(prefix: str) -> str:
    """The index prefix, if Elasticsearch accepts it in index names; else StoreError."""
    if not _PREFIX.fullmatch(prefix):
        raise StoreError(
            f"invalid index prefix {prefix!r}: use 1 to 50 lowercase letters, digits, '-' "
            "or '_', starting with a letter or digit"
        )
    return prefix


def events_alias(prefix: str) -> str:
    """The alias over every daily event index."""
    return f"{prefix}-events"


def event_index(prefix: str, moment: datetime) -> str:
    """The daily index of an event at `moment` (its UTC day), e.g. canhgac-events-2026.11.24."""
    day = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return "%s-events-%04d.%02d.%02d" % (prefix, day.year, day.month, day.day)  # noqa: UP031 (the fastest)


def event_index_day(prefix: str, index: str) -> datetime | None:
    """The UTC day (midnight) of a daily event index's name, or None for another name."""
    stem = f"{prefix}-events-"
    if not index.startswith(stem):
        return None
    try:
        return datetime.strptime(index[len(stem) :], "%Y.%m.%d").replace(tzinfo=UTC)
    except ValueError:
        return None


# -- events -------------------------------------------------------------------------


def utc_text(moment: datetime) -> str:
    """`format_time(moment)`, faster for the usual UTC datetimes of events."""
    if moment.tzinfo is not UTC:
        return format_time(moment)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031 (the fastest)
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


_SURROGATE = re.compile("[\ud800-\udfff]")


@lru_cache(maxsize=4096)
def field_kind(name: str) -> str | None:
    """How the event field `name` is indexed (one of the kinds of `ECS_FIELD_TYPES`), or
    None when the document keeps it in `canhgac.fields`, unindexed."""
    kind = ECS_FIELD_TYPES.get(name)
    if kind is not None:
        return kind
    if name.startswith("labels."):
        return _KEYWORD if _LABEL_NAME.fullmatch(name) else None
    if name.startswith(FAMILY_PREFIXES) and _FAMILY_NAME.fullmatch(name):
        # `<name>.caseless` would be a second leaf beside the sub-field of `<name>`.
        if name.endswith("." + CASELESS):
            return None
        return FAMILY_LONGS.get(name, _LONG_KEYWORD)
    return None


def _document_name(name: str) -> bool:
    return field_kind(name) is not None


def searchable_field_name(name: str) -> bool:
    """Whether Elasticsearch indexes the event field `name`: the mapped ECS fields,
    `labels.*`, the plain names of `FAMILY_PREFIXES`, and `<keyword field>.caseless`."""
    if field_kind(name) is not None:
        return True
    base, dot, last = name.rpartition(".")
    return bool(dot) and last == CASELESS and field_kind(base) in _KEYWORD_KINDS


def _exact_scalar(value: object) -> bool:
    """Whether JSON carries the value unchanged through Elasticsearch and back."""
    if isinstance(value, str):
        return value.isascii() or _SURROGATE.search(value) is None
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return False


def _sanitized(value: FieldValue) -> FieldValue:
    """The value with lone surrogates replaced, for the searchable part."""
    if isinstance(value, str):
        return sql_text(value)
    if isinstance(value, tuple):
        return tuple(sql_text(v) if isinstance(v, str) else v for v in value)
    return value


def event_document(event: Event) -> dict[str, Any]:
    """The document of `event`: its ECS fields, `@timestamp` and, when needed, the rest."""
    document: dict[str, Any] = {"@timestamp": utc_text(event.timestamp)}
    extra: dict[str, FieldValue] = {}
    # The hot path of every ingest: plain checks, inlined for the common cases.
    for name, value in event.fields.items():
        if not _document_name(name):
            extra[name] = value
            continue
        if type(value) is tuple:
            if all(_exact_scalar(v) for v in value):
                document[name] = list(value)
                continue
        elif _exact_scalar(value):
            document[name] = value
            continue
        # Indexed as well as it can be; read back from the exact copy.
        extra[name] = value
        sanitized = _sanitized(value)
        if isinstance(sanitized, tuple):
            if all(_exact_scalar(v) for v in sanitized):
                document[name] = list(sanitized)
        elif _exact_scalar(sanitized):
            document[name] = sanitized
    if extra:
        document[EXTRA_FIELDS] = _exact_json(extra)
    return document


def _exact_json(fields: dict[str, FieldValue]) -> str:
    if _finite_floats(fields.values()):
        return dump_json(fields)
    # orjson would write infinities as null; this writes Infinity, which load_json reads.
    return json.dumps(fields, ensure_ascii=True)


def _finite_floats(values: Iterable[object]) -> bool:
    for value in values:
        if type(value) is float:
            if not math.isfinite(value):
                return False
        elif type(value) is tuple and not _finite_floats(value):
            return False
    return True


@lru_cache(maxsize=1024)
def _all_searchable(names: tuple[str, ...]) -> bool:
    # Events of one source carry the same names: each set is checked once.
    return all(_document_name(name) for name in names)


def event_json(event: Event) -> bytes:
    """`event_document(event)` as JSON bytes, made without building the document when
    every field is searchable and JSON carries every value exactly (the usual case)."""
    fields = event.fields
    if _all_searchable(tuple(fields)):
        try:
            # orjson refuses lone surrogates and integers beyond 64 bits: the slow path.
            body = orjson.dumps(fields)
        except orjson.JSONEncodeError:
            body = b""
        # orjson writes NaN and infinities as null: only a body with a null can hold one.
        if body and (b"null" not in body or _finite_floats(fields.values())):
            stamp = b'{"@timestamp":"' + utc_text(event.timestamp).encode("ascii") + b'"'
            return stamp + (b"," + body[1:] if len(body) > 2 else b"}")
    return orjson.dumps(event_document(event))


def event_from_document(event_id: str, source: Mapping[str, Any]) -> Event:
    """The inverse of `event_document`."""
    fields: dict[str, FieldValue] = {}
    for name, value in source.items():
        if name == "@timestamp" or name == EXTRA_FIELDS:
            continue
        fields[name] = tuple(value) if isinstance(value, list) else value
    extra = source.get(EXTRA_FIELDS)
    if isinstance(extra, str):
        fields.update(event_fields(extra))
    return Event(id=event_id, timestamp=parse_time(source["@timestamp"]), fields=fields)


# -- alerts, incidents, audit ---------------------------------------------------------


def alert_document(alert: Alert, incident_id: str | None) -> dict[str, Any]:
    moment = format_time(alert.timestamp)
    return {
        "@timestamp": moment,
        "id": alert.id,
        "ts": moment,
        "rule_id": alert.rule_id,
        "rule_title": sql_text(alert.rule_title),
        "severity": alert.severity.value,
        "incident_id": incident_id,
        "system": sql_text(alert.system),
        "organization": sql_text(alert.organization),
        "entities": [[sql_text(field), sql_text(value)] for field, value in alert.entities],
        "tags": [sql_text(tag) for tag in alert.tags],
        "description": sql_text(alert.description),
        "event_ids": list(alert.event_ids),
    }


def alert_from_document(source: Mapping[str, Any]) -> Alert:
    return Alert(
        id=source["id"],
        rule_id=source["rule_id"],
        rule_title=source["rule_title"],
        severity=Severity(source["severity"]),
        timestamp=parse_time(source["ts"]),
        event_ids=tuple(source["event_ids"]),
        entities=tuple((str(field), str(value)) for field, value in source["entities"]),
        system=source.get("system"),
        organization=source.get("organization"),
        tags=tuple(source["tags"]),
        description=source.get("description"),
    )


def group_key_id(key: GroupKey) -> str:
    """A fixed-size token of the grouping key, for exact lookups whatever its length."""
    parts = (key.rule_id, key.entity_field, sql_text(key.entity_value), sql_text(key.organization))
    return hashlib.blake2b(dump_json(parts).encode("utf-8"), digest_size=16).hexdigest()


def incident_document(incident: Incident) -> dict[str, Any]:
    """A new incident's document, with an open grouping window and no history yet."""
    return {
        "@timestamp": format_time(incident.first_seen),
        "id": incident.id,
        "title": sql_text(incident.title),
        "rule_id": incident.rule_id,
        "rule_title": sql_text(incident.rule_title),
        "severity": incident.severity.value,
        "severity_rank": incident.severity.rank,
        "status": incident.status.value,
        "assignee": sql_text(incident.assignee),
        "entity_field": incident.entity_field,
        "entity_value": sql_text(incident.entity_value),
        "system": sql_text(incident.system),
        "organization": sql_text(incident.organization),
        "first_seen": format_time(incident.first_seen),
        "last_seen": format_time(incident.last_seen),
        "alert_count": incident.alert_count,
        "created_at": format_time(incident.created_at),
        "updated_at": format_time(incident.updated_at),
        "group_key": group_key_id(incident.group_key),
        "window_closed": False,
        "growths": [],
        "history": [],
    }


INCIDENT_INTERNAL_FIELDS = ("history", "growths")
"""Incident document fields that `incident_from_document` does not need."""


def incident_from_document(source: Mapping[str, Any]) -> Incident:
    return Incident(
        id=source["id"],
        title=source["title"],
        rule_id=source["rule_id"],
        rule_title=source["rule_title"],
        severity=Severity(source["severity"]),
        status=IncidentStatus(source["status"]),
        assignee=source.get("assignee"),
        entity_field=source.get("entity_field"),
        entity_value=source.get("entity_value"),
        system=source.get("system"),
        organization=source.get("organization"),
        first_seen=parse_time(source["first_seen"]),
        last_seen=parse_time(source["last_seen"]),
        alert_count=source["alert_count"],
        created_at=parse_time(source["created_at"]),
        updated_at=parse_time(source["updated_at"]),
        merged_into=source.get("merged_into"),
    )


INCIDENT_TEXT_FIELDS = (
    "title.text",
    "rule_title.text",
    "entity_value.text",
    "system.text",
    "organization.text",
    "assignee.text",
)
"""The full-text sub-fields the incident listing's free text searches."""


def audit_document(entry: AuditEntry) -> dict[str, Any]:
    """One entry of an incident document's `history`."""
    return {
        "at": format_time(entry.at),
        "actor": sql_text(entry.actor),
        "action": entry.action,
        "field": entry.field,
        "old_value": sql_text(entry.old_value),
        "new_value": sql_text(entry.new_value),
        "reason": sql_text(entry.reason),
    }


def audit_from_document(incident_id: str, source: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        incident_id=incident_id,
        at=parse_time(source["at"]),
        actor=source["actor"],
        action=source["action"],
        field=source.get("field"),
        old_value=source.get("old_value"),
        new_value=source.get("new_value"),
        reason=source.get("reason"),
    )


# -- dead letters, checkpoints, API keys ---------------------------------------------


def dead_letter_document(letter: DeadLetter, order: int) -> dict[str, Any]:
    """`order` sorts dead letters by when the store received them (newest first)."""
    received = format_time(letter.received_at)
    return {
        "@timestamp": received,
        "received_at": received,
        "order": order,
        "source": sql_text(letter.source),
        "reason": sql_text(letter.reason),
        "raw": sql_text(letter.raw),
        "path": sql_text(letter.path),
        "line_number": letter.line_number,
    }


def dead_letter_from_document(source: Mapping[str, Any]) -> DeadLetter:
    return DeadLetter(
        source=source["source"],
        reason=source["reason"],
        raw=source["raw"],
        received_at=parse_time(source["received_at"]),
        path=source.get("path"),
        line_number=source.get("line_number"),
    )


def checkpoint_document(checkpoint: Checkpoint, now: datetime) -> dict[str, Any]:
    return {
        "name": checkpoint.name,
        "state": dump_json(dict(checkpoint.state)),
        "updated_at": format_time(now),
    }


def checkpoint_from_document(name: str, source: Mapping[str, Any]) -> Checkpoint:
    return Checkpoint(name, load_json(source["state"]))


def api_key_document(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": sql_text(record.name),
        "role": record.role.value,
        "key_hash": record.key_hash,
        "created_at": format_time(record.created_at),
        "revoked": record.revoked,
        "organizations": [sql_text(name) for name in record.organizations],
    }


def api_key_from_document(source: Mapping[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=source["id"],
        name=source["name"],
        role=Role(source["role"]),
        key_hash=source["key_hash"],
        created_at=parse_time(source["created_at"]),
        revoked=bool(source["revoked"]),
        organizations=tuple(source.get("organizations") or ()),
    )


# -- mappings ----------------------------------------------------------------------------


# -- loss accounting: one document per source ----------------------------------------

SOURCE_COUNTER_FIELDS = (
    "received",
    "parsed",
    "dead_lettered",
    "duplicates",
    "aggregated",
    "dropped",
    "late",
)
"""The counters of a source document, each added to by the batches."""


def source_counters_mappings() -> dict[str, Any]:
    return {
        **_keywords(long=("source",)),
        **_times("last_event", "last_batch"),
        **{name: {"type": "long"} for name in SOURCE_COUNTER_FIELDS},
        # The batches already added in, so that sending one twice adds it once.
        "batches": {"type": "keyword", "index": False, "doc_values": False},
    }


def source_counters_increment(counters: SourceCounters) -> dict[str, Any]:
    """A batch's increment of one source's counters, as spooled."""
    return {
        "source": sql_text(counters.source),
        **{name: getattr(counters, name) for name in SOURCE_COUNTER_FIELDS},
        "last_event": None if counters.last_event is None else format_time(counters.last_event),
        "last_batch": None if counters.last_batch is None else format_time(counters.last_batch),
    }


def source_counters_from_document(source: Mapping[str, Any]) -> SourceCounters:
    last_event, last_batch = source.get("last_event"), source.get("last_batch")
    count = {name: int(source.get(name) or 0) for name in SOURCE_COUNTER_FIELDS}
    return SourceCounters(
        source=source["source"],
        received=count["received"],
        parsed=count["parsed"],
        dead_lettered=count["dead_lettered"],
        duplicates=count["duplicates"],
        aggregated=count["aggregated"],
        dropped=count["dropped"],
        late=count["late"],
        last_event=None if last_event is None else parse_time(last_event),
        last_batch=None if last_batch is None else parse_time(last_batch),
    )


def _field_mapping(kind: str) -> dict[str, Any]:
    if kind == _KEYWORD:
        return {"type": "keyword", "ignore_above": 1024}
    if kind == _LONG_KEYWORD:
        return {"type": "keyword", "ignore_above": 8191}
    if kind == _TEXT_KEYWORD:
        return {"type": "keyword", "ignore_above": 8191, "fields": {"text": {"type": "text"}}}
    if kind == _TEXT:
        return {"type": "text"}
    if kind == _STORED:
        return {"type": "keyword", "index": False, "doc_values": False}
    return {"type": kind, "ignore_malformed": True}


def _nested_properties(fields: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """Mapping properties from dotted names: {"a.b": m} -> {"a": {"properties": {"b": m}}}."""
    root: dict[str, Any] = {}
    for name, mapping in fields.items():
        node = root
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = mapping
    return root


def _keywords(*names: str, long: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    fields = {name: _field_mapping(_KEYWORD) for name in names}
    fields.update({name: _field_mapping(_LONG_KEYWORD) for name in long})
    return fields


def _event_field_mapping(kind: str) -> dict[str, Any]:
    """An event field's mapping: keywords with their `.caseless` copy."""
    mapping = _field_mapping(kind)
    if kind in _KEYWORD_KINDS:
        caseless = {
            "type": "keyword",
            "ignore_above": mapping["ignore_above"],
            "normalizer": CASELESS,
        }
        mapping["fields"] = {**mapping.get("fields", {}), CASELESS: caseless}
    return mapping


EVENT_ANALYSIS: Mapping[str, Any] = {
    "normalizer": {CASELESS: {"type": "custom", "filter": ["lowercase"]}}
}
"""The event indices' analysis settings: the normalizer of the `.caseless` sub-fields."""

EVENT_FIELDS_LIMIT = 10_000
"""The most fields an event index maps; the families' names beyond it are kept unindexed
(`ignore_dynamic_beyond_limit`) rather than failing the event."""


def event_mappings() -> dict[str, Any]:
    fields = {name: _event_field_mapping(kind) for name, kind in ECS_FIELD_TYPES.items()}
    properties = _nested_properties(fields)
    properties["@timestamp"] = {"type": "date"}
    properties["canhgac"] = {"type": "object", "enabled": False}
    properties["labels"] = {"type": "object", "dynamic": True}
    for family in FAMILY_PREFIXES:
        root = family.rstrip(".")
        properties[root] = {
            "type": "object",
            "dynamic": True,
            # Leaves keep their dotted names: a name can never clash with another's object.
            "subobjects": False,
            "properties": {
                name[len(family) :]: _event_field_mapping(kind)
                for name, kind in FAMILY_LONGS.items()
                if name.startswith(family)
            },
        }
    family_keyword = _event_field_mapping(_LONG_KEYWORD)
    return {
        # Only the mapped ECS fields and the families are indexed: an unknown field can
        # never conflict with another event's type for it and fail a document.
        "dynamic": False,
        "dynamic_templates": [
            {
                "labels_as_keywords": {
                    "path_match": "labels.*",
                    "match_mapping_type": "*",
                    "mapping": _event_field_mapping(_KEYWORD),
                }
            },
            *(
                {
                    f"{family.rstrip('.')}_as_keywords": {
                        "path_match": f"{family}*",
                        "match_mapping_type": "*",
                        "mapping": family_keyword,
                    }
                }
                for family in FAMILY_PREFIXES
            ),
        ],
        "properties": properties,
    }


def _times(*names: str) -> dict[str, dict[str, Any]]:
    return {name: {"type": "keyword"} for name in names}


def kind_mappings(kind: str) -> dict[str, Any]:
    """The mappings of one of `INDEX_KINDS`."""
    properties: dict[str, Any]
    if kind == "incidents":
        properties = {
            **_keywords(
                "id",
                "rule_id",
                "severity",
                "status",
                "entity_field",
                "group_key",
                long=("rule_title", "assignee", "entity_value", "system", "organization"),
            ),
            **_times("first_seen", "last_seen", "created_at", "updated_at"),
            "@timestamp": {"type": "date"},
            "title": {
                "type": "keyword",
                "ignore_above": 8191,
                "fields": {"text": {"type": "text"}},
            },
            "severity_rank": {"type": "integer"},
            "alert_count": {"type": "long"},
            "window_closed": {"type": "boolean"},
            "growths": {"type": "keyword", "index": False, "doc_values": False},
            "history": {"type": "object", "enabled": False},
            # Incident triage: merges, the stats' response times, free text.
            "merged_into": {"type": "keyword"},
            "acknowledge_seconds": {"type": "double"},
            "resolve_seconds": {"type": "double"},
            **{
                name: {**_field_mapping(_LONG_KEYWORD), "fields": {"text": {"type": "text"}}}
                for name in ("rule_title", "assignee", "entity_value", "system", "organization")
            },
        }
    elif kind == "alerts":
        properties = {
            **_keywords(
                "id",
                "rule_id",
                "severity",
                "incident_id",
                "event_ids",
                "tags",
                long=("rule_title", "system", "organization", "entities"),
            ),
            **_times("ts"),
            "@timestamp": {"type": "date"},
            "description": {"type": "text"},
        }
    elif kind == "dead-letters":
        properties = {
            **_keywords("source", long=("path",)),
            **_times("received_at"),
            "@timestamp": {"type": "date"},
            "order": {"type": "long"},
            "line_number": {"type": "long"},
            "reason": {"type": "text"},
            "raw": {"type": "keyword", "index": False, "doc_values": False},
        }
    elif kind == "checkpoints":
        properties = {
            **_keywords("name", long=()),
            **_times("updated_at"),
            "state": {"type": "keyword", "index": False, "doc_values": False},
        }
    elif kind == "source-counters":
        properties = source_counters_mappings()
    elif kind == "api-keys":
        properties = {
            **_keywords("kind", "id", "role", "key_hash"),
            **_times("created_at"),
            "name": {"type": "keyword", "ignore_above": 8191},
            "revoked": {"type": "boolean"},
            "organizations": {"type": "keyword", "ignore_above": 8191},
        }
    else:
        raise StoreError(f"unknown index kind {kind!r}")
    return {"dynamic": False, "properties": properties}


def index_templates(
    prefix: str, *, replicas: int | None, event_shards: int
) -> dict[str, dict[str, Any]]:
    """Composable index templates by name: the daily event indices and each of
    `INDEX_KINDS`. A daily index joins the events alias once it can be searched (the
    store adds it then), so no search of the alias meets a shard not started yet."""
    # One replica where there is a second node to hold it, none on a single node.
    replica_settings: dict[str, Any] = (
        {"auto_expand_replicas": "0-1"}
        if replicas is None
        else {"number_of_replicas": replicas, "auto_expand_replicas": False}
    )
    templates: dict[str, dict[str, Any]] = {
        f"{prefix}-events": {
            "index_patterns": [f"{prefix}-events-*"],
            "priority": _TEMPLATE_PRIORITY,
            "template": {
                "settings": {
                    "number_of_shards": event_shards,
                    **replica_settings,
                    "analysis": dict(EVENT_ANALYSIS),
                    "mapping": {
                        "total_fields": {
                            "limit": EVENT_FIELDS_LIMIT,
                            "ignore_dynamic_beyond_limit": True,
                        }
                    },
                },
                "mappings": event_mappings(),
            },
        }
    }
    for kind in INDEX_KINDS:
        templates[f"{prefix}-{kind}"] = {
            "index_patterns": [f"{prefix}-{kind}"],
            "priority": _TEMPLATE_PRIORITY,
            "template": {
                "settings": {"number_of_shards": 1, **replica_settings},
                "mappings": kind_mappings(kind),
            },
        }
    return templates
