"""What every command prints through: a console for tables, one for errors, and ``--json``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console

from jobmodule.activities import JobModuleError

console = Console()
errors = Console(stderr=True)

Command = Callable[[argparse.Namespace], Awaitable[int]]
"""A subcommand: parsed arguments in, exit code out."""


def print_json(data: Any) -> None:
    """Machine-readable output for ``--json``."""
    print(json.dumps(data, indent=2, default=str))


def json_object(text: str, option: str = "--payload") -> dict[str, Any]:
    """A JSON object given on the command line, or an error that shows the form."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise JobModuleError(f"{option} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise JobModuleError(f"{option} must be a JSON object, e.g. '{{\"user_id\": 7}}'")
    return value
