"""The arithmetic of monitoring, without a server: histograms, the fold, windows, pending."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from jobmodule.monitoring import figures as fig
from jobmodule.workflows.metrics_models import (
    BackoffEntry,
    Histogram,
    JobAggregate,
    ReportBatch,
    RunningCount,
    WorkerReport,
    WorkerSnapshot,
    bucket_of,
    upper_bound,
)
from jobmodule.workflows.metrics_state import (
    MAX_KEYS_PER_BUCKET,
    MINUTE_TIER,
    OTHER_JOB,
    MetricsInput,
    MetricsState,
)

NOW = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
MINUTE = int(NOW.timestamp() // 60)


def snapshot(worker_id: str = "w1", *, at: datetime = NOW, stopped: bool = False) -> WorkerSnapshot:
    return WorkerSnapshot(
        worker_id=worker_id,
        identity=f"{worker_id}@host",
        host="host",
        pid=100,
        queues=["q"],
        started_at=NOW - timedelta(minutes=5),
        sent_at=at,
        stopped=stopped,
    )


def aggregate(minute: int = MINUTE, job: str = "app.A", **counts: int) -> JobAggregate:
    return JobAggregate(at=minute, queue="q", job=job, **counts)


def report(seq: int, *aggregates: JobAggregate, **fields: object) -> WorkerReport:
    worker = fields.pop("worker", snapshot())
    assert isinstance(worker, WorkerSnapshot)
    return WorkerReport(seq=seq, worker=worker, aggregates=list(aggregates), **fields)  # type: ignore[arg-type]


def test_buckets_grow_by_a_quarter_and_hold_their_values() -> None:
    for seconds in (0.0005, 0.001, 0.0123, 0.3, 1.0, 59.0, 3600.0):
        bucket = bucket_of(seconds)
        assert seconds <= upper_bound(bucket) * (1 + 1e-9)
        assert bucket == 0 or seconds > upper_bound(bucket - 1)
    assert upper_bound(11) / upper_bound(10) == pytest.approx(10**0.1)


def test_equal_durations_read_back_exactly_and_a_tail_shows_in_p95() -> None:
    histogram = Histogram()
    for _ in range(10):
        histogram.record(0.3)
    assert histogram.mean == pytest.approx(0.3)
    assert histogram.quantile(0.95) == pytest.approx(0.3)
    for _ in range(90):
        histogram.record(0.01)
    assert histogram.quantile(0.5) == pytest.approx(0.01, rel=0.3)
    assert 0.25 <= (histogram.quantile(0.95) or 0) <= 0.3


def test_a_report_sent_twice_counts_once() -> None:
    state = MetricsState()
    first = report(1, aggregate(succeeded=3))
    state.apply(ReportBatch(reports=[first]))
    state.apply(ReportBatch(reports=[first, report(2, aggregate(succeeded=2))]))
    [only] = state.aggregates
    assert only.succeeded == 5


def test_minutes_fold_into_hours_and_a_day_is_the_horizon() -> None:
    state = MetricsState()
    old = MINUTE - MINUTE_TIER - 5
    state.apply(ReportBatch(reports=[report(1, aggregate(old, succeeded=1))]))
    state.apply(ReportBatch(reports=[report(2, aggregate(old + 1, succeeded=2))]))
    hours = [a for a in state.aggregates if a.minutes == 60]
    assert len(hours) == 1 and hours[0].succeeded == 3
    state.apply(ReportBatch(reports=[report(3, aggregate(MINUTE - 25 * 60, succeeded=9))]))
    assert sum(a.succeeded for a in state.aggregates) == 3  # older than a day: dropped
    later = snapshot(at=NOW + timedelta(hours=23))
    state.apply(ReportBatch(reports=[report(4, worker=later)]))
    assert sum(a.succeeded for a in state.aggregates) == 0


def test_too_many_job_classes_in_a_minute_share_one_bucket() -> None:
    state = MetricsState()
    many = [aggregate(job=f"app.J{i}", succeeded=1) for i in range(MAX_KEYS_PER_BUCKET + 5)]
    state.apply(ReportBatch(reports=[report(1, *many)]))
    assert len(state.aggregates) == MAX_KEYS_PER_BUCKET + 1
    [other] = [a for a in state.aggregates if a.job == OTHER_JOB]
    assert other.succeeded == 5


def test_the_state_survives_continue_as_new_unchanged() -> None:
    state = MetricsState()
    state.apply(ReportBatch(reports=[report(1, aggregate(succeeded=1, attempts=1))]))
    carried = MetricsInput.model_validate_json(MetricsInput(state=state).model_dump_json())
    assert carried.state is not None
    carried.state.apply(ReportBatch(reports=[report(2, aggregate(succeeded=1))]))
    assert [a.succeeded for a in carried.state.aggregates] == [2]


def test_workers_are_up_then_lost_after_six_silent_intervals_or_stopped_by_goodbye() -> None:
    state = MetricsState()
    state.apply(ReportBatch(reports=[report(1)]))
    state.apply(ReportBatch(reports=[report(1, worker=snapshot("w2", stopped=True))]))
    statuses = {row.worker_id: row.status for row in fig.worker_infos(state, NOW)}
    assert statuses == {"w1": "up", "w2": "stopped"}
    assert fig.lost_after(snapshot()) == timedelta(seconds=30)  # the default 5 s interval
    almost = NOW + timedelta(seconds=29)
    assert {row.worker_id: row.status for row in fig.worker_infos(state, almost)}["w1"] == "up"
    later = NOW + timedelta(seconds=31)
    assert {row.worker_id: row.status for row in fig.worker_infos(state, later)}["w1"] == "lost"


def test_window_figures_count_jobs_and_time_attempts() -> None:
    runtime = Histogram()
    for _ in range(4):
        runtime.record(0.3)
    inside = aggregate(MINUTE - 3, succeeded=3, failed=1, attempts=4, runtime=runtime)
    outside = aggregate(MINUTE - 30, succeeded=100)
    state = MetricsState()
    state.apply(ReportBatch(reports=[report(1, inside, outside)]))
    window = timedelta(minutes=15)
    rows = fig.window_aggregates(state, NOW, window, queue="q")
    figures = fig.figures(rows, window)
    assert (figures.processed, figures.failed_in_window) == (4, 1)
    assert figures.throughput_per_minute == pytest.approx(4 / 15, abs=0.001)
    assert figures.avg_runtime_s == pytest.approx(0.3)


def test_pending_leaves_out_what_runs_waits_out_a_backoff_or_a_start_delay() -> None:
    running = Counter({("q", "app.A", "job"): 1, ("q", "app.B", "batch"): 4})
    backoff = Counter({("q", "app.A", "job"): 2})
    pending, delayed = fig.pending_of(
        queue="q",
        job=None,
        open_jobs=10,
        delayed_jobs=3,
        grouped_open=30,
        running_now=running,
        backoff_now=backoff,
    )
    assert (pending, delayed) == (10 - 3 - 1 - 2 + 30 - 4, 3 + 2)
    # A report a few seconds behind visibility never drives a count below zero.
    behind = fig.pending_of(
        queue="q",
        job=None,
        open_jobs=0,
        delayed_jobs=0,
        grouped_open=0,
        running_now=running,
        backoff_now=Counter(),
    )
    assert behind == (0, 0)


def test_running_counts_only_workers_that_are_up() -> None:
    state = MetricsState()
    runs = [RunningCount(queue="q", job="app.A", kind="job", count=2)]
    state.apply(ReportBatch(reports=[report(1, running=runs)]))
    stale = [BackoffEntry(queue="q", job="app.A", kind="job", ready_at=int(NOW.timestamp()) + 5)]
    state.apply(ReportBatch(reports=[report(2, running=runs, backoff=stale)]))
    assert fig.total(fig.running(state, NOW), queue="q") == 2
    assert fig.total(fig.in_backoff(state, NOW), queue="q") == 1
    later = NOW + timedelta(seconds=40)
    assert fig.total(fig.running(state, later), queue="q") == 0  # that worker is lost by then
    assert fig.total(fig.in_backoff(state, later), queue="q") == 0


def test_a_window_beyond_a_day_is_refused_with_the_limit() -> None:
    with pytest.raises(ValueError, match="at most 1 day"):
        fig.check_window(timedelta(days=2))


def test_the_minute_series_has_a_point_per_minute_and_zeros_between() -> None:
    state = MetricsState()
    recent = aggregate(MINUTE - 2, succeeded=4, failed=1, attempts=5)
    other_queue = JobAggregate(at=MINUTE - 2, queue="other", job="app.A", succeeded=50)
    too_old = aggregate(MINUTE - 90, succeeded=7)
    state.apply(ReportBatch(reports=[report(1, recent, other_queue, too_old)]))
    points = fig.minute_series(state, NOW, timedelta(minutes=60), queue="q")
    assert len(points) == 60
    assert points[-1].at == datetime.fromtimestamp(MINUTE * 60, tz=UTC)
    assert [(p.processed, p.failed) for p in points[-3:]] == [(5, 1), (0, 0), (0, 0)]
    assert sum(p.processed for p in points) == 5  # the other queue and the old minute left out
    with pytest.raises(ValueError, match="at most"):
        fig.minute_series(state, NOW, timedelta(hours=3))
