"""`OneShotReader`: what the readers of a whole file (`FileReader`, `EvtxReader`,
`CaptureReader`) share: the file opened, its first bytes looked at, and the file closed
again however that ends."""

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Self

from canhgac.collectors._read_progress import CollectorError


class OneShotReader(ABC):
    """A whole file, open from construction until `close` (or the end of a with block);
    CollectorError, with the file closed, when it cannot be read or is not of the format."""

    def __init__(self, path: Path, head_bytes: int) -> None:
        self.path = path
        try:
            self._handle = path.open("rb")
            self.size = path.stat().st_size
        except OSError as exc:
            raise CollectorError(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            if path.is_dir():
                raise CollectorError(f"cannot read {path}: it is a directory")
            try:
                head = self._handle.read(head_bytes)
            except OSError as exc:
                raise CollectorError(f"cannot read {path}: {exc.strerror or exc}") from exc
            self._begin(head)
        except CollectorError:
            self._handle.close()
            raise

    @abstractmethod
    def _begin(self, head: bytes) -> None:
        """Look at the file's first bytes (a signature, a compression) and make ready to
        read, the file positioned after `head`; CollectorError saying what to do when it
        is not of the format."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._handle.close()
