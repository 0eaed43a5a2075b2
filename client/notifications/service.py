"""Wiring notifications into a worker: its channels, its activities, and the one workflow.

A worker delivers notices when its settings name a channel (``JOBS_NOTIFY_WEBHOOK_URL``,
``JOBS_NOTIFY_MAIL_TO``) or its job modules define a ``Notifier``. Such a worker also polls the
notification queue and makes sure the namespace's ``NotificationWorkflow`` runs, with its rules
(the workflow takes the newest worker's rules by signal).
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker, WorkflowRunner

from jobmodule.activities.notify import DeliveryConfig, MailConfig, NoticeDelivery
from jobmodule.connection import with_search_attributes
from jobmodule.notifications.scan import NoticeScanner
from jobmodule.settings import JobSettings
from jobmodule.workflows.notification_models import NOTIFY_QUEUE, NotifierInput, NotifierRules
from jobmodule.workflows.notifications import NOTIFIER_ID, NotificationWorkflow

NOTIFY_WORKFLOW_TASKS = 2


def delivery_config(settings: JobSettings) -> DeliveryConfig:
    """The channels ``settings`` configure."""
    mail = None
    if settings.notify_mail_to:
        mail = MailConfig(
            to=[address.strip() for address in settings.notify_mail_to.split(",") if address],
            sender=settings.notify_mail_from,
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
        )
    return DeliveryConfig(webhook_url=settings.notify_webhook_url, mail=mail)


def notifier_rules(settings: JobSettings) -> NotifierRules:
    """When to notify, as ``settings`` say."""
    return NotifierRules(
        digest_minutes=settings.notify_digest_minutes,
        long_wait_seconds=settings.notify_long_wait_seconds,
        long_wait_queues=dict(settings.notify_long_wait_queues),
        scan_seconds=settings.notify_scan_seconds,
    )


class NotificationService:
    """What notifications add to one worker process, when it has a channel."""

    def __init__(self, client: Client, settings: JobSettings) -> None:
        self._client = client
        self._settings = settings
        self.config = delivery_config(settings)

    @classmethod
    def for_worker(cls, client: Client, settings: JobSettings) -> NotificationService | None:
        """The service for a worker with a channel configured; None for one without."""
        service = cls(client, settings)
        return service if service.config.channels() else None

    def worker(self, runner: WorkflowRunner) -> Worker:
        """A worker of the notification queue: the workflow, the scan and the delivery."""
        activities: list[Any] = [
            NoticeDelivery(self.config).deliver,
            NoticeScanner(self.config).scan,
        ]
        return Worker(
            self._client,
            task_queue=NOTIFY_QUEUE,
            workflows=[NotificationWorkflow],
            activities=activities,
            workflow_runner=runner,
            max_concurrent_workflow_tasks=NOTIFY_WORKFLOW_TASKS,
        )

    async def ensure_running(self) -> None:
        """Start the namespace's notifier if none runs, and give it this worker's rules."""
        rules = notifier_rules(self._settings)
        client = self._client
        handle = await with_search_attributes(
            client,
            lambda: client.start_workflow(
                NotificationWorkflow.run,
                NotifierInput(rules=rules),
                id=NOTIFIER_ID,
                task_queue=NOTIFY_QUEUE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary="jobmodule notifications",
            ),
        )
        await handle.signal(NotificationWorkflow.configure, rules)
