"""``NotificationWorkflow``: one per namespace, turning failures and waits into notices.

Every few seconds it asks a worker to scan (``scan_for_notices``: the dead-letter queue's new
entries by their ``FailedAt``, failed batches, the queues' oldest pending jobs, lost workers),
decides what to send (``notification_rules``: no storms, nothing twice), and hands each notice
to each channel in an activity of its own, retried on a 5xx or a timeout. It never touches a
job: a channel that is down delays its notices, and nothing else. It runs on its own task queue
(``NOTIFY_QUEUE``), which every worker with a channel configured polls.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from jobmodule.activities.notify import CHANNEL_REFUSED, Channel, DeliverInput, Notice
    from jobmodule.workflows.notification_models import (
        NotifierInput,
        NotifierRules,
        NotifierState,
        ScanInput,
        ScanResult,
    )
    from jobmodule.workflows.notification_rules import SCAN_OVERLAP, decide

NOTIFIER_ID = "jobmodule-notifications"
SCAN_TIMEOUT = timedelta(minutes=1)
SCAN_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
DELIVERY_TIMEOUT = timedelta(seconds=30)
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=30,
    non_retryable_error_types=[CHANNEL_REFUSED],
)
"""A 5xx, a timeout or a refused connection is retried for about half an hour; a 4xx is not."""
HISTORY_LIMIT = 2000


@workflow.defn(name="NotificationWorkflow")
class NotificationWorkflow:
    """Scans, decides and delivers, forever (continuing as new to keep its history short)."""

    def __init__(self) -> None:
        self._rules = NotifierRules()

    @workflow.run
    async def run(self, input: NotifierInput) -> None:
        self._rules = input.rules
        state = input.state or NotifierState(since=workflow.now() - SCAN_OVERLAP)
        while True:
            scan: ScanResult = await workflow.execute_activity(
                "scan_for_notices",
                ScanInput(since=state.since - SCAN_OVERLAP, rules=self._rules),
                result_type=ScanResult,
                start_to_close_timeout=SCAN_TIMEOUT,
                retry_policy=SCAN_RETRY,
            )
            notices = decide(state, scan, self._rules, workflow.now())
            await asyncio.gather(
                *(self._deliver(notice, channel) for notice in notices for channel in scan.channels)
            )
            if workflow.info().get_current_history_length() > HISTORY_LIMIT:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(NotifierInput(rules=self._rules, state=state))
            await workflow.sleep(timedelta(seconds=self._rules.scan_seconds))

    async def _deliver(self, notice: Notice, channel: Channel) -> None:
        try:
            await workflow.execute_activity(
                "deliver_notice",
                DeliverInput(notice=notice, channel=channel),
                start_to_close_timeout=DELIVERY_TIMEOUT,
                retry_policy=DELIVERY_RETRY,
                summary=f"{channel}: {notice.title}"[:200],
            )
        except ActivityError as error:
            workflow.logger.error("notice %s not delivered by %s: %s", notice.key, channel, error)

    @workflow.signal(name="configure")
    def configure(self, rules: NotifierRules) -> None:
        """Rules from a worker started with other settings: they apply from the next scan."""
        self._rules = rules
