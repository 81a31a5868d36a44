"""What the syslog tests share: a stand-in pipeline and a receiver factory."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from canhgac.collectors import SyslogReceiver
from canhgac.config import SyslogSourceConfig
from canhgac.events import DeadLetter, Event
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
WAIT_SECONDS = 20.0


class Sink:
    """Stands in for the pipeline: keeps what was submitted and commits its checkpoints.
    While `gate` is clear, `submit` blocks, as the pipeline's does when its queue is full."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[Event] = []
        self.dead: list[DeadLetter] = []
        self.checkpoints: dict[str, Checkpoint] = {}
        self.history: list[Checkpoint] = []
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()

    def submit(self, batch: CollectedBatch) -> None:
        if not self.gate.is_set():
            self.waiting.set()
            self.gate.wait()
        with self.lock:
            self.events.extend(batch.events)
            self.dead.extend(batch.dead_letters)
            for checkpoint in batch.checkpoints:
                self.checkpoints[checkpoint.name] = checkpoint
                self.history.append(checkpoint)

    def messages(self) -> list[str]:
        with self.lock:
            return [str(e.get("message")) for e in self.events]

    def reasons(self) -> list[str]:
        with self.lock:
            return [d.reason for d in self.dead]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Wait for something the receiver's thread does; fail naming it if it never happens."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def syslog_config(**options: Any) -> SyslogSourceConfig:
    settings: dict[str, Any] = {
        "type": "syslog",
        "name": "syslog-test",
        "listen": [
            {"protocol": "udp", "address": "127.0.0.1", "port": 0},
            {"protocol": "tcp", "address": "127.0.0.1", "port": 0},
        ],
    }
    settings.update(options)
    return SyslogSourceConfig.model_validate(settings)


@contextmanager
def running(
    config: SyslogSourceConfig, sink: Sink, spool: Path, batch_lines: int = 100
) -> Iterator[SyslogReceiver]:
    receiver = SyslogReceiver(
        config,
        load_checkpoint=sink.checkpoints.get,
        submit=sink.submit,
        timezone=ZONE,
        batch_lines=batch_lines,
        spool_dir=spool,
    )
    receiver.start()
    try:
        yield receiver
    finally:
        sink.gate.set()
        receiver.close()


def address(receiver: SyslogReceiver, protocol: str) -> tuple[str, int]:
    for bound in receiver.bound():
        if bound.protocol == protocol:
            return bound.host, bound.port
    raise AssertionError(f"no {protocol} listener")
