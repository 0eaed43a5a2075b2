"""``python -m tests.monitoring.trace_probe``: a job and a batch traced into memory.

Installs a tracer provider with an in-memory exporter, runs a worker in this process, dispatches
a job that needs three attempts and a batch of three, and prints their spans as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jobmodule import Bus, JobSettings, set_default_client
from jobmodule.connection import connect
from jobmodule.worker import run_worker
from tests import sample_jobs as jobs


def spans_of(spans: list[ReadableSpan], trace_id: int) -> list[dict[str, Any]]:
    chosen = [span for span in spans if span.context is not None]
    chosen = [span for span in chosen if span.context.trace_id == trace_id]
    chosen.sort(key=lambda span: span.start_time or 0)
    return [
        {
            "name": span.name,
            "trace_id": f"{trace_id:032x}",
            "attributes": dict(span.attributes or {}),
        }
        for span in chosen
    ]


def trace_of(spans: list[ReadableSpan], **attribute: str) -> int:
    [(key, value)] = attribute.items()
    for span in spans:
        if (span.attributes or {}).get(key) == value and span.name.startswith("Dispatch:"):
            assert span.context is not None
            return span.context.trace_id
    raise AssertionError(f"no dispatch span with {key}={value}")


async def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    client = await connect()  # carries the tracing interceptor (JOBS_TRACING defaults on)
    set_default_client(client)
    queue = f"trace-{uuid.uuid4().hex[:8]}"
    stop = asyncio.Event()
    settings = JobSettings(workflow_sandbox=True, graceful_shutdown_seconds=5)
    worker = asyncio.create_task(
        run_worker(
            queues=[queue],
            job_modules=["tests.sample_jobs"],
            client=client,
            settings=settings,
            stop=stop,
            own_process=False,
        )
    )
    try:
        job = await jobs.FlakyTwice.dispatch(token=queue).on_queue(queue).backoff(0)
        assert await job.result() == 3
        batch = await Bus.batch([jobs.Noop(i=i) for i in range(3)]).on_queue(queue).dispatch()
        await batch.wait()
    finally:
        stop.set()
        await worker
    spans = list(exporter.get_finished_spans())
    job_trace = trace_of(spans, **{"jobmodule.job_id": job.id})
    batch_trace = trace_of(spans, **{"jobmodule.batch_id": batch.id})
    chunk = f"{batch.id}-c00001"
    result = {
        "job": {
            "id": job.id,
            "trace_id": f"{job_trace:032x}",
            "spans": spans_of(spans, job_trace),
        },
        "batch": {
            "spans": spans_of(spans, batch_trace),
            "job_ids": [f"{chunk}:{i}" for i in range(3)],
        },
    }
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    asyncio.run(main())
