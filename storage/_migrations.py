"""The SQLite schema, as an ordered tuple of migration scripts.

`PRAGMA user_version` holds how many of `MIGRATIONS` a database has run. Opening a
database runs the missing ones in one transaction; a released script is never edited,
a change to the schema is a new script appended at the end.
"""

import sqlite3

from canhgac.storage._store import StoreError

_V1_TABLES = """
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    ts TEXT NOT NULL,
    dataset TEXT,
    system TEXT,
    organization TEXT,
    source_ip TEXT,
    user_name TEXT,
    host_name TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX events_ts ON events (ts);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    status TEXT NOT NULL,
    assignee TEXT,
    entity_field TEXT,
    entity_value TEXT,
    system TEXT,
    organization TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    alert_count INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    window_closed INTEGER NOT NULL DEFAULT 0 CHECK (window_closed IN (0, 1))
);
-- The grouper's lookup (Store.open_incidents) for every batch of alerts.
CREATE INDEX incidents_grouping ON incidents
    (rule_id, entity_field, entity_value, organization, status, window_closed, last_seen);

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    severity TEXT NOT NULL,
    ts TEXT NOT NULL,
    incident_id TEXT REFERENCES incidents (id),
    system TEXT,
    organization TEXT,
    entities TEXT NOT NULL,
    tags TEXT NOT NULL,
    description TEXT,
    event_ids TEXT NOT NULL
);
CREATE INDEX alerts_incident_ts ON alerts (incident_id, ts);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    field TEXT,
    old_value TEXT,
    new_value TEXT,
    reason TEXT
);
CREATE INDEX audit_incident ON audit (incident_id, id);

CREATE TABLE checkpoints (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    path TEXT,
    line_number INTEGER,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL,
    received_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
"""

# The incident listing sorts by (last_seen, id) newest first; each filter of
# IncidentQuery gets an index that keeps that order, so no listing scans the table.
_V2_LISTING_INDEXES = """
CREATE INDEX incidents_last_seen ON incidents (last_seen DESC, id DESC);
CREATE INDEX incidents_first_seen ON incidents (first_seen);
CREATE INDEX incidents_status ON incidents (status, last_seen, id);
CREATE INDEX incidents_severity ON incidents (severity, last_seen, id);
CREATE INDEX incidents_system ON incidents (system, last_seen, id);
CREATE INDEX incidents_organization ON incidents (organization, last_seen, id);
"""

# Loss accounting: one row per source, incremented in the transaction of each batch.
_V3_SOURCE_COUNTERS = """
CREATE TABLE source_counters (
    source TEXT PRIMARY KEY,
    received INTEGER NOT NULL DEFAULT 0,
    parsed INTEGER NOT NULL DEFAULT 0,
    dead_lettered INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    aggregated INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0,
    late INTEGER NOT NULL DEFAULT 0,
    last_event TEXT,
    last_batch TEXT
);
"""

# Incident triage (issue 5): merges, response times for the stats, the change feed, free
# text, keys scoped to organizations, and an index for each new filter, sort and stat.
# change_seq numbers every visible change of an incident (the writer lock makes the
# numbers follow commit order, across processes), created_seq its creation: the stream
# polls `change_seq > cursor`. The text index reads the incidents' rowids: after a
# VACUUM (which may renumber them) run INSERT INTO incidents_text (incidents_text)
# VALUES ('rebuild').
_V4_INCIDENT_TRIAGE = """
ALTER TABLE incidents ADD COLUMN merged_into TEXT;
ALTER TABLE incidents ADD COLUMN acknowledge_seconds REAL;
ALTER TABLE incidents ADD COLUMN resolve_seconds REAL;
ALTER TABLE incidents ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN created_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN organizations TEXT NOT NULL DEFAULT '[]';

CREATE INDEX incidents_rule ON incidents (rule_id, last_seen, id);
CREATE INDEX incidents_entity ON incidents (entity_value, last_seen, id);
CREATE INDEX incidents_first_seen_id ON incidents (first_seen, id);
CREATE INDEX incidents_severity_rank ON incidents (severity_rank, last_seen, id);
CREATE INDEX incidents_alert_count ON incidents (alert_count, last_seen, id);
-- Covers the statistics' counts and means, over a time range or all incidents.
CREATE INDEX incidents_created ON incidents
    (created_at, organization, status, acknowledge_seconds, resolve_seconds);
CREATE INDEX incidents_change_seq ON incidents (change_seq);
CREATE INDEX incidents_source_address ON incidents (entity_field, entity_value);

CREATE TRIGGER incidents_change_created AFTER INSERT ON incidents BEGIN
    UPDATE incidents SET (change_seq, created_seq) = (
        SELECT n, n FROM (SELECT coalesce(max(change_seq), 0) + 1 AS n FROM incidents)
    ) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER incidents_change_updated AFTER UPDATE OF title, rule_title, severity, status,
    assignee, first_seen, last_seen, alert_count, merged_into ON incidents BEGIN
    UPDATE incidents SET change_seq = (SELECT max(change_seq) + 1 FROM incidents)
    WHERE rowid = NEW.rowid;
END;

CREATE VIRTUAL TABLE incidents_text USING fts5 (
    title, rule_title, entity_value, system, organization, assignee,
    content = 'incidents', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO incidents_text (incidents_text) VALUES ('rebuild');
CREATE TRIGGER incidents_text_inserted AFTER INSERT ON incidents BEGIN
    INSERT INTO incidents_text (rowid, title, rule_title, entity_value, system, organization,
        assignee)
    VALUES (NEW.rowid, NEW.title, NEW.rule_title, NEW.entity_value, NEW.system,
        NEW.organization, NEW.assignee);
END;
CREATE TRIGGER incidents_text_deleted AFTER DELETE ON incidents BEGIN
    INSERT INTO incidents_text (incidents_text, rowid, title, rule_title, entity_value, system,
        organization, assignee)
    VALUES ('delete', OLD.rowid, OLD.title, OLD.rule_title, OLD.entity_value, OLD.system,
        OLD.organization, OLD.assignee);
END;
CREATE TRIGGER incidents_text_updated AFTER UPDATE OF title, rule_title, entity_value, system,
    organization, assignee ON incidents BEGIN
    INSERT INTO incidents_text (incidents_text, rowid, title, rule_title, entity_value, system,
        organization, assignee)
    VALUES ('delete', OLD.rowid, OLD.title, OLD.rule_title, OLD.entity_value, OLD.system,
        OLD.organization, OLD.assignee);
    INSERT INTO incidents_text (rowid, title, rule_title, entity_value, system, organization,
        assignee)
    VALUES (NEW.rowid, NEW.title, NEW.rule_title, NEW.entity_value, NEW.system,
        NEW.organization, NEW.assignee);
END;
"""

# Issue 5's speed target at 100,000 incidents. The filter pairs the panel and the
# dashboard use get an index ending in the listing's order, so a page is read in order
# and the capped total counts on the index. The statistics read covering indexes in
# group order, with created_at and organization for a time range and a scope: the one
# grouped pass (severity, status, system, organization), the top rules and the top
# source addresses (whose index replaces the one without created_at).
_V5_LISTING_AND_STATS_INDEXES = """
CREATE INDEX incidents_status_severity ON incidents (status, severity, last_seen, id);
CREATE INDEX incidents_organization_system ON incidents (organization, system, last_seen, id);
CREATE INDEX incidents_stats ON incidents (severity, status, system, organization,
    created_at, acknowledge_seconds, resolve_seconds);
CREATE INDEX incidents_rule_created ON incidents (rule_id, created_at, organization);
DROP INDEX incidents_source_address;
CREATE INDEX incidents_source_address_created ON incidents
    (entity_field, entity_value, created_at, organization);
"""

MIGRATIONS: tuple[str, ...] = (
    _V1_TABLES,
    _V2_LISTING_INDEXES,
    _V3_SOURCE_COUNTERS,
    _V4_INCIDENT_TRIAGE,
    _V5_LISTING_AND_STATS_INDEXES,
)
"""Script i (from 0) takes a database from version i to version i + 1."""

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(connection: sqlite3.Connection) -> int:
    """The number of migrations the database has run (0 for a new file)."""
    row = connection.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(connection: sqlite3.Connection, location: str) -> None:
    """Bring the database up to `SCHEMA_VERSION`, all missing steps in one transaction.

    `connection` must be in autocommit mode (isolation_level=None). Raises StoreError
    for a database written by a newer canhgac, or when a step fails (nothing changes).
    """
    version = schema_version(connection)
    _refuse_newer(version, location)
    if version == SCHEMA_VERSION:
        return
    steps = [
        f"{MIGRATIONS[index]}\nPRAGMA user_version = {index + 1};"
        for index in range(version, SCHEMA_VERSION)
    ]
    script = "BEGIN IMMEDIATE;\n" + "\n".join(steps) + "\nCOMMIT;"
    try:
        connection.executescript(script)
    except sqlite3.Error as exc:
        if connection.in_transaction:
            connection.rollback()
        # Another process may have migrated the same file between our read and BEGIN.
        if schema_version(connection) == SCHEMA_VERSION:
            return
        raise StoreError(
            f"could not upgrade the database {location} from schema version {version} "
            f"to {SCHEMA_VERSION}: {exc}; nothing was changed. Check that the file is a "
            "canhgac database and that its folder is writable"
        ) from exc


def _refuse_newer(version: int, location: str) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the database {location} has schema version {version}, written by a newer "
            f"canhgac (this one knows versions up to {SCHEMA_VERSION}); upgrade canhgac "
            "to open it"
        )
