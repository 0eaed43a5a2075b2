"""Worker processes for the notification tests, as the fault tests start them."""

from tests.faults.conftest import start_workers

__all__ = ["start_workers"]
