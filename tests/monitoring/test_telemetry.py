"""OpenTelemetry from a real worker: Prometheus on --metrics-port, one trace per dispatch."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import urllib.request
from asyncio.subprocess import PIPE

from temporalio.client import Client

from tests import sample_jobs as jobs
from tests.conftest import REPO, wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


async def test_metrics_port_serves_jobmodule_series_with_job_and_queue_labels(
    client: Client, queue: str, spawn_worker
):
    port = free_port()
    spawn_worker(queue, "--metrics-port", str(port))
    assert await (await jobs.Add.dispatch(a=2, b=3).on_queue(queue)).result() == 5
    labels = f'job="tests.sample_jobs.Add",queue="{queue}"'

    async def has_series() -> bool:
        return f"jobmodule_jobs_completed{{{labels}" in await asyncio.to_thread(scrape, port)

    await wait_until(has_series, timeout=30, interval=0.5)
    body = await asyncio.to_thread(scrape, port)
    # Prometheus sorts the labels: job, outcome, queue.
    attempts = (
        f'jobmodule_job_attempts{{job="tests.sample_jobs.Add",outcome="succeeded",queue="{queue}"'
    )
    assert attempts in body
    assert f"jobmodule_job_runtime_seconds_count{{{labels}" in body
    assert f"jobmodule_job_wait_seconds_bucket{{{labels}" in body
    assert f"jobmodule_jobs_running{{{labels}" in body
    assert "temporal_activity_execution_latency" in body  # the SDK's own, on the same endpoint


async def test_one_trace_runs_from_dispatch_to_each_attempt_batch_jobs_included(
    server_address: str,
):
    """In a process of its own: OpenTelemetry allows one global tracer provider per process."""
    env = {**os.environ, "TEMPORAL_ADDRESS": server_address}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.monitoring.trace_probe", cwd=REPO, env=env, stdout=PIPE,
        stderr=PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()[-3000:]
    traces = json.loads(out.decode().strip().splitlines()[-1])

    job = traces["job"]
    [trace_id] = {span["trace_id"] for span in job["spans"]}  # one trace
    names = [span["name"] for span in job["spans"]]
    assert names[0] == "Dispatch:FlakyTwice"  # the root: the dispatch
    assert "RunWorkflow:JobWorkflow" in names
    attempts = [span for span in job["spans"] if span["name"] == "RunJob:FlakyTwice"]
    assert [span["attributes"]["jobmodule.attempt"] for span in attempts] == [1, 2, 3]
    assert {span["attributes"]["jobmodule.job_id"] for span in attempts} == {job["id"]}
    assert {span["attributes"]["jobmodule.job"] for span in attempts} == {
        "tests.sample_jobs.FlakyTwice"
    }
    assert trace_id == job["trace_id"]

    batch = traces["batch"]
    assert len({span["trace_id"] for span in batch["spans"]}) == 1
    grouped = [span for span in batch["spans"] if span["name"] == "RunJob:Noop"]
    assert sorted(span["attributes"]["jobmodule.job_id"] for span in grouped) == sorted(
        batch["job_ids"]
    )
    assert any(span["name"] == "RunActivity:run_job_group" for span in batch["spans"])
