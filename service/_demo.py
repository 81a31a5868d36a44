"""`DemoReplay`: the bundled sample logs, re-dated to now and appended to files that the
demo's sources follow, a few lines at a time, so incidents appear live."""

import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from canhgac.config import FileSourceConfig

log = logging.getLogger(__name__)

_SAMPLES = Path(__file__).parent.parent / "samples"
_ACCESS_TIME = re.compile(r"\[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]")
_ACCESS_FORMAT = "%d/%b/%Y:%H:%M:%S %z"
_SYSLOG_TIME = re.compile(r"^(\w{3} [ \d]\d \d{2}:\d{2}:\d{2})")
_SYSLOG_FORMAT = "%b %d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class DemoSample:
    file: str
    source: FileSourceConfig


def demo_samples(folder: Path) -> tuple[DemoSample, ...]:
    """The two provincial systems the demo shows, with their sources under `folder`."""
    return (
        DemoSample(
            "portal-access.log",
            FileSourceConfig(
                name="demo-portal-nginx",
                paths=[str(folder / "portal-access.log")],
                format="nginx",
                system="Cổng dịch vụ công tỉnh",
                organization="Sở Khoa học và Công nghệ",
                poll_interval=0.5,
            ),
        ),
        DemoSample(
            "auth.log",
            FileSourceConfig(
                name="demo-dvc-app01-auth",
                paths=[str(folder / "auth.log")],
                format="auth",
                system="Hệ thống thông tin giải quyết TTHC (một cửa)",
                organization="Văn phòng UBND tỉnh",
                hostname="dvc-app01",
                poll_interval=0.5,
            ),
        ),
    )


def redate(lines: list[str], now: datetime, zone: tzinfo) -> list[str]:
    """Shift every timestamp by one offset so that the newest line is `now`.

    Year-less syslog times are read in `zone`; lines whose time cannot be read (the
    samples' deliberately broken ones) are kept as they are.
    """
    times = [t for t in (_line_time(line, now.year, zone) for line in lines) if t]
    if not times:
        return lines
    shift = now - max(times)
    return [_shifted(line, shift, now.year, zone) for line in lines]


def _line_time(line: str, year: int, zone: tzinfo) -> datetime | None:
    if match := _ACCESS_TIME.search(line):
        return datetime.strptime(match.group(1), _ACCESS_FORMAT)
    if match := _SYSLOG_TIME.match(line):
        parsed = datetime.strptime(f"{year} {match.group(1)}", f"%Y {_SYSLOG_FORMAT}")
        return parsed.replace(tzinfo=zone)
    return None


def _shifted(line: str, shift: timedelta, year: int, zone: tzinfo) -> str:
    if match := _ACCESS_TIME.search(line):
        moved = datetime.strptime(match.group(1), _ACCESS_FORMAT) + shift
        return line[: match.start(1)] + moved.strftime(_ACCESS_FORMAT) + line[match.end(1) :]
    if match := _SYSLOG_TIME.match(line):
        old = datetime.strptime(f"{year} {match.group(1)}", f"%Y {_SYSLOG_FORMAT}")
        moved = (old.replace(tzinfo=zone) + shift).astimezone(zone)
        stamp = f"{moved:%b} {moved.day:>2} {moved:%H:%M:%S}"
        return stamp + line[match.end(1) :]
    return line


class DemoReplay:
    """Writes the re-dated samples into `folder`, `lines_per_step` lines per file every
    `step_seconds`, in a background thread, then stops."""

    def __init__(
        self,
        folder: Path,
        zone: tzinfo,
        *,
        lines_per_step: int = 40,
        step_seconds: float = 1.0,
    ) -> None:
        self.folder = folder
        self.samples = demo_samples(folder)
        self._zone = zone
        self._lines_per_step = lines_per_step
        self._step_seconds = step_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="canhgac-demo", daemon=True)

    @property
    def sources(self) -> list[FileSourceConfig]:
        return [s.source for s in self.samples]

    def prepare(self) -> None:
        """Start each demo file afresh, empty, so every demo run replays all of it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for sample in self.samples:
            (self.folder / sample.file).write_bytes(b"")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        now = datetime.now(UTC)
        pending = {
            sample.file: redate(
                (_SAMPLES / sample.file).read_text(encoding="utf-8").splitlines(), now, self._zone
            )
            for sample in self.samples
        }
        while any(pending.values()) and not self._stop.is_set():
            for name, lines in pending.items():
                chunk, pending[name] = lines[: self._lines_per_step], lines[self._lines_per_step :]
                if chunk:
                    with (self.folder / name).open("a", encoding="utf-8") as out:
                        out.write("\n".join(chunk) + "\n")
            self._stop.wait(self._step_seconds)
        log.info("demo: all sample lines written to %s", self.folder)
