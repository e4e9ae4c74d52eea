"""The simulated X12 warehouse over SFTP, against the real asyncssh server on loopback."""

from __future__ import annotations

from dropstream.sandbox.edi.profile import PartnerProfile
from dropstream.sandbox.edi.robot import EdiWarehouseRobot
from tests.sandbox.edi.edifiles import SPEC_940, body, drop, drop_997, hub_997, out_names, tagged
from tests.sandbox.edi.edifiles import read_out as read


def test_it_answers_ships_reports_and_reads_997s_over_sftp(sftp_server, tmp_path, clock):
    root = sftp_server.root
    drop(root, SPEC_940)
    (root / "in" / ".940_000000102_20260305143300.edi.part").write_text("half a file")
    profile = PartnerProfile(inventory_every_s=0.0, ship_delay_s=None, split_rate=0.0,
                             first_interchange_number=2203, first_group_number=7303)
    robot = EdiWarehouseRobot(sftp_server.connection_string, profile,
                              stock={"TENT-4P-GRN": 14, "STOVE-01": 3},
                              state_path=str(tmp_path / "state.json"), clock=clock)
    try:
        report = robot.tick()
        shipped = robot.ship_order("HUB-100234", packages=2)
        robot.arm_fault("half_written", "846")
        half = robot.write_inventory_now()
        robot.arm_fault("direct_write", "846")
        clock.now += 60
        direct = robot.write_inventory_now()
        drop_997(root, hub_997("SW", robot.sent_files()[0].gs06))
        later = robot.tick()
    finally:
        robot.close()

    assert (report.files_received, report.orders_received, report.acks_written,
            report.errors) == (1, 1, 1, 0)
    assert body(read(root, out_names(root, "997_")[0]))[-1] == "AK9*A*1*1*1"
    assert len(tagged(read(root, shipped), "MAN")) == 2
    assert (root / "out" / f".{half}.part").exists() and not (root / "out" / half).exists()
    assert body(read(root, direct))[0].startswith("BIA*00*SI*INV-20260305-02")
    assert (later.acks_received, later.errors) == (1, 0)
    assert robot.sent_files()[0].ack == "A"
    assert sorted(path.name for path in (root / "in" / "processed").iterdir()) == [
        "940_000000101_20260305143200.edi", "997_000000900_20260305150000.edi"]
    assert (root / "in" / ".940_000000102_20260305143300.edi.part").exists()
    assert [name for name in out_names(root, ".") if name != f".{half}.part"] == []
