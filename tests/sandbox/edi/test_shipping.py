"""945 Shipping Advices: full, partial, back-order, canceled lines, packages and tracking
locations, cancels before/after pick, seeded decisions, stock (§3, §8 rows 6, 7, 13)."""

from __future__ import annotations

import re

import pytest

from tests.sandbox.edi.edifiles import (
    SPEC_940,
    body,
    drop,
    only,
    out_names,
    read_out,
    simple_940,
    tagged,
)


def received(root, make_robot, **profile):
    drop(root, SPEC_940)
    robot = make_robot(**profile)
    robot.tick()
    return robot


def test_a_full_shipment_is_one_945_set_like_the_spec_sample(root, make_robot):
    robot = received(root, make_robot)

    name = robot.ship_order("HUB-100234")

    assert name == "945_000002204_20260305143200.edi"
    written = read_out(root, name)
    assert (written.sender, written.receiver, written.control) == ("WHSRECEIVER", "HUBSENDER",
                                                                   "000002204")
    group = written.groups[0]
    assert (group.functional_id, group.control, group.ge.get(1)) == ("SW", "7304", "1")
    lines = body(written)
    tracking = re.compile(r"^MAN\*CP\*1Z[0-9A-Z]{16}$")
    assert lines[:8] == ["W06*F*HUB-100234*20260305*WMS-000001**PO-77812",
                         "N1*SF*LAX-1 Warehouse*ZZ*LAX1", "N1*ST*Jane Buyer",
                         "N3*12 Harbor Street*Apt 4B", "N4*Portland*OR*97209*US",
                         "N9*BM*BOL-000001", "G62*11*20260305", "W27*U*UPSN*UPS Ground*PP"]
    assert lines[8] == "LX*1" and tracking.match(lines[9])
    assert lines[10:14] == ["W12*CC*2*2*0*EA**SK*TENT-4P-GRN", "N9*LI*1",
                            "W12*CC*1*1*0*EA**SK*STOVE-01", "N9*LI*2"]
    assert re.fullmatch(r"W03\*3\*\d+(\.\d)?\*LB", lines[14])
    assert group.sets[0].se.get(1) == str(len(lines) + 2)
    assert robot.stock == {"TENT-4P-GRN": 12, "STOVE-01": 2}
    assert [order.status for order in robot.received("HUB-100234")] == ["shipped"]


def test_a_partial_shipment_without_backorder_is_cp_and_final(root, make_robot, clock):
    robot = received(root, make_robot, backorder_delay_s=1.0)

    robot.ship_order("HUB-100234", shipped={"1": 1})
    clock.now += 3600
    robot.tick()

    assert tagged(only(root, "945_"), "W12") == ["W12*CP*2*1*1*EA**SK*TENT-4P-GRN",
                                                 "W12*CC*1*1*0*EA**SK*STOVE-01"]
    assert [order.status for order in robot.received("HUB-100234")] == ["shipped"]


def test_a_backorder_is_bp_then_a_second_945_for_the_same_order(root, make_robot, clock):
    robot = received(root, make_robot, backorder_delay_s=600.0)

    first = robot.ship_order("HUB-100234", shipped={1: 1}, backorder=True)
    clock.now += 599
    robot.tick()
    assert out_names(root, "945_") == [first]
    assert [order.status for order in robot.received("HUB-100234")] == ["backordered"]
    clock.now += 1
    robot.tick()

    first_945, second_945 = (read_out(root, name) for name in out_names(root, "945_"))
    assert tagged(first_945, "W12") == ["W12*BP*2*1*1*EA**SK*TENT-4P-GRN",
                                        "W12*CC*1*1*0*EA**SK*STOVE-01"]
    assert tagged(second_945, "W06")[0].startswith("W06*F*HUB-100234*")
    assert tagged(second_945, "W12") == ["W12*CC*1*1*0*EA**SK*TENT-4P-GRN"]
    assert tagged(second_945, "N9")[1:] == ["N9*LI*1"]
    assert robot.stock == {"TENT-4P-GRN": 12, "STOVE-01": 2}
    assert [order.status for order in robot.received("HUB-100234")] == ["shipped"]


def test_a_backorder_rest_can_be_shipped_on_demand(root, make_robot):
    robot = received(root, make_robot, backorder_delay_s=None)
    robot.ship_order("HUB-100234", shipped={"1": 0, "2": 1}, backorder=True)

    second = robot.ship_order("HUB-100234")

    assert tagged(read_out(root, second), "W12") == ["W12*CC*2*2*0*EA**SK*TENT-4P-GRN"]
    first = out_names(root, "945_")[0]
    assert tagged(read_out(root, first), "W12") == ["W12*CC*1*1*0*EA**SK*STOVE-01",
                                                   "W12*BP*2*0*2*EA**SK*TENT-4P-GRN"]
    assert body(read_out(root, first))[8:10] == ["LX*1", body(read_out(root, first))[9]]
    assert body(read_out(root, first))[12] == "LX*2"  # the unpacked BP line: no MAN


def test_a_canceled_line_is_ic(root, make_robot):
    robot = received(root, make_robot)

    robot.ship_order("HUB-100234", canceled=["2"])

    assert tagged(only(root, "945_"), "W12") == ["W12*CC*2*2*0*EA**SK*TENT-4P-GRN",
                                                 "W12*IC*1*0*1*EA**SK*STOVE-01"]
    assert robot.stock == {"TENT-4P-GRN": 12, "STOVE-01": 3}


def test_it_never_ships_more_than_its_stock(root, make_robot):
    robot = received(root, make_robot, stock={"TENT-4P-GRN": 1, "STOVE-01": 0})

    robot.ship_order("HUB-100234")

    assert tagged(only(root, "945_"), "W12") == ["W12*CP*2*1*1*EA**SK*TENT-4P-GRN",
                                                 "W12*IC*1*0*1*EA**SK*STOVE-01"]
    assert robot.stock == {"TENT-4P-GRN": 0, "STOVE-01": 0}


TRACKING = {
    "MAN_CP": r"MAN\*CP\*1Z[0-9A-Z]{16}",
    "MAN_GM": r"MAN\*GM\*1Z[0-9A-Z]{16}",
    "MAN04_CN": r"MAN\*2\*UPSN\*\*CN\*1Z[0-9A-Z]{16}",
}


@pytest.mark.parametrize("location", ["MAN_CP", "MAN_GM", "MAN04_CN", "W27_ONLY"])
def test_two_packages_with_tracking_where_the_profile_puts_it(root, make_robot, location):
    robot = received(root, make_robot, tracking_location=location)

    robot.ship_order("HUB-100234", packages=2)

    lines = body(only(root, "945_"))
    detail = lines[lines.index("W27*U*UPSN*UPS Ground*PP") + 1:-1]
    if location == "W27_ONLY":
        assert detail == ["LX*1", "W12*CC*2*2*0*EA**SK*TENT-4P-GRN", "N9*LI*1",
                          "LX*2", "W12*CC*1*1*0*EA**SK*STOVE-01", "N9*LI*2"]
        return
    assert [detail[0], detail[2], detail[3], detail[4], detail[6], detail[7]] == [
        "LX*1", "W12*CC*2*2*0*EA**SK*TENT-4P-GRN", "N9*LI*1",
        "LX*2", "W12*CC*1*1*0*EA**SK*STOVE-01", "N9*LI*2"]
    assert re.fullmatch(TRACKING[location], detail[1])
    assert re.fullmatch(TRACKING[location], detail[5])
    assert detail[1] != detail[5]


def test_one_line_split_over_two_boxes_and_one_lx_per_line(root, make_robot):
    drop(root, simple_940("HUB-2", [("TENT-4P-GRN", 3)], isa13="000000101", gs06="5001"))
    robot = make_robot(lx_per="line")
    robot.tick()

    robot.ship_order("HUB-2", packages=2)

    lines = body(only(root, "945_"))
    detail = lines[lines.index("W27*U*UPSN*UPS Ground*PP") + 1:]
    assert detail[0] == "LX*1"
    assert detail[1].startswith("MAN*CP*1Z") and detail[2].startswith("MAN*CP*1Z")
    assert detail[3:6] == ["W12*CC*3*3*0*EA**SK*TENT-4P-GRN", "N9*LI*1"] + [detail[5]]
    assert detail[5].startswith("W03*3*")
    [shipment] = robot.shipments("HUB-2")
    assert [package.items for package in shipment.packages] == [[["1", 2]], [["1", 1]]]


def test_several_orders_due_together_share_one_945_group(root, make_robot, clock):
    drop(root, simple_940("HUB-A", [("TENT-4P-GRN", 1)], isa13="000000101", gs06="5001"))
    drop(root, simple_940("HUB-B", [("STOVE-01", 1)], isa13="000000102", gs06="5002"),
         isa13="000000102")
    robot = make_robot(ship_delay_s=30.0)
    robot.tick()
    clock.now += 30

    assert robot.tick().shipments_written == 1

    group = only(root, "945_").groups[0]
    assert [ts.control for ts in group.sets] == ["0001", "0002"]
    assert group.ge.get(1) == "2"
    assert [ts.body[0].get(2) for ts in group.sets] == ["HUB-A", "HUB-B"]


# -- cancels (§8 row 7) -----------------------------------------------------------------------


def test_a_cancel_before_pick_is_honoured_with_an_all_ic_945(root, make_robot, clock):
    robot = received(root, make_robot, pick_delay_s=60.0, ship_delay_s=120.0)
    clock.now += 30
    drop(root, simple_940("HUB-100234", [], isa13="000000102", gs06="5002", status="F"),
         isa13="000000102")

    robot.tick()
    clock.now += 600
    robot.tick()

    assert [item["result"] for item in robot.cancels()] == ["canceled"]
    assert [order.status for order in robot.received("HUB-100234")] == ["canceled"]
    [name] = out_names(root, "945_")
    assert tagged(read_out(root, name), "W12") == ["W12*IC*2*0*2*EA**SK*TENT-4P-GRN",
                                                   "W12*IC*1*0*1*EA**SK*STOVE-01"]
    assert robot.stock == {"TENT-4P-GRN": 14, "STOVE-01": 3}
    assert body(read_out(root, out_names(root, "997_")[1]))[-1] == "AK9*A*1*1*1"


def test_a_cancel_can_be_honoured_silently(root, make_robot):
    robot = received(root, make_robot, cancel_answer="none")
    drop(root, simple_940("HUB-100234", [], isa13="000000102", gs06="5002", status="F"),
         isa13="000000102")

    robot.tick()
    robot.ship_all_now()

    assert out_names(root, "945_") == []
    assert [order.status for order in robot.received("HUB-100234")] == ["canceled"]


@pytest.mark.parametrize("how", ["delay", "picked", "not-honoured"])
def test_a_cancel_after_pick_is_ignored_and_the_order_ships(root, make_robot, clock, how):
    profile = {"pick_delay_s": 60.0, "ship_delay_s": 120.0,
               "honour_cancel": how != "not-honoured"}
    robot = received(root, make_robot, **profile)
    if how == "delay":
        clock.now += 61
    elif how == "picked":
        robot.pick("HUB-100234")
    drop(root, simple_940("HUB-100234", [("TENT-4P-GRN", 2)], isa13="000000102",
                          gs06="5002", status="F"), isa13="000000102")

    robot.tick()
    clock.now += 600
    robot.tick()

    assert [item["result"] for item in robot.cancels()] == ["too_late"]
    assert tagged(only(root, "945_"), "W12") == ["W12*CC*2*2*0*EA**SK*TENT-4P-GRN",
                                                 "W12*CC*1*1*0*EA**SK*STOVE-01"]


def test_a_cancel_for_an_unknown_order_is_recorded(root, make_robot):
    drop(root, simple_940("NOPE", [], isa13="000000102", gs06="5002", status="F"))
    robot = make_robot()

    robot.tick()

    assert [(item["order_number"], item["result"]) for item in robot.cancels()] == [
        ("NOPE", "unknown")]


# -- seeded decisions (§8 rows 6, 13) ----------------------------------------------------------

BUSY = {"ship_delay_s": 0.0, "split_rate": 0.5, "partial_rate": 0.2, "backorder_rate": 0.2,
        "cancel_line_rate": 0.1, "backorder_delay_s": None}


def ship_many(root, make_robot, seed: int, state: str) -> list[str]:
    for path in (root / "out").iterdir():
        path.unlink()
    for path in (root / "in" / "processed").glob("*"):
        path.unlink()
    for index in range(8):
        drop(root, simple_940(f"HUB-{index}", [("TENT-4P-GRN", 3), ("STOVE-01", 2)],
                              isa13=f"{101 + index:09d}", gs06=f"{5001 + index}"),
             isa13=f"{101 + index:09d}")
    robot = make_robot(stock={"TENT-4P-GRN": 100, "STOVE-01": 100}, seed=seed,
                       state_path=state, **BUSY)
    robot.tick()
    written = [read_out(root, name) for name in out_names(root, "945_")]
    return [line for interchange in written for index in range(len(interchange.groups[0].sets))
            for line in body(interchange, index)]


def test_the_same_seed_decides_the_same_and_another_seed_differently(root, make_robot):
    first = ship_many(root, make_robot, 7, str(root.parent / "a.json"))
    again = ship_many(root, make_robot, 7, str(root.parent / "b.json"))
    other = ship_many(root, make_robot, 8, str(root.parent / "c.json"))

    assert first == again
    assert first != other
    statuses = {line.split("*")[1] for line in first if line.startswith("W12")}
    assert statuses == {"CC", "CP", "BP", "IC"}
    assert any(line == "LX*2" for line in first)


def test_control_numbers_follow_the_seed_unless_the_profile_fixes_them(root, make_robot):
    numbers = []
    for seed in (1, 1, 2):
        robot = make_robot(seed=seed, first_interchange_number=None, first_group_number=None,
                           state_path=str(root.parent / f"n{len(numbers)}.json"))
        numbers.append((robot._state["next_isa13"], robot._state["next_gs06"]))
    assert numbers[0] == numbers[1] != numbers[2]
