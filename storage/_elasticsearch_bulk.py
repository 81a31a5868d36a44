"""Bulk writes through the official client's helpers, with retries and rejections.

Each document of a bulk request succeeds, already exists (a `create` of a stored id:
the write is idempotent), is worth retrying (Elasticsearch busy or a shard not
available), or is rejected for good (it can never be stored as it is). Retries back
off; what still fails is `ElasticsearchUnavailableError`, so the batch stays spooled.
Rejected documents are returned to the caller, which dead-letters them: no document is
ever dropped without a trace.
"""

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TransportError
from elasticsearch import ApiError, Elasticsearch, helpers

from canhgac.storage._store import StoreError

Outcome = Literal["stored", "exists", "retry", "rejected"]

EVENT_CHUNK_SIZE = 1000
"""Events per bulk request (at most; a send's share per thread when smaller)."""

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
"""Seconds to wait before each new try of the documents Elasticsearch was too busy for."""

# Errors that say "not now" rather than "never": overload, shards moving, a node
# leaving, a read-only block while disk is freed.
_TRANSIENT_ERRORS = frozenset(
    {
        "es_rejected_execution_exception",
        "circuit_breaking_exception",
        "unavailable_shards_exception",
        "no_shard_available_action_exception",
        "cluster_block_exception",
        "process_cluster_event_timeout_exception",
        "node_not_connected_exception",
        "node_disconnected_exception",
        "connect_transport_exception",
        "node_closed_exception",
        "primary_missing_action_exception",
        "shard_not_found_exception",
        "timeout_exception",
        "receive_timeout_transport_exception",
    }
)


class ElasticsearchUnavailableError(StoreError):
    """Elasticsearch cannot take writes now (unreachable, overloaded, no shard); try later."""


@dataclass(frozen=True, slots=True)
class BulkAction:
    """One document operation: `op` is create (keep a stored one), index or update."""

    op: Literal["create", "index", "update"]
    index: str
    id: str
    source: Any  # a document (dict), or one serialized already (orjson.Fragment, bytes)
    if_seq_no: int | None = None
    if_primary_term: int | None = None

    def expand(self) -> tuple[dict[str, Any], Any]:
        """The bulk request's action line and document, as the helpers'
        `expand_action_callback` gives them (without their generic, slower parsing)."""
        meta: dict[str, Any] = {"_index": self.index, "_id": self.id}
        if self.if_seq_no is not None:
            meta["if_seq_no"] = self.if_seq_no
            meta["if_primary_term"] = self.if_primary_term
        return {self.op: meta}, {"doc": self.source} if self.op == "update" else self.source

    def to_helper(self) -> dict[str, Any]:
        action: dict[str, Any] = {"_op_type": self.op, "_index": self.index, "_id": self.id}
        if self.op == "update":
            action["doc"] = self.source
        else:
            action["_source"] = self.source
        if self.if_seq_no is not None:
            action["if_seq_no"] = self.if_seq_no
            action["if_primary_term"] = self.if_primary_term
        return action


@dataclass(frozen=True, slots=True)
class BulkFailure:
    """A document Elasticsearch refused, with its status and reason."""

    action: BulkAction
    status: int
    error: str


def error_text(error: object) -> str:
    """'type: reason' of a bulk item's error (a dict from Elasticsearch, or a message)."""
    if isinstance(error, dict):
        kind = error.get("type", "error")
        reason = error.get("reason") or ""
        cause = error.get("caused_by")
        text = f"{kind}: {reason}" if reason else str(kind)
        if isinstance(cause, dict) and cause.get("reason"):
            text += f" ({cause.get('type', 'cause')}: {cause['reason']})"
        return text
    return str(error)


def classify(op: str, item: dict[str, Any]) -> Outcome:
    """What a bulk response item means for its document."""
    status = item.get("status")
    if not isinstance(status, int):
        return "retry"
    if 200 <= status < 300:
        return "stored"
    if status == 409 and op == "create":
        return "exists"
    if "exception" in item:
        # The whole request failed (the helper marks each document with its error):
        # nothing is known about the documents themselves.
        return "retry"
    error = item.get("error")
    kind = error.get("type") if isinstance(error, dict) else None
    if status == 429 or status >= 500 or kind in _TRANSIENT_ERRORS:
        return "retry"
    return "rejected"


@dataclass(frozen=True, slots=True)
class BulkResult:
    """After the retries: the documents rejected for good, and the update conflicts."""

    rejected: list[BulkFailure]
    conflicts: list[BulkFailure]


Sender = Callable[[Sequence[BulkAction]], Iterable[tuple[bool, dict[str, Any]]]]
"""Sends actions in one go and yields the helper's (ok, item) per action, in order."""


def helper_sender(client: Elasticsearch, *, threads: int, chunk_size: int) -> Sender:
    """A `Sender` over `helpers.parallel_bulk` (`threads` > 1) or `helpers.streaming_bulk`."""
    options: dict[str, Any] = {
        "expand_action_callback": BulkAction.expand,
        "max_chunk_bytes": _MAX_CHUNK_BYTES,
        "raise_on_error": False,
        "raise_on_exception": False,
        # Only what is read of each item: a smaller answer to parse.
        "filter_path": _ITEM_FIELDS,
    }

    def send(actions: Sequence[BulkAction]) -> Iterable[tuple[bool, dict[str, Any]]]:
        if threads > 1 and len(actions) >= 2 * _MIN_PARALLEL_CHUNK:
            # Chunks of one size, as many for every thread: none idles before the end.
            rounds = -(-len(actions) // (threads * chunk_size))
            share = -(-len(actions) // (threads * rounds))
            return helpers.parallel_bulk(
                client,
                actions,  # type: ignore[arg-type]  # expanded by BulkAction.expand
                thread_count=threads,
                chunk_size=max(_MIN_PARALLEL_CHUNK, share),
                **options,
            )
        return helpers.streaming_bulk(
            client,
            actions,  # type: ignore[arg-type]
            chunk_size=chunk_size,
            **options,
        )

    return send


_ITEM_FIELDS = "items.*._id,items.*.status,items.*.error"
_MAX_CHUNK_BYTES = 10 * 1024 * 1024
_MIN_PARALLEL_CHUNK = 100


def write_bulk(
    send: Sender,
    actions: Sequence[BulkAction],
    *,
    retry_delays: Sequence[float] = RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
) -> BulkResult:
    """Send `actions`, retrying the busy ones with backoff.

    Raises ElasticsearchUnavailableError when Elasticsearch cannot be reached, or is still
    busy after the last retry; the caller keeps the actions to send later.
    """
    rejected: list[BulkFailure] = []
    conflicts: list[BulkFailure] = []
    pending = list(actions)
    attempt = 0
    while pending:
        retry: list[BulkFailure] = []
        try:
            results = list(send(pending))
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise ElasticsearchUnavailableError(
                f"cannot reach Elasticsearch: {exc.message}"
            ) from exc
        except (TransportError, ApiError) as exc:
            raise ElasticsearchUnavailableError(f"Elasticsearch failed: {exc}") from exc
        if len(results) != len(pending):
            raise ElasticsearchUnavailableError(
                f"Elasticsearch answered {len(results)} of {len(pending)} bulk operations"
            )
        for action, (ok, result) in zip(pending, results, strict=True):
            if ok:
                continue
            item = next(iter(result.values()))
            outcome = classify(action.op, item)
            if outcome in ("stored", "exists"):
                continue
            failure = BulkFailure(action, _status(item), error_text(item.get("error")))
            if outcome == "retry":
                retry.append(failure)
            elif failure.status == 409:
                conflicts.append(failure)
            else:
                rejected.append(failure)
        if not retry:
            break
        if attempt >= len(retry_delays):
            first = retry[0]
            raise ElasticsearchUnavailableError(
                f"Elasticsearch did not take {len(retry)} document(s) after "
                f"{attempt + 1} tries (first: {first.status} {first.error})"
            )
        sleep(retry_delays[attempt])
        attempt += 1
        pending = [failure.action for failure in retry]
    return BulkResult(rejected, conflicts)


def _status(item: dict[str, Any]) -> int:
    status = item.get("status")
    return status if isinstance(status, int) else 0
