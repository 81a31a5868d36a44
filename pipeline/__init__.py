"""The ingest pipeline: collected events → correlator → incidents → store, one batch at a time."""

from canhgac.pipeline._batch import BatchOutcome, CollectedBatch, OutcomeTotals, PipelineStatus
from canhgac.pipeline._pipeline import STATE_CHECKPOINT, EventCorrelator, IngestPipeline
from canhgac.pipeline._worker import PipelineWorker

__all__ = [
    "STATE_CHECKPOINT",
    "BatchOutcome",
    "CollectedBatch",
    "EventCorrelator",
    "IngestPipeline",
    "OutcomeTotals",
    "PipelineStatus",
    "PipelineWorker",
]
