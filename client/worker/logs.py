"""Worker logging: readable lines, and one line per failed attempt instead of a traceback."""

from __future__ import annotations

import logging

FAILED_ATTEMPT = "Completing activity as failed"
"""How the SDK's activity logger starts the line it writes for every failed attempt."""


class OneLineJobFailures(logging.Filter):
    """Log a failed attempt as one line: retries are expected, and tracebacks live in history."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith(FAILED_ATTEMPT):
            error = record.exc_info[1]
            where = getattr(record, "temporal_activity", None) or {}
            place = ", ".join(
                f"{key}={where[key]}" for key in ("workflow_id", "attempt") if key in where
            )
            record.msg = f"job attempt failed: {type(error).__name__}: {error}"
            if place:
                record.msg += f" ({place})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Readable logs for worker processes."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("temporalio.activity").addFilter(OneLineJobFailures())
