"""Turn the results document into ``latest.json``, ``latest.md`` and ``throughput.png``."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

SYSTEM_LABELS = {
    "ours": "Ours (jobmodule)",
    "celery": "Celery (default acks)",
    "celery_durable": "Celery (durable)",
}
ROWS: list[tuple[str, str, str]] = [
    ("W0", "workflows_per_s", "workflows/s (engine ceiling)"),
    ("W1", "jobs_per_s", "jobs/s until all done"),
    ("W1", "dispatch_per_s", "dispatch-only jobs/s"),
    ("W1L", "jobs_per_s", "local jobs: jobs/s until all done"),
    ("W1C", "jobs_per_s", "coalesced dispatch: jobs/s until all done"),
    ("W1C", "dispatch_per_s", "coalesced dispatch: dispatch-only jobs/s"),
    ("W2", "jobs_per_s", "jobs/s until the callback ran"),
    ("W2L", "jobs_per_s", "jobs/s"),
    ("W2L", "max_history_events", "longest history (events)"),
    ("W3", "rows_per_s", "rows/s"),
    ("W4", "start_p50_ms", "dispatch->start p50 ms"),
    ("W4", "start_p95_ms", "dispatch->start p95 ms"),
    ("W4", "start_p99_ms", "dispatch->start p99 ms"),
    ("W4", "result_p50_ms", "dispatch->result p50 ms"),
    ("W4", "result_p95_ms", "dispatch->result p95 ms"),
    ("W4", "result_p99_ms", "dispatch->result p99 ms"),
    ("W4L", "start_p50_ms", "local jobs: dispatch->start p50 ms"),
    ("W4L", "start_p99_ms", "local jobs: dispatch->start p99 ms"),
    ("W4L", "result_p50_ms", "local jobs: dispatch->result p50 ms"),
    ("W4L", "result_p99_ms", "local jobs: dispatch->result p99 ms"),
    ("W5", "peak_rss_mib", "worker tree peak RSS MiB during W2"),
    ("W6", "lost", "lost jobs"),
    ("W6", "duplicates", "duplicate executions"),
    ("W6", "callback_runs", "callback runs (must be 1)"),
    ("W6", "recovery_s", "kill -> first job on new worker, s"),
    ("W6", "kill_to_done_s", "kill -> callback ran, s"),
    ("W6I", "lost", "lost jobs"),
    ("W6I", "duplicates", "duplicate executions"),
    ("W6I", "recovery_s", "kill -> first job on new worker, s"),
    ("W6I", "kill_to_done_s", "kill -> every job ran once, s"),
    ("W6C", "lost", "lost jobs (must be 0)"),
    ("W6C", "duplicates", "duplicate executions"),
    ("W6C", "callback_runs", "callback runs (must be 1)"),
    ("W6C", "recovery_s", "worst disruption -> next job ran, s"),
    ("W6C", "done_s", "start -> every job ran, s"),
    ("W6C", "stuck_open", "workflows left open (must be 0)"),
    ("W7", "high_start_p50_ms", "high jobs behind a low backlog: dispatch->start p50 ms"),
    ("W7", "high_start_p95_ms", "high jobs behind a low backlog: dispatch->start p95 ms"),
    ("W7", "backlog_drain_s", "s until the whole low backlog ran"),
    ("WM", "w1_on_vs_off", "W1 jobs/s, monitoring on ÷ off (1.00 = free)"),
    ("WM", "w2_on_vs_off", "W2 jobs/s, monitoring on ÷ off"),
    ("WM", "w4_on_vs_off", "W4 dispatch->result p50, on ÷ off (lower is better)"),
    ("WM", "w1_jobs_per_s_on", "W1 jobs/s, monitoring on"),
    ("WM", "w1_jobs_per_s_off", "W1 jobs/s, monitoring off"),
    ("WM", "w2_jobs_per_s_on", "W2 jobs/s, monitoring on"),
    ("WM", "w2_jobs_per_s_off", "W2 jobs/s, monitoring off"),
    ("WM", "w4_result_p50_ms_on", "W4 dispatch->result p50 ms, monitoring on"),
    ("WM", "w4_result_p50_ms_off", "W4 dispatch->result p50 ms, monitoring off"),
    ("WM", "monitor_call_ms", "JobMonitor.get_queue_stats() ms, 100 open batches"),
    ("WM", "monitor_snapshot_ms", "JobMonitor.snapshot() ms, every queue of the run"),
    ("WD", "overview_p50_ms", "dashboard Overview: ms p50"),
    ("WD", "overview_p95_ms", "dashboard Overview: ms p95"),
    ("WD", "queues_p50_ms", "dashboard Queues: ms p50"),
    ("WD", "queues_p95_ms", "dashboard Queues: ms p95"),
    ("WD", "jobs_p50_ms", "dashboard Jobs (search by queue): ms p50"),
    ("WD", "jobs_p95_ms", "dashboard Jobs (search by queue): ms p95"),
    ("WD", "jobs_failed_p50_ms", "dashboard Jobs (status dead_lettered): ms p50"),
    ("WD", "jobs_failed_p95_ms", "dashboard Jobs (status dead_lettered): ms p95"),
    ("WD", "job_p50_ms", "dashboard one job's page: ms p50"),
    ("WD", "job_p95_ms", "dashboard one job's page: ms p95"),
    ("WD", "failed_p50_ms", "dashboard Failed: ms p50"),
    ("WD", "failed_p95_ms", "dashboard Failed: ms p95"),
    ("WD", "batches_p50_ms", "dashboard Batches: ms p50"),
    ("WD", "batches_p95_ms", "dashboard Batches: ms p95"),
    ("WD", "schedules_p50_ms", "dashboard Schedules: ms p50"),
    ("WD", "schedules_p95_ms", "dashboard Schedules: ms p95"),
    ("WD", "workers_p50_ms", "dashboard Workers: ms p50"),
    ("WD", "workers_p95_ms", "dashboard Workers: ms p95"),
    ("WD", "slowest_p95_ms", "dashboard: slowest page p95 ms (budget 300)"),
    ("WD", "seed_jobs", "WD seeded jobs"),
    ("WD", "seed_s", "WD seeding s"),
]
THROUGHPUT = [
    ("W0", "workflows_per_s", "W0 wf/s"),
    ("W1", "jobs_per_s", "W1 jobs/s"),
    ("W1C", "jobs_per_s", "W1C jobs/s"),
    ("W2", "jobs_per_s", "W2 jobs/s"),
    ("W2L", "jobs_per_s", "W2L jobs/s"),
    ("W3", "rows_per_s", "W3 rows/s"),
]
README_START = "<!-- bench:table -->"
README_END = "<!-- /bench:table -->"


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Median, min and max of every numeric metric over the runs."""
    keys = {k for run in runs for k, v in run.items() if isinstance(v, int | float) and k != "rep"}
    out: dict[str, dict[str, float]] = {}
    for key in sorted(keys):
        values = [float(run[key]) for run in runs if isinstance(run.get(key), int | float)]
        if values:
            out[key] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
    return out


def add_summaries(document: dict[str, Any]) -> None:
    """Store each system's summary (and its Celery config) next to its runs."""
    for entry in document["workloads"].values():
        for record in entry["systems"].values():
            runs = record.get("runs", [])
            record["summary"] = summarise(runs)
            configs = Counter(run["config"] for run in runs if "config" in run)
            if configs:
                record["config"] = configs.most_common(1)[0][0]


def median_of(document: dict[str, Any], workload: str, system: str, metric: str) -> float | None:
    """A summary median, or None when that figure does not exist."""
    entry = document["workloads"].get(workload, {}).get("systems", {}).get(system, {})
    stats = entry.get("summary", {}).get(metric)
    return None if stats is None else float(stats["median"])


def fmt(value: float | None) -> str:
    """Readable number: thousands separators for big ones, 2 decimals for small ones."""
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cell(document: dict[str, Any], workload: str, system: str, metric: str) -> str:
    """``median (min–max) [config]``, or why there is no figure."""
    record = document["workloads"].get(workload, {}).get("systems", {}).get(system)
    if record is None:
        return "—"
    if "skipped" in record:
        return f"skipped: {record['skipped']}"
    stats = record.get("summary", {}).get(metric)
    if stats is None:
        return "error" if record.get("errors") else "—"
    text = fmt(stats["median"])
    if stats["min"] != stats["max"]:
        text += f" ({fmt(stats['min'])}–{fmt(stats['max'])})"
    if record.get("config") and system != "ours":
        text += f" [{record['config']}]"
    return text


def ratio(document: dict[str, Any], workload: str, metric: str, other: str) -> str:
    """Ours ÷ other, medians."""
    ours = median_of(document, workload, "ours", metric)
    theirs = median_of(document, workload, other, metric)
    if ours is None or theirs is None or theirs == 0:
        return "—"
    return f"{ours / theirs:.2f}×"


def main_table(document: dict[str, Any]) -> list[str]:
    """The headline table: one row per workload metric."""
    systems = [s for s in SYSTEM_LABELS if s in document["meta"]["systems"]]
    others = [s for s in systems if s != "ours"]
    header = ["Workload", "Metric", *(SYSTEM_LABELS[s] for s in systems)]
    header += [f"Ours ÷ {SYSTEM_LABELS[s]}" for s in others if "ours" in systems]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for workload, metric, label in ROWS:
        if workload not in document["workloads"]:
            continue
        row = [workload, label, *(cell(document, workload, s, metric) for s in systems)]
        if "ours" in systems:
            row += [ratio(document, workload, metric, s) for s in others]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def derived_lines(document: dict[str, Any]) -> list[str]:
    """Ratios the issue asks for: W1 against the engine ceiling, W3 against the plain loop."""
    lines: list[str] = []
    w0 = median_of(document, "W0", "ours", "workflows_per_s")
    for workload in ("W1", "W1L", "W1C"):
        w1 = median_of(document, workload, "ours", "jobs_per_s")
        if w1 is not None and w0:
            lines.append(
                f"- **{workload} ÷ W0** (ours, target ≥ 0.8×): **{w1 / w0:.2f}×** "
                f"({fmt(w1)} / {fmt(w0)})"
            )
    plain = median_of(document, "W3", "plain", "rows_per_s")
    if plain:
        lines.append(f"- **W3 plain single-process loop**: {fmt(plain)} rows/s")
        for system in SYSTEM_LABELS:
            rows = median_of(document, "W3", system, "rows_per_s")
            if rows is not None:
                lines.append(f"  - {SYSTEM_LABELS[system]} ÷ plain loop: **{rows / plain:.2f}×**")
    return lines


def cpu_table(document: dict[str, Any]) -> list[str]:
    """Where the CPU went: seconds per process group, and cores kept busy (2 = saturated)."""
    lines = [
        "| Workload | System | wall s | worker CPU s | server/broker CPU s | driver CPU s "
        "| cores busy | server peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = ("wall_s", "worker_cpu_s", "server_cpu_s", "driver_cpu_s", "cpu_cores_busy")
    for workload, entry in document["workloads"].items():
        for system, record in entry["systems"].items():
            summary = record.get("summary", {})
            if "worker_cpu_s" not in summary:
                continue
            values = [fmt(summary.get(k, {}).get("median")) for k in keys]
            rss = fmt(summary.get("server_peak_rss_mib", {}).get("median"))
            lines.append(
                f"| {workload} | {SYSTEM_LABELS.get(system, system)} | "
                + " | ".join(values)
                + f" | {rss} |"
            )
    return lines


def markdown(document: dict[str, Any]) -> str:
    """The Markdown report."""
    meta = document["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    calibration = "; ".join(
        f"{w}: {c['picked']} ({c['metric']})" for w, c in meta.get("celery_calibration", {}).items()
    )
    out = [
        f"# jobmodule vs Celery — {meta['date']}",
        "",
        f"Machine: {meta['cpus']} CPUs ({meta['cpu_model']}), shared with other work and noisy: "
        "read ratios, not absolute numbers. "
        f"Temporal dev server persistence: {meta.get('temporal_db', 'file')} (SQLite). "
        f"Scale {meta['scale']}, {meta['reps']} repetitions, order alternating; cells are "
        "median (min–max). Python " + meta["python"] + f"; {versions}.",
        "",
        "Celery pool picked per workload (prefork/threads × 2/4, best at ¼ scale): "
        + (calibration or "not calibrated (prefork-4)")
        + ". Celery default = ack on receipt, Redis without persistence; durable = acks_late + "
        "task_reject_on_worker_lost + Redis AOF everysec, visibility_timeout 10 s.",
        "",
    ]
    if not meta.get("batches_available"):
        out += [
            "**Batches (`client.Bus`) were not available: our W2/W2L/W3/W5/W6 are skipped.**",
            "",
        ]
    out += [*(f"Note: {n}" for n in meta.get("notes", [])), ""]
    out += main_table(document) + [""] + derived_lines(document)
    out += ["", "### Where the CPU went (medians)", ""] + cpu_table(document) + [""]
    errors = [
        f"- {w} {s}: {e}"
        for w, entry in document["workloads"].items()
        for s, record in entry["systems"].items()
        for e in record.get("errors", [])
    ]
    if errors:
        out += ["### Errors", "", *errors, ""]
    return "\n".join(out)


def plot(document: dict[str, Any], path: Path) -> None:
    """Grouped bars of throughput per workload, log scale, min–max whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = [s for s in SYSTEM_LABELS if s in document["meta"]["systems"]]
    labels = [label for w, _, label in THROUGHPUT if w in document["workloads"]]
    figure, axes = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / max(1, len(systems))
    for index, system in enumerate(systems):
        xs, ys, low, high = [], [], [], []
        for position, (workload, metric, _) in enumerate(
            [t for t in THROUGHPUT if t[0] in document["workloads"]]
        ):
            stats = (
                document["workloads"][workload]["systems"]
                .get(system, {})
                .get("summary", {})
                .get(metric)
            )
            if stats is None:
                continue
            xs.append(position + index * width)
            ys.append(stats["median"])
            low.append(stats["median"] - stats["min"])
            high.append(stats["max"] - stats["median"])
        axes.bar(xs, ys, width, yerr=[low, high], capsize=3, label=SYSTEM_LABELS[system])
    axes.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(labels))], labels)
    axes.set_yscale("log")
    axes.set_ylabel("items per second (log)")
    axes.set_title(f"Throughput, ours vs Celery ({document['meta']['date'][:10]}, median)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def update_readme(readme: Path, table: str) -> None:
    """Replace the table between the README's markers, if it has them."""
    if not readme.exists():
        return
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    head, _, rest = text.partition(README_START)
    _, _, tail = rest.partition(README_END)
    # The report's headings sit under the README's "Latest results" section.
    table = "\n".join("##" + line if line.startswith("#") else line for line in table.splitlines())
    readme.write_text(f"{head}{README_START}\n{table}\n{README_END}{tail}")


def write_reports(document: dict[str, Any], out: Path) -> None:
    """Write latest.json, latest.md and throughput.png into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    add_summaries(document)
    (out / "latest.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    table = markdown(document)
    (out / "latest.md").write_text(table + "\n")
    plot(document, out / "throughput.png")
    if out.resolve() == (Path(__file__).parent / "results").resolve():
        update_readme(Path(__file__).parent / "README.md", table)


def main() -> None:
    """Re-render the reports from an existing latest.json: ``python -m bench.report [DIR]``."""
    import sys

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results"
    write_reports(json.loads((out / "latest.json").read_text()), out)


if __name__ == "__main__":
    main()
