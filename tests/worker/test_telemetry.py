"""How a worker's metrics exporter is chosen, and refused with a fix when it cannot work."""

from __future__ import annotations

import socket

import pytest
from pydantic import ValidationError

from jobmodule import JobModuleError, JobSettings
from jobmodule.worker.options import parse_args, settings_from_args
from jobmodule.worker.telemetry import telemetry_runtime


def test_no_exporter_unless_asked_for() -> None:
    assert telemetry_runtime(JobSettings()) is None


def test_a_metrics_port_and_an_otlp_endpoint_together_are_refused_naming_the_way_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOBS_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    with pytest.raises(ValidationError, match="exclusive.*OpenTelemetry Collector"):
        settings_from_args(parse_args(["--metrics-port", "9464"]))


def test_a_taken_port_is_an_error_that_names_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(JobModuleError, match="--metrics-port"):
            telemetry_runtime(JobSettings(metrics_port=port))
