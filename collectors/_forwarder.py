"""`IngestForwarder`: a collectors-only process's way to the correlator (`forward_to`).

Collectors hand it their batches exactly as they would hand them to the pipeline. Each
batch becomes one or more `POST /api/v1/ingest` bodies (collectors/_ingest_body.py),
its checkpoints on the last one, which the correlator answers only once the batch is
stored. While the correlator cannot be reached (or answers with an error), the bodies go
to a `ForwardSpool` on disk and later ones queue behind them, so order holds; `drain`,
run on a schedule, sends them oldest first. A spool over its size makes `submit` wait,
which slows the readers down (backpressure) rather than dropping anything.

Collectors load their checkpoints through it too: the position of the last batch handed
over in this process or still in the spool, else the correlator's stored one.
"""

import logging
import threading
from pathlib import Path
from typing import Any

import httpx
import orjson

from canhgac.collectors._forward_spool import ForwardSpool
from canhgac.collectors._ingest_body import HEADER_KEY, encode_ingest_bodies
from canhgac.collectors._read_progress import CollectorError
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

log = logging.getLogger(__name__)

INGEST_PATH = "/api/v1/ingest"
CHECKPOINTS_PATH = "/api/v1/ingest/checkpoints"


class ForwardingError(CollectorError):
    """The correlator did not take a request (unreachable, or it answered an error)."""


class IngestForwarder:
    def __init__(
        self,
        url: str,
        api_key: str,
        spool_dir: Path,
        *,
        max_body_bytes: int = 4 * 1_048_576,
        spool_max_bytes: int = 1024 * 1_048_576,
        timeout: float = 120.0,
        retry_seconds: float = 2.0,
        ca_file: Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            verify=str(ca_file) if ca_file else True,
            transport=transport,
        )
        self._spool = ForwardSpool(spool_dir)
        self._max_body_bytes = max_body_bytes
        self._spool_max_bytes = spool_max_bytes
        self._retry_seconds = retry_seconds
        # One request at a time: the correlator must see a source's batches in order.
        self._sending = threading.Lock()
        self._closing = threading.Event()
        self._handed_over: dict[str, Checkpoint] = {}
        self.delivered = 0
        """Bodies the correlator stored, since start."""
        self.spooled = 0
        """Bodies that had to wait in the spool, since start."""

    @property
    def pending_bytes(self) -> int:
        """Bytes waiting in the spool for the correlator."""
        return self._spool.pending_bytes

    def start(self) -> None:
        """Open the spool; the checkpoints of batches still in it are where collectors
        resume, not the correlator's older ones."""
        self._spool.open()
        for record in self._spool.bodies():
            _, body = _split(record)
            for checkpoint in _checkpoints(body):
                self._handed_over[checkpoint.name] = checkpoint

    def submit(self, batch: CollectedBatch) -> None:
        """Deliver `batch`, or keep it in the spool until it can be; waits while the spool
        is full."""
        bodies = encode_ingest_bodies(batch, self._max_body_bytes)
        with self._sending:
            for checkpoint in batch.checkpoints:
                self._handed_over[checkpoint.name] = checkpoint
            waiting = list(bodies)
            if not self._spool.pending_bytes:
                while waiting:
                    try:
                        self._send(batch.source, waiting[0])
                    except ForwardingError as exc:
                        log.warning("%s; spooling until it is back", exc)
                        break
                    waiting.pop(0)
            while waiting and self._spool.pending_bytes > self._spool_max_bytes:
                if self._drain_locked() == 0 and self._closing.wait(self._retry_seconds):
                    raise CollectorError(
                        "stopped while the forwarding spool was full; the batch will be "
                        "read again from its checkpoint at the next start"
                    )
            for body in waiting:
                self._spool.append(batch.source.encode() + b"\n" + body)
                self.spooled += 1
            if waiting:
                self._drain_locked()

    def drain(self) -> int:
        """Send what waits in the spool, oldest first, until it is empty or a request
        fails; returns how many bodies were delivered."""
        with self._sending:
            return self._drain_locked()

    def load_checkpoint(self, name: str) -> Checkpoint | None:
        """The newest position of `name`: handed over in this process, else stored by the
        correlator. Waits, retrying, while the correlator cannot be asked."""
        handed = self._handed_over.get(name)
        if handed is not None:
            return handed
        while True:
            try:
                return self._stored_checkpoint(name)
            except ForwardingError as exc:
                log.warning("%s; asking again in %.0fs", exc, self._retry_seconds)
            if self._closing.wait(self._retry_seconds):
                raise CollectorError(f"stopped before the checkpoint {name!r} could be read")

    def interrupt(self) -> None:
        """Stop waiting for the correlator: a `submit` waiting on a full spool gives up
        (its batch is read again at the next start) and `load_checkpoint` raises."""
        self._closing.set()

    def close(self) -> None:
        self._closing.set()
        with self._sending:
            self._client.close()
            self._spool.close()

    def _drain_locked(self) -> int:
        sent = 0
        while (record := self._spool.first()) is not None:
            source, body = _split(record)
            try:
                self._send(source, body)
            except ForwardingError as exc:
                log.warning("%s; %d bytes wait in the spool", exc, self._spool.pending_bytes)
                return sent
            self._spool.pop()
            sent += 1
        if sent:
            log.info("forwarding spool drained: %d batches delivered", sent)
        return sent

    def _send(self, source: str, body: bytes) -> None:
        try:
            response = self._client.post(
                INGEST_PATH,
                params={"source": source},
                content=body,
                headers={"Content-Type": "application/x-ndjson"},
            )
        except httpx.HTTPError as exc:
            raise ForwardingError(
                f"cannot reach the correlator at {self._client.base_url}: {exc}"
            ) from exc
        if response.status_code != 200:
            raise ForwardingError(
                f"the correlator refused a batch from {source}: HTTP {response.status_code} "
                f"{_detail(response)}"
                + (
                    "; set forwarding.max_body_bytes below its api.max_ingest_bytes"
                    if response.status_code == 413
                    else ""
                )
            )
        self.delivered += 1

    def _stored_checkpoint(self, name: str) -> Checkpoint | None:
        try:
            response = self._client.get(CHECKPOINTS_PATH, params={"name": name})
        except httpx.HTTPError as exc:
            raise ForwardingError(
                f"cannot reach the correlator at {self._client.base_url} for the checkpoint "
                f"{name!r}: {exc}"
            ) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ForwardingError(
                f"the correlator refused the checkpoint {name!r}: HTTP "
                f"{response.status_code} {_detail(response)}"
            )
        document = response.json()
        return Checkpoint(str(document["name"]), dict(document["state"]))


def _split(record: bytes) -> tuple[str, bytes]:
    source, _, body = record.partition(b"\n")
    return source.decode(), body


def _checkpoints(body: bytes) -> list[Checkpoint]:
    first = body.split(b"\n", 1)[0]
    header: Any = orjson.loads(first).get(HEADER_KEY, {})
    return [Checkpoint(c["name"], c["state"]) for c in header.get("checkpoints", [])]


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail) if detail else response.text[:200]
