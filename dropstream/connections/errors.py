"""Errors of the connections domain."""

from __future__ import annotations


class ConnectionsError(Exception):
    """Base: ``errors`` maps a field path to a plain message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


class DuplicateConnection(ConnectionsError):
    """The (merchant, store, warehouse) triple already has a connection."""
