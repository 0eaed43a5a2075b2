"""A job that kills its process fails alone: its batch's other jobs succeed, callbacks run."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from temporalio.client import Client

from jobmodule import Bus
from tests.faults import fault_jobs
from tests.faults.conftest import StartWorkers, runs

POISON = 17


async def test_a_poison_job_fails_alone_and_the_batch_and_its_callbacks_finish(
    client: Client, queue: str, start_workers: StartWorkers, tmp_path: Path
):
    path, caught = tmp_path / "runs", tmp_path / "caught"
    supervisor = start_workers(queue, "--processes", "2", ready=2)
    batch = await (
        Bus.batch(fault_jobs.Poison(path=str(path), i=i, poison=i == POISON) for i in range(40))
        .catch(fault_jobs.NotesFailure(path=str(caught)))
        .allow_failures()
        .on_queue(queue)
        .dispatch()
    )
    final = await asyncio.wait_for(batch.wait(), timeout=180)
    assert (final.total_jobs, final.processed_jobs, final.failed_jobs) == (40, 39, 1)
    [failed_id] = final.failed_job_ids
    assert failed_id.endswith(f":{POISON}")
    failure = json.loads(caught.read_text())
    assert failure["type"] == "WorkerLost"
    assert "worker process died" in failure["message"]

    notes = runs(path)
    crashed = set(notes[POISON])  # every process the poison ran in died with it
    # Its attempt inside a group, that group's resend (a dead group is sent again once, as a
    # worker killed from outside would be), then its two tries alone.
    assert len(crashed) == 4
    for index, seen in notes.items():
        if index == POISON:
            continue
        assert seen[-1] == "done"
        started_in = [what for what in seen if what != "done"]
        if len(started_in) > 1:  # ran again: only if it was beside the poison when it struck
            assert set(started_in[:-1]) <= crashed, (index, seen)
        assert len(started_in) <= 3, (index, seen)  # beside it in both groups, then alone
    assert supervisor.count("died (exit code 1)") == 4
    supervisor.signal(signal.SIGTERM)
    assert await asyncio.to_thread(supervisor.wait, 60) == 0
