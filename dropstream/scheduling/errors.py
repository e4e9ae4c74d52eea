"""Errors of the scheduling domain.

    SchedulingError (ValueError)  ``errors`` maps a field path to a plain message
    ├── InvalidSchedule      rules failed validation (``rules[1].every``); = rules.RuleError
    ├── RunRefused           a run cannot be requested now (e.g. the connection is disabled)
    └── InvalidBudget        a budget setting is out of range
"""

from __future__ import annotations


class SchedulingError(ValueError):
    """Base: ``errors`` maps a field path to a plain message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class InvalidSchedule(SchedulingError):
    """Schedule rules failed validation; nothing was stored."""


class RunRefused(SchedulingError):
    """A run was not queued; the message says what to change first."""


class InvalidBudget(SchedulingError):
    """A budget value is out of range; nothing was stored."""
