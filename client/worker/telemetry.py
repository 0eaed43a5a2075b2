"""The worker's OpenTelemetry side: the SDK runtime's metrics exporter, our instruments, spans.

The Temporal SDK's runtime serves Prometheus itself (``--metrics-port``) or pushes OTLP
(``JOBS_OTLP_ENDPOINT``), one of the two (its core refuses both at once). Custom metrics made
from ``Runtime.metric_meter`` go out through the same exporter, so the SDK's ``temporal_*``
series and ours, ``jobmodule_*`` with ``job`` and ``queue`` labels, share one ``/metrics``
without another package. ``TelemetryConfig.metric_prefix`` renames only the SDK's own series:
ours keep their names whatever it is set to.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from temporalio.common import MetricCounter, MetricGauge, MetricHistogramFloat, MetricMeter
from temporalio.runtime import OpenTelemetryConfig, PrometheusConfig, Runtime, TelemetryConfig

from jobmodule.activities import JobModuleError
from jobmodule.activities.observe import Attempt
from jobmodule.settings import JobSettings

log = logging.getLogger("jobmodule.worker")

SECONDS_BUCKETS: Sequence[float] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
)  # fmt: skip
"""Job runtimes and waits go from a millisecond to an hour; the SDK's default stops at 10 s."""
RUNTIME = "jobmodule_job_runtime_seconds"
WAIT = "jobmodule_job_wait_seconds"
OTLP_HTTP_PATH = "/v1/metrics"
"""An endpoint ending in this is OTLP over HTTP (port 4318); any other, OTLP over gRPC (4317)."""


def telemetry_runtime(settings: JobSettings) -> Runtime | None:
    """A runtime that exports metrics as the settings ask, or None to keep the SDK's default."""
    buckets = {RUNTIME: SECONDS_BUCKETS, WAIT: SECONDS_BUCKETS}
    metrics: PrometheusConfig | OpenTelemetryConfig
    if settings.metrics_port is not None:
        address = f"{settings.metrics_host}:{settings.metrics_port}"
        metrics = PrometheusConfig(bind_address=address, histogram_bucket_overrides=buckets)
    elif settings.otlp_endpoint:
        endpoint = settings.otlp_endpoint
        metrics = OpenTelemetryConfig(
            url=endpoint,
            http=endpoint.rstrip("/").endswith(OTLP_HTTP_PATH),
            histogram_bucket_overrides=buckets,
        )
    else:
        return None
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=metrics))
    except ValueError as error:  # the port is taken, or the endpoint is not a URL
        raise JobModuleError(
            f"cannot export metrics: {error}. Pick a free --metrics-port (with --processes N "
            "the processes take PORT, PORT+1, ...), or a valid JOBS_OTLP_ENDPOINT URL."
        ) from None


def telemetry_options(settings: JobSettings) -> dict[str, Any]:
    """``connect()`` options of a worker's client: its runtime, when metrics are exported."""
    runtime = telemetry_runtime(settings)
    return {} if runtime is None else {"runtime": runtime}


def configure_trace_export(settings: JobSettings) -> None:
    """Send spans to ``JOBS_OTLP_ENDPOINT`` when the OTLP exporter package is installed.

    Spans need an exporter the SDK does not bring; without one, the application's own
    ``TracerProvider`` (set up in a job module the worker imports) receives them.
    """
    if not settings.otlp_endpoint or tracing_configured():
        return
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter,
        )
    except ImportError:
        log.info("traces: install opentelemetry-exporter-otlp to send them to the OTLP endpoint")
        return
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
    )
    trace.set_tracer_provider(provider)


def tracing_configured() -> bool:
    """Whether someone installed a tracer provider: spans are worth making only then."""
    return not isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider | trace.NoOpTracerProvider
    )


class JobMetrics:
    """Our instruments, bound once per label set (binding per call costs more than recording)."""

    def __init__(self, meter: MetricMeter) -> None:
        self._attempts = meter.create_counter(
            "jobmodule_job_attempts", "Job attempts that ended, by outcome"
        )
        self._completed = meter.create_counter("jobmodule_jobs_completed", "Jobs that succeeded")
        self._failed = meter.create_counter("jobmodule_jobs_failed", "Jobs that failed for good")
        self._runtime = meter.create_histogram_float(RUNTIME, "Runtime of job attempts", "s")
        self._wait = meter.create_histogram_float(
            WAIT, "From when a job could have started to the start of its attempt", "s"
        )
        self._running = meter.create_gauge("jobmodule_jobs_running", "Jobs running now")
        self._bound: dict[tuple[str, ...], Any] = {}

    def _bind(self, metric: Any, *labels: str) -> Any:
        key = (metric.name, *labels)
        bound = self._bound.get(key)
        if bound is None:
            attributes: Mapping[str, str | int | float | bool]
            if len(labels) == 3:
                attributes = {"job": labels[0], "queue": labels[1], "outcome": labels[2]}
            else:
                attributes = {"job": labels[0], "queue": labels[1]}
            bound = self._bound[key] = metric.with_additional_attributes(attributes)
        return bound

    def attempt_ended(self, attempt: Attempt, runtime: float | None) -> None:
        """Count an attempt and, if it settled its job, the job; time it."""
        job, queue = attempt.job, attempt.queue
        counter: MetricCounter = self._bind(self._attempts, job, queue, attempt.outcome or "")
        counter.add(1)
        wait: MetricHistogramFloat = self._bind(self._wait, job, queue)
        wait.record(attempt.wait_seconds)
        if runtime is not None:
            timing: MetricHistogramFloat = self._bind(self._runtime, job, queue)
            timing.record(runtime)
        if attempt.outcome == "succeeded":
            self._bind(self._completed, job, queue).add(1)

    def dead_lettered(self, job: str, queue: str) -> None:
        self._bind(self._failed, job, queue).add(1)

    def running(self, job: str, queue: str, count: int) -> None:
        gauge: MetricGauge = self._bind(self._running, job, queue)
        gauge.set(count)
