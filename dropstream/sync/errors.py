"""Errors of the sync flows.

    RunStopped (BaseException)   the run must stop now, before its next external effect
"""

from __future__ import annotations

from collections.abc import Callable


class RunStopped(BaseException):  # noqa: N818 — it is an instruction, like GeneratorExit
    """The run may no longer act: its lease passed to another worker, or could not be renewed
    in time to be sure it still holds it.

    A BaseException (as ``asyncio.CancelledError`` is) on purpose: the flows give each order and
    shipment its own ``except Exception`` so one bad item never stops a batch, and those handlers
    must not swallow this. Whatever was recorded as an intent stays pending; the worker that
    holds the run now completes it.
    """


# Called before every request to a store or warehouse; raises RunStopped when the run must stop.
StopCheck = Callable[[], None]


def never_stop() -> None:
    """The check of a run that is not under a lease (tools, tests of one flow)."""
