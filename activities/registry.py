"""Job classes by name. A job's name is its import path, e.g. ``app.jobs.ProcessUserData``.

Workers, schedules and the CLI all find jobs through this one table, which fills itself as job
modules are imported (``Job.__init_subclass__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from activities.errors import JobDefinitionError, UnknownJobError

if TYPE_CHECKING:
    from activities.job import Job

_jobs: dict[str, type[Job]] = {}
_loaded_modules: list[str] = []


def register(job_class: type[Job]) -> None:
    """Add a job class under its name; a second, different class under the same name is an error."""
    name = job_class.job_name()
    existing = _jobs.get(name)
    if existing is not None and existing.__qualname__ != job_class.__qualname__:
        raise JobDefinitionError(f"Two job classes are both named {name!r}; set job_name on one.")
    _jobs[name] = job_class


def resolve(name: str) -> type[Job]:
    """Return the job class named ``name``, or raise UnknownJobError naming close matches."""
    try:
        return _jobs[name]
    except KeyError:
        raise UnknownJobError(name, known=sorted(_jobs), loaded_modules=_loaded_modules) from None


def resolve_or_import(name: str) -> type[Job]:
    """Like ``resolve``, but first imports the module part of a dotted name (CLI, scheduler)."""
    if name not in _jobs and "." in name:
        module = name.rsplit(".", 1)[0]
        try:
            load_modules([module])
        except ModuleNotFoundError as error:
            if error.name is None or not module.startswith(error.name):
                raise
    return resolve(name)


def load_modules(modules: list[str]) -> None:
    """Import job modules so their classes register themselves."""
    for module in modules:
        importlib.import_module(module)
        if module not in _loaded_modules:
            _loaded_modules.append(module)


def registered_names() -> list[str]:
    """Every registered job name, sorted."""
    return sorted(_jobs)
