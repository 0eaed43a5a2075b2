"""A job's payload as data, sized and checked against Temporal's 2 MB limit before it is sent."""

from __future__ import annotations

import json
from typing import Any

from jobmodule.activities import Job, PayloadTooLargeError

PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024
"""Temporal rejects any payload over 2 MB (blob size limit)."""


def encode_payload_sized(job: Job) -> tuple[dict[str, Any], int]:
    """A job's payload as JSON-safe data and its size in bytes; raises over the 2 MB limit."""
    payload = job.model_dump(mode="json")
    size = len(json.dumps(payload, separators=(",", ":")).encode())
    if size > PAYLOAD_LIMIT_BYTES:
        raise PayloadTooLargeError(f"Payload of {job.job_name()}", size, PAYLOAD_LIMIT_BYTES)
    return payload, size
