"""The Celery side's app and tasks: ``celery -A bench.celery_app worker``.

Two profiles, picked by ``BENCH_CELERY_PROFILE``:

- ``default``: Celery's defaults (ack on receipt), Redis without persistence. Fastest, and
  loses the prefetched and running tasks of a worker that dies.
- ``durable``: ``acks_late`` + ``task_reject_on_worker_lost`` and Redis AOF (everysec).
  Unacked messages of a dead worker come back after ``visibility_timeout``, set to 10 s here to
  match our jobs' 10 s attempt timeout in W6 (Celery's default is one hour).
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery

from bench.csv_import import count_rows, import_chunk
from bench.records import record

PROFILES = ("default", "durable")
VISIBILITY_TIMEOUT_S = 10


PRIORITY_SETTINGS: dict[str, Any] = {
    # Redis has no priority queue: Celery keeps one list per step and reads them in order
    # (0 first). Prefetch 1, or a worker holds 4 x concurrency low tasks ahead of any high one.
    "broker_transport_options": {
        "priority_steps": list(range(10)),
        "sep": ":",
        "queue_order_strategy": "priority",
    },
    "worker_prefetch_multiplier": 1,
}
"""W7's priority-enabled queue (``BENCH_CELERY_PRIORITY=1`` in the worker's environment)."""


def profile_settings(profile: str, redis_url: str, *, priority: bool = False) -> dict[str, Any]:
    """Celery configuration of one profile; the broker is Redis db 0, results db 1."""
    if profile not in PROFILES:
        raise ValueError(f"unknown Celery profile {profile!r}; expected one of {PROFILES}")
    settings: dict[str, Any] = {
        "broker_url": f"{redis_url}/0",
        "result_backend": f"{redis_url}/1",
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": True,
        "result_expires": 3600,
    }
    if profile == "durable":
        settings.update(
            task_acks_late=True,
            task_reject_on_worker_lost=True,
            broker_transport_options={
                "visibility_timeout": VISIBILITY_TIMEOUT_S,
                "unacked_restore_interval": 2,
                "unacked_restore_throttle": 1,
            },
        )
    if priority:
        options = {**settings.get("broker_transport_options", {})}
        options.update(PRIORITY_SETTINGS["broker_transport_options"])
        settings.update(PRIORITY_SETTINGS, broker_transport_options=options)
    return settings


def create_app(profile: str, redis_url: str, *, priority: bool = False) -> Celery:
    """An app with the bench tasks registered under stable names."""
    app = Celery("bench")
    app.conf.update(profile_settings(profile, redis_url, priority=priority))

    @app.task(name="bench.noop", shared=False)
    def noop(i: int = 0) -> None:
        return None

    @app.task(name="bench.stamp", shared=False)
    def stamp(i: int = 0) -> float:
        return time.time()

    @app.task(name="bench.stamp_sleep", shared=False)
    def stamp_sleep(i: int = 0, seconds: float = 0.01) -> float:
        started = time.time()
        time.sleep(seconds)
        return started

    @app.task(name="bench.sleep_record", shared=False)
    def sleep_record(i: int, path: str, seconds: float = 0.002) -> None:
        time.sleep(seconds)
        record(path, str(i))

    @app.task(name="bench.callback", shared=False)
    def callback(path: str) -> None:
        record(path, "callback")

    @app.task(name="bench.import_chunk", shared=False)
    def import_chunk_task(csv_path: str, offset: int, rows: int, db: str) -> int:
        return import_chunk(csv_path, offset, rows, db)

    @app.task(name="bench.import_done", shared=False)
    def import_done(db: str, path: str) -> None:
        record(path, f"rows={count_rows(db)}")

    return app


app = create_app(
    os.environ.get("BENCH_CELERY_PROFILE", "default"),
    os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379"),
    priority=os.environ.get("BENCH_CELERY_PRIORITY") == "1",
)
