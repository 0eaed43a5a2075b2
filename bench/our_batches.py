"""Batches through jobmodule's public API, for the workloads that send one (W2, W3, W5, W6, W6C)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import jobs
from bench.common import Skipped


def batch_api() -> Any:
    """``client.Bus`` if batches exist yet; Skipped otherwise."""
    try:
        from jobmodule import Bus

        _ = Bus.batch
    except (ImportError, AttributeError):
        raise Skipped("batches not available") from None
    return Bus


async def dispatch_batch(
    items: Any, queue: str, callback: jobs.Job | None = None
) -> tuple[Any, float]:
    """Dispatch a batch through the public API; return it and when it was dispatched."""
    builder = batch_api().batch(items)
    if callback is not None:
        builder = builder.then(callback)
    dispatched = builder.on_queue(queue).dispatch()
    batch = (
        await dispatched
        if asyncio.iscoroutine(dispatched) or hasattr(dispatched, "__await__")
        else dispatched
    )
    return batch, time.time()
