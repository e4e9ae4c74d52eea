"""Errors of the orders domain."""

from __future__ import annotations


class OrderActionError(Exception):
    """An action is not allowed for the order in its current state; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidTransition(OrderActionError):
    """A status change the status machine does not allow."""
