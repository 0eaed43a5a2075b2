"""Notifications: failures, failed batches, long waits and lost workers, sent to a webhook, to
mail, or to the application's own ``Notifier`` classes, from Temporal alone."""

from jobmodule.activities.notify import Notice, Notifier
from jobmodule.notifications.service import NotificationService, delivery_config

__all__ = ["Notice", "Notifier", "NotificationService", "delivery_config"]
