"""The 997s it expects from the hub for its 945/846 groups: matched, rejected, missing, late,
unmatched, and resends with new control numbers (§5.4, §8 row 9)."""

from __future__ import annotations

from tests.sandbox.edi.edifiles import (
    SPEC_940,
    body,
    drop,
    drop_997,
    hub_997,
    out_names,
    read_out,
)

HOUR = 3600.0


def shipped(root, make_robot, **profile):
    drop(root, SPEC_940)
    robot = make_robot(**profile)
    robot.tick()
    name = robot.ship_order("HUB-100234")
    [record] = robot.sent_files()
    assert (record.file, record.doc, record.keys, record.ack) == (name, "945", ("HUB-100234",),
                                                                  None)
    return robot, record


def test_a_997_from_the_hub_is_matched_to_its_group_and_never_answered(root, make_robot, clock):
    robot, record = shipped(root, make_robot)
    clock.now += 60
    name = drop_997(root, hub_997("SW", record.gs06))

    report = robot.tick()

    assert report.acks_received == 1 and report.acks_written == 0
    [acknowledged] = robot.sent_files()
    assert (acknowledged.ack, acknowledged.set_acks, acknowledged.late) == ("A", {"0001": "A"},
                                                                            False)
    assert acknowledged.ack_at == clock.now
    assert robot.unacknowledged() == []
    assert (root / "in" / "processed" / name).exists()
    assert len(out_names(root, "997_")) == 1  # only the one for the 940


def test_a_rejection_by_the_hub_is_recorded(root, make_robot):
    robot, record = shipped(root, make_robot)
    drop_997(root, hub_997("SW", record.gs06, "R", set_codes=("R",)))

    robot.tick()

    [rejected] = robot.sent_files()
    assert (rejected.ack, rejected.set_acks) == ("R", {"0001": "R"})


def test_a_missing_997_is_flagged_overdue_and_a_late_one_recorded_as_late(root, make_robot,
                                                                          clock):
    robot, record = shipped(root, make_robot, ack_expected_within_s=4 * HOUR)
    clock.now += 4 * HOUR
    robot.tick()
    assert robot.unacknowledged()[0].overdue is False
    clock.now += 1
    robot.tick()
    [missing] = robot.unacknowledged()
    assert missing.overdue is True

    drop_997(root, hub_997("SW", record.gs06))
    robot.tick()
    [late] = robot.sent_files()
    assert (late.ack, late.late, late.overdue) == ("A", True, True)


def test_a_997_for_a_group_it_never_sent_is_kept_aside(root, make_robot):
    robot, _ = shipped(root, make_robot)
    drop_997(root, hub_997("SW", 1))

    robot.tick()

    assert [(item["functional_id"], item["group_control"]) for item in robot.unmatched_acks()] \
        == [("SW", "1")]
    assert robot.sent_files()[0].ack is None


def test_an_unreadable_997_goes_to_error(root, make_robot):
    robot = make_robot()
    name = drop_997(root, "garbage")

    report = robot.tick()

    assert report.files_rejected == 1
    assert (root / "in" / "error" / f"{name}.error.txt").exists()


def test_unacknowledged_files_are_resent_with_new_control_numbers(root, make_robot, clock):
    robot, record = shipped(root, make_robot, resend_after_s=HOUR)
    inventory = robot.write_inventory_now()
    clock.now += HOUR - 1
    robot.tick()
    assert len(out_names(root, "945_")) == 1
    drop_997(root, hub_997("IB", robot.sent_files()[1].gs06))  # the 846 is acknowledged
    clock.now += 1

    robot.tick()

    first, again = out_names(root, "945_")
    original, resent = read_out(root, first), read_out(root, again)
    assert original.control != resent.control
    assert original.groups[0].control != resent.groups[0].control
    assert body(original) == body(resent)  # same W0602, same shipment: the hub de-duplicates
    assert out_names(root, "846_") == [inventory]
    records = {item.file: item for item in robot.sent_files()}
    assert records[first].resent_as == int(resent.groups[0].control)
    assert records[again].resend_of == record.gs06

    clock.now += 10 * HOUR
    robot.tick()
    assert len(out_names(root, "945_")) == 2  # max_resends 1: no third copy
    drop_997(root, hub_997("SW", records[again].gs06), isa13="000000901")
    robot.tick()
    assert {item.file: item.ack for item in robot.sent_files()}[again] == "A"
