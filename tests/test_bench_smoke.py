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


def test_bench_harness_runs_the_cheap_workloads_at_tiny_scale(tmp_path: Path) -> None:
    systems = "ours,celery" if shutil.which("redis-server") else "ours"
    out = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "bench.harness",
        "--scale",
        "0.005",
        "--reps",
        "1",
        "--workloads",
        "W0,W1,W4",
        "--systems",
        systems,
        "--no-calibrate",
        "--out",
        str(out),
        "--work-dir",
        str(tmp_path / "work"),
    ]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    document = json.loads((out / "latest.json").read_text())
    assert set(document["meta"]) >= {"date", "scale", "reps", "systems", "versions"}
    workloads = document["workloads"]
    assert set(workloads) == {"W0", "W1", "W4"}
    expected = {
        "W0": ["workflows_per_s"],
        "W1": ["jobs_per_s", "dispatch_per_s"],
        "W4": ["start_p50_ms", "result_p50_ms", "result_p99_ms"],
    }
    for workload, metrics in expected.items():
        systems_run = ["ours"] if workload == "W0" else systems.split(",")
        for system in systems_run:
            record = workloads[workload]["systems"][system]
            assert not record.get("errors"), record.get("errors")
            for metric in metrics:
                assert record["summary"][metric]["median"] > 0, (workload, system, metric)
    assert (out / "latest.md").read_text().startswith("# jobmodule vs Celery")
    assert (out / "throughput.png").stat().st_size > 0
    if "celery" not in systems:
        pytest.skip("redis-server is not installed: only our side ran (run bench/run.sh once)")
