"""Fixtures for scheduling: an enabled connection, a fixed clock, the injected run function."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dropstream.connections.actions import set_connection_enabled
from dropstream.connections.models import Channel
from dropstream.scheduling import clock
from tests.scheduling import flows

T0 = datetime(2025, 6, 2, 10, 7, tzinfo=UTC)  # a Monday


class Clock:
    """A settable clock for ``dropstream.scheduling.clock``."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> datetime:
        from datetime import timedelta

        self.at += timedelta(**delta)
        return self.at


@pytest.fixture(autouse=True)
def immediate_queue():
    """Tasks run inline, on the in-memory queue. (Set here too: tests/conftest.py sets
    DROPSTREAM_QUEUE_IMMEDIATE after pytest-django has already loaded the settings.)"""
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = before


@pytest.fixture
def fake_clock():
    moment = Clock(T0)
    with clock.use(moment):
        yield moment


@pytest.fixture
def live_connection(connection, fake_clock):
    set_connection_enabled(connection, fake_clock.at)
    return connection


@pytest.fixture
def sales(live_connection) -> Channel:
    return Channel.objects.select_related("connection__customer").get(
        connection=live_connection, type="sales_order")


@pytest.fixture
def run_with(settings):
    """Choose the run function by name from tests.scheduling.flows."""
    flows.CALLS.clear()

    def choose(name: str) -> None:
        settings.RUN_FUNCTION = f"tests.scheduling.flows.{name}"

    choose("succeed")
    return choose
