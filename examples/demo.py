"""Dispatch jobs that succeed, retry and land in the dead-letter queue, and say what happened.

``make run`` starts it through ``jobmodule dev --demo``; it also runs on its own against a running
server and worker: ``python -m examples.demo``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client

from app.jobs import ChargeCard, ProcessUserData, SyncInvoiceEmail
from examples.import_csv import main as import_csv
from jobmodule import FailureHandler, JobModuleError, connect, set_default_client


async def main(client: Client | None = None) -> None:
    """Dispatch the three example jobs and print each outcome and the dead-letter queue."""
    client = client or await connect()
    set_default_client(client)
    succeeds = await ProcessUserData.dispatch(user_id=7)
    retries = await SyncInvoiceEmail.dispatch(invoice_id=1042)
    fails = await ChargeCard.dispatch(order_id=99, amount_cents=1999)
    delayed = await ProcessUserData.dispatch(user_id=8).delay(timedelta(seconds=3))
    print(f"dispatched 4 jobs: {succeeds.id}, {retries.id}, {fails.id}, {delayed.id} (3 s delay)")

    print(f"  ProcessUserData   -> {await succeeds.result()}")
    print(f"  SyncInvoiceEmail  -> {await retries.result()}")
    try:
        await fails.result()
    except JobModuleError as error:
        print(f"  ChargeCard        -> {error}")
    print(f"  delayed job       -> {await delayed.result()}")

    for row in await FailureHandler().using(client).list():
        print(f"  dead-lettered: {row.id} {row.job} after {row.attempts} attempts: {row.exception}")
    print("Try: jobmodule failed | jobmodule retry ID | jobmodule forget ID | jobmodule flush")

    print("\nImporting a 1,000,000-row CSV into SQLite as one batch of chunk jobs:")
    await import_csv(client)


if __name__ == "__main__":
    asyncio.run(main())
