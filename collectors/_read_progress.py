"""What the one-shot readers (FileReader, EvtxReader) yield, and how they fail."""

from dataclasses import dataclass

from canhgac.pipeline import CollectedBatch


class CollectorError(Exception):
    """A source cannot be read; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class ReadProgress:
    """One batch read, and how many bytes of the file are done with it."""

    batch: CollectedBatch
    bytes_done: int
