"""The bench harness at a tiny scale, so it cannot rot: it runs, and writes what it should."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytest.importorskip(
    "celery", reason="the bench extras are not installed (pip install -e '.[bench]')"
)
pytest.importorskip("psutil", reason="the bench extras are not installed")
pytest.importorskip("matplotlib", reason="the bench extras are not installed")


EXPECTED = {
    "W0": ["workflows_per_s"],
    "W1": ["jobs_per_s", "dispatch_per_s"],
    "W1L": ["jobs_per_s"],
    "W1C": ["jobs_per_s", "dispatch_per_s"],
    "W2": ["jobs_per_s"],
    "W2L": ["jobs_per_s"],
    "W3": ["rows_per_s"],
    "W4": ["start_p50_ms", "result_p50_ms", "result_p99_ms"],
    "W4L": ["start_p50_ms", "result_p50_ms"],
    "W5": ["peak_rss_mib"],
    "W6": ["executions"],
    "W6I": ["executions"],
    "W6C": ["done_s"],
    "WM": ["w1_on_vs_off", "w2_on_vs_off", "w4_on_vs_off", "monitor_call_ms"],
    "WD": ["overview_p95_ms", "failed_p95_ms", "batches_p95_ms", "slowest_p95_ms"],
}
"""Every workload, and a figure each must produce."""


@pytest.mark.timeout(480)  # ~2 min on a quiet machine; WM alone starts seven workers
def test_bench_harness_runs_every_workload_at_tiny_scale(tmp_path: Path) -> None:
    systems = "ours,celery" if shutil.which("redis-server") else "ours"
    out = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "bench.harness",
        "--scale",
        "0.002",
        "--reps",
        "1",
        "--workloads",
        ",".join(EXPECTED),
        "--systems",
        systems,
        "--no-calibrate",
        "--out",
        str(out),
        "--work-dir",
        str(tmp_path / "work"),
    ]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=420)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    document = json.loads((out / "latest.json").read_text())
    assert set(document["meta"]) >= {"date", "scale", "reps", "systems", "versions"}
    workloads = document["workloads"]
    assert set(workloads) == set(EXPECTED)
    for workload, metrics in EXPECTED.items():
        systems_run = ["ours"] if workload in ("W0", "W6C", "WM", "WD") else systems.split(",")
        for system in systems_run:
            record = workloads[workload]["systems"][system]
            assert not record.get("errors"), record.get("errors")
            for metric in metrics:
                assert record["summary"][metric]["median"] > 0, (workload, system, metric)
            if workload in ("W6", "W6I") and system == "ours":
                assert record["summary"]["lost"]["median"] == 0  # nothing lost to kill -9
            if workload in ("W2", "W3", "W6", "W6C") and system == "ours":
                assert record["summary"]["callback_runs"]["median"] == 1
            if workload == "W6C":
                assert record["summary"]["lost"]["median"] == 0  # chaos lost nothing
                assert record["summary"]["stuck_open"]["median"] == 0
    assert (out / "latest.md").read_text().startswith("# jobmodule vs Celery")
    assert (out / "throughput.png").stat().st_size > 0
    if "celery" not in systems:
        pytest.skip("redis-server is not installed: only our side ran (run bench/run.sh once)")
