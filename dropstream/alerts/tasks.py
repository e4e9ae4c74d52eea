"""Queue tasks of alerts: send immediate e-mails off the request path, and a periodic pass
that closes quiet issues and sends batched e-mails (``notify.alerts_tick``).

The periodic task runs in a Huey consumer started with periodic tasks on; a scheduler may
call ``notify.alerts_tick(now)`` directly instead (it is safe to run both: sending claims).
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from dropstream.alerts import notify


@db_task(name="dropstream.alerts.send_notifications")
def send_notifications_task() -> None:
    notify.send_due_notifications()


@db_periodic_task(crontab(minute="*"), name="dropstream.alerts.tick")
def alerts_tick_task() -> None:
    notify.alerts_tick()
