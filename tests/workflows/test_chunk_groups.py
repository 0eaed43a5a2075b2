"""How a chunk workflow cuts its jobs into group activities."""

from __future__ import annotations

from jobmodule.activities.batch_models import BatchItem, JobBatch
from jobmodule.batches.pages import spec_of
from jobmodule.workflows.batch_models import BatchOptions, ChunkInput
from jobmodule.workflows.chunk import BatchChunkWorkflow, Entry
from tests import sample_jobs as jobs


def chunk_group_sizes(options: BatchOptions, page_group_size: int) -> list[int]:
    """Group sizes a chunk of 200 jobs picks for a page that asked for ``page_group_size``."""
    items = [BatchItem(jobs=[spec_of(jobs.Noop(i=i), "q")]) for i in range(200)]
    chunk = BatchChunkWorkflow()
    chunk._input = ChunkInput(
        batch_id="b",
        chunk_id="c",
        options=options,
        batch=JobBatch(id="b"),
        items=items,
        group_size=page_group_size,
    )
    entries = [Entry(key=f"c:{i}", jobs=item.jobs, chain=False) for i, item in enumerate(items)]
    return [len(group) for group in chunk._groups(entries)]


def test_a_tuned_group_size_wins_over_spreading_for_added_pages_too() -> None:
    spread = BatchOptions(group_size=50)
    tuned = BatchOptions(group_size=50, spread_small_pages=False)  # what tune(group_size=50) sets
    assert chunk_group_sizes(spread, page_group_size=5) == [5] * 40
    assert chunk_group_sizes(tuned, page_group_size=5) == [50] * 4
