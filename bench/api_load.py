"""API latency under load: the incident list, filters and stats with 32 concurrent clients,
at 10,000 and then 100,000 incidents beside 1,000,000 events in the SQLite store.

    .venv/bin/python bench/api_load.py [--events 1000000] [--incidents 10000,100000]
                                       [--clients 32] [--seconds 10]

The store is built in a temporary folder through `SQLiteStore.write` (events, one alert
per incident, incidents spread over statuses, severities, systems and agencies), then
served by uvicorn in a child process (so the clients' event loop does not share its
interpreter). Each endpoint is driven by `--clients` concurrent httpx clients for
`--seconds`; the figures are p50 and p99 latency and requests/s. The baseline in the same
run is /healthz (the framework's floor), and the figure the issue targets is how p99 grows
from the smallest incident count to the largest (target: less than 2x).

Nothing writes to the store while the clients run, so /stats is computed once (by the
first request, which the others wait for) and then served from the store's cache, which
holds while no incident changes; as a dashboard sees it between changes. The cost of a
computation, what every change to the incidents costs the next request, is printed apart:
one request alone, with an `until` no other request used (so not cached).
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import quantiles

import httpx

from canhgac.api import generate_api_key
from canhgac.correlator import Alert, Severity
from canhgac.events import Event, make_event
from canhgac.incidents import Incident, IncidentStatus
from canhgac.storage import Role, SQLiteStore, WriteBatch

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SYSTEMS = ("dichvucong", "egov", "qlvb", "lgsp", "baocao", "hop-truc-tuyen", "app-cong-dan")
ORGANIZATIONS = tuple(f"Sở {n}" for n in ("TT&TT", "Y tế", "GD&ĐT", "Tài chính", "KH&ĐT")) + tuple(
    f"UBND huyện {n}" for n in ("Châu Thành", "Phụng Hiệp", "Long Mỹ", "Vị Thủy")
)
SEVERITIES = tuple(Severity)
# Merged incidents need a target; the others, on another period than the severities, so
# that a status+severity filter matches one incident in twenty.
STATUSES = tuple(status for status in IncidentStatus if status is not IncidentStatus.MERGED)
BATCH = 10_000

SERVER = """
import sys, uvicorn
from pathlib import Path
from canhgac.api import create_app
from canhgac.config import Settings
from canhgac.storage import SQLiteStore
store = SQLiteStore.open(Path(sys.argv[1]))
uvicorn.run(create_app(store, Settings()), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning", access_log=False)
"""


def events(start: int, count: int) -> Iterator[Event]:
    for n in range(start, start + count):
        yield make_event(
            id=f"ev-{n:09d}",
            timestamp=T0 + timedelta(seconds=n % 2_000_000),
            fields={
                "source.ip": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                "url.path": f"/portal/page/{n % 997}",
                "http.response.status_code": 200 if n % 7 else 404,
                "event.dataset": "nginx.access",
            },
            original=f"line {n}",
            path="/var/log/nginx/access.log",
            system=SYSTEMS[n % len(SYSTEMS)],
            organization=ORGANIZATIONS[n % len(ORGANIZATIONS)],
        )


def incident_and_alert(n: int) -> tuple[Incident, Alert]:
    first = T0 + timedelta(minutes=n)
    severity = SEVERITIES[n % len(SEVERITIES)]
    ip = f"203.113.{n // 256 % 256}.{n % 256}"
    incident = Incident(
        id=f"inc-{n:08d}",
        title=f"Rule {n % 40}: {ip}",
        rule_id=f"rule-{n % 40}",
        rule_title=f"Rule {n % 40}",
        severity=severity,
        status=STATUSES[n // 7 % len(STATUSES)],
        assignee=None,
        entity_field="source.ip",
        entity_value=ip,
        system=SYSTEMS[n % len(SYSTEMS)],
        organization=ORGANIZATIONS[n % len(ORGANIZATIONS)],
        first_seen=first,
        last_seen=first + timedelta(minutes=5),
        alert_count=1,
        created_at=first,
        updated_at=first + timedelta(minutes=5),
    )
    alert = Alert(
        id=f"al-{n:08d}",
        rule_id=incident.rule_id,
        rule_title=incident.rule_title,
        severity=severity,
        timestamp=incident.last_seen,
        event_ids=(f"ev-{n:09d}",),
        entities=(("source.ip", ip),),
        system=incident.system,
        organization=incident.organization,
    )
    return incident, alert


def add_events(store: SQLiteStore, total: int) -> None:
    for start in range(0, total, BATCH):
        store.write(WriteBatch(events=list(events(start, min(BATCH, total - start)))))


def add_incidents(store: SQLiteStore, start: int, stop: int) -> None:
    for first in range(start, stop, BATCH):
        pairs = [incident_and_alert(n) for n in range(first, min(stop, first + BATCH))]
        store.write(
            WriteBatch(
                alerts=[a for _, a in pairs],
                alert_incidents={a.id: i.id for i, a in pairs},
                new_incidents=[i for i, _ in pairs],
            )
        )


@dataclass(frozen=True, slots=True)
class Figures:
    p50_ms: float
    p99_ms: float
    per_second: float
    error_kinds: tuple[tuple[str, int], ...]  # (kind, how many), by kind

    @property
    def errors(self) -> int:
        return sum(count for _, count in self.error_kinds)


async def drive(url: str, key: str, clients: int, seconds: float) -> Figures:
    latencies: list[float] = []
    kinds: Counter[str] = Counter()
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    answer = await client.get(url)
                except httpx.TransportError as exc:
                    # A connection the server dropped under load: an error, not a latency.
                    kinds[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - began)
                if answer.status_code != 200:
                    kinds[f"HTTP {answer.status_code}"] += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    cuts = quantiles(latencies, n=100, method="inclusive")
    return Figures(
        cuts[49] * 1000,
        cuts[98] * 1000,
        len(latencies) / elapsed,
        tuple(sorted(kinds.items())),
    )


def wait_until_up(base: str) -> None:
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the API server did not start")


def endpoints(base: str, openapi_paths: set[str]) -> dict[str, str]:
    chosen = {
        "healthz (floor)": f"{base}/healthz",
        "list": f"{base}/api/v1/incidents?limit=50",
        "filter status+severity": f"{base}/api/v1/incidents?status=new&severity=high&limit=50",
        "filter agency+system": (
            f"{base}/api/v1/incidents?organization=Sở Y tế&system=egov&limit=50"
        ),
        "list page 20 (cursor)": "",
    }
    if "/api/v1/stats" in openapi_paths:
        chosen["stats"] = f"{base}/api/v1/stats"
    return chosen


def cursor_url(base: str, key: str, pages: int) -> str:
    """The URL of page `pages` of the plain listing (keyset pagination, not offsets)."""
    url = f"{base}/api/v1/incidents?limit=50"
    headers = {"Authorization": f"Bearer {key}"}
    cursor = None
    for _ in range(pages - 1):
        answer = httpx.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        cursor = answer.json()["next_cursor"]
    return url + (f"&cursor={cursor}" if cursor else "")


def uncached_stats_ms(base: str, key: str) -> float:
    """One /stats request alone, for a range no request asked before: a computation."""
    headers = {"Authorization": f"Bearer {key}"}
    began = time.perf_counter()
    answer = httpx.get(
        f"{base}/api/v1/stats", params={"until": "2100-01-01T00:00:00Z"}, headers=headers
    )
    elapsed = time.perf_counter() - began
    answer.raise_for_status()
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--incidents", default="10000,100000")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=18_765)
    args = parser.parse_args()
    levels = sorted(int(n) for n in args.incidents.split(","))

    scratch = tempfile.TemporaryDirectory(prefix="canhgac-api-load-")
    folder = Path(scratch.name)
    database = folder / "canhgac.sqlite3"
    key, record = generate_api_key("bench", Role.VIEWER)
    with SQLiteStore.open(database) as store:
        began = time.perf_counter()
        add_events(store, args.events)
        store.add_api_key(record)
        print(f"{args.events:,} events written in {time.perf_counter() - began:.1f} s", flush=True)

    results: dict[int, dict[str, Figures]] = {}
    stored = 0
    base = f"http://127.0.0.1:{args.port}"
    for level in levels:
        with SQLiteStore.open(database) as store:
            add_incidents(store, stored, level)
            store.maintain()
        stored = level
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(database), str(args.port)],
            env={**os.environ},
        )
        try:
            wait_until_up(base)
            paths = set(httpx.get(f"{base}/openapi.json").json()["paths"])
            urls = endpoints(base, paths)
            urls["list page 20 (cursor)"] = cursor_url(base, key, 20)
            results[level] = {}
            for name, url in urls.items():
                figures = asyncio.run(drive(url, key, args.clients, args.seconds))
                results[level][name] = figures
                print(
                    f"{level:>7,} incidents  {name:<24} p50 {figures.p50_ms:7.1f} ms  "
                    f"p99 {figures.p99_ms:7.1f} ms  {figures.per_second:7.0f} req/s  "
                    f"errors {figures.errors}"
                    + "".join(f" ({kind}: {n})" for kind, n in figures.error_kinds),
                    flush=True,
                )
            if "stats" in urls:
                print(
                    f"{level:>7,} incidents  stats, one computation alone: "
                    f"{uncached_stats_ms(base, key):.1f} ms",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)

    scratch.cleanup()
    low, high = levels[0], levels[-1]
    print(f"\np99 growth from {low:,} to {high:,} incidents (target < 2.0x):")
    for name, figures in results[high].items():
        before = results[low][name]
        print(f"  {name:<24} {figures.p99_ms / before.p99_ms:5.2f}x")


if __name__ == "__main__":
    main()
