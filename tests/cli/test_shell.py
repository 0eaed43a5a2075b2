"""The installed command as a user's interactive shell runs it, and how it exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jobmodule.cli.main import PROGRAM
from tests import sample_jobs as jobs
from tests.conftest import WorkerFactory

VENV_BIN = Path(sys.executable).parent
ALIAS = "jm"


def interactive_bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``bash -ic SCRIPT`` after activating the venv: builtins and aliases apply, as for a user."""
    activate = f"source {VENV_BIN / 'activate'}"
    return subprocess.run(
        ["bash", "-ic", f"{activate} && {script}"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_neither_name_is_a_shell_builtin_alias_or_function() -> None:
    run = interactive_bash(f"type -t {PROGRAM} {ALIAS}", dict(os.environ))
    assert run.stdout.split() == ["file", "file"], run.stdout + run.stderr


async def test_jobmodule_failed_lists_the_dead_letter_queue_from_an_interactive_shell(
    server_address: str, queue: str, worker: WorkerFactory
):
    async with worker(queue):
        job = await jobs.AlwaysFails.dispatch(token=f"shell-{queue}").on_queue(queue)
        await job.outcome()
    env = {**os.environ, "TEMPORAL_ADDRESS": server_address, "COLUMNS": "200"}
    for name in (PROGRAM, ALIAS):
        run = interactive_bash(f"{name} failed --queue {queue} --json", env)
        assert run.returncode == 0, run.stderr
        assert [row["id"] for row in json.loads(run.stdout)] == [job.id]


def test_a_command_exits_through_the_interpreter_so_exit_hooks_run(server_address: str) -> None:
    """No ``os._exit``: atexit handlers (logging, metrics flushes) run after a command."""
    code = (
        "import atexit, sys; atexit.register(print, 'exit hooks ran');"
        "from jobmodule.cli.main import main; sys.exit(main(['failed', '--json']))"
    )
    env = {**os.environ, "TEMPORAL_ADDRESS": server_address}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.rstrip().endswith("exit hooks ran")
