"""The demo's DSFX warehouse: the sandbox warehouse robot on a local folder."""

from __future__ import annotations

from pathlib import Path

from dropstream.commands.demo import DemoWarehouse
from dropstream.sandbox.warehouse.robot import WarehouseRobot


def start(home: Path, hub_url: str) -> DemoWarehouse:
    root = home / "warehouses" / "demo"
    (root / "in").mkdir(parents=True, exist_ok=True)
    (root / "out").mkdir(exist_ok=True)
    robot = WarehouseRobot(f"file://{root}", ship_delay_s=5, split_rate=0.2, short_rate=0.05,
                           inventory_every_s=20, default_stock=500,
                           state_path=str(home / "demo-robot.json"))
    stop_robot = robot.start_thread(poll_s=1.0)
    return DemoWarehouse(platform="dropstream", description="Demo warehouse (local folder)",
                         adapter={"connection_string": f"file://{root}", "settle_seconds": 1},
                         lines=[f"Sandbox warehouse folder: {root}"], stop=stop_robot)
