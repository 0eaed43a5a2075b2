"""The installed ``jobmodule`` command: dispatch, status, failed, retry, forget, flush."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import WorkerFactory

REPO = Path(__file__).resolve().parents[2]
JOBMODULE = Path(sys.executable).parent / "jobmodule"
"""The console script ``pip install`` made, beside this Python."""


async def jobs_cli(server_address: str, *args: str) -> tuple[int, str, str]:
    """Run ``jobmodule ARGS`` as a process against the session server."""
    process = await asyncio.create_subprocess_exec(
        str(JOBMODULE),
        *args,
        cwd=REPO,
        env={**os.environ, "TEMPORAL_ADDRESS": server_address, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_dispatch_wait_prints_the_result(
    server_address: str, queue: str, worker: WorkerFactory
):
    async with worker(queue):
        code, out, _ = await jobs_cli(
            server_address,
            "dispatch",
            "tests.sample_jobs.Add",
            "--payload",
            '{"a": 4, "b": 5}',
            "--queue",
            queue,
            "--wait",
            "--json",
        )
    assert code == 0
    outcome = json.loads(out)
    assert outcome["state"] == "succeeded" and outcome["result"] == 9


async def test_unknown_job_name_lists_close_matches_and_sends_nothing(server_address: str):
    code, _, err = await jobs_cli(
        server_address, "dispatch", "tests.sample_jobs.Ad", "--payload", "{}"
    )
    assert code == 2
    assert "Unknown job 'tests.sample_jobs.Ad'" in err
    assert "tests.sample_jobs.Add" in err


async def test_invalid_payload_and_bad_delay_are_rejected(server_address: str):
    code, _, err = await jobs_cli(
        server_address, "dispatch", "tests.sample_jobs.Add", "--payload", '{"a": "x"}'
    )
    assert code == 2 and "valid integer" in err
    code, _, err = await jobs_cli(
        server_address,
        "dispatch",
        "tests.sample_jobs.Add",
        "--payload",
        '{"a": 1}',
        "--delay",
        "soon",
    )
    assert code == 2 and "invalid duration" in err


async def test_failed_retry_forget_and_flush_from_the_shell(
    server_address: str, queue: str, worker: WorkerFactory
):
    async with worker(queue):
        ids = []
        for token in ("one", "two"):
            code, out, _ = await jobs_cli(
                server_address,
                "dispatch",
                "tests.sample_jobs.AlwaysFails",
                "--payload",
                json.dumps({"token": f"cli-{token}-{queue}"}),
                "--queue",
                queue,
                "--wait",
                "--json",
            )
            assert code == 1  # dead-lettered
            ids.append(json.loads(out)["id"])

        code, out, _ = await jobs_cli(server_address, "failed", "--queue", queue, "--json")
        assert code == 0
        assert sorted(row["id"] for row in json.loads(out)) == sorted(ids)

        code, out, _ = await jobs_cli(server_address, "status", ids[0])
        assert code == 0 and "dead_lettered" in out

        code, out, _ = await jobs_cli(server_address, "forget", ids[0])
        assert code == 0
        code, out, _ = await jobs_cli(server_address, "flush", "--queue", queue)
        assert code == 0 and "flushed 1 job(s)" in out
        code, out, _ = await jobs_cli(server_address, "failed", "--queue", queue, "--json")
        assert json.loads(out) == []


async def test_retry_of_an_unknown_id_fails_clearly(server_address: str):
    code, _, err = await jobs_cli(server_address, "retry", "no-such-job")
    assert code == 2 and "not in the dead-letter queue" in err


@pytest.mark.parametrize("command", ["--help", "dispatch --help", "dev --help"])
async def test_help_renders(server_address: str, command: str):
    code, out, _ = await jobs_cli(server_address, *command.split())
    assert code == 0 and "usage: jobmodule" in out
