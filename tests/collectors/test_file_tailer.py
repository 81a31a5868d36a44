"""The tailer against real files on disk: appends, rotations, restarts."""

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from canhgac.collectors import FileTailer
from canhgac.config import FileSourceConfig
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


class Committer:
    """Stands in for the pipeline: keeps what was submitted and commits checkpoints."""

    def __init__(self) -> None:
        self.checkpoints: dict[str, Checkpoint] = {}
        self.messages: list[str] = []
        self.dead: list[str] = []

    def submit(self, batch: CollectedBatch) -> None:
        self.messages.extend(str(e.get("message")) for e in batch.events)
        self.dead.extend(d.reason for d in batch.dead_letters)
        for cp in batch.checkpoints:
            self.checkpoints[cp.name] = cp

    def tailer(self, path: Path, **options: object) -> FileTailer:
        config = FileSourceConfig(name="auth", paths=[str(path)], format="auth", **options)  # type: ignore[arg-type]
        return FileTailer(
            config,
            load_checkpoint=self.checkpoints.get,
            submit=self.submit,
            timezone=ZONE,
            batch_lines=2,
        )


def line(n: int) -> str:
    return f"Nov 24 08:00:{n:02d} app01 cron[1]: message {n}\n"


def append(path: Path, *numbers: int) -> None:
    with path.open("a") as out:
        out.write("".join(line(n) for n in numbers))


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "auth.log"


def test_reads_what_is_appended_and_waits_for_a_partial_line(log: Path) -> None:
    sink = Committer()
    append(log, 1, 2, 3)
    tailer = sink.tailer(log)
    assert tailer.poll() == 3
    with log.open("a") as out:
        out.write(line(4)[:10])
    assert tailer.poll() == 0
    with log.open("a") as out:
        out.write(line(4)[10:])
    assert tailer.poll() == 1
    assert sink.messages == [f"message {n}" for n in (1, 2, 3, 4)]


def test_rename_rotation_loses_nothing_written_to_either_file(log: Path) -> None:
    sink = Committer()
    append(log, 1, 2)
    tailer = sink.tailer(log)
    tailer.poll()
    log.rename(log.with_name("auth.log.1"))
    append(log.with_name("auth.log.1"), 3)  # the writer has not reopened its log yet
    append(log, 4, 5)
    tailer.poll()
    append(log.with_name("auth.log.1"), 6)  # still writing to the old file for a moment
    tailer.poll()
    assert sorted(sink.messages) == [f"message {n}" for n in (1, 2, 3, 4, 5, 6)]
    tailer.close()


def test_copytruncate_rotation_reads_the_new_content_from_the_start(log: Path) -> None:
    sink = Committer()
    append(log, 1, 2, 3)
    tailer = sink.tailer(log)
    tailer.poll()
    log.write_text("")
    append(log, 7)
    tailer.poll()
    assert sink.messages == [f"message {n}" for n in (1, 2, 3, 7)]


def test_a_restart_resumes_from_the_stored_checkpoint(log: Path) -> None:
    sink = Committer()
    append(log, 1, 2, 3)
    first = sink.tailer(log)
    first.poll()
    first.close()
    append(log, 4)
    second = sink.tailer(log)
    second.poll()
    assert sink.messages == [f"message {n}" for n in (1, 2, 3, 4)]


def test_a_rotation_while_stopped_finishes_the_rotated_file_first(log: Path) -> None:
    sink = Committer()
    append(log, 1, 2)
    first = sink.tailer(log)
    first.poll()
    first.close()
    append(log, 3)
    log.rename(log.with_name("auth.log.1"))
    append(log, 4, 5)
    second = sink.tailer(log)
    second.poll()
    assert sink.messages == [f"message {n}" for n in (1, 2, 3, 4, 5)]


def test_from_beginning_false_skips_what_was_there_at_first_start(log: Path) -> None:
    sink = Committer()
    append(log, 1, 2)
    tailer = sink.tailer(log, from_beginning=False)
    tailer.poll()
    append(log, 3)
    tailer.poll()
    assert sink.messages == ["message 3"]


def test_a_missing_file_is_waited_for(log: Path) -> None:
    sink = Committer()
    tailer = sink.tailer(log)
    assert tailer.poll() == 0
    append(log, 1)
    assert tailer.poll() == 1


def test_bad_lines_become_dead_letters_and_the_rest_is_read(log: Path) -> None:
    sink = Committer()
    append(log, 1)
    with log.open("ab") as out:
        out.write(b"\xff\xfe not utf-8\n")
    append(log, 2)
    sink.tailer(log).poll()
    assert sink.messages == ["message 1", "message 2"]
    assert sink.dead == ["invalid UTF-8 at byte 0"]


def test_glob_patterns_follow_every_matching_file(tmp_path: Path) -> None:
    sink = Committer()
    append(tmp_path / "a-access.log", 1)
    append(tmp_path / "b-access.log", 2)
    append(tmp_path / "other.txt", 3)
    tailer = sink.tailer(tmp_path / "*-access.log")
    tailer.poll()
    append(tmp_path / "c-access.log", 4)  # appears later
    tailer.poll()
    assert sorted(sink.messages) == ["message 1", "message 2", "message 4"]
