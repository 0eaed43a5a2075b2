"""The notifier's rules on their own: no storms, nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobmodule.workflows.notification_models import (
    FailedRow,
    NotifierRules,
    NotifierState,
    ScanResult,
)
from jobmodule.workflows.notification_rules import decide

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULES = NotifierRules(digest_minutes=10)


def row(n: int, group: str = "g1", at: datetime = T0) -> FailedRow:
    return FailedRow(
        id=f"job-{n}", job="app.jobs.Import", queue="imports", exception="ValueError: bad row",
        attempts=3, failed_at=at, group=group,
    )  # fmt: skip


def scan(at: datetime, *rows: FailedRow, **more: object) -> ScanResult:
    return ScanResult(until=at, failed=list(rows), channels=["webhook"], **more)  # type: ignore[arg-type]


def kinds(notices: list) -> list[str]:
    return [notice.kind for notice in notices]


def test_a_group_notifies_once_then_sums_the_rest_into_one_digest_per_window() -> None:
    state = NotifierState(since=T0)
    assert kinds(decide(state, scan(T0, row(1), row(2), row(3)), RULES, T0)) == ["dead_lettered"]
    later = T0 + timedelta(minutes=5)
    assert decide(state, scan(later, row(4), row(1)), RULES, later) == []  # job-1 seen already
    due = T0 + timedelta(minutes=10, seconds=1)
    [digest] = decide(state, scan(due), RULES, due)
    assert digest.kind == "digest" and digest.fields["count"] == 3
    quiet = due + timedelta(minutes=10, seconds=1)
    assert decide(state, scan(quiet), RULES, quiet) == []  # a quiet window ends the group
    again = quiet + timedelta(seconds=1)
    assert kinds(decide(state, scan(again, row(9, at=again)), RULES, again)) == ["dead_lettered"]


def test_other_groups_notify_on_their_own() -> None:
    state = NotifierState(since=T0)
    notices = decide(state, scan(T0, row(1, "a"), row(2, "b"), row(3, "a")), RULES, T0)
    assert kinds(notices) == ["dead_lettered", "dead_lettered"]


def test_a_long_wait_notifies_once_until_its_queue_clears() -> None:
    state = NotifierState(since=T0)
    waiting = {"imports": 120.0}
    assert kinds(decide(state, scan(T0, long_waits=waiting), RULES, T0)) == ["long_wait"]
    assert decide(state, scan(T0, long_waits=waiting), RULES, T0) == []
    assert decide(state, scan(T0), RULES, T0) == []  # it cleared
    assert kinds(decide(state, scan(T0, long_waits=waiting), RULES, T0)) == ["long_wait"]


def test_a_lost_worker_notifies_once() -> None:
    state = NotifierState(since=T0)
    lost = ["host:42"]
    assert kinds(decide(state, scan(T0, lost_workers=lost), RULES, T0)) == ["worker_lost"]
    assert decide(state, scan(T0, lost_workers=lost), RULES, T0) == []
