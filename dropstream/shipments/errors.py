"""Errors of the shipments domain."""

from __future__ import annotations


class ShipmentActionError(Exception):
    """An action is not allowed for the shipment in its current state; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
