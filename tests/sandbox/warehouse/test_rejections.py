"""The robot refusing single orders whose SKUs it does not know (``reject_unknown_skus``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropstream.sandbox.warehouse.robot import WarehouseRobot, build_parser
from tests.sandbox.warehouse.orderfiles import drop, pd, ph, render, shipment_rows

T0 = 1_714_557_600.0  # 2024-05-01T10:00:00Z


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "dsfx"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    return root


def robot_on(root: Path, **options) -> WarehouseRobot:
    settings = {"ship_delay_s": 0.0, "split_rate": 0.0, "short_rate": 0.0,
                "inventory_every_s": 0.0, "clock": lambda: T0,
                "stock": {"TEE-RED-M": 10, "MUG-01": 10}, "reject_unknown_skus": True,
                **options}
    return WarehouseRobot(f"file://{root}", **settings)


def three_orders() -> str:
    """A-1 and C-1 name known SKUs; B-1's second line names WH-XYZ."""
    return render(ph("A-1"), pd("A-1", 1, "TEE-RED-M", 2),
                  ph("B-1"), pd("B-1", 1, "MUG-01", 1), pd("B-1", 2, "WH-XYZ", 3),
                  ph("C-1"), pd("C-1", 1, "MUG-01", 1))


def test_it_refuses_only_the_order_with_an_unknown_sku_and_ships_the_others(root):
    robot = robot_on(root)
    name = drop(root, "A-1", three_orders())

    report = robot.ship_all_now()

    assert report.orders_received == 2
    assert report.orders_rejected == 1
    assert report.files_rejected == 0
    assert sorted(p.name for p in (root / "in" / "processed").iterdir()) == [name]
    assert sorted(p.name for p in (root / "in" / "error").iterdir()) == [f"{name}.rejected.txt"]
    text = (root / "in" / "error" / f"{name}.rejected.txt").read_text(encoding="utf-8")
    assert text == "B-1\tunknown SKU WH-XYZ on line 2\n"
    assert sorted({row["order_number"] for row in shipment_rows(root)}) == ["A-1", "C-1"]
    assert robot.stock == {"TEE-RED-M": 8, "MUG-01": 9}  # B-1 took nothing


def test_a_report_lists_every_refused_order_and_every_unknown_line(root):
    robot = robot_on(root)
    name = drop(root, "X-1", render(
        ph("X-1"), pd("X-1", 1, "NOPE-1", 1), pd("X-1", 2, "MUG-01", 1), pd("X-1", 3, "NOPE-2", 1),
        ph("Y-1"), pd("Y-1", 1, "NOPE\tTAB", 1)))

    report = robot.tick()

    assert (report.orders_received, report.orders_rejected) == (0, 2)
    lines = (root / "in" / "error" / f"{name}.rejected.txt").read_text().splitlines()
    assert lines == ["X-1\tunknown SKU NOPE-1 on line 1; unknown SKU NOPE-2 on line 3",
                     "Y-1\tunknown SKU NOPE?TAB on line 1"]
    assert (root / "in" / "processed" / name).exists()


def test_a_corrected_copy_of_a_refused_order_is_received_later(root):
    robot = robot_on(root, stock={"TEE-RED-M": 10, "MUG-01": 10, "WH-KNOWN": 5})
    drop(root, "A-1", three_orders(), stamp="240501100000")
    robot.ship_all_now()

    drop(root, "B-1", render(ph("B-1"), pd("B-1", 1, "MUG-01", 1), pd("B-1", 2, "WH-KNOWN", 3)),
         stamp="240501110000")
    report = robot.ship_all_now()

    assert (report.orders_received, report.orders_rejected) == (1, 0)
    assert len(list((root / "in" / "error").glob("*.rejected.txt"))) == 1
    b_rows = [row for row in shipment_rows(root) if row["order_number"] == "B-1"]
    assert sorted((row["sku"], row["quantity"]) for row in b_rows) == [("MUG-01", "1"),
                                                                        ("WH-KNOWN", "3")]


def test_reading_the_same_file_again_writes_no_second_report(root):
    robot = robot_on(root)
    name = drop(root, "A-1", three_orders())
    robot.tick()
    # A pass that died after the report but before moving the file reads it again.
    (root / "in" / "processed" / name).rename(root / "in" / name)

    report = robot.tick()

    assert report.orders_received == 0  # A-1 and C-1 are already known
    assert sorted(p.name for p in (root / "in" / "error").iterdir()) == [f"{name}.rejected.txt"]


def test_another_report_under_a_taken_name_gets_a_copy_number(root):
    robot = robot_on(root)
    name = drop(root, "A-1", three_orders())
    (root / "in" / "error").mkdir()
    (root / "in" / "error" / f"{name}.rejected.txt").write_text("OTHER\tsomething else\n")

    robot.tick()

    stem = name.removesuffix(".csv")
    copy = root / "in" / "error" / f"{stem}~2.csv.rejected.txt"
    assert copy.read_text() == "B-1\tunknown SKU WH-XYZ on line 2\n"
    assert (root / "in" / "error" / f"{name}.rejected.txt").read_text() == \
        "OTHER\tsomething else\n"


def test_without_the_option_unknown_skus_are_received_at_the_default_stock(root):
    robot = robot_on(root, reject_unknown_skus=False, default_stock=7)
    drop(root, "A-1", three_orders())

    report = robot.ship_all_now()

    assert (report.orders_received, report.orders_rejected) == (3, 0)
    assert not (root / "in" / "error").exists() or not any((root / "in" / "error").iterdir())
    assert robot.stock["WH-XYZ"] == 4


def test_the_command_line_takes_the_flag_and_a_starting_stock():
    args = build_parser().parse_args(["--root", "file:///tmp/x", "--reject-unknown-skus",
                                      "--stock", "TEE-RED-M=40", "--stock", "MUG=1"])

    assert args.reject_unknown_skus is True
    assert dict(args.stock) == {"TEE-RED-M": 40, "MUG": 1}
    assert build_parser().parse_args(["--root", "file:///tmp/x"]).reject_unknown_skus is False


def test_the_command_line_refuses_a_malformed_stock_entry(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--root", "file:///tmp/x", "--stock", "TEE"])
    assert "SKU=UNITS" in capsys.readouterr().err
