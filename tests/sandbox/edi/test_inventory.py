"""846 Inventory Inquiry/Advice: full snapshots, QTY 33/17, split sets, CTT (§4, §8 row 8)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.sandbox.edi.edifiles import body, drop, interchange, only, out_names, read_out

# A 940 holding 2 tents and 3 stoves, with the UPC and descriptions of the §4.3 sample.
RESERVING_940 = interchange([
    "ST*940*0001", "W05*N*HUB-200*PO-1", "N1*ST*Jane Buyer", "W66*PP*U***UPS Ground*****UPSN",
    "LX*1", "W01*2*EA**SK*TENT-4P-GRN*UP*012345678912", "G69*Four person tent green",
    "N9*LI*1", "LX*2", "W01*3*EA**SK*STOVE-01", "G69*Camp stove", "N9*LI*2", "SE*13*0001"])

SIX_AM = datetime(2026, 3, 6, 6, 0, tzinfo=UTC).timestamp()


def test_a_snapshot_reports_available_and_on_hand_like_the_spec_sample(root, make_robot, clock):
    drop(root, RESERVING_940)
    robot = make_robot()
    robot.tick()
    clock.now = SIX_AM

    name = robot.write_inventory_now()

    written = read_out(root, name)
    assert name.startswith("846_") and written.groups[0].functional_id == "IB"
    assert body(written) == [
        "BIA*00*SI*INV-20260306-01*20260306*0600", "DTM*007*20260306*0600",
        "N1*WH*LAX-1 Warehouse*ZZ*LAX1",
        "LIN**SK*STOVE-01", "PID*F****Camp stove", "QTY*33*0*EA", "QTY*17*3*EA",
        "LIN**SK*TENT-4P-GRN*UP*012345678912", "PID*F****Four person tent green",
        "QTY*33*12*EA", "QTY*17*14*EA",
        "CTT*2*29"]
    assert written.groups[0].sets[0].se.get(1) == "14"


def test_shipping_lowers_the_next_snapshot_and_each_report_has_its_own_bia03(root, make_robot,
                                                                            clock):
    drop(root, RESERVING_940)
    robot = make_robot()
    robot.tick()
    first = robot.write_inventory_now()
    robot.ship_order("HUB-200")
    clock.now += 60
    second = robot.write_inventory_now()

    bia = [body(read_out(root, name))[0] for name in (first, second)]
    assert bia == ["BIA*00*SI*INV-20260305-01*20260305*1432",
                   "BIA*00*SI*INV-20260305-02*20260305*1433"]
    assert [line for line in body(read_out(root, second)) if line.startswith("QTY")] == [
        "QTY*33*0*EA", "QTY*17*0*EA", "QTY*33*12*EA", "QTY*17*12*EA"]


@pytest.mark.parametrize("codes, quantities, total", [
    (("33",), ["QTY*33*3*EA", "QTY*33*14*EA"], 17),
    (("17",), ["QTY*17*3*EA", "QTY*17*14*EA"], 17),
    (("17", "33"), ["QTY*17*3*EA", "QTY*33*3*EA", "QTY*17*14*EA", "QTY*33*14*EA"], 34),
])
def test_the_profile_picks_the_quantity_codes(root, make_robot, codes, quantities, total):
    robot = make_robot(qty_codes=codes)

    lines = body(read_out(root, robot.write_inventory_now()))

    assert [line for line in lines if line.startswith("QTY")] == quantities
    assert lines[-1] == f"CTT*2*{total}"


def test_a_snapshot_can_be_split_into_several_sets_each_with_its_own_ctt(root, make_robot):
    robot = make_robot(stock={"A": 1, "B": 2, "C": 3}, skus_per_846_set=2)

    written = read_out(root, robot.write_inventory_now())

    group = written.groups[0]
    assert (group.ge.get(1), [ts.control for ts in group.sets]) == ("2", ["0001", "0002"])
    first, second = body(written, 0), body(written, 1)
    assert first[0] == "BIA*00*SI*INV-20260305-01-1*20260305*1432"
    assert second[0] == "BIA*00*SI*INV-20260305-01-2*20260305*1432"
    assert [line for line in first if line.startswith("LIN")] == ["LIN**SK*A", "LIN**SK*B"]
    assert (first[-1], second[-1]) == ("CTT*2*6", "CTT*1*6")
    assert [ts.se.get(1) for ts in group.sets] == [str(len(first) + 2), str(len(second) + 2)]
    assert [item.keys for item in robot.sent_files()] == [("INV-20260305-01-1",
                                                          "INV-20260305-01-2")]


def test_a_wrong_ctt_fault_per_profile_or_once(root, make_robot, clock):
    assert body(read_out(root, make_robot(wrong_ctt=True).write_inventory_now()))[-1] == \
        "CTT*3*34"

    robot = make_robot(state_path=str(root.parent / "once.json"))
    robot.arm_fault("wrong_ctt")
    clock.now += 60
    faulty = body(read_out(root, robot.write_inventory_now()))[-1]
    clock.now += 60
    fine = body(read_out(root, robot.write_inventory_now()))[-1]
    assert (faulty, fine) == ("CTT*3*34", "CTT*2*34")


def test_snapshots_come_on_the_schedule(root, make_robot, clock):
    robot = make_robot(inventory_every_s=300.0)

    assert robot.tick().inventory_written == 1
    clock.now += 299
    assert robot.tick().inventory_written == 0
    clock.now += 1
    assert robot.tick().inventory_written == 1
    assert len(out_names(root, "846_")) == 2


def test_no_scheduled_snapshot_when_the_period_is_zero(root, make_robot):
    robot = make_robot(inventory_every_s=0.0)
    robot.tick()
    assert out_names(root) == []
    only_name = robot.write_inventory_now()
    assert only(root, "846_").control == only_name.split("_")[1]
