"""Notices reach a webhook, mail and code: once each, without storms, even for an idle queue."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from jobmodule import Bus, JobMonitor, JobSettings
from jobmodule.connection import connect
from jobmodule.worker import run_worker
from tests.conftest import TEST_SETTINGS, wait_until
from tests.faults.conftest import PrivateServer, StartWorkers
from tests.notifications import channels
from tests.notifications.channels import Breaks

FAST = {"notify_scan_seconds": 0.5, "monitor_report_seconds": 1.0}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[PrivateServer, Client]]:
    """A server of each test's own: the namespace's notifier starts fresh."""
    private = PrivateServer(tmp_path / "server")
    private.start()
    try:
        yield private, await connect(target_host=private.address)
    finally:
        private.stop()


@contextlib.asynccontextmanager
async def worker(client: Client, queue: str, **settings: Any) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_worker(
            queues=[queue],
            job_modules=["tests.notifications.channels"],
            client=client,
            settings=TEST_SETTINGS.model_copy(update={**FAST, **settings}),
            stop=stop,
            own_process=False,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await task


def naming(hook: channels.Webhook, kind: str, text: str) -> Callable[[], list[dict[str, Any]]]:
    return lambda: [b for b in hook.acknowledged() if b["kind"] == kind and text in b["text"]]


async def test_a_webhook_that_fails_once_gets_the_notice_exactly_once(server: Any):
    _, client = server
    queue = f"q-{uuid.uuid4().hex[:8]}"
    with channels.webhook(500) as hook:
        async with worker(client, queue, notify_webhook_url=hook.url):
            job = await Breaks.dispatch(token=queue).using(client).on_queue(queue)
            [notice] = await wait_until(naming(hook, "dead_lettered", job.id), timeout=60)
            await asyncio.sleep(3)  # a few more scans: nothing is sent twice
        sent = [body for _, body in hook.received if body["kind"] == "dead_lettered"]
    assert [status for status, _ in hook.received][:2] == [500, 200]
    assert len(sent) == 2 and len(naming(hook, "dead_lettered", job.id)()) == 1
    assert notice["job_id"] == job.id
    assert notice["queue"] == queue and "RuntimeError" in notice["exception"]
    assert notice["retry"] == f"jobmodule retry {job.id}"
    assert notice["text"].startswith("Job ")  # what Slack shows


async def test_ten_failures_of_one_group_give_one_notice_and_one_digest_at_most(server: Any):
    _, client = server
    queue = f"q-{uuid.uuid4().hex[:8]}"
    with channels.webhook() as hook:
        async with worker(client, queue, notify_webhook_url=hook.url, notify_digest_minutes=0.1):
            await asyncio.gather(
                *(
                    Breaks.dispatch(token=queue, n=n).using(client).on_queue(queue)
                    for n in range(10)
                )
            )
            await wait_until(naming(hook, "dead_lettered", queue), timeout=60)
            [digest] = await wait_until(naming(hook, "digest", "more job"), timeout=60)
            await asyncio.sleep(8)  # past another digest window: nothing more to sum
    assert len(naming(hook, "dead_lettered", queue)()) == 1
    assert len(naming(hook, "digest", "more job")()) == 1
    assert digest["count"] == 9


async def test_a_queue_nobody_polls_notifies_a_long_wait_once(server: Any):
    _, client = server
    worked, idle = f"q-{uuid.uuid4().hex[:8]}", f"idle-{uuid.uuid4().hex[:8]}"
    with channels.webhook() as hook:
        async with worker(client, worked, notify_webhook_url=hook.url, notify_long_wait_seconds=2):
            await channels.Breaks.dispatch(token=idle).using(client).on_queue(idle)
            [wait] = await wait_until(naming(hook, "long_wait", idle), timeout=60)
            await asyncio.sleep(4)  # it still waits: no second notice
    assert wait["queue"] == idle and wait["waited_s"] > 2
    assert len(naming(hook, "long_wait", idle)()) == 1


async def test_mail_and_the_applications_own_notifier_get_the_failure(server: Any):
    _, client = server
    queue = f"q-{uuid.uuid4().hex[:8]}"
    with channels.smtp_server() as (mailbox, port):
        async with worker(
            client, queue, notify_mail_to="ops@example.test", smtp_port=port, smtp_host="127.0.0.1"
        ):
            job = await Breaks.dispatch(token=queue).using(client).on_queue(queue)
            await wait_until(lambda: mailbox.messages, timeout=60)
            await wait_until(lambda: [n for n in channels.code_notices if job.id in n.text])
    [mail] = mailbox.messages
    assert "tests.notifications.channels.Breaks" in mail and f"broken {queue} part" in mail
    assert "To: ops@example.test" in mail


async def test_a_failed_batch_notifies_once(server: Any):
    _, client = server
    queue = f"q-{uuid.uuid4().hex[:8]}"
    with channels.webhook() as hook:
        async with worker(client, queue, notify_webhook_url=hook.url):
            batch = await Bus.batch([Breaks(token=queue)]).on_queue(queue).using(client).dispatch()
            await batch.wait()
            [notice] = await wait_until(naming(hook, "batch_failed", batch.id), timeout=60)
    assert notice["id"] == batch.id and "broken" in notice["failure"]


async def test_a_worker_killed_without_goodbye_is_reported_lost_once(
    server: Any, start_workers: StartWorkers
):
    private, client = server
    queue = f"q-{uuid.uuid4().hex[:8]}"
    with channels.webhook() as hook:
        async with worker(client, f"n-{queue}", notify_webhook_url=hook.url):
            doomed = start_workers(queue, address=private.address, JOBS_MONITOR_REPORT_SECONDS="1")
            pid = str(doomed.process.pid)
            monitor = JobMonitor().using(client)
            await wait_until(lambda: _statuses(monitor, pid, {"up"}), timeout=30, interval=0.5)
            doomed.signal(signal.SIGKILL)
            [lost] = await wait_until(naming(hook, "worker_lost", pid), timeout=60)
            await asyncio.sleep(3)  # a few more scans: it stays lost, nothing is sent twice
    assert lost["worker"].startswith(f"{pid}@")
    assert len(naming(hook, "worker_lost", pid)()) == 1


async def _statuses(monitor: JobMonitor, pid: str, wanted: set[str]) -> bool:
    workers = await monitor.workers()
    return {w.status for w in workers if w.identity.startswith(f"{pid}@")} == wanted


def test_settings_refuse_a_bad_threshold() -> None:
    with pytest.raises(ValueError, match="notify_long_wait_seconds"):
        JobSettings(notify_long_wait_seconds=0)
