"""A whole connection over real protocols: the Bright Sites sandbox over HTTP, a DSFX folder
worked by the sandbox warehouse robot, the hub's flows in between."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.utils import timezone

from dropstream.connections import actions
from dropstream.connections.models import Connection
from dropstream.sandbox.warehouse.robot import WarehouseRobot
from dropstream.scheduling.actions import run_here
from dropstream.sync.runner import RunResult


@dataclass
class Hub:
    connection: Connection
    robot: WarehouseRobot
    root: Path
    control: object

    def run(self, channel: str, mode: str = "default", *, expect_ok: bool = True) -> RunResult:
        """Run a channel the way the command line does: under the workers' run lock."""
        result = run_locked(self.connection, channel, mode)
        if expect_ok:
            assert result.ok, result.error
        return result


def run_locked(connection: Connection, channel: str, mode: str = "default") -> RunResult:
    """One run of ``channel`` through the run lock (``scheduling.actions.run_here``), reported
    as the flow's RunResult."""
    outcome, run = run_here(connection.channels.get(type=channel), mode=mode, wait_seconds=30)
    return RunResult(ok=outcome == "succeeded", counts=run.counts, requests=run.requests,
                     error=run.error, details=run.details)


def build_hub(bs_store, root: Path, *, warehouse_url: str | None = None, **robot_options) -> Hub:
    merchant = actions.create_merchant("Acme Apparel")
    store = actions.create_store(merchant, name="Acme", platform="brightsites", adapter={
        "subdomain": bs_store.subdomain, "api_token": bs_store.read_write_token,
        "api_url": bs_store.api_url, "import_since": "2000-01-01T00:00:00Z"})
    warehouse = actions.create_warehouse(merchant, description="DC", platform="dropstream",
                                         adapter={"connection_string":
                                                  warehouse_url or f"file://{root}",
                                                  "settle_seconds": 0})
    connection = actions.create_connection(name="Acme", customer=merchant, store=store,
                                           warehouse=warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    robot = WarehouseRobot(warehouse_url or f"file://{root}", ship_delay_s=0,
                           state_path=str(root.parent / "robot-state.json"), **robot_options)
    return Hub(connection=connection, robot=robot, root=root, control=bs_store.control)


@pytest.fixture
def hub(bs_store, tmp_path) -> Hub:
    root = tmp_path / "dsfx"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    return build_hub(bs_store, root, split_rate=0.0, short_rate=0.0)
