"""The demo's X12 EDI warehouse: the sandbox EDI trading partner on a local mailbox folder."""

from __future__ import annotations

from pathlib import Path

from dropstream.commands.demo import DemoWarehouse
from dropstream.sandbox.edi.profile import PartnerProfile
from dropstream.sandbox.edi.robot import EdiWarehouseRobot


def start(home: Path, hub_url: str) -> DemoWarehouse:
    root = home / "demo-edi"
    (root / "in").mkdir(parents=True, exist_ok=True)
    (root / "out").mkdir(exist_ok=True)
    # The spec's sample partner (WHSRECEIVER ↔ HUBSENDER, test data), fast enough to watch.
    profile = PartnerProfile(ship_delay_s=5.0, pick_delay_s=2.0, split_rate=0.2,
                             inventory_every_s=30.0, ack_delay_s=1.0)
    robot = EdiWarehouseRobot(f"file://{root}", profile, default_stock=500,
                              state_path=str(home / "demo-edi-robot.json"))
    stop_robot = robot.start_thread(poll_s=1.0)
    return DemoWarehouse(
        platform="x12", description="Demo EDI 3PL (X12 over a local folder)",
        adapter={"connection_string": f"file://{root}", "sender_id": profile.hub_id,
                 "receiver_id": profile.warehouse_id, "usage_indicator": profile.usage,
                 "settle_seconds": 1},
        lines=[f"Sandbox EDI mailbox: {root} (940s and the hub's 997s in in/, the partner's "
               "997, 945 and 846 files in out/)"], stop=stop_robot)
