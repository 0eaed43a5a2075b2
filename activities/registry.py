"""Job classes by name. A job's name is its import path, e.g. ``app.jobs.ProcessUserData``.

Workers, schedules and the CLI find jobs through one table, ``jobmodule.activities.job.registry``,
which fills itself as job modules are imported (``Job.__pydantic_init_subclass__``). The table
knows nothing of ``Job`` beyond a name, so this module sits below it.
"""

from __future__ import annotations

import importlib
from typing import Generic, Protocol, TypeVar

from jobmodule.activities.errors import JobDefinitionError, UnknownJobError


class NamedJob(Protocol):
    """What the registry needs of a job class: its name."""

    @classmethod
    def job_name(cls) -> str: ...


J = TypeVar("J", bound=NamedJob)


class JobRegistry(Generic[J]):
    """Job classes by name, and the job modules imported to fill it."""

    def __init__(self) -> None:
        self._classes: dict[str, type[J]] = {}
        self._loaded_modules: list[str] = []

    def register(self, job_class: type[J]) -> None:
        """Add a class under its name; a second, different class under one name is an error."""
        name = job_class.job_name()
        existing = self._classes.get(name)
        if existing is not None and existing.__qualname__ != job_class.__qualname__:
            raise JobDefinitionError(
                f"Two job classes are both named {name!r}; set job_name_override on one."
            )
        self._classes[name] = job_class

    def resolve(self, name: str) -> type[J]:
        """The class named ``name``, or UnknownJobError naming close matches."""
        try:
            return self._classes[name]
        except KeyError:
            raise UnknownJobError(
                name, known=self.names(), loaded_modules=self._loaded_modules
            ) from None

    def resolve_or_import(self, name: str) -> type[J]:
        """Like ``resolve``, but first imports the module part of a dotted name (CLI, scheduler)."""
        if name not in self._classes and "." in name:
            module = name.rsplit(".", 1)[0]
            try:
                self.load_modules([module])
            except ModuleNotFoundError as error:
                if error.name is None or not module.startswith(error.name):
                    raise
        return self.resolve(name)

    def load_modules(self, modules: list[str]) -> None:
        """Import job modules so their classes register themselves."""
        for module in modules:
            importlib.import_module(module)
            if module not in self._loaded_modules:
                self._loaded_modules.append(module)

    def names(self) -> list[str]:
        """Every registered job name, sorted."""
        return sorted(self._classes)
