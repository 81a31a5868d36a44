"""The tailer on IIS / W3C files (columns kept across restarts) and on non-ECS JSON read
through a configured field mapping."""

import gzip
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from canhgac.collectors import FileTailer
from canhgac.config import FileSourceConfig
from canhgac.events import Event
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

HEADER = (
    "#Software: Microsoft Internet Information Services 10.0\n"
    "#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\n"
)


def record(n: int) -> str:
    return f"2026-11-24 01:00:{n:02d} 203.113.7.{n} GET /dvc id={n} 200\n"


class Committer:
    def __init__(self) -> None:
        self.checkpoints: dict[str, Checkpoint] = {}
        self.events: list[Event] = []
        self.dead: list[str] = []

    def submit(self, batch: CollectedBatch) -> None:
        self.events.extend(batch.events)
        self.dead.extend(d.reason for d in batch.dead_letters)
        for cp in batch.checkpoints:
            self.checkpoints[cp.name] = cp

    def tailer(self, path: Path, **options: Any) -> FileTailer:
        config = FileSourceConfig.model_validate({"name": "web", "paths": [str(path)], **options})
        return FileTailer(
            config,
            load_checkpoint=self.checkpoints.get,
            submit=self.submit,
            timezone=ZONE,
            batch_lines=2,
        )


def test_w3c_columns_survive_a_restart_that_resumes_mid_file(tmp_path: Path) -> None:
    log = tmp_path / "u_ex261124.log"
    log.write_text(HEADER + record(1) + record(2))
    sink = Committer()
    tailer = sink.tailer(log, format="w3c")
    assert tailer.poll() == 4
    tailer.close()
    with log.open("a") as out:
        out.write(record(3))

    restarted = sink.tailer(log, format="w3c")
    assert restarted.poll() == 1
    restarted.close()
    assert sink.dead == []
    assert [e.get("url.original") for e in sink.events] == ["/dvc?id=1", "/dvc?id=2", "/dvc?id=3"]


def test_auto_detects_iis_and_follows_a_new_fields_directive(tmp_path: Path) -> None:
    log = tmp_path / "u_ex261124.log"
    log.write_text(HEADER + record(1))
    sink = Committer()
    tailer = sink.tailer(log)
    tailer.poll()
    with log.open("a") as out:
        out.write("#Fields: date time c-ip sc-status\n2026-11-24 02:00:00 10.0.0.1 503\n")
    tailer.poll()
    tailer.close()
    assert sink.dead == []
    assert [e.get("http.response.status_code") for e in sink.events] == [200, 503]
    assert sink.events[1].get("event.dataset") == "iis.access"


def test_json_with_a_field_mapping_and_a_timestamp_format(tmp_path: Path) -> None:
    log = tmp_path / "portal-app.jsonl"
    rows = [
        {"thoi_gian": "24/11/2026 08:15:02", "nguoi_dung": {"ten": "nguyenvana"}, "ip": "1.2.3.4"},
        {"thoi_gian": "24-11-2026", "ip": "1.2.3.5"},
    ]
    log.write_text("".join(json.dumps(row) + "\n" for row in rows))
    sink = Committer()
    tailer = sink.tailer(
        log,
        format="json",
        field_mapping={"nguoi_dung.ten": "user.name", "ip": "source.ip"},
        timestamp_field="thoi_gian",
        timestamp_format="%d/%m/%Y %H:%M:%S",
    )
    tailer.poll()
    tailer.close()
    (event,) = sink.events
    assert event.timestamp.isoformat() == "2026-11-24T01:15:02+00:00"
    assert event.get("user.name") == "nguyenvana"
    assert event.get("source.ip") == "1.2.3.4"
    assert event.get("ip") is None
    assert sink.dead == [
        "json: thoi_gian: '24-11-2026' does not match the format '%d/%m/%Y %H:%M:%S'"
    ]


def test_ecs_json_stays_as_it_is_without_a_mapping(tmp_path: Path) -> None:
    log = tmp_path / "ecs.jsonl"
    log.write_text('{"@timestamp": "2026-11-24T01:00:00Z", "source": {"ip": "1.2.3.4"}}\n')
    sink = Committer()
    tailer = sink.tailer(log, format="json")
    tailer.poll()
    tailer.close()
    assert sink.events[0].get("source.ip") == "1.2.3.4"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "nginx", "field_mapping": {"a": "b"}}, "field_mapping applies to format: json"),
        ({"format": "json", "field_mapping": {}}, "field_mapping is empty"),
        ({"format": "json", "timestamp_field": "t"}, "apply with field_mapping only"),
    ],
)
def test_field_mapping_options_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FileSourceConfig.model_validate({"name": "x", "paths": ["/x"], **options})


def test_a_glob_leaves_compressed_rotations_to_one_shot_ingest(tmp_path: Path) -> None:
    (tmp_path / "u_ex261124.log").write_text(HEADER + record(1))
    (tmp_path / "u_ex261123.log.gz").write_bytes(gzip.compress((HEADER + record(2)).encode()))
    sink = Committer()
    tailer = sink.tailer(tmp_path / "u_ex*", format="iis")
    tailer.poll()
    tailer.close()
    assert sink.dead == []
    assert [e.get("url.original") for e in sink.events] == ["/dvc?id=1"]
