"""`ElasticsearchStore`: the `Store` on an Elasticsearch cluster (9.x).

Indices, all named `<prefix>-...` (default prefix `canhgac`):
- `events-YYYY.MM.DD`: one per UTC day of the event time, behind the alias `events`,
  created from an index template with explicit ECS mappings (see _elasticsearch_docs);
- `incidents` (with each incident's audit trail inside its document), `alerts`,
  `dead-letters`, `checkpoints`, `api-keys`.
Only the Query DSL and the plain document and index APIs are used: no scripts, no
update-by-query, no ILM, which a minimal cluster may not have.

What `write` guarantees, since Elasticsearch has no transactions:
- `write` appends the batch to a journal on local disk (`spool_dir`) and returns; a
  sender thread writes the journal to Elasticsearch in order, several batches per bulk
  request, and marks them done once everything in them is acknowledged. What is not done
  (Elasticsearch unreachable, the process killed) is sent when Elasticsearch is back, or
  by the next store opened on the same spool folder. The journal is fsync'ed before any
  part of a batch is sent (see _elasticsearch_spool for what a power cut may take).
- Sending a batch twice stores it once: events, alerts, incidents and dead letters have
  deterministic ids and are created only when absent; an incident growth carries a token
  of its batch, kept in the incident, so it adds to the counts once.
- Checkpoints are written last, after everything before them was acknowledged, so a
  collector never resumes past what is stored.
- A batch whose growths or alerts name an incident that is neither stored nor spooled is
  refused whole (StoreError) while Elasticsearch can be asked; nothing of it is written.
- While Elasticsearch is unreachable, `write` keeps accepting batches into the journal
  (up to `spool_max_bytes`, then StoreError). The ingest side's lookups then answer from
  what this process knows: event ids and incidents of the spooled batches, and the open
  incidents it saw last. Reads for the API raise StoreError (the API answers 503).
- While Elasticsearch keeps up, at most a few batches wait to be sent: `write` waits
  for room, which slows the collectors down (backpressure).
- Documents Elasticsearch rejects for good (a mapping changed by hand, a closed index)
  become dead letters (source "elasticsearch") holding the whole document: never dropped.
- Readers may see part of a batch while it is being sent (its incidents before its
  events, say); every part arrives.

Analysts' updates use optimistic concurrency (if_seq_no/if_primary_term): a change made
meanwhile by another analyst, or by a growth, makes the update re-read and apply on top
of it, so no update is lost, and each audit entry records the value it replaced.

Reads see this process's writes: a read of incidents (or dead letters) waits for the
spooled batches holding some (not while Elasticsearch is unreachable), events not sent
yet are read from the spool, and indices written since their last refresh are refreshed
first; an analyst's update is refreshed at once. Other processes see writes within the
index refresh interval (one second by default).
"""

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TlsError, TransportError
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    ConflictError,
    Elasticsearch,
    NotFoundError,
)
from elasticsearch.serializer import OrjsonSerializer

from canhgac.correlator import Alert, Severity
from canhgac.events import DeadLetter, Event
from canhgac.incidents import (
    OPEN_STATUSES,
    AuditEntry,
    GroupKey,
    Incident,
    IncidentRef,
    IncidentUpdate,
)
from canhgac.storage._elasticsearch_bulk import (
    EVENT_CHUNK_SIZE,
    BulkAction,
    BulkFailure,
    ElasticsearchUnavailableError,
    helper_sender,
    write_bulk,
)
from canhgac.storage._elasticsearch_docs import (
    INCIDENT_INTERNAL_FIELDS,
    INDEX_KINDS,
    SOURCE_COUNTER_FIELDS,
    alert_document,
    alert_from_document,
    api_key_document,
    api_key_from_document,
    audit_document,
    audit_from_document,
    check_prefix,
    checkpoint_document,
    checkpoint_from_document,
    dead_letter_document,
    dead_letter_from_document,
    event_from_document,
    event_index,
    event_index_day,
    event_json,
    events_alias,
    group_key_id,
    incident_document,
    incident_from_document,
    index_templates,
    kind_mappings,
    source_counters_from_document,
    source_counters_increment,
)
from canhgac.storage._elasticsearch_docs import searchable_field_name as searchable_name
from canhgac.storage._elasticsearch_spool import DEFAULT_MAX_BYTES, WriteSpool
from canhgac.storage._elasticsearch_triage import (
    listing_filters,
    listing_sort,
    scope_filter,
    stats_from_answer,
    stats_search,
)
from canhgac.storage._encoding import (
    encode_cursor,
    format_time,
    parse_time,
    sql_text,
)
from canhgac.storage._event_search import (
    CheckedEventQuery,
    check_event_query,
    es_event_filters,
    hit_key,
    wanted_hit,
)
from canhgac.storage._incident_changes import (
    ResponseTimes,
    apply_update,
    audit_entries,
    check_mergeable,
    comment_entry,
    merge_entries,
    merged,
    response_times,
)
from canhgac.storage._incident_listing import (
    decode_change_cursor,
    decode_page_cursor,
    encode_change_cursor,
    encode_page_cursor,
)
from canhgac.storage._model import (
    ApiKeyRecord,
    Checkpoint,
    EventQuery,
    IncidentChange,
    IncidentChanges,
    IncidentQuery,
    IncidentStats,
    OrganizationScope,
    Page,
    SourceCountersReport,
    StoreCounts,
    TotalRelation,
    WriteBatch,
)
from canhgac.storage._store import IncidentNotFoundError, StoreError

log = logging.getLogger(__name__)

_OPEN_STATUS_VALUES = [status.value for status in OPEN_STATUSES]
_MAX_RESULT_WINDOW = 10_000  # Elasticsearch's default index.max_result_window
_LOOKUP_CHUNK = 1_000  # ids or grouping keys per search
_BATCHES_PER_SEND = 48  # spooled batches the sender writes together
_GROWTH_TOKENS_KEPT = 96  # per incident: more than one send's batches, to know them again
_MAX_WAITING_BYTES = 32 * 1024 * 1024  # spooled, not being sent, before `write` waits
_MEMORY_BYTES = 96 * 1024 * 1024  # spooled batches kept in memory; others are read from disk
_CATCH_UP_SECONDS = 30.0  # how long a read waits for the batches accepted before it
_CLOSE_SECONDS = 60.0  # how long `close` waits for the spool to be sent
_CONFLICT_RETRIES = 20
_OUTAGE_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)  # between tries to reach Elasticsearch again
_UNREFRESHED_MAX = 200_000  # event ids remembered before their index is refreshed
_UNREFRESHED_SECONDS = 30.0
_KNOWN_REFS_MAX = 50_000
_COUNTED_BATCHES_KEPT = 96  # per source: more than one send's batches, to know them again
_PIT_KEEP_ALIVE = "2m"  # between two pages of an event search
_EVENT_KEYS_PAGE = 1000  # event times read per request of an event search


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _hosts(hosts: str | Sequence[str]) -> list[str]:
    listed = hosts.split(",") if isinstance(hosts, str) else list(hosts)
    cleaned = [host.strip() for host in listed if host.strip()]
    if not cleaned:
        raise StoreError("no Elasticsearch URL given; set CANHGAC_ES_URL=http://host:9200")
    return cleaned


@dataclass(frozen=True, slots=True)
class _Indices:
    """The index names of one prefix."""

    prefix: str

    @property
    def events(self) -> str:
        return events_alias(self.prefix)

    @property
    def incidents(self) -> str:
        return f"{self.prefix}-incidents"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}-dead-letters"

    @property
    def checkpoints(self) -> str:
        return f"{self.prefix}-checkpoints"

    @property
    def api_keys(self) -> str:
        return f"{self.prefix}-api-keys"

    @property
    def source_counters(self) -> str:
        return f"{self.prefix}-source-counters"


@dataclass(frozen=True, slots=True)
class _SpooledLookups:
    """What the ingest side must know of a spooled batch before Elasticsearch has it."""

    event_ids: tuple[str, ...]
    incident_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Growth:
    """One batch's growth of one incident; `token` names the batch and the incident."""

    token: str
    incident_id: str
    added: int
    last_seen: str
    severity: Severity
    at: str


class ElasticsearchStore:
    """The `Store` in Elasticsearch. Create it with `ElasticsearchStore.open(...)`.

    Thread-safe: one writer (the ingest pipeline) and any number of readers; a sender
    thread of its own writes the spooled batches to Elasticsearch.
    """

    def __init__(
        self,
        client: Elasticsearch,
        spool: WriteSpool,
        *,
        prefix: str,
        hosts: Sequence[str],
        retention_days: int | None,
        bulk_threads: int,
        clock: Callable[[], datetime],
    ) -> None:
        """Use `ElasticsearchStore.open`; this takes a client whose indices are set up."""
        self.prefix = prefix
        self.hosts = tuple(hosts)
        self.retention_days = retention_days
        self._client = client
        self._spool = spool
        self._clock = clock
        self._names = _Indices(prefix)
        self._send_events = helper_sender(client, threads=bulk_threads, chunk_size=EVENT_CHUNK_SIZE)
        self._send = helper_sender(client, threads=1, chunk_size=500)
        # _lock guards the spool, what is known of spooled batches, the outage state
        # and the open incidents seen; _changed tells of batches accepted or sent.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._closed = False
        self._stopping = False
        self._spooled: dict[int, _SpooledLookups] = {}
        self._records: dict[int, dict[str, Any]] = {}
        self._record_sizes: dict[int, int] = {}
        self._memory_bytes = 0
        self._sending_bytes = 0  # spooled bytes of the batches being sent
        self._spooled_event_ids: set[str] = set()
        self._spooled_event_docs: dict[str, bytes] = {}  # of the batches kept in memory
        self._spooled_incident_ids: set[str] = set()
        # The newest spooled checkpoint document of each name, with the seq of its batch.
        self._spooled_checkpoints: dict[str, tuple[int, dict[str, Any]]] = {}
        # The last spooled batch holding incidents (or growths, alerts), dead letters.
        self._last_seq_with: dict[str, int] = {}
        self._known_refs: dict[GroupKey, IncidentRef] = {}
        self._ref_keys: dict[str, GroupKey] = {}
        self._outage_failures = 0
        self._outage_logged = 0.0
        self._retry_at = 0.0
        self._lookups_retry_at = 0.0
        self._event_indices: set[str] = set()
        # _state_lock guards what readers must refresh before they search.
        self._state_lock = threading.Lock()
        self._last_order = 0
        self._dirty: set[str] = set()
        self._unrefreshed: set[str] = set()
        self._unrefreshed_since = 0.0
        self._sender = threading.Thread(
            target=self._send_spooled, name="canhgac-es-sender", daemon=True
        )

    @classmethod
    def open(
        cls,
        hosts: str | Sequence[str],
        *,
        spool_dir: Path,
        index_prefix: str = "canhgac",
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
        retention_days: int | None = None,
        replicas: int | None = None,
        event_shards: int = 1,
        bulk_threads: int = 4,
        request_timeout: float = 30.0,
        spool_max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], datetime] = _utc_now,
    ) -> Self:
        """Connect to the cluster at `hosts` (one URL, several separated by commas, or a
        list), install the index templates and indices if missing, and start sending
        whatever an earlier run left in `spool_dir`.

        Authentication: `api_key` (the encoded key, or "id:key"), or `username` and
        `password`; `ca_file` verifies an https cluster's certificate. `retention_days`:
        `maintain` deletes event indices older than that (None keeps them). `replicas`:
        None gives one replica when the cluster has a second node. Raises StoreError when
        the cluster cannot be reached or used, or the spool folder is in use.
        """
        check_prefix(index_prefix)
        if retention_days is not None and retention_days < 1:
            raise StoreError(f"retention_days must be at least 1, not {retention_days}")
        if (username is None) != (password is None):
            raise StoreError("give both the Elasticsearch user name and its password")
        urls = _hosts(hosts)
        tls: dict[str, Any] = {} if ca_file is None else {"ca_certs": str(ca_file)}
        client = Elasticsearch(
            urls,
            api_key=api_key,
            basic_auth=(username, password)
            if username is not None and password is not None
            else None,
            **tls,
            request_timeout=request_timeout,
            max_retries=3,
            retry_on_timeout=True,
            serializer=OrjsonSerializer(),
        )
        spool: WriteSpool | None = None
        try:
            with _translated(f"setting up Elasticsearch at {', '.join(urls)}"):
                _install(client, index_prefix, replicas=replicas, event_shards=event_shards)
            spool = WriteSpool.open(spool_dir, max_bytes=spool_max_bytes)
            store = cls(
                client,
                spool,
                prefix=index_prefix,
                hosts=urls,
                retention_days=retention_days,
                bulk_threads=bulk_threads,
                clock=clock,
            )
            store._recover_spool()
        except BaseException:
            if spool is not None:
                spool.close()
            client.close()
            raise
        store._sender.start()
        return store

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Refuse further calls, wait (up to a minute, unless Elasticsearch is down) for
        the spool to be sent, and close. What is still spooled is sent by the next store
        opened on the same spool_dir. Closing twice is fine."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wait_until_sent(_CLOSE_SECONDS)
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._sender.join()
        with self._lock:
            left = len(self._spool)
            self._spool.close()
        self._client.close()
        if left:
            log.warning(
                "%d batch(es) not yet in Elasticsearch stay in %s; the next start sends them",
                left,
                self._spool.folder,
            )

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until Elasticsearch has every batch accepted so far, however long it is
        unreachable, or until `timeout` seconds passed (then False: they stay spooled)."""
        self._check_open()
        return self._wait_until_sent(timeout, through_outage=True)

    @property
    def spooled_batches(self) -> int:
        """How many accepted batches Elasticsearch has not acknowledged yet."""
        with self._lock:
            return len(self._spool)

    # -- the spool and its sender ---------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(
                "the Elasticsearch store is closed; open it again with ElasticsearchStore.open"
            )

    def _recover_spool(self) -> None:
        pending = self._spool.pending
        for batch in pending:
            self._remember_spooled(batch.seq, self._spool.read(batch))
        if pending:
            log.info("%d batch(es) left spooled by an earlier run; sending them", len(pending))

    def _remember_spooled(
        self,
        seq: int,
        record: dict[str, Any],
        event_docs: Mapping[str, bytes] | None = None,
        size: int = 0,
    ) -> None:
        event_ids = tuple(entry[0] for entry in record["events"])
        incident_ids = tuple(document["id"] for document in record["incidents"])
        for name, document in record["checkpoints"]:
            self._spooled_checkpoints[name] = (seq, document)
        self._spooled[seq] = _SpooledLookups(event_ids, incident_ids)
        if record["incidents"] or record["growths"] or record["alerts"]:
            self._last_seq_with["incidents"] = seq
        if record["dead_letters"]:
            self._last_seq_with["dead-letters"] = seq
        self._spooled_event_ids.update(event_ids)
        self._spooled_incident_ids.update(incident_ids)
        if size and self._memory_bytes + size <= _MEMORY_BYTES:
            self._records[seq] = record
            self._record_sizes[seq] = size
            self._memory_bytes += size
            if event_docs:
                self._spooled_event_docs.update(event_docs)

    def _forget_spooled(self, seq: int) -> None:
        self._records.pop(seq, None)
        self._memory_bytes -= self._record_sizes.pop(seq, 0)
        lookups = self._spooled.pop(seq, None)
        if lookups is not None:
            self._spooled_event_ids.difference_update(lookups.event_ids)
            for event_id in lookups.event_ids:
                self._spooled_event_docs.pop(event_id, None)
            self._spooled_incident_ids.difference_update(lookups.incident_ids)
        for name, (written_by, _) in list(self._spooled_checkpoints.items()):
            if written_by <= seq:
                del self._spooled_checkpoints[name]

    def _wait_until_sent(
        self, timeout: float | None, *, through_outage: bool = False, upto: int | None = None
    ) -> bool:
        """Wait until the batches spooled so far (or up to `upto`) are sent; False when
        `timeout` passes, or at once while Elasticsearch is unreachable unless
        `through_outage`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            last = self._spool.newest_seq if upto is None else upto
            if last is None:
                return True
            while (oldest := self._spool.oldest_seq) is not None and oldest <= last:
                if self._stopping or (self._outage_failures and not through_outage):
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def _send_spooled(self) -> None:
        """The sender thread: write the spooled batches, oldest first, until closed."""
        while True:
            with self._changed:
                while not self._stopping and (not self._spool or time.monotonic() < self._retry_at):
                    waiting = self._retry_at - time.monotonic()
                    self._changed.wait(waiting if self._spool and waiting > 0 else None)
                if self._stopping:
                    return
                batches = self._spool.oldest(_BATCHES_PER_SEND)
                try:
                    records = [
                        self._records.get(batch.seq) or self._spool.read(batch) for batch in batches
                    ]
                except StoreError as exc:
                    log.error("cannot read the spool: %s", exc)
                    self._enter_outage(ElasticsearchUnavailableError(str(exc)))
                    continue
                # `write` fills the next send meanwhile: only what waits counts for room.
                self._sending_bytes = sum(batch.end - batch.offset for batch in batches)
            try:
                # On disk before Elasticsearch has any part of them (outside the lock:
                # `write` goes on meanwhile).
                self._spool.sync()
                self._apply(records)
            except ElasticsearchUnavailableError as exc:
                with self._changed:
                    self._sending_bytes = 0
                    self._enter_outage(exc)
                    self._changed.notify_all()
                continue
            except Exception:
                # A bug must not stop the sender for good: log it, wait, try again.
                log.exception("sending spooled batches to Elasticsearch failed")
                with self._changed:
                    self._sending_bytes = 0
                    self._enter_outage(ElasticsearchUnavailableError("an unexpected error"))
                    self._changed.notify_all()
                continue
            with self._changed:
                self._sending_bytes = 0
                try:
                    self._spool.mark_done(*batches)
                    for batch in batches:
                        self._forget_spooled(batch.seq)
                except StoreError as exc:
                    log.error("cannot update the spool: %s", exc)
                self._leave_outage()
                self._changed.notify_all()

    def _enter_outage(self, exc: ElasticsearchUnavailableError) -> None:
        """Back off before asking Elasticsearch again (call under _lock)."""
        self._outage_failures += 1
        now = time.monotonic()
        self._retry_at = now + _OUTAGE_DELAYS[min(self._outage_failures, len(_OUTAGE_DELAYS)) - 1]
        if self._outage_failures == 1 or now - self._outage_logged >= 60:
            self._outage_logged = now
            log.warning(
                "Elasticsearch does not answer (%s); %d batch(es) kept in %s until it does",
                exc,
                len(self._spool),
                self._spool.folder,
            )

    def _leave_outage(self) -> None:
        if self._outage_failures:
            log.warning("Elasticsearch answers again; spooled batches are being sent")
        self._outage_failures = 0
        self._retry_at = 0.0

    def _elasticsearch_due(self) -> bool:
        """Whether to ask Elasticsearch now: not while backing off after a failure."""
        now = time.monotonic()
        return now >= self._lookups_retry_at and (
            not self._outage_failures or now >= self._retry_at
        )

    # -- sending batches ------------------------------------------------------------------

    def _apply(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Write spooled batches, in order; raises ElasticsearchUnavailableError to try
        again later (writing a part twice stores it once)."""
        names = self._names
        rejected: list[BulkFailure] = []
        with _unavailable_on_error("sending spooled batches"):
            incidents = [
                BulkAction("create", names.incidents, document["id"], document)
                for record in records
                for document in record["incidents"]
            ]
            rejected += self._bulk(incidents, "incidents")
            letters = self._apply_growths(
                [
                    _Growth(
                        f"{record['id']}:{incident_id}",
                        incident_id,
                        added,
                        last_seen,
                        Severity(severity),
                        record["now"],
                    )
                    for record in records
                    for incident_id, added, last_seen, severity in record["growths"]
                ]
            )
            alerts = [
                BulkAction("create", names.alerts, document["id"], document)
                for record in records
                for document in record["alerts"]
            ]
            rejected += self._bulk(alerts, "alerts")
            letters += [
                BulkAction("create", names.dead_letters, letter_id, document)
                for record in records
                for letter_id, document in record["dead_letters"]
            ]
            events = [
                BulkAction("create", index, event_id, document)
                for record in records
                for event_id, index, document in record["events"]
            ]
            self._create_event_indices({action.index for action in events})
            refused_events = write_bulk(self._send_events, events).rejected
            rejected += refused_events
            letters += [self._rejection_letter(failure) for failure in rejected]
            unstorable = self._bulk(letters, "dead-letters")
            if unstorable:
                first = unstorable[0]
                raise StoreError(
                    f"Elasticsearch refused {len(unstorable)} dead letter(s) "
                    f"({first.status} {first.error}); the batches stay in the spool"
                )
            self._apply_source_counters(records)
            # Last: a collector resumes from here only once everything before is stored.
            latest = {
                name: document for record in records for name, document in record["checkpoints"]
            }
            unsaved = self._bulk(
                [
                    BulkAction("index", names.checkpoints, name, document)
                    for name, document in latest.items()
                ],
                "checkpoints",
            )
            if unsaved:
                raise StoreError(
                    f"Elasticsearch refused checkpoint {unsaved[0].action.id} "
                    f"({unsaved[0].status} {unsaved[0].error}); the batches stay in the spool"
                )
        refused = {failure.action.id for failure in refused_events}
        with self._state_lock:
            if not self._unrefreshed:
                self._unrefreshed_since = time.monotonic()
            self._unrefreshed.update(action.id for action in events if action.id not in refused)

    def _bulk(self, actions: Sequence[BulkAction], kind: str) -> list[BulkFailure]:
        if not actions:
            return []
        result = write_bulk(self._send, actions)
        with self._state_lock:
            self._dirty.add(kind)
        return result.rejected + result.conflicts

    def _dead_letter_action(self, letter: DeadLetter, *identity: str) -> BulkAction:
        """A dead letter of the store's own, with an id derived from what it is about."""
        letter_id = hashlib.blake2b("\x00".join(identity).encode(), digest_size=16).hexdigest()
        document = dead_letter_document(letter, self._orders(1)[0])
        return BulkAction("create", self._names.dead_letters, letter_id, document)

    def _rejection_letter(self, failure: BulkFailure) -> BulkAction:
        action = failure.action
        letter = DeadLetter(
            source="elasticsearch",
            reason=(
                f"Elasticsearch rejected document {action.id} for index {action.index}: "
                f"{failure.status} {failure.error}"
            ),
            raw=(
                action.source if isinstance(action.source, bytes) else orjson.dumps(action.source)
            ).decode("utf-8"),
            received_at=self._clock(),
        )
        return self._dead_letter_action(letter, "rejected", action.index, action.id)

    def _create_event_indices(self, indices: Iterable[str]) -> None:
        """Create the daily indices not seen yet (no write depends on auto-creation) and,
        once their primary shard has started, add them to the events alias."""
        with self._lock:
            missing = sorted(set(indices) - self._event_indices)
        for index in missing:
            try:
                self._client.indices.create(index=index, wait_for_active_shards="1")
            except ApiError as exc:
                if _error_type(exc) != "resource_already_exists_exception":
                    raise
                self._client.cluster.health(index=index, wait_for_active_shards="1", timeout="30s")
            self._client.indices.put_alias(index=index, name=self._names.events)
            with self._lock:
                self._event_indices.add(index)

    def _apply_growths(self, growths: Sequence[_Growth]) -> list[BulkAction]:
        """Add the growths to their incidents (read, then update if unchanged since), each
        once; a growth of an incident that is not stored becomes a dead letter."""
        by_incident: dict[str, list[_Growth]] = {}
        for growth in growths:
            by_incident.setdefault(growth.incident_id, []).append(growth)
        letters: list[BulkAction] = []
        pending = sorted(by_incident)
        for _ in range(_CONFLICT_RETRIES):
            if not pending:
                return letters
            found = self._client.mget(
                index=self._names.incidents,
                ids=pending,
                source_includes=["alert_count", "last_seen", "severity_rank", "growths"],
            )
            actions: list[BulkAction] = []
            for doc in found["docs"]:
                incident_id = doc["_id"]
                if not doc.get("found"):
                    letters += [self._missing_growth(g) for g in by_incident[incident_id]]
                    continue
                source = doc["_source"]
                tokens: list[str] = source.get("growths") or []
                new = [g for g in by_incident[incident_id] if g.token not in tokens]
                if not new:
                    continue  # sent before: these batches' growths are in already
                top = max((g.severity for g in new), key=lambda severity: severity.rank)
                update: dict[str, Any] = {
                    "alert_count": source["alert_count"] + sum(g.added for g in new),
                    "last_seen": max(source["last_seen"], *(g.last_seen for g in new)),
                    "updated_at": max(g.at for g in new),
                    "growths": [*tokens, *(g.token for g in new)][-_GROWTH_TOKENS_KEPT:],
                }
                if top.rank > source["severity_rank"]:
                    update["severity"] = top.value
                    update["severity_rank"] = top.rank
                actions.append(
                    BulkAction(
                        "update",
                        self._names.incidents,
                        incident_id,
                        update,
                        if_seq_no=doc["_seq_no"],
                        if_primary_term=doc["_primary_term"],
                    )
                )
            result = write_bulk(self._send, actions)
            with self._state_lock:
                self._dirty.add("incidents")
            for failure in result.rejected:
                letters += [self._missing_growth(g) for g in by_incident[failure.action.id]]
            pending = [failure.action.id for failure in result.conflicts]
        if pending:
            raise ElasticsearchUnavailableError(
                f"incidents {', '.join(pending)} kept changing while growing; trying later"
            )
        return letters

    def _missing_growth(self, growth: _Growth) -> BulkAction:
        letter = DeadLetter(
            source="elasticsearch",
            reason=f"growth of incident {growth.incident_id}, which is not stored",
            raw=orjson.dumps(
                {
                    "incident_id": growth.incident_id,
                    "added_alerts": growth.added,
                    "last_seen": growth.last_seen,
                    "severity": growth.severity.value,
                }
            ).decode("utf-8"),
            received_at=parse_time(growth.at),
        )
        return self._dead_letter_action(letter, "growth", growth.token)

    # -- ingest side ---------------------------------------------------------------------

    def known_event_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these event ids are stored, or spooled to be."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return set()
        with self._lock:
            self._check_open()
            known = {event_id for event_id in wanted if event_id in self._spooled_event_ids}
            due = self._elasticsearch_due()
        with self._state_lock:
            known.update(event_id for event_id in wanted if event_id in self._unrefreshed)
        if not due:
            return known
        try:
            self._settle_events(force=False)
            rest = [event_id for event_id in wanted if event_id not in known]
            known.update(self._stored_event_ids(rest))
        except ElasticsearchUnavailableError as exc:
            self._lookup_failed(exc)
        else:
            self._answered()
        return known

    def _answered(self) -> None:
        """Elasticsearch answered a lookup: lookups ask it again from now on."""
        with self._lock:
            self._lookups_retry_at = 0.0
            if self._outage_failures and not self._spool:
                self._leave_outage()

    def _lookup_failed(self, exc: ElasticsearchUnavailableError) -> None:
        """A lookup found Elasticsearch unavailable: answer from what this process knows
        for a second. (Only the sender's failures make reads stop waiting for it.)"""
        with self._lock:
            now = time.monotonic()
            self._lookups_retry_at = now + _OUTAGE_DELAYS[0]
            if now - self._outage_logged >= 60:
                self._outage_logged = now
                log.warning(
                    "Elasticsearch does not answer a lookup (%s); answering from the spool", exc
                )

    def _stored_event_ids(self, ids: Sequence[str]) -> set[str]:
        return self._stored_ids(self._names.events, ids, "looking up event ids")

    def _stored_ids(self, index: str, ids: Sequence[str], action: str) -> set[str]:
        """Which of these document ids `index` holds (as far as its last refresh shows)."""
        found: set[str] = set()
        with _translated(action, self.hosts):
            for start in range(0, len(ids), _LOOKUP_CHUNK):
                chunk = ids[start : start + _LOOKUP_CHUNK]
                response = self._client.search(
                    index=index,
                    query={"ids": {"values": chunk}},
                    size=len(chunk),
                    source=False,
                    track_total_hits=False,  # only the hits are read: no count to make
                    ignore_unavailable=True,
                    allow_no_indices=True,
                    filter_path="hits.hits._id",
                )
                found.update(hit["_id"] for hit in response.get("hits", {}).get("hits", []))
        return found

    def open_incidents(
        self, keys: Iterable[GroupKey], since: datetime
    ) -> dict[GroupKey, IncidentRef]:
        """For each key, the most recent open incident with an open window and
        last_seen >= since, if any."""
        since_text = format_time(since)
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        self._check_open()
        with self._lock:
            due = self._elasticsearch_due()
        # The spooled batches may create or grow the incidents asked for.
        if due and self._catch_up("incidents"):
            try:
                found = self._search_open_incidents(unique, since_text)
            except ElasticsearchUnavailableError as exc:
                self._lookup_failed(exc)
            else:
                self._answered()
                with self._lock:
                    for key in unique:
                        ref = found.get(key)
                        if ref is None:
                            self._known_refs.pop(key, None)
                        else:
                            self._remember_ref(key, ref)
                return found
        with self._lock:
            return {
                key: ref
                for key in unique
                if (ref := self._known_refs.get(key)) is not None and ref.last_seen >= since
            }

    def _search_open_incidents(
        self, keys: Sequence[GroupKey], since_text: str
    ) -> dict[GroupKey, IncidentRef]:
        self._make_visible("incidents")
        found: dict[GroupKey, IncidentRef] = {}
        with _translated("looking up open incidents", self.hosts):
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = {group_key_id(key): key for key in keys[start : start + _LOOKUP_CHUNK]}
                response = self._client.search(
                    index=self._names.incidents,
                    query={
                        "bool": {
                            "filter": [
                                {"terms": {"group_key": list(chunk)}},
                                {"terms": {"status": _OPEN_STATUS_VALUES}},
                                {"term": {"window_closed": False}},
                                {"range": {"last_seen": {"gte": since_text}}},
                            ]
                        }
                    },
                    collapse={"field": "group_key"},
                    sort=[{"last_seen": "desc"}, {"id": "desc"}],
                    size=len(chunk),
                    source_includes=["id", "last_seen", "severity", "group_key"],
                )
                for hit in response["hits"]["hits"]:
                    source = hit["_source"]
                    key = chunk[source["group_key"]]
                    found[key] = IncidentRef(
                        source["id"], parse_time(source["last_seen"]), Severity(source["severity"])
                    )
        return found

    def _remember_ref(self, key: GroupKey, ref: IncidentRef) -> None:
        """Note an open incident, for lookups while Elasticsearch is down (under _lock)."""
        self._known_refs[key] = ref
        self._ref_keys[ref.id] = key
        if len(self._known_refs) > _KNOWN_REFS_MAX:
            # Keep the most recently seen half: the others' windows are long closed.
            newest = sorted(self._known_refs.items(), key=lambda item: item[1].last_seen)
            for old_key, old_ref in newest[: len(newest) // 2]:
                del self._known_refs[old_key]
                self._ref_keys.pop(old_ref.id, None)

    def write(self, batch: WriteBatch) -> None:
        """Accept the batch: journal it on disk; the sender writes it to Elasticsearch.

        Events, alerts and new incidents whose ids are stored already are skipped;
        growths add to the stored incident. A batch naming incidents that are neither
        stored nor spooled is refused whole (StoreError). While Elasticsearch is
        unreachable the batch stays spooled and is sent when it is back; see the module's
        documentation for what is guaranteed.
        """
        record, kept, event_docs = self._record_of(batch, self._clock())
        if not any(record[part] for part in _RECORD_PARTS):
            return
        with self._lock:
            self._check_open()
            due = self._elasticsearch_due()
            spooled_incidents = set(self._spooled_incident_ids)
        if due:
            try:
                self._refuse_unknown_incidents(batch, spooled_incidents)
            except ElasticsearchUnavailableError as exc:
                # Not checked, then: a growth of an incident not stored is dead-lettered.
                self._lookup_failed(exc)
        with self._changed:
            # Backpressure: while Elasticsearch keeps up, only a few batches wait for it.
            while (
                self._spool.size - self._sending_bytes >= _MAX_WAITING_BYTES
                and not self._outage_failures
                and not self._closed
            ):
                if not self._sender.is_alive():
                    raise StoreError(
                        "the Elasticsearch store's sender has stopped; close the store and "
                        "open it again (its spool is kept)"
                    )
                self._changed.wait(1.0)
            self._check_open()
            spooled = self._spool.append(record)
            self._remember_spooled(spooled.seq, kept, event_docs, spooled.end - spooled.offset)
            self._remember_batch_refs(batch)
            self._changed.notify_all()

    def _record_of(
        self, batch: WriteBatch, now: datetime
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, bytes]]:
        """The spooled form of a batch (every document ready to send, with its id), the
        same with its events' documents as JSON bytes (kept in memory to send: the bulk
        helper sends bytes as they are), and its events' documents by id."""
        batch_id = uuid.uuid4().hex
        orders = self._orders(len(batch.dead_letters))
        # Serialized once, for the spool, for Elasticsearch and for reads meanwhile.
        event_docs = {event.id: event_json(event) for event in batch.events}
        events = [
            [event.id, event_index(self.prefix, event.timestamp), event_docs[event.id]]
            for event in batch.events
        ]
        record = {
            "id": batch_id,
            "now": format_time(now),
            "incidents": [incident_document(incident) for incident in batch.new_incidents],
            "growths": [
                [g.incident_id, g.added_alerts, format_time(g.last_seen), g.severity.value]
                for g in batch.incident_growths
            ],
            "alerts": [
                alert_document(alert, batch.alert_incidents.get(alert.id)) for alert in batch.alerts
            ],
            "dead_letters": [
                [f"{batch_id}-{n}", dead_letter_document(letter, order)]
                for n, (letter, order) in enumerate(zip(batch.dead_letters, orders, strict=True))
            ],
            "events": [[event_id, index, orjson.Fragment(doc)] for event_id, index, doc in events],
            "checkpoints": [
                [checkpoint.name, checkpoint_document(checkpoint, now)]
                for checkpoint in batch.checkpoints
            ],
            "source_counters": [
                source_counters_increment(counters) for counters in batch.source_counters
            ],
        }
        return record, {**record, "events": events}, event_docs

    def _orders(self, count: int) -> list[int]:
        """Increasing numbers that sort dead letters by arrival, here and across restarts."""
        with self._state_lock:
            first = max(self._last_order + 1, time.time_ns() // 1000)
            self._last_order = first + count - 1
        return list(range(first, first + count))

    def _refuse_unknown_incidents(self, batch: WriteBatch, spooled: set[str]) -> None:
        new = {incident.id for incident in batch.new_incidents} | spooled
        grown = {growth.incident_id for growth in batch.incident_growths} - new
        joined = set(batch.alert_incidents.values()) - new
        wanted = sorted(grown | joined)
        if not wanted:
            return
        with _translated("checking the batch's incidents", self.hosts):
            response = self._client.mget(index=self._names.incidents, ids=wanted, source=False)
        stored = {doc["_id"] for doc in response["docs"] if doc.get("found")}
        if missing := sorted(grown - stored):
            raise StoreError(
                f"the batch grows incidents that are not stored ({', '.join(missing)}); "
                "nothing was written. An incident must be written (new_incidents) before "
                "it can grow"
            )
        if missing := sorted(joined - stored):
            raise StoreError(
                f"the batch's alerts join incidents that are not stored "
                f"({', '.join(missing)}); nothing was written"
            )

    def _remember_batch_refs(self, batch: WriteBatch) -> None:
        for incident in batch.new_incidents:
            if incident.status.is_open:
                self._remember_ref(
                    incident.group_key,
                    IncidentRef(incident.id, incident.last_seen, incident.severity),
                )
        for growth in batch.incident_growths:
            key = self._ref_keys.get(growth.incident_id)
            ref = self._known_refs.get(key) if key is not None else None
            if key is not None and ref is not None and ref.id == growth.incident_id:
                self._known_refs[key] = IncidentRef(
                    ref.id,
                    max(ref.last_seen, growth.last_seen),
                    max(ref.severity, growth.severity, key=lambda s: s.rank),
                )

    def checkpoint(self, name: str) -> Checkpoint | None:
        """The collector position last accepted under `name`, or None."""
        with self._lock:
            self._check_open()
            spooled = self._spooled_checkpoints.get(name)
            if spooled is not None:
                return checkpoint_from_document(name, spooled[1])
        with _translated("reading a checkpoint", self.hosts):
            try:
                response = self._client.get(index=self._names.checkpoints, id=name)
            except NotFoundError:
                return None
        return checkpoint_from_document(name, response["_source"])

    def close_incident_windows(self, before: datetime) -> int:
        """Stop grouping into incidents last seen before `before`; returns how many."""
        before_text = format_time(before)
        self._check_open()
        if not self._catch_up("incidents"):
            raise ElasticsearchUnavailableError(
                "incident windows are closed once Elasticsearch has every spooled batch; "
                "it has not got them yet"
            )
        closed = 0
        with _translated("closing incident windows", self.hosts):
            for _ in range(_CONFLICT_RETRIES):
                self._client.indices.refresh(index=self._names.incidents)
                response = self._client.search(
                    index=self._names.incidents,
                    query={
                        "bool": {
                            "filter": [
                                {"term": {"window_closed": False}},
                                {"range": {"last_seen": {"lt": before_text}}},
                            ]
                        }
                    },
                    size=_LOOKUP_CHUNK,
                    seq_no_primary_term=True,
                    source=False,
                )
                hits = response["hits"]["hits"]
                if not hits:
                    break
                actions = [
                    BulkAction(
                        "update",
                        self._names.incidents,
                        hit["_id"],
                        {"window_closed": True},
                        if_seq_no=hit["_seq_no"],
                        if_primary_term=hit["_primary_term"],
                    )
                    for hit in hits
                ]
                # A conflict is an incident grown meanwhile: the next search decides.
                result = write_bulk(self._send, actions)
                closed += len(actions) - len(result.conflicts) - len(result.rejected)
        with self._state_lock:
            self._dirty.add("incidents")
        with self._lock:
            for key, ref in list(self._known_refs.items()):
                if ref.last_seen < before:
                    del self._known_refs[key]
                    self._ref_keys.pop(ref.id, None)
        return closed

    def maintain(self) -> None:
        """Check that Elasticsearch has every spooled batch, make recent events
        searchable, and delete the event indices older than `retention_days`."""
        self._check_open()
        if not self._wait_until_sent(_CATCH_UP_SECONDS):
            with self._lock:
                waiting = len(self._spool)
            raise ElasticsearchUnavailableError(
                f"Elasticsearch at {', '.join(self.hosts)} has not taken {waiting} spooled "
                "batch(es) yet; they are sent when it does"
            )
        self._settle_events(force=True)
        if self.retention_days is not None:
            self.delete_expired_event_indices()

    def delete_expired_event_indices(self, now: datetime | None = None) -> list[str]:
        """Delete the daily event indices whose whole day is more than `retention_days`
        before `now` (default: the clock); returns their names."""
        self._check_open()
        if self.retention_days is None:
            return []
        moment = (now or self._clock()).astimezone(UTC)
        today = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        cutoff = today - timedelta(days=self.retention_days)
        with _translated("deleting expired event indices", self.hosts):
            response = self._client.indices.resolve_index(
                name=f"{self.prefix}-events-*", expand_wildcards="all"
            )
            names = [entry["name"] for entry in response["indices"]]
            expired = sorted(
                name
                for name in names
                if (day := event_index_day(self.prefix, name)) is not None and day < cutoff
            )
            for start in range(0, len(expired), 50):
                self._client.indices.delete(index=",".join(expired[start : start + 50]))
        with self._lock:
            self._event_indices.difference_update(expired)
        if expired:
            log.info("retention: deleted %d event index(es): %s", len(expired), ", ".join(expired))
        return expired

    # -- visibility -----------------------------------------------------------------------

    def _catch_up(self, kind: str | None = None) -> bool:
        """Let a read see the batches accepted before it: wait (a while, and not while
        Elasticsearch is unreachable) until they are sent; with `kind`, only until the
        last one holding documents of that kind is (a batch of events alone does not
        hold up a read of incidents)."""
        upto = None
        if kind is not None:
            with self._lock:
                upto = self._last_seq_with.get(kind)
            if upto is None:
                return True
        return self._wait_until_sent(_CATCH_UP_SECONDS, upto=upto)

    def _make_visible(self, kind: str) -> None:
        """Refresh the index of `kind` if this process wrote to it since its last refresh."""
        with self._state_lock:
            if kind not in self._dirty:
                return
            self._dirty.discard(kind)
        try:
            with _translated(f"refreshing the {kind} index", self.hosts):
                self._client.indices.refresh(index=f"{self.prefix}-{kind}")
        except StoreError:
            with self._state_lock:
                self._dirty.add(kind)
            raise

    def _settle_events(self, *, force: bool) -> None:
        """Refresh the event indices when events written here may not be searchable yet
        (always with `force`; else once enough of them piled up)."""
        with self._state_lock:
            if not self._unrefreshed:
                return
            age = time.monotonic() - self._unrefreshed_since
            if (
                not force
                and len(self._unrefreshed) < _UNREFRESHED_MAX
                and age < _UNREFRESHED_SECONDS
            ):
                return
            # Kept until the refresh is done: meanwhile they are not searchable yet.
            written = set(self._unrefreshed)
        with _translated("refreshing the event indices", self.hosts):
            self._client.indices.refresh(
                index=self._names.events, ignore_unavailable=True, allow_no_indices=True
            )
        with self._state_lock:
            self._unrefreshed -= written
            if self._unrefreshed:
                self._unrefreshed_since = time.monotonic()

    # -- read side -----------------------------------------------------------------------

    def list_incidents(self, query: IncidentQuery) -> Page[Incident]:
        """One page of incidents matching `query`, newest last_seen first; `total`
        counts the matches exactly up to `query.total_cap` (see Page). Raises
        InvalidCursorError for a cursor not taken from a page.
        """
        if query.limit < 1:
            raise StoreError(f"the page size must be at least 1, not {query.limit}")
        if query.total_cap < 0:
            raise StoreError(f"the total's cap must be 0 or more, not {query.total_cap}")
        if query.limit >= _MAX_RESULT_WINDOW:
            raise StoreError(f"the page size must be below {_MAX_RESULT_WINDOW}, not {query.limit}")
        after = decode_page_cursor(query.cursor, query.sort) if query.cursor is not None else None
        filters = listing_filters(query)
        self._check_open()
        self._catch_up("incidents")
        self._make_visible("incidents")
        with _translated("listing incidents", self.hosts):
            response = self._client.search(
                index=self._names.incidents,
                query={"bool": {"filter": filters}},
                sort=listing_sort(query),
                search_after=list(after) if after is not None else None,
                size=query.limit + 1,
                # Counted exactly up to the cap; past it ES answers the cap with "gte".
                track_total_hits=query.total_cap,
                source_excludes=list(INCIDENT_INTERNAL_FIELDS),
            )
        hits = response["hits"]["hits"]
        items = [incident_from_document(hit["_source"]) for hit in hits[: query.limit]]
        next_cursor = None
        if len(hits) > query.limit:
            next_cursor = encode_page_cursor(items[-1], query.sort)
        total = response["hits"]["total"]
        relation: TotalRelation = "gte" if total["relation"] == "gte" else "eq"
        return Page(items, int(total["value"]), next_cursor, total_relation=relation)

    def get_incident(self, incident_id: str) -> Incident | None:
        self._check_open()
        self._catch_up("incidents")
        with _translated("reading an incident", self.hosts):
            try:
                response = self._client.get(
                    index=self._names.incidents,
                    id=incident_id,
                    source_excludes=list(INCIDENT_INTERNAL_FIELDS),
                )
            except NotFoundError:
                return None
        return incident_from_document(response["_source"])

    def incident_alerts(self, incident_id: str, limit: int = 500) -> list[Alert]:
        """The incident's alerts, oldest first, at most `limit` (and at most 10000)."""
        self._check_open()
        self._catch_up("incidents")
        self._make_visible("alerts")
        with _translated("reading an incident's alerts", self.hosts):
            response = self._client.search(
                index=self._names.alerts,
                query={"bool": {"filter": [{"term": {"incident_id": incident_id}}]}},
                sort=[{"ts": "asc"}, {"id": "asc"}],
                size=max(0, min(limit, _MAX_RESULT_WINDOW)),
            )
        return [alert_from_document(hit["_source"]) for hit in response["hits"]["hits"]]

    def get_events(self, event_ids: Sequence[str]) -> list[Event]:
        """The stored events with these ids, in the order given; unknown ids are skipped.
        Events of batches not sent yet are read from the spool."""
        self._check_open()
        wanted = list(dict.fromkeys(event_ids))
        if not wanted:
            return []
        with self._lock:
            spooled = {
                i: self._spooled_event_docs[i] for i in wanted if i in self._spooled_event_docs
            }
        found = {i: event_from_document(i, orjson.loads(doc)) for i, doc in spooled.items()}
        rest = [event_id for event_id in wanted if event_id not in found]
        if not rest:
            return [found[event_id] for event_id in event_ids]
        with self._state_lock:
            recent = any(event_id in self._unrefreshed for event_id in rest)
        if recent:
            self._settle_events(force=True)
        with _translated("reading events", self.hosts):
            for start in range(0, len(rest), _LOOKUP_CHUNK):
                chunk = rest[start : start + _LOOKUP_CHUNK]
                response = self._client.search(
                    index=self._names.events,
                    query={"ids": {"values": chunk}},
                    size=len(chunk),
                    ignore_unavailable=True,
                    allow_no_indices=True,
                )
                for hit in response["hits"]["hits"]:
                    found[hit["_id"]] = event_from_document(hit["_id"], hit["_source"])
        return [found[event_id] for event_id in event_ids if event_id in found]

    def incident_history(self, incident_id: str) -> list[AuditEntry]:
        """The incident's audit trail, oldest first (empty for an unknown id)."""
        self._check_open()
        self._catch_up("incidents")
        with _translated("reading an incident's history", self.hosts):
            try:
                response = self._client.get(
                    index=self._names.incidents, id=incident_id, source_includes=["history"]
                )
            except NotFoundError:
                return []
        history = response["_source"].get("history") or []
        return [audit_from_document(incident_id, entry) for entry in history]

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The most recently written dead letters first."""
        self._check_open()
        self._catch_up("dead-letters")
        self._make_visible("dead-letters")
        with _translated("reading dead letters", self.hosts):
            response = self._client.search(
                index=self._names.dead_letters,
                sort=[{"order": "desc"}],
                size=max(0, min(limit, _MAX_RESULT_WINDOW)),
            )
        return [dead_letter_from_document(hit["_source"]) for hit in response["hits"]["hits"]]

    def ping(self) -> None:
        """Ask the cluster for its health: it answers, and is not red."""
        self._check_open()
        with _translated("checking the store", self.hosts):
            health = self._client.cluster.health()
        if health["status"] == "red":
            raise StoreError(
                f"Elasticsearch at {', '.join(self.hosts)} is red: some primary shards are "
                "unassigned; see GET _cluster/health and _cluster/allocation/explain"
            )

    def counts(self) -> StoreCounts:
        self._check_open()
        self._catch_up()
        self._settle_events(force=True)
        for kind in ("incidents", "alerts", "dead-letters"):
            self._make_visible(kind)
        names = self._names
        searches: list[dict[str, Any]] = []
        for index, query in (
            (names.events, {"match_all": {}}),
            (names.alerts, {"match_all": {}}),
            (names.incidents, {"match_all": {}}),
            (names.incidents, {"terms": {"status": _OPEN_STATUS_VALUES}}),
            (names.dead_letters, {"match_all": {}}),
        ):
            searches.append({"index": index, "ignore_unavailable": True, "allow_no_indices": True})
            searches.append({"query": query, "size": 0, "track_total_hits": True})
        with _translated("counting", self.hosts):
            response = self._client.msearch(searches=searches)
        totals: list[int] = []
        for answer in response["responses"]:
            if "error" in answer:
                raise StoreError(f"counting failed: Elasticsearch answered {answer['error']}")
            totals.append(answer["hits"]["total"]["value"])
        return StoreCounts(*totals)

    # -- loss accounting: a document per source, added to with each batch -----------------

    def _apply_source_counters(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Add the batches' increments to their sources' documents (read, then write if
        unchanged since), each batch once: the document keeps the ids of the last ones."""
        by_id: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        names: dict[str, str] = {}
        # Spooled by an earlier version, a record may have no counters.
        for record in records:
            for n, increment in enumerate(record.get("source_counters", ())):
                document_id = _source_document_id(increment["source"])
                names[document_id] = increment["source"]
                # The token names the batch and the increment's place in it.
                by_id.setdefault(document_id, []).append((f"{record['id']}:{n}", increment))
        index = self._names.source_counters
        pending = sorted(by_id)
        for _ in range(_CONFLICT_RETRIES):
            if not pending:
                return
            found = self._client.mget(index=index, ids=pending)["docs"]
            missing = [doc["_id"] for doc in found if not doc.get("found")]
            if missing:
                # Created empty first ("exists" is fine): the additions below are then
                # conditional writes, which a concurrent writer cannot make us lose.
                empty = [
                    BulkAction("create", index, document_id, {"source": names[document_id]})
                    for document_id in missing
                ]
                self._refuse_counter_failures(write_bulk(self._send, empty).rejected)
                continue
            actions = [
                action
                for doc in found
                if (action := self._counters_action(index, doc, by_id[doc["_id"]])) is not None
            ]
            result = write_bulk(self._send, actions)
            with self._state_lock:
                self._dirty.add("source-counters")
            self._refuse_counter_failures(result.rejected)
            pending = [failure.action.id for failure in result.conflicts]
        if pending:
            raise ElasticsearchUnavailableError(
                "source counters kept changing while being added to; trying later"
            )

    @staticmethod
    def _counters_action(
        index: str, doc: Mapping[str, Any], increments: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> BulkAction | None:
        stored = doc["_source"]
        counted: list[str] = stored.get("batches") or []
        seen = set(counted)
        new: list[Mapping[str, Any]] = []
        tokens: list[str] = []
        for token, increment in increments:
            if token not in seen:  # else sent before: that batch is counted already
                seen.add(token)
                new.append(increment)
                tokens.append(token)
        if not new:
            return None
        document = {"source": stored["source"]}
        for name in SOURCE_COUNTER_FIELDS:
            document[name] = int(stored.get(name) or 0) + sum(int(i[name]) for i in new)
        for name in ("last_event", "last_batch"):
            times = [t for t in (stored.get(name), *(i[name] for i in new)) if t is not None]
            document[name] = max(times, default=None)
        document["batches"] = [*counted, *tokens][-_COUNTED_BATCHES_KEPT:]
        return BulkAction(
            "index",
            index,
            doc["_id"],
            document,
            if_seq_no=doc["_seq_no"],
            if_primary_term=doc["_primary_term"],
        )

    @staticmethod
    def _refuse_counter_failures(rejected: Sequence[BulkFailure]) -> None:
        if rejected:
            first = rejected[0]
            raise StoreError(
                f"Elasticsearch refused the source counters {first.action.id} "
                f"({first.status} {first.error}); the batches stay in the spool"
            )

    def source_counters(self) -> SourceCountersReport:
        """Every source's counters, by source name, with their totals."""
        self._check_open()
        self._catch_up()
        self._make_visible("source-counters")
        with _translated("reading the source counters", self.hosts):
            response = self._client.search(
                index=self._names.source_counters,
                query={"match_all": {}},
                size=_MAX_RESULT_WINDOW,
            )
        return SourceCountersReport.of(
            source_counters_from_document(hit["_source"]) for hit in response["hits"]["hits"]
        )

    # -- analyst actions ---------------------------------------------------------------

    def update_incident(self, incident_id: str, update: IncidentUpdate, actor: str) -> Incident:
        """Apply an analyst's change and record one audit entry per changed field, in one
        document write; a change to what is already there writes nothing.

        If the incident changed since it was read (another analyst, a growth), it is read
        again and the change applied on top: no update is lost. Raises
        IncidentNotFoundError for an unknown id.
        """
        if update.clear_assignee and update.assignee is not None:
            raise StoreError(
                "an update either assigns the incident or clears the assignee, not both"
            )
        self._check_open()
        self._catch_up("incidents")
        for _ in range(_CONFLICT_RETRIES):
            now = self._clock()
            with _translated("updating an incident", self.hosts):
                try:
                    response = self._client.get(index=self._names.incidents, id=incident_id)
                except NotFoundError:
                    raise IncidentNotFoundError(
                        f"there is no incident {incident_id!r}; list incidents to find its id"
                    ) from None
                source = response["_source"]
                current = incident_from_document(source)
                changed = apply_update(current, update, now)
                entries = audit_entries(current, changed, actor, update.reason)
                if not entries:
                    return current
                history = [*(source.get("history") or []), *map(audit_document, entries)]
                stored = ResponseTimes(
                    source.get("acknowledge_seconds"), source.get("resolve_seconds")
                )
                times = response_times(stored, current, changed, now)
                try:
                    self._client.update(
                        index=self._names.incidents,
                        id=incident_id,
                        doc={
                            "status": changed.status.value,
                            "assignee": sql_text(changed.assignee),
                            "severity": changed.severity.value,
                            "severity_rank": changed.severity.rank,
                            "acknowledge_seconds": times.acknowledge,
                            "resolve_seconds": times.resolve,
                            "updated_at": format_time(now),
                            "history": history,
                        },
                        if_seq_no=response["_seq_no"],
                        if_primary_term=response["_primary_term"],
                        # Analysts' changes are rare: make each visible to every reader now.
                        refresh=True,
                    )
                except ConflictError:
                    continue
            if not changed.status.is_open:
                with self._lock:
                    key = self._ref_keys.pop(incident_id, None)
                    if key is not None:
                        self._known_refs.pop(key, None)
            return changed
        raise StoreError(
            f"incident {incident_id!r} kept changing while it was being updated; try again"
        )

    # -- incident triage ---------------------------------------------------------------

    def _read_incident(self, incident_id: str, action: str) -> dict[str, Any]:
        """The incident's stored document with its _seq_no and _primary_term, or
        IncidentNotFoundError."""
        with _translated(action, self.hosts):
            try:
                response = self._client.get(index=self._names.incidents, id=incident_id)
            except NotFoundError:
                raise IncidentNotFoundError(
                    f"there is no incident {incident_id!r}; list incidents to find its id"
                ) from None
        return dict(response)

    def _rewrite_incident(self, read: Mapping[str, Any], doc: Mapping[str, Any]) -> bool:
        """Update the incident as read, if unchanged since (False: read it again)."""
        try:
            self._client.update(
                index=self._names.incidents,
                id=read["_id"],
                doc=dict(doc),
                if_seq_no=read["_seq_no"],
                if_primary_term=read["_primary_term"],
                refresh=True,
            )
        except ConflictError:
            return False
        return True

    def add_comment(self, incident_id: str, text: str, actor: str) -> AuditEntry:
        """Add a comment to the incident's audit trail. Raises IncidentNotFoundError."""
        entry = comment_entry(incident_id, text, actor, self._clock())
        self._check_open()
        self._catch_up("incidents")
        for _ in range(_CONFLICT_RETRIES):
            read = self._read_incident(incident_id, "commenting an incident")
            history = [*(read["_source"].get("history") or []), audit_document(entry)]
            with _translated("commenting an incident", self.hosts):
                if self._rewrite_incident(read, {"history": history}):
                    return entry
        raise StoreError(f"incident {incident_id!r} kept changing while commenting; try again")

    def merge_incidents(
        self, target_id: str, source_id: str, actor: str, reason: str | None
    ) -> Incident:
        """Merge the source into the target (see Store). Without transactions, in an
        order that a failure midway can only leave the source merged with some of its
        alerts moved (merging again is refused; the audit trail says what was done):
        the source is marked merged, its alerts move, then the target grows."""
        self._check_open()
        self._catch_up("incidents")
        now = self._clock()
        action = "merging incidents"
        for attempt in range(_CONFLICT_RETRIES + 1):
            if attempt == _CONFLICT_RETRIES:
                raise StoreError(f"incident {source_id!r} kept changing while merging; try again")
            target = incident_from_document(self._read_incident(target_id, action)["_source"])
            read = self._read_incident(source_id, action)
            source = incident_from_document(read["_source"])
            check_mergeable(target, source)
            _, folded = merged(target, source, now)
            into_target, into_source = merge_entries(target, source, actor, reason, now)
            history = [*(read["_source"].get("history") or []), *map(audit_document, into_source)]
            doc = {
                "status": folded.status.value,
                "merged_into": folded.merged_into,
                "window_closed": True,
                "updated_at": format_time(now),
                "history": history,
            }
            with _translated(action, self.hosts):
                if self._rewrite_incident(read, doc):
                    break
        with self._lock:
            key = self._ref_keys.pop(source_id, None)
            if key is not None:
                self._known_refs.pop(key, None)
        self._move_alerts(source_id, target_id)
        for _ in range(_CONFLICT_RETRIES):
            read = self._read_incident(target_id, action)
            grown, _ = merged(incident_from_document(read["_source"]), source, now)
            history = [*(read["_source"].get("history") or []), *map(audit_document, into_target)]
            grown_doc: dict[str, Any] = {
                "alert_count": grown.alert_count,
                "first_seen": format_time(grown.first_seen),
                "last_seen": format_time(grown.last_seen),
                "severity": grown.severity.value,
                "severity_rank": grown.severity.rank,
                "updated_at": format_time(now),
                "history": history,
            }
            with _translated(action, self.hosts):
                if self._rewrite_incident(read, grown_doc):
                    return grown
        raise StoreError(f"incident {target_id!r} kept changing while merging; try again")

    def _move_alerts(self, source_id: str, target_id: str) -> None:
        """Point the alerts of `source_id` to `target_id`, page by page."""
        index = self._names.alerts
        with _translated("moving alerts", self.hosts):
            while True:
                self._client.indices.refresh(index=index)
                response = self._client.search(
                    index=index,
                    query={"bool": {"filter": [{"term": {"incident_id": source_id}}]}},
                    size=_LOOKUP_CHUNK,
                    source=False,
                )
                hits = response["hits"]["hits"]
                if not hits:
                    return
                actions = [
                    BulkAction("update", index, hit["_id"], {"incident_id": target_id})
                    for hit in hits
                ]
                refused = write_bulk(self._send, actions).rejected
                if refused:
                    first = refused[0]
                    raise StoreError(
                        f"Elasticsearch refused to move alert {first.action.id} "
                        f"({first.status} {first.error}); merge again to finish"
                    )
                with self._state_lock:
                    self._dirty.add("alerts")

    def incident_stats(
        self, since: datetime | None, until: datetime | None, scope: OrganizationScope
    ) -> IncidentStats:
        """The dashboard's figures (see Store), from one search's aggregations."""
        self._check_open()
        self._catch_up("incidents")
        self._make_visible("incidents")
        now = self._clock()
        with _translated("computing incident statistics", self.hosts):
            answer = self._client.search(
                index=self._names.incidents, **stats_search(since, until, scope, now)
            )
        return stats_from_answer(answer.body, until, now)

    def incidents_changed_since(
        self, cursor: str | None, scope: OrganizationScope, limit: int = 200
    ) -> IncidentChanges:
        """The incidents created or changed after `cursor` (see Store).

        The incidents index has one shard, whose sequence numbers order every write:
        the cursor is one. Only writes up to the shard's local checkpoint (every write
        before it is done) are read, after a refresh, so none is skipped that is still
        being written. "created" is an incident written once (version 1): one created
        and changed again since the cursor comes as a change."""
        if not 1 <= limit < _MAX_RESULT_WINDOW:
            raise StoreError(f"the page size must be 1 to {_MAX_RESULT_WINDOW - 1}, not {limit}")
        after = None if cursor is None else decode_change_cursor(cursor)
        self._check_open()
        self._catch_up("incidents")
        index = self._names.incidents
        with _translated("reading incident changes", self.hosts):
            stats = self._client.indices.stats(
                index=index, metric="docs", level="shards", filter_path="indices.*.shards"
            )
            copies = [
                copy["seq_no"]["local_checkpoint"]
                for shards in stats["indices"][index]["shards"].values()
                for copy in shards
            ]
            done = min(copies) if copies else -1
            if after is None or done <= after:
                return IncidentChanges((), encode_change_cursor(done if after is None else after))
            self._client.indices.refresh(index=index)
            response = self._client.search(
                index=index,
                query={
                    "bool": {
                        "filter": [
                            {"range": {"_seq_no": {"gt": after, "lte": done}}},
                            *scope_filter(scope),
                        ]
                    }
                },
                sort=[{"_seq_no": "asc"}],
                size=limit,
                version=True,
                seq_no_primary_term=True,
                track_total_hits=False,
                source_excludes=list(INCIDENT_INTERNAL_FIELDS),
            )
        hits = response["hits"]["hits"]
        changes = tuple(
            IncidentChange(
                incident_from_document(hit["_source"]),
                created=hit["_version"] == 1,
                cursor=encode_change_cursor(hit["_seq_no"]),
            )
            for hit in hits
        )
        end = hits[-1]["_seq_no"] if len(hits) >= limit else done
        return IncidentChanges(changes, encode_change_cursor(end))

    # -- API keys ----------------------------------------------------------------------

    def add_api_key(self, record: ApiKeyRecord) -> None:
        """Store a new key. Raises StoreError when its id or hash is stored already."""
        self._check_open()
        document = api_key_document(record)
        index = self._names.api_keys
        refused = StoreError(
            f"an API key with id {record.id!r} or the same key is stored already; "
            "generate a new key"
        )
        with _translated("adding an API key", self.hosts):
            # Two documents, each created only if absent: one per unique value.
            try:
                self._client.create(
                    index=index, id=f"id-{record.id}", document={**document, "kind": "id"}
                )
            except ConflictError:
                raise refused from None
            try:
                self._client.create(
                    index=index,
                    id=f"hash-{record.key_hash}",
                    document={**document, "kind": "hash"},
                    refresh=True,
                )
            except ConflictError:
                self._client.delete(index=index, id=f"id-{record.id}", refresh=True)
                raise refused from None

    def api_key_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        """The key with this SHA-256 hash, revoked or not, or None."""
        self._check_open()
        with _translated("looking up an API key", self.hosts):
            try:
                response = self._client.get(index=self._names.api_keys, id=f"hash-{key_hash}")
            except NotFoundError:
                return None
        return api_key_from_document(response["_source"])

    def api_keys(self) -> list[ApiKeyRecord]:
        """Every stored key, revoked ones too, oldest first."""
        self._check_open()
        with _translated("listing API keys", self.hosts):
            response = self._client.search(
                index=self._names.api_keys,
                query={"bool": {"filter": [{"term": {"kind": "id"}}]}},
                sort=[{"created_at": "asc"}, {"id": "asc"}],
                size=_MAX_RESULT_WINDOW,
            )
        return [api_key_from_document(hit["_source"]) for hit in response["hits"]["hits"]]

    def revoke_api_key(self, key_id: str) -> bool:
        """Mark the key revoked; False when no key has this id."""
        self._check_open()
        index = self._names.api_keys
        with _translated("revoking an API key", self.hosts):
            try:
                response = self._client.get(index=index, id=f"id-{key_id}")
            except NotFoundError:
                return False
            key_hash = response["_source"]["key_hash"]
            for document_id in (f"hash-{key_hash}", f"id-{key_id}"):
                self._client.update(
                    index=index, id=document_id, doc={"revoked": True}, refresh=True
                )
        return True

    # -- scheduled detection: stored events by time ------------------------------------

    def event_pages(
        self, since: datetime, until: datetime, page_size: int = 1000
    ) -> Iterator[list[Event]]:
        """The stored events with since <= timestamp < until (Elasticsearch keeps times
        to the millisecond), oldest first, in pages of at most `page_size`: search_after
        over a point in time, so the pages are one consistent view."""
        yield from self._event_search({"match_all": {}}, since, until, page_size)

    def lucene_event_pages(
        self, query: str, since: datetime, until: datetime, page_size: int = 1000
    ) -> Iterator[list[Event]]:
        """Like `event_pages`, only the events matching the Lucene `query` (a
        query_string query over the event fields). Raises StoreError when Elasticsearch
        refuses the query."""
        lucene = {"query_string": {"query": query, "analyze_wildcard": True}}
        yield from self._event_search(lucene, since, until, page_size)

    @staticmethod
    def searchable_field(name: str) -> bool:
        """Whether queries can search this event field: only the mapped ECS fields and
        `labels.*` are indexed; the others are stored, not searchable."""
        return searchable_name(name)

    def known_alert_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these alert ids are stored (accepted batches included)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return set()
        self._check_open()
        self._catch_up("incidents")
        self._make_visible("alerts")
        return self._stored_ids(self._names.alerts, wanted, "looking up alert ids")

    # -- event search --------------------------------------------------------------------

    def search_events(self, query: EventQuery) -> Page[Event]:
        """One page of matching events, newest first, ties by id (see Store).

        `@timestamp` is indexed to the millisecond and ids cannot be sorted on, so the
        exact order is made here: over a point in time, the matching events' times are
        read newest first until every event of the millisecond holding the page's last
        one is read; only the page's own documents are fetched whole. A millisecond
        holding many events (logs with whole-second times) is read whole for each page.
        Raises EventQueryError for a field Elasticsearch does not index.
        """
        checked = check_event_query(query)
        filters = es_event_filters(checked)
        self._check_open()
        self._catch_up()
        self._settle_events(force=True)
        keys = self._newest_event_keys(checked, filters)
        page = keys[: query.limit]
        found: list[dict[str, Any]] = []
        if page:
            with _translated("reading the events found", self.hosts):
                found = self._client.mget(
                    docs=[{"_index": index, "_id": event_id} for _, event_id, index in page]
                )["docs"]
        events = [
            event_from_document(doc["_id"], doc["_source"]) for doc in found if doc.get("found")
        ]
        next_cursor = encode_cursor(*page[-1][:2]) if len(keys) > query.limit else None
        return Page(items=events, total=len(events), next_cursor=next_cursor)

    def _newest_event_keys(
        self, checked: CheckedEventQuery, filters: list[dict[str, Any]]
    ) -> list[tuple[str, str, str]]:
        """(time text, id, index) of the first `limit + 1` matching events in the
        search's exact order (fewer when there are no more)."""
        wanted = checked.query.limit + 1
        keys: list[tuple[str, str, str]] = []
        boundary: int | None = None  # the millisecond of the `wanted`-th event
        pages = self._pit_pages(
            {"bool": {"filter": filters}},
            sort=[{"@timestamp": "desc"}, {"_shard_doc": "desc"}],
            size=_EVENT_KEYS_PAGE,
            source_includes=["@timestamp"],
        )
        with closing(pages):
            for hits in pages:
                for hit in hits:
                    millisecond = int(hit["sort"][0])
                    if boundary is not None and millisecond < boundary:
                        keys.sort(reverse=True)
                        return keys[:wanted]
                    time_text, event_id = hit_key(hit)
                    if wanted_hit(checked, time_text, event_id):
                        keys.append((time_text, event_id, hit["_index"]))
                        if len(keys) == wanted:
                            boundary = millisecond
        keys.sort(reverse=True)
        return keys[:wanted]

    def _event_search(
        self, query: Mapping[str, Any], since: datetime, until: datetime, page_size: int
    ) -> Iterator[list[Event]]:
        if not 1 <= page_size <= _MAX_RESULT_WINDOW:
            raise StoreError(f"the page size must be 1 to {_MAX_RESULT_WINDOW}, not {page_size}")
        self._check_open()
        if not self._catch_up():
            raise ElasticsearchUnavailableError(
                "events are searched once Elasticsearch has every spooled batch; "
                "it has not got them yet"
            )
        self._settle_events(force=True)
        window = {"range": {"@timestamp": {"gte": format_time(since), "lt": format_time(until)}}}
        pages = self._pit_pages(
            {"bool": {"must": [query], "filter": [window]}},
            sort=[{"@timestamp": "asc"}, {"_shard_doc": "asc"}],
            size=page_size,
        )
        with closing(pages):
            for hits in pages:
                yield [event_from_document(hit["_id"], hit["_source"]) for hit in hits]

    def _pit_pages(
        self,
        query: Mapping[str, Any],
        *,
        sort: list[dict[str, str]],
        size: int,
        source_includes: list[str] | None = None,
    ) -> Generator[list[dict[str, Any]], None, None]:
        """The event hits of `query` in `sort` order, a non-empty page at a time, read from
        one point in time with search_after; the point in time is closed when the pages
        end or the caller closes the iterator."""
        with _translated("searching events", self.hosts):
            opened = self._client.open_point_in_time(
                index=self._names.events,
                keep_alive=_PIT_KEEP_ALIVE,
                ignore_unavailable=True,
                allow_partial_search_results=False,
            )
        pit_id: str = opened["id"]
        try:
            after: list[Any] | None = None
            while True:
                with _translated("searching events", self.hosts):
                    response = self._client.search(
                        pit={"id": pit_id, "keep_alive": _PIT_KEEP_ALIVE},
                        query=query,
                        sort=sort,
                        search_after=after,
                        size=size,
                        source_includes=source_includes,
                        track_total_hits=False,
                    )
                pit_id = response.get("pit_id", pit_id)
                hits = response["hits"]["hits"]
                if hits:
                    yield hits
                if len(hits) < size:
                    return
                after = hits[-1]["sort"]
        finally:
            try:
                self._client.close_point_in_time(id=pit_id)
            except (ApiError, TransportError) as exc:
                # It expires by itself after _PIT_KEEP_ALIVE.
                log.debug("closing a point in time failed: %s", exc)


_RECORD_PARTS = (
    "incidents",
    "growths",
    "alerts",
    "dead_letters",
    "events",
    "checkpoints",
    "source_counters",
)


def _source_document_id(source: str) -> str:
    """A source's counters document id: fixed length, whatever the source's name."""
    return hashlib.blake2b(source.encode("utf-8", "replace"), digest_size=16).hexdigest()


def _install(
    client: Elasticsearch, prefix: str, *, replicas: int | None, event_shards: int
) -> None:
    """Put the index templates and create the fixed indices that are missing."""
    _require_version(client)
    for name, body in index_templates(prefix, replicas=replicas, event_shards=event_shards).items():
        client.indices.put_index_template(name=name, **body)
    for kind in INDEX_KINDS:
        try:
            client.indices.create(index=f"{prefix}-{kind}")
        except ApiError as exc:
            if _error_type(exc) != "resource_already_exists_exception":
                raise
            if kind in _MAPPINGS_ADDED_TO:
                # Fields added since the index was made (additions only: Elasticsearch
                # refuses a changed type, which fails the setup with its reason).
                client.indices.put_mapping(index=f"{prefix}-{kind}", **kind_mappings(kind))


_MAPPINGS_ADDED_TO = ("incidents", "api-keys")
"""The fixed indices whose mappings grew after release (issue 5: incident triage)."""


def _require_version(client: Elasticsearch) -> None:
    response = client.nodes.info(metric="_none", filter_path="nodes.*.version")
    versions = sorted({node["version"] for node in response.get("nodes", {}).values()})
    old = [version for version in versions if int(version.split(".")[0]) < 9]
    if old:
        raise StoreError(
            f"the cluster runs Elasticsearch {', '.join(old)}; canhgac needs 9.x: upgrade it"
        )


def _error_type(exc: ApiError) -> str | None:
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error")
    return error.get("type") if isinstance(error, dict) else None


@contextmanager
def _translated(action: str, hosts: Sequence[str] = ()) -> Iterator[None]:
    """Elasticsearch's and the transport's errors as StoreErrors that say what to do."""
    where = f" at {', '.join(hosts)}" if hosts else ""
    try:
        yield
    except (TransportConnectionError, ConnectionTimeout) as exc:
        if isinstance(exc, TlsError):
            raise StoreError(
                f"{action} failed: TLS with Elasticsearch{where} failed ({exc.message}); "
                "check the CA file (ca_file) and the URL's scheme"
            ) from exc
        raise ElasticsearchUnavailableError(
            f"{action} failed: cannot reach Elasticsearch{where} ({exc.message}); check that "
            "it is running and the URL (CANHGAC_ES_URL)"
        ) from exc
    except AuthenticationException as exc:
        raise StoreError(
            f"{action} failed: Elasticsearch{where} refused the credentials; check the API "
            "key, or the user name and password"
        ) from exc
    except AuthorizationException as exc:
        raise StoreError(
            f"{action} failed: the Elasticsearch user may not do this ({exc.message}); grant "
            "it all privileges on the canhgac indices and index templates"
        ) from exc
    except ApiError as exc:
        if exc.meta.status in (429, 502, 503, 504):
            raise ElasticsearchUnavailableError(
                f"{action} failed: Elasticsearch{where} is busy or unavailable "
                f"({exc.meta.status} {exc.message})"
            ) from exc
        raise StoreError(
            f"{action} failed: Elasticsearch answered {exc.meta.status} {exc.message}"
        ) from exc
    except TransportError as exc:
        raise StoreError(f"{action} failed: {exc.message}") from exc


@contextmanager
def _unavailable_on_error(action: str) -> Iterator[None]:
    """Any failure to reach or use Elasticsearch while sending a spooled batch means
    "try again later": the batch stays in the spool whatever went wrong."""
    try:
        with _translated(action):
            yield
    except ElasticsearchUnavailableError:
        raise
    except StoreError as exc:
        raise ElasticsearchUnavailableError(str(exc)) from exc
