"""`FileTailer`: follows the log files of one configured source, across rotation.

Position is kept per file as a checkpoint {dev, inode, fingerprint, offset, line} that
the pipeline stores in the same transaction as the events read up to it. At start the
tailer resumes from the checkpoint when the file is still the same one (same inode and
same first line); when the file was rotated while canhgac was down, it first finishes
the rotated file (found beside it by inode), then reads the new one from its start.

Rotation while running: by rename (the path now names a new inode) the old file is
read to its end and then followed for `ROTATED_GRACE_POLLS` more polls, since writers
such as nginx keep appending to it until they reopen their log; by truncation
(copytruncate: the file became shorter than the offset) reading restarts at 0.
"""

import glob
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import BinaryIO

from canhgac.collectors._directives import reads_directives, take_directive
from canhgac.collectors._event_builder import EventBuilder, SourceLabels
from canhgac.collectors._line_reader import fingerprint, read_lines
from canhgac.config import FileSourceConfig
from canhgac.events import DeadLetter, Event
from canhgac.parsers import (
    JsonLinesParser,
    LineParser,
    ParseContext,
    W3CParser,
    detect_format,
    get_parser,
)
from canhgac.pipeline import CollectedBatch
from canhgac.storage import Checkpoint

log = logging.getLogger(__name__)

ROTATED_GRACE_POLLS = 5


@dataclass(slots=True)
class _Followed:
    """One open file and how far it has been read."""

    path: str
    handle: BinaryIO
    dev: int
    inode: int
    fingerprint: str | None
    offset: int
    line: int
    parser: LineParser | None = None
    idle_polls: int = 0


class FileTailer:
    def __init__(
        self,
        config: FileSourceConfig,
        *,
        load_checkpoint: Callable[[str], Checkpoint | None],
        submit: Callable[[CollectedBatch], None],
        timezone: tzinfo,
        batch_lines: int = 1000,
    ) -> None:
        self.config = config
        self._load_checkpoint = load_checkpoint
        self._submit = submit
        self._timezone = timezone
        self._batch_lines = batch_lines
        self._labels = SourceLabels(config.name, config.system, config.organization)
        self._active: dict[str, _Followed] = {}
        self._rotated: list[_Followed] = []
        self._warned: set[str] = set()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def poll_interval(self) -> float:
        return self.config.poll_interval

    def start(self) -> None:
        """Nothing to open ahead: files are found and opened by `poll`."""

    def poll(self) -> int:
        """Read every complete line now available; returns how many lines were read."""
        total = 0
        for rotated in list(self._rotated):
            read = self._drain(rotated)
            total += read
            rotated.idle_polls = 0 if read else rotated.idle_polls + 1
            if rotated.idle_polls > ROTATED_GRACE_POLLS:
                rotated.handle.close()
                self._rotated.remove(rotated)
        for path in self._current_paths():
            followed = self._active.get(path) or self._open(path)
            if followed is None:
                continue
            self._check_rotation(followed)
            total += self._drain(self._active[path])
        return total

    def close(self) -> None:
        for followed in [*self._active.values(), *self._rotated]:
            followed.handle.close()
        self._active.clear()
        self._rotated.clear()

    # -- opening and rotation ---------------------------------------------------------
    def _current_paths(self) -> Iterator[str]:
        for pattern in self.config.paths:
            if glob.has_magic(pattern):
                anchor = Path(pattern).anchor or "."
                relative = str(Path(pattern).relative_to(anchor)) if anchor != "." else pattern
                # Compressed rotations are complete files: `canhgac ingest` reads them.
                yield from sorted(str(p) for p in Path(anchor).glob(relative) if p.suffix != ".gz")
            else:
                yield pattern

    def _open(self, path: str) -> _Followed | None:
        try:
            followed = _open_followed(path, path)
        except FileNotFoundError:
            self._warn_once(path, "waiting for %s to appear")
            return None
        except OSError as exc:
            self._warn_once(path, f"cannot read %s: {exc.strerror}")
            return None
        self._warned.discard(path)
        checkpoint = self._load_checkpoint(self._checkpoint_name(path))
        state = dict(checkpoint.state) if checkpoint else None
        if state is None:
            if not self.config.from_beginning:
                followed.offset = os.fstat(followed.handle.fileno()).st_size
                followed.line = -1  # line numbers unknown when starting at the end
        elif _is_checkpointed_file(followed, state):
            followed.offset, followed.line = int(state["offset"]), int(state["line"])
            followed.parser = _w3c_parser(state)
        else:
            rotated = self._find_rotated(path, state)
            if rotated is not None:
                log.info("%s was rotated while stopped; finishing the rotated file first", path)
                self._drain(rotated)
                self._rotated.append(rotated)
        self._active[path] = followed
        return followed

    def _find_rotated(self, path: str, state: dict[str, object]) -> _Followed | None:
        """The file the checkpoint was taken on, renamed beside `path` (auth.log.1, ...)."""
        configured = Path(path)
        for candidate in sorted(configured.parent.glob(glob.escape(configured.name) + "*")):
            if candidate == configured or candidate.suffix == ".gz":
                continue
            try:
                # Checkpoints stay keyed by the configured path so the offset carries over.
                followed = _open_followed(path, str(candidate))
            except OSError:
                continue
            if _is_checkpointed_file(followed, state):
                followed.offset, followed.line = int(str(state["offset"])), int(str(state["line"]))
                followed.parser = _w3c_parser(state)
                return followed
            followed.handle.close()
        return None

    def _check_rotation(self, followed: _Followed) -> None:
        try:
            stat = Path(followed.path).stat()
        except FileNotFoundError:
            return  # moved away and not recreated yet: keep reading the open handle
        if (stat.st_ino, stat.st_dev) != (followed.inode, followed.dev):
            log.info("%s was rotated; following the new file", followed.path)
            self._drain(followed)
            self._rotated.append(followed)
            # The new file is read from its first line, whatever the checkpoint says.
            self._active[followed.path] = _open_followed(followed.path, followed.path)
        elif stat.st_size < followed.offset:
            log.info("%s was truncated; reading it again from the start", followed.path)
            followed.offset, followed.line, followed.fingerprint = 0, 0, None

    # -- reading ----------------------------------------------------------------------
    def _drain(self, followed: _Followed) -> int:
        total = 0
        while True:
            if followed.fingerprint is None:
                followed.fingerprint = fingerprint(followed.handle)
                if followed.fingerprint is None:
                    return total  # the first line is not complete yet
            lines, end = read_lines(
                followed.handle, followed.offset, final=False, max_lines=self._batch_lines
            )
            if not lines:
                return total
            if followed.parser is None:
                followed.parser = self._parser_for(followed, [ln.data for ln in lines])
            builder = EventBuilder(
                followed.parser,
                self._labels,
                ParseContext(self._reference_time(followed), self._timezone, self.config.hostname),
                origin=f"file:{followed.fingerprint}",
                path=followed.path,
            )
            events: list[Event] = []
            dead: list[DeadLetter] = []
            directives = reads_directives(builder.parser)
            for number, raw in enumerate(lines, start=followed.line + 1):
                # Line numbers are unknown (None) when the source started at a file's end.
                known = number if followed.line >= 0 else None
                if directives and take_directive(builder, raw.data, known, dead):
                    continue
                built = builder.build(raw.data, raw.offset, known)
                if isinstance(built, Event):
                    events.append(built)
                else:
                    dead.append(built)
            followed.parser = builder.parser  # a W3C #Fields: directive may have changed it
            followed.offset = end
            if followed.line >= 0:
                followed.line += len(lines)
            self._submit(
                CollectedBatch(
                    source=self.config.name,
                    events=events,
                    dead_letters=dead,
                    checkpoints=(self._checkpoint(followed),),
                    lines=len(lines),
                )
            )
            total += len(lines)

    def _parser_for(self, followed: _Followed, sample: list[bytes]) -> LineParser:
        name: str = self.config.format
        if name == "auto":
            detected = detect_format(s.decode("utf-8", "replace") for s in sample)
            if detected is None:
                log.warning(
                    "%s: format not recognised; reading it as auth.log lines "
                    "(set format: in the source's configuration)",
                    followed.path,
                )
            name = detected or "auth"
        if name == "json" and self.config.field_mapping:
            return JsonLinesParser(
                self.config.field_mapping,
                timestamp_field=self.config.timestamp_field,
                timestamp_format=self.config.timestamp_format,
            )
        return get_parser(name)

    @staticmethod
    def _reference_time(followed: _Followed) -> datetime:
        # Year-less timestamps are dated from the file's last write (parsers/_syslog_time.py).
        return datetime.fromtimestamp(os.fstat(followed.handle.fileno()).st_mtime, UTC)

    def _checkpoint_name(self, path: str) -> str:
        return f"file:{self.config.name}:{path}"

    def _checkpoint(self, followed: _Followed) -> Checkpoint:
        state: dict[str, object] = {
            "dev": followed.dev,
            "inode": followed.inode,
            "fingerprint": followed.fingerprint,
            "offset": followed.offset,
            "line": followed.line,
        }
        if isinstance(followed.parser, W3CParser):
            # Resuming mid-file skips the header: keep the columns it declared.
            state["w3c"] = {"format": followed.parser.name, "fields": followed.parser.fields}
        return Checkpoint(self._checkpoint_name(followed.path), state)

    def _warn_once(self, path: str, message: str) -> None:
        if path not in self._warned:
            self._warned.add(path)
            log.warning(message, path)


def _open_followed(path: str, actual: str) -> _Followed:
    """Open `actual` for following under the configured `path`, from offset 0."""
    # Held open across polls (a rotated file is read through its handle); close() frees it.
    handle = Path(actual).open("rb")  # noqa: SIM115
    stat = os.fstat(handle.fileno())
    return _Followed(path, handle, stat.st_dev, stat.st_ino, fingerprint(handle), 0, 0)


def _w3c_parser(state: dict[str, object]) -> LineParser | None:
    """The W3C parser with the columns a checkpoint kept; None (decided later) otherwise."""
    saved = state.get("w3c")
    if not isinstance(saved, dict):
        return None
    parser = get_parser(str(saved["format"]))
    assert isinstance(parser, W3CParser)
    return type(parser)([str(name) for name in saved["fields"]])


def _is_checkpointed_file(followed: _Followed, state: dict[str, object]) -> bool:
    """Whether `followed` is the file a checkpoint was taken on: same inode, same first
    line, and not shorter than the checkpoint's offset."""
    size = os.fstat(followed.handle.fileno()).st_size
    return (
        state.get("inode") == followed.inode
        and state.get("dev") == followed.dev
        and state.get("fingerprint") == followed.fingerprint
        and size >= int(str(state.get("offset", 0)))
    )
