"""jobmodule's own settings (``JOBS_*`` environment variables), loaded once at the edge.

Connection settings are not here: they come from Temporal's standard variables
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*) via temporalio.envconfig.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ADDRESS = "127.0.0.1:7233"


class JobSettings(BaseSettings):
    """Settings read from ``JOBS_*`` variables; every field has a sensible local default."""

    model_config = SettingsConfigDict(env_prefix="JOBS_", frozen=True)

    dead_letter_retention_days: float = Field(default=7.0, gt=0)
    """How long a dead-lettered job waits for retry/forget before it closes as failed."""
    state_dir: Path = Path(".jobmodule")
    """Where ``jobmodule dev`` keeps the embedded server's SQLite database and its log."""
    dev_port: int = 7233
    """gRPC port of the embedded dev server."""
    dev_ui_port: int = 8233
    """Web UI port of the embedded dev server."""
    dev_ip: str = "127.0.0.1"
    """Interface the embedded dev server binds to; loopback unless told otherwise."""
    max_concurrent_activities: int = Field(default=100, ge=1)
    """Jobs one worker runs at once, per queue."""
    max_concurrent_workflow_tasks: int = Field(default=100, ge=1)
    """Workflow tasks one worker runs at once, per queue."""
    graceful_shutdown_seconds: float = Field(default=30.0, ge=0)
    """On SIGTERM, how long in-flight jobs may take to finish before they are cancelled."""
    drain_settle_seconds: float = Field(default=5.0, ge=0)
    """After its jobs stopped, how long a draining worker still serves the workflow tasks that
    record their results (a worker alone on a queue would otherwise leave them unsettled)."""

    monitoring: bool = True
    """Workers report what their jobs do to the metrics workflow (``JobMonitor``, ``jobmodule
    monitor``): one signal per worker every ``monitor_report_seconds``, nothing per job."""
    monitor_report_seconds: float = Field(default=5.0, ge=0.2, le=20)
    """How often a worker reports; a worker silent for 30 s reads as lost."""
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Serve Prometheus metrics on ``metrics_host:metrics_port/metrics`` (``--metrics-port``)."""
    metrics_host: str = "127.0.0.1"
    """Interface the Prometheus endpoint binds to; loopback unless told otherwise."""
    otlp_endpoint: str | None = None
    """Push the same metrics over OTLP (``http://collector:4317``; ``.../v1/metrics`` for HTTP)."""
    # -- notifications (``jobmodule.notifications``) ---------------------------------------------
    notify_webhook_url: str | None = None
    """POST each notice as JSON here (a Slack incoming webhook takes it as it is)."""
    notify_mail_to: str | None = None
    """Mail each notice to these comma-separated addresses, through ``smtp_host``."""
    notify_mail_from: str = "jobmodule@localhost"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    notify_long_wait_seconds: float = Field(default=60.0, gt=0)
    """A queue whose oldest pending job has waited longer notifies (Horizon's ``waits``)."""
    notify_long_wait_queues: dict[str, float] = Field(default_factory=dict)
    """Per-queue thresholds, as JSON: ``JOBS_NOTIFY_LONG_WAIT_QUEUES='{"imports": 600}'``."""
    notify_digest_minutes: float = Field(default=10.0, gt=0)
    """Further failures of a group that notified are summed into one digest this often."""
    notify_scan_seconds: float = Field(default=10.0, gt=0)
    """How often the notifier looks for new failures, waits and lost workers."""
    # -- the dashboard (``jobmodule dashboard``) --------------------------------------------------
    dashboard_host: str = "127.0.0.1"
    """Interface the dashboard binds to; any other than loopback needs ``dashboard_token``."""
    dashboard_port: int = Field(default=8234, ge=0, le=65535)
    """Port of the dashboard (``jobmodule dashboard``, and ``jobmodule dev`` beside its Web UI)."""
    dashboard_token: SecretStr | None = None
    """``JOBS_DASHBOARD_TOKEN``: when set, every page and action asks for it (login form or
    ``Authorization: Bearer``)."""
    temporal_ui_url: str | None = None
    """Where the Temporal Web UI answers, for the dashboard's history links; default the dev
    server's (``http://dev_ip:dev_ui_port``)."""
    tracing: bool = True
    """Propagate OpenTelemetry traces from ``dispatch()`` to each attempt (spans are recorded
    only where a tracer provider is installed)."""
    workflow_sandbox: bool = False
    """Run jobmodule's own workflows in Temporal's determinism sandbox.

    Off by default: no user code runs in them (jobs are activities), replay tests guard their
    determinism, and the sandbox costs a fresh module environment per workflow run (measured:
    a quarter to a third of a single-job worker's CPU, ~5 ms of dispatch->start). The test
    suite runs them sandboxed, so a non-deterministic call fails CI.
    """

    @property
    def web_ui_url(self) -> str:
        """The Temporal Web UI's address: ``temporal_ui_url``, else the dev server's."""
        url = self.temporal_ui_url or f"http://{self.dev_ip}:{self.dev_ui_port}"
        return url.rstrip("/")

    @model_validator(mode="after")
    def _one_metrics_exporter(self) -> JobSettings:
        if self.metrics_port is not None and self.otlp_endpoint:
            raise ValueError(
                "JOBS_METRICS_PORT (--metrics-port) and JOBS_OTLP_ENDPOINT are exclusive: the "
                "Temporal SDK exports metrics one way. Pick one; to have both, push OTLP to an "
                "OpenTelemetry Collector and let its prometheus exporter serve /metrics."
            )
        return self


@functools.cache
def default_settings() -> JobSettings:
    """The settings read from the environment, once per process (dispatch is a hot path)."""
    return JobSettings()
