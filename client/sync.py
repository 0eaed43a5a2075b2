"""Blocking entry points for code without an event loop (scripts, Django views, Celery migrations).

Coroutines run on one background event loop thread, so a blocking caller neither needs nor
disturbs a loop of its own, and the connection is reused across calls.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            thread = threading.Thread(target=_loop.run_forever, name="jobmodule-sync", daemon=True)
            thread.start()
        return _loop


def run_sync(coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coroutine`` to completion from blocking code and return its result."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coroutine.close()
        raise RuntimeError(
            "Blocking jobmodule call made inside a running event loop; use `await` instead."
        )
    future = asyncio.run_coroutine_threadsafe(coroutine, _background_loop())
    return future.result(timeout)
