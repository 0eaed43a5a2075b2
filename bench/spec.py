"""What each workload does and how big it is, scaled by ``--scale``."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

WORKLOADS = (
    "W0", "W1", "W1L", "W1C", "W2", "W2L", "W3", "W4", "W4L", "W5", "W6", "W7", "WM", "WD",
)  # fmt: skip
"""Every workload, in the order they run."""

BATCH_WORKLOADS = frozenset({"W1C", "W2", "W2L", "W3", "W5", "W6", "W6C", "WM", "WD"})
"""Workloads that need ``client.Bus`` on our side."""
OUR_VARIANTS = {"W1L": "W1", "W4L": "W4", "W1C": "W1"}
"""W1 and W4 again with jobs dispatched ``.local()`` (a local activity: no second task round
trip), and W1 with ``.coalesce()``. Celery has neither, so its side runs the plain workload
with the same pool."""

DESCRIPTIONS = {
    "W0": "engine ceiling: empty Temporal workflows, no activity",
    "W1": "2,000 independent no-op jobs, each dispatched on its own",
    "W1L": "W1 with local jobs (`.local()`)",
    "W1C": "W1 with coalesced dispatch (`.coalesce()`): concurrent dispatches share a batch",
    "W2": "one batch of 10,000 no-op jobs with a then-callback (Celery: chord)",
    "W2L": "one batch of 100,000 no-op jobs",
    "W3": "1,000,000-row CSV imported into SQLite by chunk jobs (offsets, not rows)",
    "W4": "200 sequential single jobs: dispatch->start and dispatch->result latency",
    "W4L": "W4 with local jobs (`.local()`)",
    "W5": "peak RSS of the worker process tree while W2 runs (Celery: prefork-2)",
    "W6": "batch of 5,000 jobs of 2 ms; kill -9 the worker after 1 s, start another",
    "W6C": "chaos: a 20,000-job batch and 500 independent jobs on --processes 2; a child is "
    "killed -9 every 5 s (6 times) and the server restarted once (ours only)",
    "W7": "a backlog of 2,000 `low` jobs of 10 ms, then 50 `high` ones: their dispatch->start "
    "(Celery: task `priority` over Redis, priority steps 0-9, prefetch 1)",
    "WM": "W1, W2 and W4 with monitoring on and off (alternating); a JobMonitor call with 100 "
    "open batches",
    "WD": "the dashboard's pages with 10,000 jobs (100 batches of 100), 100 batches, 50 "
    "schedules and a dead-letter queue: ms per page, p50/p95 (ours only)",
}


@dataclass(frozen=True)
class Sizes:
    """Workload sizes at a given scale (never below a few items, so tiny scales still work)."""

    scale: float = 1.0

    def _n(self, full: int, floor: int) -> int:
        return max(floor, round(full * self.scale))

    @property
    def w0_workflows(self) -> int:
        return self._n(2_000, 10)

    @property
    def w1_jobs(self) -> int:
        return self._n(2_000, 10)

    @property
    def w2_jobs(self) -> int:
        return self._n(10_000, 20)

    @property
    def w2l_jobs(self) -> int:
        return self._n(100_000, 50)

    @property
    def w3_rows(self) -> int:
        return self._n(1_000_000, 1_000)

    @property
    def w3_chunk_rows(self) -> int:
        """A few thousand rows per chunk job at full scale; at least 10 chunks when scaled down."""
        return max(50, min(5_000, self.w3_rows // 10))

    @property
    def w4_jobs(self) -> int:
        return self._n(200, 5)

    @property
    def w6_jobs(self) -> int:
        return self._n(5_000, 20)

    @property
    def w6i_jobs(self) -> int:
        """W6 with independent jobs: one workflow each, so W1's size, not W6's."""
        return self._n(2_000, 20)

    @property
    def w6c_batch_jobs(self) -> int:
        return self._n(20_000, 50)

    @property
    def w6c_solo_jobs(self) -> int:
        return self._n(500, 10)

    @property
    def w6c_kills(self) -> int:
        return 6 if self.scale >= 0.1 else 2

    @property
    def w6c_kill_every_seconds(self) -> float:
        return 5.0 if self.scale >= 0.1 else 2.0

    @property
    def w6c_server_pause_seconds(self) -> float:
        return 5.0 if self.scale >= 0.1 else 2.0

    @property
    def w7_low_jobs(self) -> int:
        return self._n(2_000, 20)

    @property
    def w7_high_jobs(self) -> int:
        return self._n(50, 5)

    w7_job_seconds: float = 0.01

    @property
    def wm_batches(self) -> int:
        """Batches held open while WM times a JobMonitor call."""
        return self._n(100, 5)

    @property
    def wd_batches(self) -> int:
        return self._n(100, 3)

    @property
    def wd_batch_jobs(self) -> int:
        """Jobs per WD batch: 100 batches of 100 are WD's 10,000 jobs."""
        return self._n(100, 5)

    @property
    def wd_solo_jobs(self) -> int:
        """Independent jobs beside the batches (a workflow each); ``WD_SOLO_JOBS=10000`` seeds
        the 10,000 as workflows of their own instead, to time that seeding too."""
        override = os.environ.get("WD_SOLO_JOBS")
        return int(override) if override else self._n(200, 5)

    @property
    def wd_failed_jobs(self) -> int:
        """Jobs that fail for good into five root-cause groups: the dead-letter queue."""
        return self._n(50, 5)

    @property
    def wd_schedules(self) -> int:
        return self._n(50, 3)

    @property
    def wd_requests(self) -> int:
        """Fetches of each page: enough for a p95, few enough to stay quick."""
        return 20 if self.scale >= 0.1 else 3

    w6_job_seconds: float = 0.002
    w6_kill_after_seconds: float = 1.0


def wait_budget(jobs: int, floor_rate: float = 10.0) -> float:
    """Seconds a run may take before it counts as stuck: a minute plus ``jobs`` at 10/s.

    10/s is well under the slowest system measured here (one workflow per job on the dev
    server's SQLite runs 20-30/s), and the cap keeps the biggest workloads bounded.
    """
    return min(3600.0, 60.0 + jobs / floor_rate)


@dataclass(frozen=True)
class Context:
    """Where servers listen and where a run may write files."""

    temporal_address: str
    redis_urls: dict[str, str]
    """Profile name (``default``, ``durable``) -> redis://127.0.0.1:PORT."""
    work_dir: Path
    repo: Path
    sizes: Sizes
    semaphore: int = 200
    """Dispatches in flight at once from our client."""
    restart_temporal: Callable[[float], Awaitable[None]] | None = None
    """Stop the Temporal server, wait that many seconds, start it again on its file (W6C)."""

    def path(self, name: str) -> Path:
        """A file under the work dir (its parent created)."""
        target = self.work_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target
