"""The custom search attributes ops filter on in the Web UI and that monitoring queries read.

SQLite visibility allows 10 Keyword and 3 Datetime attributes in all, so each one here has to
earn its place.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

JOB_CLASS = SearchAttributeKey.for_keyword("JobClass")
"""The job's registered name, e.g. ``app.jobs.ProcessUserData``."""
JOB_QUEUE = SearchAttributeKey.for_keyword("JobQueue")
"""The task queue the job runs on."""
JOB_STATUS = SearchAttributeKey.for_keyword("JobStatus")
"""queued, running, retrying, succeeded, dead_lettered or forgotten."""
BATCH_ID = SearchAttributeKey.for_keyword("BatchId")
"""The batch a job or chunk belongs to (reserved for batches)."""
FAILURE_GROUP = SearchAttributeKey.for_keyword("FailureGroup")
"""A parked job's root-cause group (``activities.root_cause``): one batch operation per group."""
FAILED_AT = SearchAttributeKey.for_datetime("FailedAt")
"""When a parked job failed for good, or a batch first failed: pruning and notices read it."""

ALL_SEARCH_ATTRIBUTES: tuple[SearchAttributeKey, ...] = (
    JOB_CLASS,
    JOB_QUEUE,
    JOB_STATUS,
    BATCH_ID,
    FAILURE_GROUP,
    FAILED_AT,
)
