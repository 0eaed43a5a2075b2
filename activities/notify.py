"""Notification delivery: a webhook, mail, or the application's own notifiers.

Laravel and Horizon route failure and long-wait notices to mail and chat. Here each notice goes
to each configured channel in an activity of its own (``deliver_notice``), so one channel's
trouble never holds back or repeats another's: a 5xx answer, a timeout or a refused connection
is retried with backoff, a 4xx answer is a mistake in the setup and is not.

* **webhook**: a JSON POST with ``text`` (what a Slack incoming webhook shows) and the notice's
  structured fields beside it;
* **mail**: a plain-text mail over SMTP, with STARTTLS and login when configured (stdlib);
* **code**: every ``Notifier`` subclass the worker imported (``--jobs`` modules register them,
  as they register jobs), for any other channel.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

NoticeKind = Literal["dead_lettered", "digest", "batch_failed", "long_wait", "worker_lost"]
Channel = Literal["webhook", "mail", "code"]

DELIVERY_TIMEOUT_SECONDS = 10.0
CHANNEL_REFUSED = "NotificationRefused"
"""Error type of a delivery the channel refused for good (a 4xx): not retried."""


class Notice(BaseModel):
    """One notification: a line for people (``title``, ``text``) and its facts (``fields``)."""

    kind: NoticeKind
    title: str
    text: str
    fields: dict[str, Any] = Field(default_factory=dict)
    """What a machine reads: job, queue, job_id, exception, frame, attempts, group, ..."""
    at: datetime
    key: str
    """What makes it unique (a job id, a group and window, a queue and episode)."""


class Notifier:
    """Subclass to send notices somewhere else (a pager, a chat); defining it registers it.

    ```python
    class Pager(Notifier):
        async def send(self, notice: Notice) -> None:
            await page(notice.title)
    ```
    """

    registered: ClassVar[list[type[Notifier]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls not in Notifier.registered:
            Notifier.registered.append(cls)

    def send(self, notice: Notice) -> Any:
        """Deliver ``notice``; raise to have the delivery retried. May be ``async``."""
        raise NotImplementedError


@dataclass(frozen=True)
class MailConfig:
    """Where mail goes and through which SMTP server."""

    to: Sequence[str]
    sender: str
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class DeliveryConfig:
    """The channels a worker delivers to, from its settings (``JOBS_NOTIFY_*``)."""

    webhook_url: str | None = None
    mail: MailConfig | None = None
    code: bool = True
    """Also hand notices to the registered ``Notifier`` classes (when there are any)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def channels(self) -> list[Channel]:
        """The channels this worker would deliver to now."""
        found: list[Channel] = []
        if self.webhook_url:
            found.append("webhook")
        if self.mail is not None:
            found.append("mail")
        if self.code and Notifier.registered:
            found.append("code")
        return found


class DeliverInput(BaseModel):
    """Deliver one notice through one channel."""

    notice: Notice
    channel: Channel


class NoticeDelivery:
    """The ``deliver_notice`` activity, bound to the worker's channel configuration."""

    def __init__(self, config: DeliveryConfig) -> None:
        self._config = config

    @activity.defn(name="deliver_notice")
    async def deliver(self, input: DeliverInput) -> str:
        """Send the notice; return what the channel answered (for the history)."""
        if input.channel == "webhook":
            return await asyncio.to_thread(self._post, input.notice)
        if input.channel == "mail":
            return await asyncio.to_thread(self._mail, input.notice)
        return await self._code(input.notice)

    def _post(self, notice: Notice) -> str:
        url = self._config.webhook_url
        if not url:
            raise _refused("no webhook is configured on this worker (JOBS_NOTIFY_WEBHOOK_URL)")
        body = json.dumps({"text": notice.text, "kind": notice.kind, "title": notice.title,
                           **notice.fields}, default=str).encode()  # fmt: skip
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as answer:
                return f"webhook {answer.status}"
        except urllib.error.HTTPError as error:
            if 400 <= error.code < 500 and error.code not in (408, 429):
                raise _refused(f"the webhook refused the notice: HTTP {error.code}") from None
            raise ApplicationError(f"the webhook answered HTTP {error.code}") from None

    def _mail(self, notice: Notice) -> str:
        mail = self._config.mail
        if mail is None:
            raise _refused("no mail is configured on this worker (JOBS_NOTIFY_MAIL_TO)")
        message = EmailMessage()
        message["Subject"] = notice.title
        message["From"] = mail.sender
        message["To"] = ", ".join(mail.to)
        facts = "\n".join(f"{key}: {value}" for key, value in notice.fields.items())
        message.set_content(f"{notice.text}\n\n{facts}\n")
        with smtplib.SMTP(mail.host, mail.port, timeout=DELIVERY_TIMEOUT_SECONDS) as smtp:
            if mail.starttls:
                smtp.starttls()
            if mail.user:
                smtp.login(mail.user, mail.password or "")
            refused = smtp.send_message(message)
        if refused:
            raise _refused(f"the mail server refused: {', '.join(refused)}")
        return f"mail to {len(mail.to)}"

    async def _code(self, notice: Notice) -> str:
        for notifier in Notifier.registered:
            sent = notifier().send(notice)
            if inspect.isawaitable(sent):
                await sent
        return f"{len(Notifier.registered)} notifier(s)"


def _refused(message: str) -> ApplicationError:
    return ApplicationError(message, type=CHANNEL_REFUSED, non_retryable=True)
