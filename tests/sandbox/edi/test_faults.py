"""Transport faults, garbage files, outgoing separators and restarts (§6, §8 rows 1, 10, 12)."""

from __future__ import annotations

import time

import pytest

from dropstream.sandbox.edi.mailbox import LocalMailbox
from dropstream.sandbox.edi.x12 import parse
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


def dot_files(root) -> list[str]:
    return sorted(path.name for path in (root / "out").iterdir() if path.name.startswith("."))


def test_files_are_written_under_a_temporary_name_then_renamed(root, make_robot, monkeypatch):
    renamed = []
    real_replace = __import__("os").replace

    def spy(source, target):
        renamed.append((str(source).rsplit("/", 1)[-1], str(target).rsplit("/", 1)[-1]))
        return real_replace(source, target)

    monkeypatch.setattr("dropstream.sandbox.warehouse.folder.os.replace", spy)
    robot = received(root, make_robot)
    name = robot.ship_order("HUB-100234")

    assert (f".{name}.part", name) in renamed
    assert dot_files(root) == []


def test_a_half_written_file_is_left_without_its_rename(root, make_robot):
    robot = received(root, make_robot)
    robot.arm_fault("half_written", "945")

    name = robot.ship_order("HUB-100234")

    assert out_names(root, "945_") == []
    partial = (root / "out" / f".{name}.part").read_bytes()
    assert partial.startswith(b"ISA*00*") and b"IEA" not in partial
    assert robot.sent_files()[0].sent_at is not None  # the partner believes it sent it


@pytest.mark.parametrize("how", ["armed", "profile"])
def test_a_file_can_be_written_directly_without_a_temporary_name(root, make_robot, monkeypatch,
                                                                 how):
    robot = received(root, make_robot, write_mode="direct" if how == "profile" else "atomic")
    if how == "armed":
        robot.arm_fault("direct_write")

    def no_rename(self, directory, name, data):
        raise AssertionError("write_atomic used")

    monkeypatch.setattr(LocalMailbox, "write_atomic", no_rename)
    name = robot.ship_order("HUB-100234")

    assert read_out(root, name).groups[0].functional_id == "SW"


def test_bursts_hold_files_and_drop_them_together(root, make_robot, clock):
    clock.now = 1_772_721_000.0  # 14:30:00, a multiple of 600 s
    drop(root, SPEC_940)
    robot = make_robot(burst_every_s=600.0)
    clock.now += 120
    robot.tick()
    robot.ship_order("HUB-100234")
    robot.write_inventory_now()
    assert out_names(root) == []
    clock.now += 479
    assert robot.tick().acks_written == 0

    clock.now += 1
    report = robot.tick()

    assert (report.acks_written, report.shipments_written, report.inventory_written) == (1, 1, 1)


def test_an_older_846_can_arrive_after_a_newer_one(root, make_robot, clock, monkeypatch):
    written = []
    real_write = LocalMailbox.write_atomic

    def spy(self, directory, name, data):
        written.append(name)
        return real_write(self, directory, name, data)

    monkeypatch.setattr(LocalMailbox, "write_atomic", spy)
    robot = make_robot()
    robot.arm_fault("out_of_order_846")
    older = robot.write_inventory_now()
    assert written == [] and out_names(root) == []
    clock.now += 3600
    newer = robot.write_inventory_now()

    assert written == [newer, older]
    dates = [body(read_out(root, name))[0] for name in (newer, older)]
    assert dates == ["BIA*00*SI*INV-20260305-02*20260305*1532",
                     "BIA*00*SI*INV-20260305-01*20260305*1432"]


def test_a_damaged_945_set_inside_a_good_interchange(root, make_robot):
    robot = received(root, make_robot)
    robot.arm_fault("damaged_945")

    name = robot.ship_order("HUB-100234")

    written = read_out(root, name)
    group = written.groups[0]
    assert (group.ge.get(1), group.ge.get(2), written.iea.get(2)) == (
        "2", group.control, written.control)
    good, damaged = group.sets
    assert good.se.get(1) == str(len(good.body) + 2)
    assert damaged.se.get(1) == str(len(damaged.body) + 3)
    assert (good.control, damaged.control) == ("0001", "0002")
    assert robot.sent_files()[0].keys == ("HUB-100234",)


@pytest.mark.parametrize("separators, terminator_text", [
    ({"element_separator": "|", "component_separator": "^"}, "~\n"),
    ({"segment_terminator": "\n", "line_ending": ""}, "\n"),
    ({"line_ending": ""}, "~"),
    ({"line_ending": "\r\n"}, "~\r\n"),
])
def test_it_writes_with_the_profiles_separators(root, make_robot, separators, terminator_text):
    robot = received(root, make_robot, **separators)
    name = robot.ship_order("HUB-100234")

    raw = (root / "out" / name).read_bytes().decode()
    element = separators.get("element_separator", "*")
    assert raw.startswith(f"ISA{element}00{element}")
    assert raw.endswith(f"IEA{element}1{element}000002204{terminator_text}")
    assert raw[104] == separators.get("component_separator", ">")
    assert tagged(parse(raw.encode()), "W12")[0] == "W12*CC*2*2*0*EA**SK*TENT-4P-GRN"


def test_the_file_name_pattern_is_per_profile(root, make_robot):
    robot = received(root, make_robot, file_name_pattern="WHS-{type}-{gs06}-{isa13}.x12")
    name = robot.ship_order("HUB-100234")

    assert out_names(root) == ["WHS-945-7304-000002204.x12", "WHS-997-7303-000002203.x12"]
    assert name == "WHS-945-7304-000002204.x12"


# -- garbage (§8 row 12) -----------------------------------------------------------------------


def test_garbage_files_are_what_they_claim(root, make_robot, clock):
    robot = make_robot()

    not_edi = robot.write_garbage("not_edi")
    empty = robot.write_garbage("empty", doc="846")
    bom = robot.write_garbage("bom")
    clock.now += 60
    crlf = robot.write_garbage("crlf")
    lowercase = robot.write_garbage("lowercase")

    assert not_edi.startswith("945_") and empty.startswith("846_")
    assert not (root / "out" / not_edi).read_bytes().startswith(b"ISA")
    assert (root / "out" / empty).read_bytes() == b""
    raw_bom = (root / "out" / bom).read_bytes()
    assert raw_bom.startswith(b"\xef\xbb\xbfISA*")
    assert body(parse(raw_bom))[0].startswith("BIA*00*SI*INV-20260305-01")
    raw_crlf = (root / "out" / crlf).read_bytes()
    assert raw_crlf.count(b"~\r\n") == raw_crlf.count(b"~") and b"\r\n" in raw_crlf
    lower = read_out(root, lowercase)
    assert [seg.tag for seg in lower.groups[0].sets[0].body][:3] == ["bia", "dtm", "n1"]
    assert (lower.isa.tag, lower.groups[0].gs.tag, lower.groups[0].sets[0].st.tag) == (
        "ISA", "GS", "ST")
    assert [item.doc for item in robot.sent_files()] == ["846", "846", "846"]
    assert len({item.keys for item in robot.sent_files()}) == 3


def test_the_hub_can_ask_for_crlf_everywhere(root, make_robot):
    received(root, make_robot, line_ending="\r\n")
    raw = (root / "out" / out_names(root, "997_")[0]).read_bytes()
    assert raw.count(b"\r\n") == 10 and raw.count(b"\n") == 10


# -- restarts --------------------------------------------------------------------------------


def test_a_restart_between_deciding_and_writing_a_945_writes_it_once(root, make_robot,
                                                                     monkeypatch, clock):
    state = str(root.parent / "state.json")
    drop(root, SPEC_940)
    real_write = LocalMailbox.write_atomic

    def failing(self, directory, name, data):
        if name.startswith("945_"):
            raise OSError("connection dropped")
        return real_write(self, directory, name, data)

    monkeypatch.setattr(LocalMailbox, "write_atomic", failing)
    first = make_robot(state_path=state, ship_delay_s=0.0)
    report = first.tick()
    assert (report.errors, report.shipments_written) == (1, 0)
    decided = (root.parent / "state.json").read_bytes()
    monkeypatch.setattr(LocalMailbox, "write_atomic", real_write)

    second = make_robot(state_path=state, ship_delay_s=0.0)
    assert second.tick().shipments_written == 1
    [name] = out_names(root, "945_")

    # A crash after the rename but before the state save: the next run must not write again.
    (root.parent / "state.json").write_bytes(decided)
    third = make_robot(state_path=state, ship_delay_s=0.0)
    clock.now += 3600
    assert third.tick().shipments_written == 0
    assert out_names(root, "945_") == [name]
    assert third.stock == {"TENT-4P-GRN": 12, "STOVE-01": 2}
    assert third.receipt_counts() == {"HUB-100234": 1}


def test_a_restart_between_reading_and_moving_a_940_receives_it_once(root, make_robot,
                                                                     monkeypatch):
    state = str(root.parent / "state.json")
    drop(root, SPEC_940)

    def failing_move(self, source, target):
        raise OSError("connection dropped")

    real_move = LocalMailbox.move
    monkeypatch.setattr(LocalMailbox, "move", failing_move)
    assert make_robot(state_path=state).tick().errors == 1
    monkeypatch.setattr(LocalMailbox, "move", real_move)

    robot = make_robot(state_path=state)
    robot.tick()

    assert robot.receipt_counts() == {"HUB-100234": 1}
    assert len(out_names(root, "997_")) == 1
    assert list((root / "in").glob("940_*")) == []


def test_a_restart_never_ships_twice_and_keeps_waiting_orders(root, make_robot, clock):
    state = str(root.parent / "state.json")
    drop(root, simple_940("W-1", [("TENT-4P-GRN", 1)], isa13="000000101", gs06="5001"))
    first = make_robot(state_path=state, ship_delay_s=30.0)
    first.tick()
    clock.now += 30
    first.tick()
    drop(root, simple_940("W-2", [("TENT-4P-GRN", 2)], isa13="000000102", gs06="5002"),
         isa13="000000102")
    first.tick()

    clock.now += 30
    second = make_robot(state_path=state, ship_delay_s=30.0)
    second.tick()

    orders = [tagged(read_out(root, name), "W06")[0].split("*")[2]
              for name in out_names(root, "945_")]
    assert orders == ["W-1", "W-2"]
    assert second.stock["TENT-4P-GRN"] == 11


def test_an_unreadable_state_file_is_a_plain_error(root, make_robot):
    (root.parent / "bad.json").write_text("{nope")
    with pytest.raises(ValueError, match="not valid JSON"):
        make_robot(state_path=str(root.parent / "bad.json"))


def test_unknown_faults_and_garbage_are_refused(make_robot):
    robot = make_robot()
    with pytest.raises(ValueError):
        robot.arm_fault("meteor")
    with pytest.raises(ValueError):
        robot.write_garbage("meteor")
    with pytest.raises(KeyError):
        robot.ship_order("NOT-RECEIVED")


def test_the_local_root_default_state_file_is_beside_the_folders(root, make_robot):
    robot = make_robot()
    robot.write_inventory_now()
    assert (root / ".sandbox-edi-state.json").exists()
    assert only(root, "846_").groups[0].functional_id == "IB"


def test_start_thread_answers_in_the_background_until_stopped(root, make_robot):
    drop(root, SPEC_940)
    stop = make_robot().start_thread(poll_s=0.05)
    try:
        deadline = time.monotonic() + 10
        while not out_names(root, "997_") and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop()
    assert len(out_names(root, "997_")) == 1
