"""Record workflow histories for the replay tests: ``python -m tests.record_histories``.

Run it only when a workflow changes *on purpose* in a compatible way, or to add scenarios; the
saved histories are the shipped behaviour that later code must still replay.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NamedTuple

from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from jobmodule import (
    Bus,
    FailureHandler,
    JobModuleError,
    JobService,
    JobSettings,
    JobState,
    set_default_client,
)
from jobmodule.activities import ids
from jobmodule.activities.ids import METRICS_WORKFLOW_ID
from jobmodule.connection import ensure_search_attributes
from jobmodule.dev.server import dynamic_config_args, temporal_binary
from jobmodule.jobs.handle import CoalescedJobHandle
from jobmodule.worker import run_worker
from jobmodule.workflows.metrics import MetricsWorkflow
from jobmodule.workflows.metrics_models import METRICS_QUEUE
from jobmodule.workflows.metrics_state import MetricsInput
from jobmodule.workflows.notifications import NOTIFIER_ID
from tests import sample_jobs as jobs
from tests.conftest import runs_that_released, update_accepted, wait_until

HISTORIES = Path(__file__).parent / "histories"
QUEUE = "record"


class Run(NamedTuple):
    """One run of a workflow to record, where the first run is not the interesting one."""

    workflow_id: str
    run_id: str


Recorded = str | Run


async def scenario_success(client: Client) -> str:
    job = await jobs.Add.dispatch(a=1, b=2).on_queue(QUEUE)
    await job.result()
    return job.id


async def scenario_retries(client: Client) -> str:
    job = await jobs.FlakyTwice.dispatch(token="record").on_queue(QUEUE).backoff(0)
    await job.result()
    return job.id


async def scenario_local(client: Client) -> str:
    job = await jobs.LocalFlaky.dispatch(token="record-local").on_queue(QUEUE)
    await job.result()
    return job.id


async def scenario_dead_letter_retry(client: Client) -> str:
    marker = Path(tempfile.mkdtemp()) / "marker"
    job = await jobs.FailsUntilFlagged.dispatch(marker=str(marker)).on_queue(QUEUE)
    await _expect_failure(job.result())
    marker.touch()
    await FailureHandler().using(client).retry(job.id)
    await job.result()
    return job.id


async def scenario_dead_letter_forget(client: Client) -> str:
    job = await jobs.AlwaysFails.dispatch(token="record").on_queue(QUEUE)
    await _expect_failure(job.result())
    await FailureHandler().using(client).forget(job.id)
    await _expect_failure(job.result())
    return job.id


async def scenario_batch(client: Client) -> list[str]:
    callback = jobs.RecordCallback(token="record", role="then")
    batch = await (
        Bus.batch([jobs.Noop(i=i) for i in range(30)] + [[jobs.Noop(i=100), jobs.Noop(i=101)]])
        .then(callback)
        .finally_(callback.model_copy(update={"role": "finally"}))
        .on_queue(QUEUE)
        .tune(chunk_size=20, group_size=10)
        .dispatch()
    )
    await batch.wait()
    return [batch.id, f"{batch.id}-c00001"]


async def scenario_batch_failure_retry(client: Client) -> list[str]:
    token = "record-retry"
    batch = await (
        Bus.batch([jobs.FailsIf(token=token, i=i, bad=[1]) for i in range(5)])
        .catch(jobs.RecordCallback(token=token, role="catch"))
        .allow_failures()
        .on_queue(QUEUE)
        .dispatch()
    )
    await batch.wait()
    jobs.fixed_tokens.add(token)
    await batch.retry_failed()
    await batch.wait()
    return [batch.id, f"{batch.id}-c00001", f"{batch.id}-r1-00001"]


async def scenario_batch_continue_as_new(client: Client) -> list[str]:
    batch = await (
        Bus.batch(jobs.Noop(i=i) for i in range(60))
        .on_queue(QUEUE)
        .tune(chunk_size=5, history_limit=100)
        .dispatch()
    )
    await batch.wait()
    return [batch.id]


async def scenario_batch_first_failure_cancels(client: Client) -> list[str]:
    token = "record-cancel"
    batch = await (
        Bus.batch([jobs.FailsIf(token=token, i=i, bad=[0], seconds=0.2) for i in range(12)])
        .catch(jobs.RecordCallback(token=token, role="catch"))
        .finally_(jobs.RecordCallback(token=token, role="finally"))
        .on_queue(QUEUE)
        .tune(chunk_size=4, group_concurrency=1)
        .dispatch()
    )
    await batch.wait()
    return [batch.id, f"{batch.id}-c00002"]


async def scenario_batch_spread(client: Client) -> list[str]:
    """A one-page batch cut into small groups, grown by a one-page add(): per-page group sizes."""
    batch = await Bus.batch(jobs.Noop(i=i) for i in range(80)).on_queue(QUEUE).dispatch()
    await batch.add(jobs.Noop(i=i) for i in range(80, 120))
    await batch.wait()
    return [batch.id, f"{batch.id}-c00001"]


async def scenario_batch_wait_handover(client: Client) -> list[Recorded]:
    """A wait() in flight when the batch continues as new: the run releases it, then hands over."""
    token = "record-handover"
    first, last = f"{token}-first", f"{token}-last"
    batch = await (
        Bus.batch(jobs.Gated(token=token, i=i, gate=first if i < 140 else last) for i in range(150))
        .on_queue(QUEUE)
        .tune(chunk_size=1, history_limit=100)
        .dispatch()
    )
    waiting = asyncio.create_task(batch.wait())
    await wait_until(lambda: update_accepted(client, batch.id, "wait_finished"))
    jobs.gates[first].set()
    released = await wait_until(lambda: runs_that_released(client, batch.id, "wait_finished"))
    jobs.gates[last].set()
    await waiting
    return [Run(batch.id, released[0])]


async def scenario_chain(client: Client) -> list[str]:
    chain = await (
        Bus.chain([jobs.FailsIf(token="record-chain", i=i, bad=[1]) for i in range(3)])
        .catch(jobs.RecordCallback(token="record-chain", role="catch"))
        .on_queue(QUEUE)
        .dispatch()
    )
    await chain.result()
    return [chain.id]


async def scenario_coalesced_dead_letter(client: Client) -> list[str]:
    """Two coalesced dispatches in one carrier; one fails for good and is parked on its own."""
    failing, passing = await asyncio.gather(
        jobs.AlwaysFails.dispatch(token="record-coalesced").on_queue(QUEUE).coalesce(),
        jobs.Noop.dispatch(i=1).on_queue(QUEUE).coalesce(),
    )
    await passing.result()
    await _expect_failure(failing.result())
    assert isinstance(failing, CoalescedJobHandle)
    return [failing.batch_id, f"{failing.batch_id}-c00001", failing.id]


async def scenario_batch_callback_parked(client: Client) -> list[str]:
    """A then callback that fails for good: the batch finishes and parks it in the DLQ."""
    batch = await (
        Bus.batch([jobs.Noop(i=1), jobs.Noop(i=2)])
        .then(jobs.AlwaysFails(token="record-then"))
        .on_queue(QUEUE)
        .dispatch()
    )
    await batch.wait()
    parked = ids.callback_job_id(batch.id, "then")
    await wait_until(lambda: FailureHandler().using(client).list(queue=QUEUE))
    return [batch.id, parked]


async def scenario_chain_catch_parked(client: Client) -> list[str]:
    """A chain whose catch callback fails for good: it is parked in the DLQ."""
    chain = await (
        Bus.chain([jobs.FailsIf(token="record-chain-catch", i=0, bad=[0])])
        .catch(jobs.AlwaysFails(token="record-chain-catch"))
        .on_queue(QUEUE)
        .dispatch()
    )
    await chain.result()
    return [chain.id]


async def scenario_batch_group_interrupted(client: Client) -> list[str]:
    """A group whose worker shuts down under it: its unfinished jobs are sent again."""
    token, queue = "record-interrupted", f"{QUEUE}-interrupted"
    stop = asyncio.Event()
    draining = asyncio.create_task(_worker(client, queue, stop, grace=1))
    batch = await (
        Bus.batch(jobs.Gated(token=token, i=i, gate=f"{token}-{i % 2}") for i in range(4))
        .on_queue(queue)
        .tune(group_size=4)
        .dispatch()
    )
    jobs.gates[f"{token}-0"].set()
    await wait_until(lambda: len(jobs.batch_runs[token]) == 2)
    stop.set()
    await draining  # the group is cancelled after the grace: it raises GroupInterrupted
    jobs.gates[f"{token}-1"].set()
    stop = asyncio.Event()
    finishing = asyncio.create_task(_worker(client, queue, stop))
    await batch.wait()
    stop.set()
    await finishing
    return [f"{batch.id}-c00001"]


async def scenario_batch_dead_group(client: Client) -> list[str]:
    """A group that stops heartbeating (as if its process died): its unfinished jobs are sent
    again as a group (before the resend patch, they ran alone)."""
    batch = await (
        Bus.batch(
            [jobs.BlocksLoopOnce(token="record-dead-group"), *(jobs.Noop(i=i) for i in range(3))]
        )
        .on_queue(QUEUE)
        .tune(group_size=4)
        .dispatch()
    )
    await batch.wait()
    return [f"{batch.id}-c00001"]


async def _worker(client: Client, queue: str, stop: asyncio.Event, grace: float = 10) -> None:
    await run_worker(
        queues=[queue],
        job_modules=["tests.sample_jobs"],
        client=client,
        settings=JobSettings(graceful_shutdown_seconds=grace, monitoring=False),
        stop=stop,
        own_process=False,
    )


async def scenario_metrics(client: Client) -> list[Recorded]:
    """The metrics workflow folding worker reports, across one continue-as-new."""
    await client.start_workflow(  # the worker's first report started one already: replace it
        MetricsWorkflow.run,
        MetricsInput(history_limit=40),
        id=METRICS_WORKFLOW_ID,
        task_queue=METRICS_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )
    for i in range(5):
        await (await jobs.Add.dispatch(a=i).on_queue(QUEUE)).result()
    query = f'WorkflowId = "{METRICS_WORKFLOW_ID}" AND ExecutionStatus = "ContinuedAsNew"'

    async def continued() -> list[WorkflowExecution]:
        return [run async for run in client.list_workflows(query)]

    first = min(await wait_until(continued, timeout=120), key=lambda run: run.start_time).run_id
    second = (await client.get_workflow_handle(METRICS_WORKFLOW_ID).describe()).run_id
    return [Run(METRICS_WORKFLOW_ID, first), Run(METRICS_WORKFLOW_ID, second)]


async def scenario_notifications(client: Client) -> list[Recorded]:
    """The notifier: a failure notified, through a worker with a webhook (a local server)."""
    from tests.notifications import channels

    queue = f"{QUEUE}-notify"
    with channels.webhook(500) as hook:
        stop = asyncio.Event()
        notifying = asyncio.create_task(
            run_worker(
                queues=[queue],
                job_modules=["tests.notifications.channels"],
                client=client,
                # The main worker runs the metrics queue in this process already.
                settings=JobSettings(
                    notify_webhook_url=hook.url, notify_scan_seconds=0.5, monitoring=False
                ),
                stop=stop,
                own_process=False,
            )
        )
        await channels.Breaks.dispatch(token="record").on_queue(queue)
        await wait_until(hook.acknowledged, timeout=60)
        stop.set()
        await notifying
    return [NOTIFIER_ID]


async def scenario_batch_job_parked_and_recovered(client: Client) -> list[str]:
    """A batch job parked in the DLQ, retried through retry_failed(), counted as processed."""
    token = "record-parked"
    batch = await (
        Bus.batch([jobs.FailsIf(token=token, i=i, bad=[1]) for i in range(3)])
        .allow_failures()
        .on_queue(QUEUE)
        .dispatch()
    )
    first = await batch.wait()
    [parked] = first.failed_job_ids
    jobs.fixed_tokens.add(token)
    await batch.retry_failed()
    await batch.wait()
    return [batch.id, f"{batch.id}-c00001", parked]


async def _expect_failure(awaitable: Awaitable[object]) -> None:
    try:
        await awaitable
    except JobModuleError:
        return
    raise AssertionError("expected the job to fail")


async def scenario_limited(client: Client) -> list[Recorded]:
    """A job under a concurrency limit, retried once: each attempt takes and gives back a permit
    from the class's LimiterWorkflow (recorded too, while it waits for more requests)."""
    job = await jobs.FlakyCapped.dispatch(token="record").on_queue(QUEUE)
    await job.result()
    return [job.id, ids.limiter_id(QUEUE, jobs.FlakyCapped.job_name())]


async def scenario_cancel_running(client: Client) -> str:
    """A running job cancelled by an operator (``JobService.cancel``): before the
    cancel patch it parked as dead-lettered, after it the run closes as cancelled."""
    job = await jobs.Gated.dispatch(token="record-cancel").on_queue(QUEUE)
    await wait_until(lambda: _in(job.status(), {JobState.RUNNING}))
    await JobService().using(client).cancel(job.id)
    await wait_until(lambda: _in(job.status(), {JobState.CANCELLED, JobState.DEAD_LETTERED}))
    jobs.gates["record-cancel"].set()
    return job.id


async def _in(state: Awaitable[JobState], wanted: set[JobState]) -> bool:
    return await state in wanted


SCENARIOS: dict[str, Callable[[Client], Awaitable[Recorded | list[Recorded]]]] = {
    "job_success": scenario_success,
    "job_retries": scenario_retries,
    "job_local": scenario_local,
    "job_dead_letter_retry": scenario_dead_letter_retry,
    "job_dead_letter_forget": scenario_dead_letter_forget,
    "batch": scenario_batch,
    "batch_failure_retry": scenario_batch_failure_retry,
    "batch_continue_as_new": scenario_batch_continue_as_new,
    "batch_first_failure_cancels": scenario_batch_first_failure_cancels,
    "batch_spread": scenario_batch_spread,
    "batch_wait_handover": scenario_batch_wait_handover,
    "chain": scenario_chain,
    "coalesced_dead_letter": scenario_coalesced_dead_letter,
    "batch_callback_parked": scenario_batch_callback_parked,
    "chain_catch_parked": scenario_chain_catch_parked,
    "batch_group_interrupted": scenario_batch_group_interrupted,
    "batch_dead_group": scenario_batch_dead_group,
    "batch_dead_group_resent": scenario_batch_dead_group,
    "job_limited": scenario_limited,
    "metrics": scenario_metrics,
    "batch_counters_memo": scenario_batch_failure_retry,
    "notifications": scenario_notifications,
    "batch_job_parked_and_recovered": scenario_batch_job_parked_and_recovered,
    "job_cancel_parked": scenario_cancel_running,
    "job_cancelled": scenario_cancel_running,
}


async def _history(client: Client, recorded: Recorded) -> WorkflowHistory:
    """The named run, or the first run of a workflow (a continued run replays from its input)."""
    if isinstance(recorded, Run):
        workflow_id, run_id = recorded
    else:
        workflow_id = recorded
        runs = [run async for run in client.list_workflows(f'WorkflowId = "{workflow_id}"')]
        run_id = min(runs, key=lambda run: run.start_time).run_id
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


async def main() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=dynamic_config_args(),
    )
    await ensure_search_attributes(env.client)
    set_default_client(env.client)
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(
            queues=[QUEUE],
            job_modules=["tests.sample_jobs"],
            client=env.client,
            settings=JobSettings(monitor_report_seconds=0.5),
            stop=stop,
            own_process=False,
        )
    )
    HISTORIES.mkdir(exist_ok=True)
    try:
        # ``python -m tests.record_histories NAME...`` records only those, keeping the others:
        # histories of earlier workflow versions must go on replaying.
        wanted = sys.argv[1:] or list(SCENARIOS)
        for name, scenario in ((name, SCENARIOS[name]) for name in wanted):
            recorded = await scenario(env.client)
            for number, run in enumerate(recorded if isinstance(recorded, list) else [recorded]):
                history = await _history(env.client, run)
                suffix = "" if number == 0 else f"_{number}"
                (HISTORIES / f"{name}{suffix}.json").write_text(history.to_json())
                print(f"recorded {name}{suffix}: {len(history.events)} events")
    finally:
        stop.set()
        await worker
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
