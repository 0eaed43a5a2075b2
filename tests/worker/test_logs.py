"""A failed attempt is one readable log line."""

from __future__ import annotations

import logging
import sys

from jobmodule.worker.logs import OneLineJobFailures


def test_a_failed_attempt_is_logged_as_one_line_with_where_it_ran() -> None:
    try:
        raise ValueError("bad row 17")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "temporalio.activity", logging.WARNING, __file__, 1,
        "Completing activity as failed ({'activity_id': '1', 'attempt': 2})", None, exc_info,
    )  # fmt: skip
    record.temporal_activity = {"activity_id": "1", "attempt": 2, "workflow_id": "Job-1"}
    assert OneLineJobFailures().filter(record)
    line = logging.Formatter("%(message)s").format(record)
    assert line == "job attempt failed: ValueError: bad row 17 (workflow_id=Job-1, attempt=2)"
