"""Fixtures for the simulated X12 warehouse: a mailbox folder, a clock, a robot factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dropstream.sandbox.edi.profile import PartnerProfile
from dropstream.sandbox.edi.robot import EdiWarehouseRobot
from tests.sandbox.edi.edifiles import SAMPLE_STOCK, T0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "edi"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    return root


@pytest.fixture
def clock() -> Clock:
    return Clock()


# Quiet by default: no first-pass 846, no automatic shipping, no random splits.
QUIET = {"inventory_every_s": 0.0, "ship_delay_s": None, "split_rate": 0.0,
         "first_interchange_number": 2203, "first_group_number": 7303}


@pytest.fixture
def make_robot(root: Path, clock: Clock) -> Callable[..., EdiWarehouseRobot]:
    def make(stock: dict[str, int] | None = None, seed: int = 1, state_path: str | None = None,
             **profile: object) -> EdiWarehouseRobot:
        settings = PartnerProfile.from_dict({**QUIET, **profile})
        return EdiWarehouseRobot(f"file://{root}", settings, seed=seed,
                                 stock=dict(SAMPLE_STOCK if stock is None else stock),
                                 clock=clock, state_path=state_path)

    return make
