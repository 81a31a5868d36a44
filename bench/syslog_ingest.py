"""Syslog ingest: TCP and UDP messages/s into the store, against a bare socket reader.

    .venv/bin/python bench/syslog_ingest.py [--seconds 60] [--udp-buffer 4194304]

A sender in a child process writes RFC 5424 / RFC 3164 messages (sshd and sudo auth
lines, firewall and cron lines: the bundled Linux rules look at them) for `--seconds`.
In this one process, over the same sender:

- tcp baseline: a bare TCP reader that only counts the LF-framed messages it reads;
- tcp receiver: `SyslogReceiver` alone (framing, spool, parsing, tagging) handing its
  batches to a stand-in that only counts them: the receiver's own cost;
- tcp canhgac: `SyslogReceiver` (framing, spool, parsing, tagging) into the pipeline
  (`PipelineWorker` -> `IngestPipeline`: dedupe, bundled rules, incidents, one SQLite
  transaction a batch), as `canhgac run` wires it. The sender writes as fast as the
  receiver lets it (TCP backpressure); the clock stops when every message sent is stored,
  and the run fails if any is missing (zero loss on TCP);
- udp canhgac: the sender sends datagrams at the rate canhgac sustained on TCP; the loss
  rate is 1 - stored / sent, beside the kernel's drop count the receiver reports;
- udp baseline: a bare UDP reader that only counts datagrams, at the same rate.

Prints messages/s and loss of each, and the ratios canhgac / baseline.
"""

import argparse
import multiprocessing
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from zoneinfo import ZoneInfo

from canhgac.collectors import SyslogReceiver
from canhgac.config import SyslogSourceConfig
from canhgac.correlator import Correlator, load_rules
from canhgac.incidents import IncidentGrouper
from canhgac.pipeline import CollectedBatch, IngestPipeline, PipelineWorker
from canhgac.storage import SQLiteStore

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
BLOCK = 1000
TICK = 0.01


def messages() -> list[bytes]:
    """A block of distinct messages in the mix the sender repeats."""
    block = []
    for n in range(BLOCK):
        kind = n % 5
        if kind == 0:
            text = (
                f"<38>1 2026-11-24T08:15:{n % 60:02d}+07:00 web{n % 7:02d} sshd {1000 + n} - - "
                f"Failed password for invalid user admin{n % 13} from 203.0.113.{n % 250} "
                f"port {40000 + n} ssh2"
            )
        elif kind == 1:
            text = (
                f"<86>Nov 24 08:15:{n % 60:02d} web{n % 7:02d} sudo: alice : TTY=pts/0 ; "
                f"PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart app{n}"
            )
        elif kind == 2:
            text = (
                f"<134>1 2026-11-24T08:15:{n % 60:02d}.{n:03d}+07:00 fw01 filterlog {n} FW "
                f'[fw@32473 rule="{n % 40}" action="block" src="198.51.100.{n % 250}"] '
                f"block in on em0 tcp 198.51.100.{n % 250}:{40000 + n} -> 10.0.0.5:22"
            )
        elif kind == 3:
            text = f"<78>Nov 24 08:17:{n % 60:02d} app{n % 5:02d} CRON[{n}]: (root) CMD (job {n})"
        else:
            text = (
                f"<30>1 2026-11-24T08:15:{n % 60:02d}Z nas01 kernel - - - "
                f"eth0: link up, 1000Mbps, full-duplex {n}"
            )
        block.append(text.encode())
    return block


def send_tcp(port: int, seconds: float, sent: "Synchronized[int]") -> None:
    data = b"".join(m + b"\n" for m in messages())
    count = 0
    with socket.create_connection(("127.0.0.1", port)) as conn:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            conn.sendall(data)
            count += BLOCK
    sent.value = count


def send_udp(port: int, seconds: float, rate: float, sent: "Synchronized[int]") -> None:
    block = messages()
    count = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        start = time.monotonic()
        end = start + seconds
        while (now := time.monotonic()) < end:
            due = int((now - start) * rate)
            while count < due:
                sock.sendto(block[count % BLOCK], ("127.0.0.1", port))
                count += 1
            time.sleep(TICK)
    sent.value = count


Sender = tuple[multiprocessing.Process, "Synchronized[int]"]


def start_sender(target: Callable[..., None], *args: object) -> Sender:
    sent: Synchronized[int] = multiprocessing.Value("q", 0)
    process = multiprocessing.Process(target=target, args=(*args, sent), daemon=True)
    process.start()
    return process, sent


def tcp_baseline(seconds: float) -> tuple[int, float]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        start = time.monotonic()
        sender, sent = start_sender(send_tcp, server.getsockname()[1], seconds)
        conn, _ = server.accept()
        count = 0
        with conn:
            while data := conn.recv(1 << 20):
                count += data.count(b"\n")
        elapsed = time.monotonic() - start
    sender.join()
    if count != sent.value:
        sys.exit(f"tcp baseline: {count} read of {sent.value} sent")
    return count, elapsed


def udp_baseline(seconds: float, rate: float, buffer: int) -> tuple[int, int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(1.0)
        sender, sent = start_sender(send_udp, sock.getsockname()[1], seconds, rate)
        count = 0
        while True:
            try:
                sock.recv(65536)
            except TimeoutError:
                if not sender.is_alive():
                    break
                continue
            count += 1
    sender.join()
    return count, sent.value


class Counting:
    """Stands in for the pipeline: counts events, stores nothing."""

    def __init__(self) -> None:
        self.events = 0

    def submit(self, batch: CollectedBatch) -> None:
        self.events += len(batch.events)


def tcp_receiver_only(folder: Path, seconds: float) -> tuple[int, float]:
    counting = Counting()
    config = SyslogSourceConfig.model_validate(
        {
            "type": "syslog",
            "name": "bench-receiver",
            "listen": [{"protocol": "tcp", "address": "127.0.0.1", "port": 0}],
            "tags": [{"network": "127.0.0.0/8", "organization": "bench"}],
        }
    )
    receiver = SyslogReceiver(
        config,
        load_checkpoint=lambda _: None,
        submit=counting.submit,
        timezone=ZONE,
        batch_lines=1000,
        spool_dir=folder / "spool",
    )
    receiver.start()
    try:
        start = time.monotonic()
        sender, sent = start_sender(send_tcp, receiver.bound()[0].port, seconds)
        sender.join()
        while counting.events < sent.value:
            time.sleep(0.01)
        elapsed = time.monotonic() - start
    finally:
        receiver.close()
    return counting.events, elapsed


class Canhgac:
    """The receiver and the pipeline as `canhgac run` wires them, on a fresh store."""

    def __init__(self, folder: Path, protocol: str, buffer: int) -> None:
        self.store = SQLiteStore.open(folder / "canhgac.sqlite3")
        pipeline = IngestPipeline(
            self.store, Correlator(load_rules([])), IncidentGrouper(timedelta(minutes=15))
        )
        self.worker = PipelineWorker(pipeline)
        config = SyslogSourceConfig.model_validate(
            {
                "type": "syslog",
                "name": f"bench-{protocol}",
                "listen": [{"protocol": protocol, "address": "127.0.0.1", "port": 0}],
                "receive_buffer_bytes": buffer,
                "tags": [{"network": "127.0.0.0/8", "organization": "bench"}],
            }
        )
        self.receiver = SyslogReceiver(
            config,
            load_checkpoint=self.store.checkpoint,
            submit=self.worker.submit,
            timezone=ZONE,
            batch_lines=1000,
            spool_dir=folder / "spool",
        )
        self.worker.start()
        self.receiver.start()
        self.port = self.receiver.bound()[0].port

    def stored(self) -> int:
        return self.worker.totals.events

    def close(self) -> None:
        self.receiver.close()
        self.worker.stop()
        self.store.close()


def tcp_canhgac(folder: Path, seconds: float) -> tuple[int, float]:
    canhgac = Canhgac(folder, "tcp", 1 << 20)
    try:
        start = time.monotonic()
        sender, sent = start_sender(send_tcp, canhgac.port, seconds)
        sender.join()
        while canhgac.stored() < sent.value:
            if time.monotonic() - start > seconds * 20 + 60:
                sys.exit(f"tcp canhgac: only {canhgac.stored()} of {sent.value} stored")
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        stored = canhgac.stored()
        counters = canhgac.receiver.counters()
    finally:
        canhgac.close()
    if stored != sent.value or counters.dead_lettered:
        sys.exit(f"tcp canhgac lost messages: {stored} stored of {sent.value} sent, {counters}")
    return stored, elapsed


def udp_canhgac(folder: Path, seconds: float, rate: float, buffer: int) -> tuple[int, int, int]:
    canhgac = Canhgac(folder, "udp", buffer)
    try:
        sender, sent = start_sender(send_udp, canhgac.port, seconds, rate)
        sender.join()
        # Settled: every datagram sent was received or counted as dropped, or nothing moves.
        last, still = -1, 0
        while still < 200:
            counters = canhgac.receiver.counters()
            settled = counters.received + counters.dropped
            if settled >= sent.value and canhgac.stored() >= counters.received:
                break
            still = still + 1 if settled == last else 0
            last = settled
            time.sleep(0.01)
        while canhgac.stored() < canhgac.receiver.counters().received:
            time.sleep(0.01)
        counters = canhgac.receiver.counters()
        stored = canhgac.stored()
    finally:
        canhgac.close()
    return stored, sent.value, counters.dropped


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--seconds", type=float, default=60.0, help="each sender's run time")
    options.add_argument(
        "--udp-buffer", type=int, default=4 << 20, help="SO_RCVBUF of the UDP sockets"
    )
    args = options.parse_args()
    seconds, buffer = args.seconds, args.udp_buffer
    print(f"{seconds:g} s per run, UDP receive buffer {buffer} bytes (capped by rmem_max)")
    with tempfile.TemporaryDirectory(prefix="canhgac-syslog-bench-") as temporary:
        folder = Path(temporary)
        count, elapsed = tcp_baseline(seconds)
        base_rate = count / elapsed
        print(f"tcp baseline : {count:>10,} messages {elapsed:7.1f} s {base_rate:>10,.0f} msg/s")
        count, elapsed = tcp_receiver_only(folder / "receiver", seconds)
        receiver_rate = count / elapsed
        print(
            f"tcp receiver : {count:>10,} messages {elapsed:7.1f} s {receiver_rate:>10,.0f} msg/s "
            f"framed, spooled, parsed, not stored; {receiver_rate / base_rate:.3f} x the baseline"
        )
        count, elapsed = tcp_canhgac(folder / "tcp", seconds)
        rate = count / elapsed
        print(
            f"tcp canhgac  : {count:>10,} messages {elapsed:7.1f} s {rate:>10,.0f} msg/s "
            f"stored, 0 lost; {rate / base_rate:.3f} x the baseline"
        )
        stored, sent, dropped = udp_canhgac(folder / "udp", seconds, rate, buffer)
        loss = 1 - stored / sent if sent else 0.0
        print(
            f"udp canhgac  : {sent:>10,} sent at {rate:,.0f}/s, {stored:,} stored, "
            f"loss {loss:.2%} (kernel drops counted: {dropped:,})"
        )
        received, sent = udp_baseline(seconds, rate, buffer)
        base_loss = 1 - received / sent if sent else 0.0
        print(
            f"udp baseline : {sent:>10,} sent at {rate:,.0f}/s, {received:,} read, "
            f"loss {base_loss:.2%}"
        )
        print(f"ratio tcp canhgac/baseline msg/s: {rate / base_rate:.3f}")
        print(f"ratio udp canhgac/baseline delivered: {stored / max(received, 1):.3f}")


if __name__ == "__main__":
    main()
