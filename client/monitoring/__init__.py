"""Monitoring: ``JobMonitor`` and its read models, from the metrics workflow and visibility."""

from jobmodule.monitoring.models import (
    JobStats,
    MinuteFigures,
    MonitorSnapshot,
    QueueStats,
    WindowFigures,
    WorkerInfo,
    WorkerStatus,
)
from jobmodule.monitoring.monitor import JobMonitor

__all__ = [
    "JobMonitor",
    "QueueStats",
    "JobStats",
    "WorkerInfo",
    "WorkerStatus",
    "WindowFigures",
    "MinuteFigures",
    "MonitorSnapshot",
]
