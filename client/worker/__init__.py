"""Workers: one Temporal worker per queue in a process, ``--processes N`` side by side, logging.

``python worker.py`` (the checkout's entry) and ``jobmodule work`` both run ``main``.
"""

from jobmodule.worker.main import main
from jobmodule.worker.runner import build_workers, run_worker, workflow_runner

__all__ = ["main", "run_worker", "build_workers", "workflow_runner"]
