"""Errors raised inside the simulator.

``ApiError`` becomes a GraphQL ``errors[]`` entry (spec §9: HTTP 200, ``data.<field>: null``,
with ``request_id``). The numeric ``code`` values other than 30 (throttling, §8) are not
documented; the simulator uses these (a documented approximation: the adapter must not depend
on them): 3 invalid input, 5 not found, 6 not allowed in the order's current state, 9 forbidden
(account scope, §3). An operation over the per-operation credit maximum uses
``settings.over_max_error_code`` (default 30, "a similar error", §8).
``ControlError`` is a bad request on the control endpoint (HTTP 400) or a Python driver call.
"""

from __future__ import annotations

CODE_INVALID = 3
CODE_NOT_FOUND = 5
CODE_STATE = 6
CODE_FORBIDDEN = 9
CODE_THROTTLED = 30


class ApiError(Exception):
    """A business or validation error reported to the GraphQL client."""

    def __init__(self, message: str, code: int = CODE_INVALID) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ControlError(Exception):
    """The control endpoint or a Python driver method refused a request."""
