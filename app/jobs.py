"""Example jobs, as a team would write them (see the README)."""

from __future__ import annotations

import asyncio
import logging

from jobmodule import Job, JobFailure

log = logging.getLogger(__name__)


class ProcessUserData(Job):
    """Succeeds: the everyday job."""

    user_id: int
    queue = "default"
    tries = 3
    backoff = [1, 5, 10]
    timeout = 60

    async def handle(self) -> dict[str, int | str]:
        await asyncio.sleep(0.1)  # pretend to work
        return {"user_id": self.user_id, "status": "processed"}


class SyncInvoiceEmail(Job):
    """Flaky: the mail server refuses twice, then accepts (retries with backoff)."""

    invoice_id: int
    tries = 5
    backoff = [1, 2]

    def handle(self) -> str:  # a plain def runs in the worker's thread pool
        if self.attempts() < 3:
            raise ConnectionError(f"SMTP refused (attempt {self.attempts()})")
        return f"invoice {self.invoice_id} mailed on attempt {self.attempts()}"


class ChargeCard(Job):
    """Always fails: lands in the dead-letter queue after its tries; failed() alerts once."""

    order_id: int
    amount_cents: int
    tries = 2
    backoff = 1

    async def handle(self) -> None:
        raise RuntimeError(f"card declined for order {self.order_id}")

    async def failed(self, failure: JobFailure) -> None:
        log.warning("order %s needs attention: %s", self.order_id, failure.message)
