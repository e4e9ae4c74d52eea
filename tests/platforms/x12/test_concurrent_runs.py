"""Two runs of one X12 warehouse at once (its shipment and inventory channels) each answer a
partner file with a 997: the control numbers come from the hub's database sequence
(``AdapterContext.take_number``), so they differ although both runs started from the same
memory."""

from __future__ import annotations

import pytest

from dropstream.connections import actions
from dropstream.sandbox.edi.profile import PartnerProfile
from dropstream.sandbox.edi.robot import EdiWarehouseRobot
from dropstream.sync import adapters

pytestmark = pytest.mark.django_db


def test_two_runs_at_once_never_take_the_same_control_number(tmp_path):
    root = tmp_path / "edi"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    merchant = actions.create_merchant("Acme")
    warehouse = actions.create_warehouse(merchant, description="EDI", platform="x12", adapter={
        "connection_string": f"file://{root}", "sender_id": "HUBSENDER",
        "receiver_id": "WHSRECEIVER", "usage_indicator": "T"})
    robot = EdiWarehouseRobot(f"file://{root}", PartnerProfile(inventory_every_s=0.0,
                                                               ship_delay_s=None),
                              stock={"A": 1}, state_path=str(tmp_path / "robot.json"))
    robot.write_inventory_now()
    memories = [adapters.Memory(warehouse), adapters.Memory(warehouse)]  # both before either
    inventory, shipments = (adapters.build(warehouse, memory=memory) for memory in memories)
    [document] = list(inventory.fetch_inventory())
    inventory.acknowledge(document)
    robot.tick()  # reads the hub's 997
    robot.write_inventory_now()
    shipments_run = list(shipments.fetch_inventory())
    assert len(shipments_run) == 1
    for memory in memories:
        memory.save()

    numbers = sorted(int(path.read_bytes()[90:99]) for path in (root / "in").rglob("997_*"))
    assert numbers == [1, 2]
    warehouse.refresh_from_db()
    assert warehouse.adapter_state["sequences"] == {"x12.isa13": 3, "x12.gs06": 3}
