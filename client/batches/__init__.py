"""Batches and chains: ``Bus``, the pages jobs stream in by, handles, progress, coalescing."""

from jobmodule.batches.bus import Bus, PendingBatch, PendingChain
from jobmodule.batches.handle import BatchHandle, ChainHandle
from jobmodule.batches.listing import BatchPage, BatchSummary, list_batches

__all__ = [
    "Bus",
    "PendingBatch",
    "PendingChain",
    "BatchHandle",
    "ChainHandle",
    "list_batches",
    "BatchPage",
    "BatchSummary",
]
