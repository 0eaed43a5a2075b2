"""The embedded dev server's command line."""

from __future__ import annotations

from pathlib import Path

from jobmodule import JobSettings
from jobmodule.dev.server import (
    LOW_LATENCY_DYNAMIC_CONFIG,
    PRIORITY_DYNAMIC_CONFIG,
    dev_server_command,
)


def test_the_dev_server_lifts_the_history_poll_rate_limits(tmp_path: Path) -> None:
    command = dev_server_command(JobSettings(state_dir=tmp_path), headless=True)
    for value in LOW_LATENCY_DYNAMIC_CONFIG:
        assert command[command.index(value) - 1] == "--dynamic-config-value"
    assert any(v.startswith("history.transferProcessorMaxPollRPS=") for v in command)


def test_the_dev_server_runs_fairness_on_one_task_queue_partition(tmp_path: Path) -> None:
    command = dev_server_command(JobSettings(state_dir=tmp_path), headless=True)
    for value in PRIORITY_DYNAMIC_CONFIG:
        assert command[command.index(value) - 1] == "--dynamic-config-value"
    assert "matching.enableFairness=true" in command
