"""Queue tasks of the sync flows."""

from __future__ import annotations

import logging

from huey.contrib.djhuey import db_task

logger = logging.getLogger(__name__)


@db_task(retries=3, retry_delay=30)
def import_push_delivery(delivery_id: int) -> str:
    """Import one Push Orders delivery; returns its final state."""
    from dropstream.sync.push import process_delivery

    return process_delivery(delivery_id)
