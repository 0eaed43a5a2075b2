"""A clean interpreter exit beside the Temporal SDK's native threads.

The SDK resolves each RPC's Python future from one of its Rust (Tokio) threads, through
``loop.call_soon_threadsafe``, which drops the GIL while it writes to the loop's wake-up socket.
If the program finishes in that window, the interpreter starts finalizing while that thread is
still inside Python, and the thread's GIL release then aborts the process ("PyGILState_Release:
thread state ... must be current when releasing", exit 134 or 139): seen in about one run in ten
of a short ``jobmodule dispatch --wait``. Upstream: https://github.com/temporalio/sdk-python/issues/300
(open). Until it is fixed there, an exit hook waits, at most a second, until no thread that
Python did not start is running Python code; only then does finalization begin, so atexit
handlers, logging and metrics flushes all run as usual.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time

SETTLE_LIMIT_SECONDS = 1.0
SETTLE_POLL_SECONDS = 0.001


def native_threads_in_python() -> list[int]:
    """Ids of threads inside Python code that ``threading`` did not start (the SDK's)."""
    known = {thread.ident for thread in threading.enumerate()}
    return [ident for ident in sys._current_frames() if ident not in known]


def let_native_threads_settle(limit: float = SETTLE_LIMIT_SECONDS) -> None:
    """Wait until no native thread is in the middle of a callback into Python, or ``limit``."""
    deadline = time.monotonic() + limit
    while native_threads_in_python() and time.monotonic() < deadline:
        time.sleep(SETTLE_POLL_SECONDS)  # drops the GIL, so the callback can finish


atexit.register(let_native_threads_settle)
