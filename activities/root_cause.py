"""Where a job failed, and which failures share a cause.

A failure keeps its stack, trimmed to a few KB, and the innermost frame of the job's own code
(``file:line in function``). Failures fall in one *group* when they share the job, the exception
type, that frame, and the message once its variable parts are blanked out: ``bad row 17`` and
``bad row 4711`` are one group, ``KeyError('email')`` another. The group id is a stable hash of
those four, computed the same way in the workflow that parks a job (it becomes the job's
``FailureGroup`` search attribute) and in the client that lists the groups, so it must stay
deterministic: plain string work, no I/O.
"""

from __future__ import annotations

import hashlib
import re
import sysconfig
import traceback
from pathlib import Path
from types import TracebackType

TRACEBACK_LIMIT = 4096
"""Characters of a formatted stack kept: its first line and its innermost frames."""

_LIBRARY_DIRS = tuple(
    str(Path(path).resolve())
    for key in ("stdlib", "platstdlib", "purelib", "platlib")
    if (path := sysconfig.get_paths().get(key))
)
_OWN_PACKAGES = ("jobmodule", "temporalio", "asyncio", "concurrent", "threading")


def formatted_traceback(error: BaseException) -> str:
    """The stack and message of ``error``, trimmed to TRACEBACK_LIMIT from the innermost end."""
    text = "".join(traceback.format_exception(error)).rstrip()
    if len(text) <= TRACEBACK_LIMIT:
        return text
    head = text.splitlines()[0]
    return f"{head}\n  ...\n{text[-(TRACEBACK_LIMIT - len(head) - 7) :]}"


def innermost_own_frame(error: BaseException) -> str | None:
    """``file:line in function`` of the innermost frame in the application's code.

    Frames of jobmodule, the SDK, the standard library and installed packages are skipped; a
    failure raised entirely inside them names its innermost frame.
    """
    last: str | None = None
    own: str | None = None
    for frame, line in traceback.walk_tb(_innermost_traceback(error)):
        where = f"{frame.f_code.co_filename}:{line} in {frame.f_code.co_name}"
        last = where
        if _is_application(frame.f_code.co_filename, frame.f_globals.get("__name__", "")):
            own = where
    return own or last


def _innermost_traceback(error: BaseException) -> TracebackType | None:
    return error.__traceback__


def _is_application(filename: str, module: str) -> bool:
    if module.split(".")[0] in _OWN_PACKAGES or filename.startswith("<"):
        return False
    resolved = str(Path(filename).resolve())
    return not resolved.startswith(_LIBRARY_DIRS)


_VARIABLE_PARTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"https?://\S+"), "<url>"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "<email>"),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<str>"),
    (re.compile(r"(?<![\w<])(?:/[\w.-]+){2,}/?"), "<path>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b", re.I), "<hex>"),
    (re.compile(r"(?<![\w.<])[-+]?\d+(?:\.\d+)?"), "<n>"),
]
"""Applied in order: a URL's digits stay inside ``<url>``, a UUID is not read as numbers."""


def message_pattern(message: str) -> str:
    """A failure message with its variable parts (numbers, ids, strings, ...) blanked out."""
    pattern = message.strip()
    for expression, placeholder in _VARIABLE_PARTS:
        pattern = expression.sub(placeholder, pattern)
    return re.sub(r"\s+", " ", pattern)[:500]


def failure_group(job: str, exception_type: str, message: str, frame: str | None) -> str:
    """The stable id of the group a failure falls in (the same on every host: the frame's
    file counts by its name only, not by where it was installed)."""
    where = ""
    if frame:
        path, _, rest = frame.partition(":")
        where = f"{Path(path).name}:{rest}"
    key = "\n".join((job, exception_type, message_pattern(message), where))
    return hashlib.sha256(key.encode()).hexdigest()[:16]
