"""Which targets a poll checks, and what it submits, with a stand-in fetcher (no network)."""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from canhgac.collectors import CollectorError, PortalMonitor, state_checkpoint_name
from canhgac.collectors._portal_checks import FetchResult
from canhgac.config import PortalMonitorSourceConfig, PortalTarget
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
PAGE = b"<html><body><h1>Cong dich vu cong</h1><p>Thu tuc hanh chinh</p></body></html>"


class FakeFetcher:
    """Answers each target with the status the test sets; records what was fetched."""

    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        self.fetched: list[str] = []
        self.closed = False
        self._lock = threading.Lock()

    def fetch(self, target: PortalTarget) -> FetchResult:
        with self._lock:
            self.fetched.append(target.name)
            count = len(self.fetched)
        return FetchResult(
            T0 + timedelta(seconds=count),
            0.05,
            status=self.status.get(target.name, 200),
            body=PAGE,
        )

    def close(self) -> None:
        self.closed = True


class Sink:
    def __init__(self) -> None:
        self.batches: list[CollectedBatch] = []
        self.checkpoints: dict[str, Checkpoint] = {}

    def submit(self, batch: CollectedBatch) -> None:
        self.batches.append(batch)
        self.checkpoints.update((cp.name, cp) for cp in batch.checkpoints)


def monitor(sink: Sink, fetcher: FakeFetcher, clock: list[float]) -> PortalMonitor:
    config = PortalMonitorSourceConfig.model_validate(
        {
            "type": "portal_monitor",
            "name": "portals",
            "organization": "Sở TT&TT",
            "targets": [
                {"name": "dvc", "url": "https://dichvucong.haugiang.gov.vn/", "interval": 60},
                {
                    "name": "eportal",
                    "url": "https://haugiang.gov.vn/",
                    "interval": 300,
                    "organization": "Văn phòng UBND tỉnh",
                },
            ],
        }
    )
    built = PortalMonitor(
        config,
        load_checkpoint=sink.checkpoints.get,
        submit=sink.submit,
        fetcher=fetcher,
        clock=lambda: clock[0],
    )
    built.start()
    return built


def test_each_target_is_checked_on_its_own_interval() -> None:
    sink, fetcher, clock = Sink(), FakeFetcher(), [0.0]
    watching = monitor(sink, fetcher, clock)
    assert watching.poll() == 2
    assert sorted(fetcher.fetched) == ["dvc", "eportal"]
    clock[0] = 30
    assert watching.poll() == 0
    clock[0] = 60
    assert watching.poll() == 1
    assert fetcher.fetched[-1] == "dvc"
    clock[0] = 300
    assert watching.poll() == 2
    watching.close()
    assert fetcher.closed


def test_the_first_check_stores_the_baselines_and_quiet_checks_store_nothing() -> None:
    sink, fetcher, clock = Sink(), FakeFetcher(), [0.0]
    watching = monitor(sink, fetcher, clock)
    watching.poll()
    assert sorted(sink.checkpoints) == [
        state_checkpoint_name("portals", "dvc"),
        state_checkpoint_name("portals", "eportal"),
    ]
    assert all(batch.events == [] for batch in sink.batches)
    stored = len(sink.batches)
    clock[0] = 60
    watching.poll()
    assert len(sink.batches) == stored


def test_findings_carry_the_target_labels_and_restart_from_the_stored_state() -> None:
    sink, fetcher, clock = Sink(), FakeFetcher(), [0.0]
    watching = monitor(sink, fetcher, clock)
    fetcher.status["eportal"] = 503
    watching.poll()
    watching.close()
    (event,) = [e for batch in sink.batches for e in batch.events]
    assert event.get("event.action") == "portal_down"
    assert event.get("service.name") == "eportal"
    assert event.get("organization.name") == "Văn phòng UBND tỉnh"
    assert event.get("url.domain") == "haugiang.gov.vn"

    # A restart reads the outage from the checkpoint: it is not reported again.
    again = monitor(sink, fetcher, clock)
    again.poll()
    again.close()
    assert [e.get("event.action") for b in sink.batches for e in b.events] == ["portal_down"]


def test_an_unreadable_ca_file_is_a_collector_error_naming_it(tmp_path: Path) -> None:
    config = PortalMonitorSourceConfig.model_validate(
        {
            "type": "portal_monitor",
            "name": "portals",
            "ca_file": str(tmp_path / "missing.pem"),
            "targets": [{"name": "dvc", "url": "https://dichvucong.haugiang.gov.vn/"}],
        }
    )
    watching = PortalMonitor(config, load_checkpoint=Sink().checkpoints.get, submit=Sink().submit)
    with pytest.raises(CollectorError, match=r"cannot read the portal monitor's ca_file .*missing"):
        watching.start()
