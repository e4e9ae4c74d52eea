"""The warehouse robot over SFTP, against a real asyncssh server on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from dropstream.sandbox.warehouse.robot import WarehouseRobot
from tests.fixtures.sftp import SftpServer, start_sftp_server
from tests.sandbox.warehouse.orderfiles import (
    PH_V3_ORDER,
    PUBLISHED_SAMPLE,
    drop,
    read_csv,
    shipment_rows,
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SftpServer]:
    server = start_sftp_server(tmp_path / "sftp")
    try:
        yield server
    finally:
        server.stop()


def test_it_receives_ships_rejects_and_reports_stock_over_sftp(server, tmp_path):
    root = server.root
    drop(root, "2016981433", PUBLISHED_SAMPLE)
    drop(root, "BS-3001", PH_V3_ORDER)
    drop(root, "BAD", "not,an,order\r\n")
    (root / "in" / ".ord_LATER_240501100000.csv.part").write_text("half a file")
    state = str(tmp_path / "robot-state.json")
    robot = WarehouseRobot(server.connection_string, split_rate=0.0, short_rate=0.0,
                           state_path=state, stock={"13358A": 20})
    try:
        received = robot.tick()
        shipped = robot.ship_all_now()
    finally:
        robot.close()

    assert (received.orders_received, received.files_rejected, received.errors) == (2, 1, 0)
    assert received.inventory_written == 1
    assert (shipped.shipments_written, shipped.shipment_files_written) == (2, 1)
    assert sorted(path.name for path in (root / "in" / "processed").iterdir()) == [
        "ord_2016981433_240501100000.csv", "ord_BS-3001_240501100000.csv"]
    assert sorted(path.name for path in (root / "in" / "error").iterdir()) == [
        "ord_BAD_240501100000.csv", "ord_BAD_240501100000.csv.error.txt"]
    assert sorted(path.name for path in (root / "in").iterdir()) == [
        ".ord_LATER_240501100000.csv.part", "error", "processed"]
    rows = shipment_rows(root)
    assert sorted((row["order_number"], row["line_number"], row["sku"], row["quantity"],
                   row["carrier"]) for row in rows) == [
        ("2016981433", "1", "13358A", "16", "UPS"),
        ("2016981433", "2", "2564A", "6", "UPS"),
        ("BS-3001", "1", "CAP-BLK", "3", "USPS")]
    [inventory] = (root / "out").glob("inv_1_*.csv")
    assert {row["sku"]: row["available"] for row in read_csv(inventory)} == {
        "13358A": "4", "2564A": "94", "CAP-BLK": "97"}  # ordered but not yet shipped
    assert [path.name for path in (root / "out").iterdir() if path.name.startswith(".")] == []

    again = WarehouseRobot(server.connection_string, state_path=state)
    drop(root, "2016981433", PUBLISHED_SAMPLE, stamp="240501110000")
    try:
        report = again.ship_all_now()
    finally:
        again.close()
    assert (report.orders_received, report.shipments_written) == (0, 0)


def test_a_wrong_password_is_an_error_to_retry_and_never_logged(server, tmp_path, caplog):
    wrong = server.password + "x"
    root = f"sftp://{server.username}:{quote(wrong, safe='')}@{server.host}:{server.port}"
    robot = WarehouseRobot(root, state_path=str(tmp_path / "state.json"))
    drop(server.root, "W-1", PUBLISHED_SAMPLE.replace("2016981433", "W-1"))

    with caplog.at_level(logging.DEBUG):
        first = robot.tick()
        second = robot.tick()

    assert (first.errors, second.errors) == (1, 1)
    assert first.orders_received == 0
    assert (server.root / "in" / "ord_W-1_240501100000.csv").exists()
    assert server.login_attempts == 2
    assert "failed" in caplog.text
    assert wrong not in caplog.text and quote(wrong, safe="") not in caplog.text
