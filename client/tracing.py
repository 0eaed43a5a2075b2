"""OpenTelemetry tracing from ``dispatch()`` to each attempt of the job, batch jobs included.

The Temporal SDK's ``TracingInterceptor`` carries the trace context in the headers of every
start, signal, update and activity. On top of it, ``JobTracingInterceptor`` opens a
``Dispatch:<job>`` span around each job or batch start with the job's name and id (the SDK's own
span names only the workflow type), and leaves the workers' monitoring reports untraced. On the
worker, each attempt gets a ``RunJob:<Job>`` span (``jobmodule.worker.recorder``), inside the
group activity for batch jobs. Spans are recorded where a tracer provider is installed
(``opentelemetry.trace.set_tracer_provider``); otherwise they cost next to nothing.
"""

from __future__ import annotations

from typing import Any

import opentelemetry.trace
from temporalio.client import OutboundInterceptor, StartWorkflowInput, WorkflowHandle
from temporalio.contrib.opentelemetry import TracingInterceptor

from jobmodule.activities.ids import short_name
from jobmodule.workflows import BatchInput, JobInput

UNTRACED_WORKFLOWS = frozenset({"MetricsWorkflow"})
"""Workflows whose starts get no span: a worker's report every few seconds is not a trace."""


class JobTracingInterceptor(TracingInterceptor):
    """The SDK's tracing interceptor, with a span per dispatch that names the job."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _DispatchSpans(super().intercept_client(next), untraced=next, tracer=self.tracer)


class _DispatchSpans(OutboundInterceptor):
    def __init__(
        self,
        traced: OutboundInterceptor,
        *,
        untraced: OutboundInterceptor,
        tracer: opentelemetry.trace.Tracer,
    ) -> None:
        super().__init__(traced)
        self._untraced = untraced
        self._tracer = tracer

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        if input.workflow in UNTRACED_WORKFLOWS:
            return await self._untraced.start_workflow(input)
        span = dispatch_span(input)
        if span is None:
            return await super().start_workflow(input)
        name, attributes = span
        with self._tracer.start_as_current_span(
            name, attributes=attributes, kind=opentelemetry.trace.SpanKind.PRODUCER
        ):
            return await super().start_workflow(input)


def dispatch_span(input: StartWorkflowInput) -> tuple[str, dict[str, str]] | None:
    """The name and attributes of the span around a job's or batch's start, if it is one."""
    argument = input.args[0] if input.args else None
    if isinstance(argument, JobInput):
        return f"Dispatch:{short_name(argument.job)}", {
            "jobmodule.job": argument.job,
            "jobmodule.job_id": input.id,
            "jobmodule.queue": argument.policy.queue,
        }
    if isinstance(argument, BatchInput):
        return "Dispatch:batch", {
            "jobmodule.batch_id": argument.batch_id,
            "jobmodule.batch_name": argument.options.name,
            "jobmodule.queue": argument.options.queue,
        }
    return None
