"""The forwarding path of a collectors-only process: the ingest body format, the on-disk
spool, and `IngestForwarder` against a real correlator served by uvicorn on a real port."""

import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st

from canhgac.api import create_app, generate_api_key
from canhgac.collectors import (
    EventBuilder,
    ForwardSpool,
    IngestBodyError,
    IngestForwarder,
    SourceLabels,
    decode_ingest_body,
    encode_ingest_bodies,
)
from canhgac.config import RulesConfig, Settings
from canhgac.events import DeadLetter, Event, event_id, make_event
from canhgac.parsers import JsonLinesParser, ParseContext
from canhgac.pipeline import CollectedBatch
from canhgac.service import CorrelatorComponent
from canhgac.storage import Checkpoint, Role, SQLiteStore
from tests.conftest import free_port

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SETTINGS = Settings(rules=RulesConfig(bundled=False))


def _event(n: int, source: str = "web") -> Event:
    line = f"203.0.113.{n % 250} - - [01/Mar/2026:08:00:00 +0000] GET /p/{n} HTTP/1.1 200"
    return make_event(
        id=event_id(f"file:{source}", n * 100, line),
        timestamp=T0 + timedelta(seconds=n),
        fields={"url.path": f"/p/{n}", "http.response.status_code": 200},
        original=line,
        path="/var/log/nginx/access.log",
        system="cong-dich-vu-cong",
    )


def _batch(first: int, count: int, source: str = "web") -> CollectedBatch:
    return CollectedBatch(
        source=source,
        events=[_event(n, source) for n in range(first, first + count)],
        checkpoints=[Checkpoint(f"file:{source}:/var/log/nginx/access.log", {"n": first + count})],
    )


# -- the body format -------------------------------------------------------------------


def test_a_batch_split_into_bodies_keeps_its_checkpoint_for_the_last_and_its_counts() -> None:
    letter = DeadLetter("web", "nginx: no match", "garbage", T0, "/var/log/x.log", 3)
    batch = CollectedBatch(
        source="web",
        events=[_event(n) for n in range(40)],
        dead_letters=[letter],
        checkpoints=[Checkpoint("file:web:/var/log/x.log", {"offset": 4096})],
        lines=45,
    )

    bodies = encode_ingest_bodies(batch, max_bytes=2048)
    decoded = [decode_ingest_body(b, source="web", timezone=UTC).batch for b in bodies]

    assert len(bodies) > 3
    assert all(len(body) <= 2048 + 600 for body in bodies)  # one line may overshoot
    assert [len(d.checkpoints) for d in decoded] == [0] * (len(bodies) - 1) + [1]
    assert decoded[-1].checkpoints[0].state == {"offset": 4096}
    assert sum(d.lines for d in decoded) == 45
    assert [d.dead_letters for d in decoded[1:]] == [[]] * (len(bodies) - 1)
    (forwarded,) = decoded[0].dead_letters
    assert (forwarded.reason, forwarded.raw, forwarded.line_number) == (
        "nginx: no match",
        "garbage",
        3,
    )
    events = [e for d in decoded for e in d.events]
    assert [e.get("url.path") for e in events] == [f"/p/{n}" for n in range(40)]
    assert events[0].get("event.original") == batch.events[0].get("event.original")
    assert events[0].get("log.file.path") == "/var/log/nginx/access.log"
    assert events[0].timestamp == T0


def test_encoding_the_same_batch_twice_gives_the_same_event_ids() -> None:
    batch = _batch(0, 5)
    ids = [
        [e.id for e in decode_ingest_body(b, source="web", timezone=UTC).batch.events]
        for b in encode_ingest_bodies(batch, 1 << 20) + encode_ingest_bodies(batch, 1 << 20)
    ]
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 5


@pytest.mark.parametrize(
    ("header", "complaint"),
    [
        (b'{"canhgac_batch": 7}', "must be an object"),
        (b'{"canhgac_batch": {"lines": -1}}', "whole number"),
        (b'{"canhgac_batch": {"checkpoints": [{"name": "file:other:x", "state": {}}]}}', "other"),
        (b'{"canhgac_batch": {"dead_letters": [{"reason": 1}]}}', "reason and raw"),
        (b'{"canhgac_batch": {', "not valid JSON"),
    ],
)
def test_a_malformed_header_refuses_the_body(header: bytes, complaint: str) -> None:
    with pytest.raises(IngestBodyError, match=complaint):
        decode_ingest_body(header + b"\n", source="web", timezone=UTC)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=12))
def test_any_body_yields_an_event_or_a_dead_letter_per_line(lines: list[bytes]) -> None:
    body = b"\n".join(line.replace(b"\n", b" ") for line in lines)
    try:
        decoded = decode_ingest_body(body, source="agent", timezone=UTC)
    except IngestBodyError:
        assert body.lstrip().startswith(b'{"canhgac_batch')
        return
    batch = decoded.batch
    records = [
        line
        for number, line in enumerate(body.split(b"\n"), start=1)
        if line.rstrip(b"\r").strip()
        and not (number == 1 and line.lstrip().startswith(b'{"canhgac_batch'))
    ]
    assert len(batch.events) + len(batch.dead_letters) == len(records)
    assert batch.lines == len(records)
    assert [e.line for e in decoded.errors] == [d.line_number for d in batch.dead_letters]


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8}){0,2}", fullmatch=True).filter(
            lambda name: name.split(".")[0] not in {"event", "log", "labels", "organization"}
        ),
        st.one_of(st.text(max_size=20), st.integers(-(2**53), 2**53), st.booleans()),
        max_size=6,
    )
)
def test_an_events_fields_survive_forwarding(fields: dict[str, str | int | bool]) -> None:
    names = sorted(fields)
    # A name that is a prefix of another cannot be both a value and an object in ECS.
    if any(b.startswith(a + ".") for a in names for b in names):
        return
    event = make_event(id="x", timestamp=T0, fields=fields, original="raw line")
    batch = CollectedBatch(source="web", events=[event])
    (body,) = encode_ingest_bodies(batch, 1 << 20)
    (back,) = decode_ingest_body(body, source="web", timezone=UTC).batch.events
    assert dict(back.fields) == dict(event.fields)
    assert back.timestamp == event.timestamp


def test_windows_events_are_forwarded_unchanged() -> None:
    """A normalized Windows event, re-read at the correlator, keeps every field."""
    golden = Path(__file__).parents[1] / "parsers" / "golden" / "windows"
    builder = EventBuilder(
        JsonLinesParser(), SourceLabels("pcs"), ParseContext(T0, UTC), origin="pcs"
    )
    inputs = sorted(golden.glob("*.input.json"))
    assert inputs
    for number, path in enumerate(inputs):
        line = orjson.dumps(orjson.loads(path.read_bytes()))
        event = builder.build(line, number, number)
        assert isinstance(event, Event), path.name
        (body,) = encode_ingest_bodies(CollectedBatch("pcs", [event]), 1 << 22)
        (back,) = decode_ingest_body(body, source="pcs", timezone=UTC).batch.events
        assert dict(back.fields) == dict(event.fields), path.name
        assert back.timestamp == event.timestamp


# -- the spool -------------------------------------------------------------------------


def test_the_spool_keeps_order_across_a_reopen_and_cuts_a_torn_tail(tmp_path: Path) -> None:
    spool = ForwardSpool(tmp_path)
    spool.open()
    for body in (b"first", b"second", b"third"):
        spool.append(body)
    spool.pop()
    spool.close()
    with (tmp_path / "queue").open("ab") as queue:
        queue.write(b"\x01\x02\x03\x04\x50\x00\x00\x00torn")  # a record cut short

    reopened = ForwardSpool(tmp_path)
    reopened.open()
    assert list(reopened.bodies()) == [b"second", b"third"]
    reopened.append(b"fourth")
    assert list(reopened.bodies()) == [b"second", b"third", b"fourth"]
    for _ in range(3):
        reopened.pop()
    assert reopened.first() is None
    assert reopened.pending_bytes == 0
    assert (tmp_path / "queue").stat().st_size == 0
    reopened.close()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(min_size=0, max_size=40).map(lambda body: ("append", body)),
            st.just(("pop", b"")),
            st.just(("reopen", b"")),
        ),
        max_size=30,
    )
)
def test_the_spool_behaves_like_a_queue(operations: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        spool = ForwardSpool(Path(folder))
        spool.open()
        model: list[bytes] = []
        for operation, body in operations:
            if operation == "append":
                spool.append(body)
                model.append(body)
            elif operation == "pop":
                spool.pop()
                model = model[1:]
            else:
                spool.close()
                spool = ForwardSpool(Path(folder))
                spool.open()
            assert list(spool.bodies()) == model
            assert spool.first() == (model[0] if model else None)
        spool.close()


# -- the forwarder against a real correlator -------------------------------------------


@dataclass
class Correlator:
    """The correlator component's ingest API on a real port, stoppable and restartable."""

    store: SQLiteStore
    port: int
    key: str
    component: CorrelatorComponent | None = None
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.component = CorrelatorComponent(SETTINGS, self.store)
        self.component.start()
        app = create_app(self.store, SETTINGS, ingest=self.component, read_api=False)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        assert self.server is not None
        assert self.thread is not None
        assert self.component
        self.server.should_exit = True
        self.thread.join()
        self.component.stop()


@pytest.fixture
def correlator(tmp_path: Path) -> Iterator[Correlator]:
    with SQLiteStore.open(tmp_path / "canhgac.sqlite3") as store:
        key, record = generate_api_key("collectors", Role.INGEST)
        store.add_api_key(record)
        running = Correlator(store, free_port(), key)
        running.start()
        yield running
        if running.server is not None and not running.server.should_exit:
            running.stop()


def _forwarder(
    correlator: Correlator, spool: Path, spool_max_bytes: int = 1 << 30
) -> IngestForwarder:
    forwarder = IngestForwarder(
        correlator.url,
        correlator.key,
        spool,
        retry_seconds=0.05,
        timeout=10.0,
        spool_max_bytes=spool_max_bytes,
    )
    forwarder.start()
    return forwarder


@pytest.mark.integration
def test_batches_reach_the_store_with_their_checkpoint(
    correlator: Correlator, tmp_path: Path
) -> None:
    forwarder = _forwarder(correlator, tmp_path / "spool")
    try:
        forwarder.submit(_batch(0, 10))
        forwarder.submit(_batch(10, 10))
    finally:
        forwarder.close()

    assert correlator.store.counts().events == 20
    saved = correlator.store.checkpoint("file:web:/var/log/nginx/access.log")
    assert saved is not None
    assert saved.state == {"n": 20}
    assert forwarder.spooled == 0


@pytest.mark.integration
def test_while_the_correlator_is_down_batches_spool_and_drain_in_order_once(
    correlator: Correlator, tmp_path: Path
) -> None:
    forwarder = _forwarder(correlator, tmp_path / "spool")
    name = "file:web:/var/log/nginx/access.log"
    try:
        forwarder.submit(_batch(0, 5))
        correlator.stop()
        forwarder.submit(_batch(5, 5))
        forwarder.submit(_batch(10, 5))
        assert forwarder.spooled == 2
        assert forwarder.pending_bytes > 0
        assert forwarder.drain() == 0
        # A collector (re)opening its file resumes after what waits in the spool.
        assert forwarder.load_checkpoint(name) == Checkpoint(name, {"n": 15})
    finally:
        forwarder.close()

    # The collectors process restarts too: the spool is read back from disk.
    restarted = _forwarder(correlator, tmp_path / "spool")
    try:
        assert restarted.load_checkpoint(name) == Checkpoint(name, {"n": 15})
        correlator.start()
        assert restarted.drain() == 2
        assert restarted.pending_bytes == 0
        restarted.submit(_batch(15, 5))
    finally:
        restarted.close()

    store = correlator.store
    assert store.counts().events == 20
    saved = store.checkpoint(name)
    assert saved is not None
    assert saved.state == {"n": 20}
    counters = store.source_counters().source("web")
    assert counters is not None
    assert (counters.received, counters.parsed, counters.duplicates) == (20, 20, 0)


@pytest.mark.integration
def test_a_full_spool_makes_submit_wait_until_the_correlator_is_back(
    correlator: Correlator, tmp_path: Path
) -> None:
    forwarder = _forwarder(correlator, tmp_path / "spool", spool_max_bytes=1)
    correlator.stop()
    forwarder.submit(_batch(0, 5))  # spooled: the spool was empty
    submitted = threading.Event()

    def submit_second() -> None:
        forwarder.submit(_batch(5, 5))
        submitted.set()

    waiting = threading.Thread(target=submit_second)
    waiting.start()
    assert not submitted.wait(0.5)  # the spool is over its size: the reader waits
    correlator.start()
    waiting.join(30)
    forwarder.close()

    assert submitted.is_set()
    assert correlator.store.counts().events == 10


@pytest.mark.integration
def test_a_stored_checkpoint_is_read_from_the_correlator(
    correlator: Correlator, tmp_path: Path
) -> None:
    first = _forwarder(correlator, tmp_path / "one")
    first.submit(_batch(0, 3))
    first.close()

    second = _forwarder(correlator, tmp_path / "two")
    try:
        name = "file:web:/var/log/nginx/access.log"
        assert second.load_checkpoint(name) == Checkpoint(name, {"n": 3})
        assert second.load_checkpoint("file:web:/never/read") is None
    finally:
        second.close()
