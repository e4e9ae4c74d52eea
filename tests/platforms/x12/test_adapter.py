"""The X12 adapter on a real folder, with the sandbox EDI partner (its own parser) reading what
it writes: control numbers across restarts, re-sends, 997 matching, foreign files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dropstream.platforms.base import (
    AdapterContext,
    Address,
    WarehouseOrder,
    WarehouseOrderLine,
)
from dropstream.platforms.errors import OrderDataError
from dropstream.platforms.x12 import SPEC
from dropstream.platforms.x12.adapter import X12Adapter
from dropstream.sandbox.edi.profile import PartnerProfile
from dropstream.sandbox.edi.robot import EdiWarehouseRobot

SETTINGS = {"sender_id": "HUBSENDER", "receiver_id": "WHSRECEIVER", "usage_indicator": "T"}
T0 = datetime(2026, 3, 5, 14, 32, tzinfo=UTC)


def order(number: str, sku: str = "TENT-4P-GRN", name: str = "Ana Pérez") -> WarehouseOrder:
    return WarehouseOrder(
        order_number=number, ordered_at=T0, bill_to=None, ship_method="UPS Ground",
        ship_to=Address(name=name, street1="1 Main St", city="Portland", state="OR",
                        postal_code="97201", country="US"),
        lines=(WarehouseOrderLine(1, sku, 2, Decimal("10")),))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "edi"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    return root


def make(root: Path, state: dict, checkpoints: list | None = None, clock=None,
         **settings) -> X12Adapter:
    saved = checkpoints if checkpoints is not None else []
    context = AdapterContext(state=state, checkpoint=lambda: saved.append(dict(state)))
    return X12Adapter({"connection_string": f"file://{root}", **SETTINGS, **settings}, context,
                      clock=clock)


def robot(root: Path, tmp_path: Path, **profile) -> EdiWarehouseRobot:
    return EdiWarehouseRobot(f"file://{root}", PartnerProfile.from_dict(
        {"inventory_every_s": 0.0, "ship_delay_s": None, "split_rate": 0.0, **profile}),
        state_path=str(tmp_path / "robot.json"), default_stock=100)


def isa13(path: Path) -> int:
    return int(path.read_bytes()[90:99])


def test_control_numbers_are_saved_before_the_upload_and_continue_after_a_restart(root):
    state: dict = {}
    saved: list = []
    first = make(root, state, saved)
    key = first.submission_key([order("HUB-1")], T0)
    first.submit([order("HUB-1")], key=key)
    # The memory was saved with the numbers taken before the file existed.
    assert saved and saved[0]["control"] == {"isa13": 2, "gs06": 2}
    second = make(root, state)  # a new run with the saved memory
    other = second.submission_key([order("HUB-2")], T0 + timedelta(seconds=1))
    second.submit([order("HUB-2")], key=other)
    assert [isa13(root / "in" / name) for name in (key, other)] == [1, 2]


def test_a_resend_after_a_crash_uses_the_same_bytes_and_a_changed_batch_new_numbers(root):
    state: dict = {}
    adapter = make(root, state)
    key = adapter.submission_key([order("HUB-1"), order("HUB-2")], T0)
    adapter._reserve_940(key, [order("HUB-1"), order("HUB-2")])  # died before the upload
    assert adapter.submitted(key, [order("HUB-1")]) == frozenset()

    again = make(root, state)
    again.submit([order("HUB-1"), order("HUB-2")], key=key)
    assert isa13(root / "in" / key) == 1  # the reserved number, the reserved content
    assert again.submitted(key, [order("HUB-1")]) == {"HUB-1"}

    changed = adapter.submission_key([order("HUB-3"), order("HUB-4")], T0)
    make(root, state)._reserve_940(changed, [order("HUB-3"), order("HUB-4")])
    make(root, state).submit([order("HUB-3")], key=changed)  # HUB-4 canceled meanwhile
    assert isa13(root / "in" / changed) == 3  # 2 named the other content: never reused


def test_an_order_the_940_cannot_carry_takes_no_number(root):
    state: dict = {}
    adapter = make(root, state)
    bad = order("HUB-1", sku="SKU*WITH*STARS")
    with pytest.raises(OrderDataError):
        adapter.submit([bad], key=adapter.submission_key([bad], T0))
    assert state.get("control", {}) == {}
    assert list((root / "in").iterdir()) == []


def test_the_partner_reads_the_orders_and_its_997_becomes_receipts(root, tmp_path):
    state: dict = {}
    adapter = make(root, state)
    orders = [order("HUB-1", name="Zoë * ~ > Ørsted"), order("HUB-2")]
    adapter.submit(orders, key=adapter.submission_key(orders, T0))
    partner = robot(root, tmp_path)
    partner.tick()
    assert sorted(o.order_number for o in partner.orders()) == ["HUB-1", "HUB-2"]

    reader = make(root, state)
    receipts = reader.fetch_receipts()
    assert reader.fetch_rejections() == []
    [receipt] = receipts
    assert set(receipt.order_numbers) == {"HUB-1", "HUB-2"} and "accepted" in receipt.message
    reader.acknowledge_rejections(receipt.source)
    assert list((root / "out" / "processed").glob("997_*"))
    assert make(root, state).fetch_receipts() == []  # set aside, and not overdue


def test_an_overdue_997_is_reported_once(root):
    state: dict = {}
    clock = Clock()
    adapter = make(root, state, clock=clock, ack_overdue_hours=2)
    adapter.submit([order("HUB-1")], key=adapter.submission_key([order("HUB-1")], T0))
    assert make(root, state, clock=clock).fetch_receipts() == []
    clock.now += timedelta(hours=2, minutes=1)
    later = make(root, state, clock=clock, ack_overdue_hours=2)
    [overdue] = later.fetch_receipts()
    assert overdue.overdue and "No 997" in overdue.message
    later.acknowledge_rejections(overdue.source)
    assert make(root, state, clock=clock).fetch_receipts() == []


def test_a_997_for_a_group_never_sent_is_an_unmatched_refusal(root, tmp_path):
    state: dict = {}
    adapter = make(root, state)
    adapter.submit([order("HUB-1")], key=adapter.submission_key([order("HUB-1")], T0))
    partner = robot(root, tmp_path)
    partner.tick()
    stranger = make(root, {})  # a memory that never sent that group
    [rejection] = stranger.fetch_rejections()
    assert rejection.order_number == "" and "never sent" in rejection.reason


def test_a_file_from_another_partner_is_refused_unanswered(root, tmp_path):
    partner = robot(root, tmp_path, warehouse_id="SOMEONEELSE")
    partner.write_inventory_now()
    adapter = make(root, {})
    [document] = list(adapter.fetch_inventory())
    assert document.levels == [] and "not the partner" in document.errors[0].reason
    adapter.acknowledge(document)
    assert list((root / "in").glob("997_*")) == []
    assert list((root / "out" / "error").glob("846*.error.txt"))


def test_the_spec_cleans_ids_and_parties():
    fields = {field.name: field for field in SPEC.fields}
    assert fields["parties"].clean("de, bt") == "ST,DE,BT"
    with pytest.raises(ValueError):
        fields["sender_id"].clean("X" * 16)
    with pytest.raises(ValueError):
        fields["to_partner_folder"].clean("../etc")
    assert fields["connection_string"].secret
