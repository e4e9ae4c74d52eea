"""The scheduling clock: ``timezone.now`` unless a simulation sets another source.

Everything in ``dropstream.scheduling`` reads time through ``now()`` so the benchmark and the
simulated-month tests can move a whole month of schedules, runs and budgets in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current instant (aware, UTC)."""
    return _source() if _source is not None else timezone.now()


@contextmanager
def use(source: Callable[[], datetime]) -> Iterator[None]:
    """Read time from ``source`` inside the block (e.g. a simulation's clock)."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous
