"""The warehouse robot on a local DSFX folder, driven by an injected clock."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import pytest

from dropstream.sandbox.warehouse import folder as folder_module
from dropstream.sandbox.warehouse.robot import WarehouseRobot
from tests.sandbox.warehouse.orderfiles import (
    PH_V2_ORDER,
    PH_V3_ORDER,
    PUBLISHED_SAMPLE,
    SHIPMENT_HEADER,
    drop,
    header_of,
    order_text,
    pd,
    ph,
    read_csv,
    render,
    shipment_rows,
)

T0 = 1_714_557_600.0  # 2024-05-01T10:00:00Z

TRACKING = {
    "UPS": re.compile(r"^1Z[0-9A-Z]{16}$"),
    "FedEx": re.compile(r"^[0-9]{12}$"),
    "USPS": re.compile(r"^9[0-9]{21}$"),
}


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "dsfx"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    return root


@pytest.fixture
def clock() -> Clock:
    return Clock()


def robot_on(root: Path, clock: Clock, **options) -> WarehouseRobot:
    settings = {"ship_delay_s": 30.0, "split_rate": 0.0, "short_rate": 0.0,
                "inventory_every_s": 300.0, "clock": clock, **options}
    return WarehouseRobot(f"file://{root}", **settings)


def names(directory: Path, pattern: str = "*") -> list[str]:
    return sorted(path.name for path in directory.glob(pattern))


def shipped_per_line(rows: list[dict[str, str]]) -> dict[tuple[str, int], int]:
    totals: dict[tuple[str, int], int] = {}
    for row in rows:
        key = (row["order_number"], int(row["line_number"]))
        totals[key] = totals.get(key, 0) + int(row["quantity"])
    return totals


# -- receiving and shipping ---------------------------------------------------------------------


def test_it_moves_an_order_file_to_processed_and_ships_it_after_the_delay(root, clock):
    robot = robot_on(root, clock)
    name = drop(root, "BS-2001", PH_V2_ORDER)

    report = robot.tick()

    assert report.orders_received == 1
    assert report.shipments_written == 0
    assert names(root / "in", "ord_*") == []
    assert names(root / "in" / "processed") == [name]
    assert names(root / "out", "shp_*") == []

    clock.now = T0 + 29.9
    assert robot.tick().shipments_written == 0
    assert names(root / "out", "shp_*") == []

    clock.now = T0 + 30
    report = robot.tick()

    assert report.shipments_written == 1
    assert report.orders_shipped == 1
    assert len(names(root / "out", "shp_*")) == 1
    assert shipped_per_line(shipment_rows(root)) == {("BS-2001", 1): 2, ("BS-2001", 2): 1}
    assert robot.tick().shipments_written == 0


def test_it_reads_the_published_sample_and_ph_versions_2_and_3(root, clock):
    robot = robot_on(root, clock)
    drop(root, "2016981433", PUBLISHED_SAMPLE)
    drop(root, "BS-2001", PH_V2_ORDER)
    drop(root, "BS-3001", PH_V3_ORDER)

    report = robot.ship_all_now()

    assert report.orders_received == 3
    assert report.files_rejected == 0
    assert report.shipments_written == 3
    rows = shipment_rows(root)
    assert shipped_per_line(rows) == {
        ("2016981433", 1): 16, ("2016981433", 2): 6,
        ("BS-2001", 1): 2, ("BS-2001", 2): 1,
        ("BS-3001", 1): 3,
    }
    carriers = {(row["order_number"], row["carrier"], row["service"]) for row in rows}
    # The sample's "Ground" names no carrier: the default carrier ships it.
    assert carriers == {("2016981433", "UPS", "Ground"), ("BS-2001", "FedEx", "2Day"),
                        ("BS-3001", "USPS", "Priority")}
    assert {row["sku"] for row in rows} == {"13358A", "2564A", "TEE-RED-M", "MUG-01", "CAP-BLK"}


def test_shipment_files_follow_layout_1_with_a_header_and_every_column(root, clock):
    robot = robot_on(root, clock, split_rate=1.0)
    drop(root, "A-1", order_text("A-1", [("SKU-1", 2), ("SKU-2", 1)],
                                 ship_method="UPS Ground"))
    drop(root, "B-1", order_text("B-1", [("SKU-3", 4)], ship_method="FEDEX_GROUND"))
    drop(root, "C-1", order_text("C-1", [("SKU-4", 1)], ship_method="USPS Priority"))

    robot.ship_all_now()

    [path] = (root / "out").glob("shp_*.csv")
    assert re.fullmatch(r"shp_[0-9A-Za-z-]+_[0-9]{12}\.csv", path.name)
    assert header_of(path) == SHIPMENT_HEADER
    assert path.read_bytes().count(b"\r\n") == len(read_csv(path)) + 1
    rows = read_csv(path)
    assert len(rows) == 5  # 2 lines in 2 packages; B-1: 1 line in 2; C-1: 1 unit, 1 package
    for row in rows:
        assert None not in row and len(row) == 11
        assert row["line_number"].isdigit() and row["sku"]
        assert int(row["quantity"]) > 0
        assert datetime.fromisoformat(row["ship_date"]).timestamp() == T0
        assert TRACKING[row["carrier"]].match(row["tracking_number"]), row
        assert row["shipment_id"]
    by_order: dict[str, set[str]] = {}
    for row in rows:
        by_order.setdefault(row["order_number"], set()).add(row["tracking_number"])
    assert {order: len(tracking) for order, tracking in by_order.items()} == {
        "A-1": 2, "B-1": 2, "C-1": 1}
    # Weight and cost are package values: on a package's first row only.
    first_rows = {}
    for row in rows:
        first_rows.setdefault(row["shipment_id"], row)
    for row in rows:
        is_first = first_rows[row["shipment_id"]] is row
        assert bool(row["weight"]) == is_first and bool(row["cost"]) == is_first
        if is_first:
            assert float(row["weight"]) > 0 and float(row["cost"]) > 0
    assert names(root / "out", ".*") == []  # no temporary file left behind


def test_splitting_keeps_every_unit_and_short_shipping_ships_less(root, clock):
    robot = robot_on(root, clock, split_rate=1.0, short_rate=1.0)
    drop(root, "S-1", order_text("S-1", [("SKU-1", 5), ("SKU-2", 4), ("SKU-3", 1)]))

    robot.ship_all_now()

    totals = shipped_per_line(shipment_rows(root))
    assert all(totals.get(("S-1", line), 0) < ordered
               for line, ordered in ((1, 5), (2, 4), (3, 1)))


def test_a_split_order_ships_all_its_units_in_two_packages(root, clock):
    robot = robot_on(root, clock, split_rate=1.0)
    drop(root, "P-1", order_text("P-1", [("SKU-1", 5)]))

    robot.ship_all_now()

    rows = shipment_rows(root)
    assert len(rows) == 2
    assert {row["line_number"] for row in rows} == {"1"}
    assert sum(int(row["quantity"]) for row in rows) == 5
    assert len({row["tracking_number"] for row in rows}) == 2
    assert len({row["shipment_id"] for row in rows}) == 2


def run_orders(root: Path, seed: int) -> list[tuple[str, ...]]:
    """Twenty orders through a robot with rates of one half; the rows it wrote."""
    (root / "in").mkdir(parents=True)
    for number in range(20):
        order = f"R-{number}"
        drop(root, order, order_text(order, [("SKU-1", 3), ("SKU-2", 2)]))
    WarehouseRobot(f"file://{root}", split_rate=0.5, short_rate=0.5, seed=seed,
                   clock=Clock()).ship_all_now()
    return sorted((row["order_number"], row["line_number"], row["quantity"],
                   row["tracking_number"]) for row in shipment_rows(root))


def test_the_same_seed_splits_and_shorts_the_same_way_and_another_seed_does_not(tmp_path):
    first = run_orders(tmp_path / "a", seed=7)
    again = run_orders(tmp_path / "b", seed=7)
    other = run_orders(tmp_path / "c", seed=8)

    assert first == again
    assert first != other
    packages = {(order, tracking) for order, _, _, tracking in first}
    split_orders = {order for order, _ in packages
                    if sum(1 for other_order, _ in packages if other_order == order) == 2}
    assert 0 < len(split_orders) < 20  # half-rate: some orders split, not all
    shipped = shipped_per_line([{"order_number": o, "line_number": n, "quantity": q}
                                for o, n, q, _ in first])
    shorted = [key for key, ordered in (((f"R-{n}", line), qty) for n in range(20)
                                        for line, qty in ((1, 3), (2, 2)))
               if shipped.get(key, 0) < ordered]
    assert 0 < len(shorted) < 40


def test_it_accepts_bom_lf_unquoted_fields_and_embedded_quotes_and_commas(root, clock):
    robot = robot_on(root, clock)
    fields = ph("Q-1", version=1, name='Joan "JJ" Harry, Jr.')
    text = ",".join('"' + value.replace('"', '""') + '"' if '"' in value or "," in value
                    else value for value in fields) + "\n"
    text += ",".join(pd("Q-1", 1, "SKU-É", 2)) + "\n"
    drop(root, "Q-1", "\ufeff" + text)

    report = robot.ship_all_now()

    assert report.files_rejected == 0
    assert shipped_per_line(shipment_rows(root)) == {("Q-1", 1): 2}
    assert shipment_rows(root)[0]["sku"] == "SKU-É"


def test_one_file_may_hold_several_orders(root, clock):
    robot = robot_on(root, clock)
    text = render(ph("M-1", version=3), pd("M-1", 1, "SKU-1", 1),
                  ph("M-2", version=3), pd("M-2", 1, "SKU-1", 2), pd("M-2", 2, "SKU-2", 1))
    drop(root, "M-1", text)

    report = robot.ship_all_now()

    assert report.orders_received == 2
    assert shipped_per_line(shipment_rows(root)) == {("M-1", 1): 1, ("M-2", 1): 2,
                                                     ("M-2", 2): 1}


# -- stock and inventory --------------------------------------------------------------------------


def test_shipments_take_from_stock_and_never_more_than_it_holds(root, clock):
    robot = robot_on(root, clock, stock={"A": 10, "B": 2}, default_stock=50)
    drop(root, "K-1", order_text("K-1", [("A", 3), ("B", 5), ("C", 1)]))

    robot.ship_all_now()

    assert shipped_per_line(shipment_rows(root)) == {("K-1", 1): 3, ("K-1", 2): 2,
                                                     ("K-1", 3): 1}
    assert robot.stock == {"A": 7, "B": 0, "C": 49}


def test_inventory_files_report_stock_less_what_waiting_orders_hold(root, clock):
    robot = robot_on(root, clock, stock={"A": 10, "B": 2})
    drop(root, "K-2", order_text("K-2", [("A", 3)]))

    robot.tick()  # receives the order; the first pass also writes an inventory file

    [first] = names(root / "out", "inv_*")
    assert re.fullmatch(r"inv_1_[0-9]{12}\.csv", first)
    assert header_of(root / "out" / first) == ["sku", "available", "on_hand", "facility"]
    assert read_csv(root / "out" / first) == [
        {"sku": "A", "available": "7", "on_hand": "10", "facility": ""},
        {"sku": "B", "available": "2", "on_hand": "2", "facility": ""},
    ]

    clock.now = T0 + 60
    robot.ship_all_now()
    second = robot.write_inventory_now()

    assert read_csv(root / "out" / second) == [
        {"sku": "A", "available": "7", "on_hand": "7", "facility": ""},
        {"sku": "B", "available": "2", "on_hand": "2", "facility": ""},
    ]


def test_it_writes_an_inventory_file_every_period(root, clock):
    robot = robot_on(root, clock, inventory_every_s=300.0)

    assert robot.tick().inventory_written == 1
    clock.now = T0 + 299
    assert robot.tick().inventory_written == 0
    clock.now = T0 + 300
    assert robot.tick().inventory_written == 1

    assert len(names(root / "out", "inv_1_*.csv")) == 2


def test_two_inventory_files_in_the_same_second_get_different_names(root, clock):
    robot = robot_on(root, clock)

    first = robot.write_inventory_now()
    second = robot.write_inventory_now()

    assert first != second
    assert names(root / "out", "inv_*") == sorted([first, second])


# -- bad and foreign files ------------------------------------------------------------------------

GOOD_PH = ph("X-1")
GOOD_PD = pd("X-1", 1, "SKU-1", 1)


@pytest.mark.parametrize(("text", "reason"), [
    (render(GOOD_PH[:-1], GOOD_PD), "PH has 26 fields"),
    (render(GOOD_PH, pd("X-1", 1, "SKU-1", "two")), "quantity 'two' is not a whole number"),
    (render(GOOD_PH, pd("X-1", 1, "SKU-1", 0)), "quantity '0'"),
    (render(GOOD_PH, pd("X-1", 1, "SKU-1", 1, price="9.5")), "unit price '9.5'"),
    (render(GOOD_PH, GOOD_PD[:5]), "PD has 5 fields"),
    (render(pd("X-1", 1, "SKU-1", 1), GOOD_PH, GOOD_PD), "PD without a PH"),
    (render(GOOD_PH, pd("X-9", 1, "SKU-1", 1)), "differs from its PH"),
    (render(GOOD_PH, GOOD_PD, GOOD_PD), "line number 1 appears twice"),
    (render(ph("X-1", country="United States"), GOOD_PD), "not an ISO 3166 alpha-2 code"),
    (render(ph("X-1", state="New York"), GOOD_PD), "not a 2-letter postal code"),
    (render(ph("X-1", ship_method=""), GOOD_PD), "ship method is empty"),
    (render(GOOD_PH), "order X-1 has no PD lines"),
    (render(GOOD_PH, GOOD_PD, ["PX", "X-1"]), "record type 'PX'"),
    ("", "no PH record"),
    ('"PH","X-1,"unterminated\r\n', "line 1"),
])
def test_it_rejects_a_malformed_order_file_into_error_with_the_reason(root, clock, text,
                                                                      reason):
    robot = robot_on(root, clock)
    bad = drop(root, "X-1", text)
    good = drop(root, "G-1", order_text("G-1", [("SKU-1", 1)]))

    report = robot.ship_all_now()

    assert report.files_rejected == 1
    assert report.orders_received == 1
    assert names(root / "in" / "error") == sorted([bad, f"{bad}.error.txt"])
    assert reason in (root / "in" / "error" / f"{bad}.error.txt").read_text(encoding="utf-8")
    assert names(root / "in" / "processed") == [good]
    assert {row["order_number"] for row in shipment_rows(root)} == {"G-1"}


def test_it_rejects_a_file_that_is_not_utf8(root, clock):
    robot = robot_on(root, clock)
    name = "ord_L-1_240501100000.csv"
    (root / "in" / name).write_bytes(render(ph("L-1", name="Jos\xe9"), pd("L-1", 1, "S", 1))
                                     .encode("latin-1"))

    assert robot.tick().files_rejected == 1
    assert "not UTF-8" in (root / "in" / "error" / f"{name}.error.txt").read_text()


def test_it_rejects_a_file_whose_name_does_not_carry_the_first_order(root, clock):
    robot = robot_on(root, clock)
    drop(root, "OTHER", order_text("N-1", [("SKU-1", 1)]))

    assert robot.tick().files_rejected == 1
    reason = (root / "in" / "error" / "ord_OTHER_240501100000.csv.error.txt").read_text()
    assert "expected ord_N-1_<datetime>.csv" in reason


def test_a_rejected_file_never_overwrites_an_earlier_one(root, clock):
    robot = robot_on(root, clock)
    drop(root, "E-1", "garbage\r\n")
    robot.tick()
    drop(root, "E-1", "more garbage\r\n")

    assert robot.tick().files_rejected == 1

    assert names(root / "in" / "error") == [
        "ord_E-1_240501100000.csv", "ord_E-1_240501100000.csv.error.txt",
        "ord_E-1_240501100000~2.csv", "ord_E-1_240501100000~2.csv.error.txt"]


def test_it_ignores_part_files_and_names_without_the_prefix(root, clock):
    robot = robot_on(root, clock)
    text = order_text("I-1", [("SKU-1", 1)])
    left_alone = [".ord_I-1_240501100000.csv.part", "ord_I-1_240501100000.csv.part",
                  "ORD_I-1_240501100000.csv", "readme.txt", "ord_I-1_240501100000.txt"]
    for name in left_alone:
        (root / "in" / name).write_text(text)
    (root / "in" / "ord_dir.csv").mkdir()

    report = robot.ship_all_now()

    assert (report.orders_received, report.files_rejected) == (0, 0)
    assert names(root / "in") == sorted([*left_alone, "error", "ord_dir.csv", "processed"])
    assert names(root / "out", "shp_*") == []


def test_a_broken_folder_is_counted_not_raised(root, clock):
    robot = robot_on(root, clock)
    (root / "in" / "processed").write_text("a file where a folder belongs")

    report = robot.tick()

    assert report.errors == 1
    assert report.orders_received == 0


# -- restarts -------------------------------------------------------------------------------------


def test_a_restart_neither_ships_an_order_twice_nor_forgets_a_waiting_one(root, clock):
    state = str(root.parent / "robot-state.json")
    first = robot_on(root, clock, state_path=state, stock={"A": 10})
    drop(root, "W-1", order_text("W-1", [("A", 2)]))
    drop(root, "W-2", order_text("W-2", [("A", 1)]))
    first.ship_all_now()
    drop(root, "W-3", order_text("W-3", [("A", 3)]))
    first.tick()  # W-3 received, waiting for its delay
    first.close()

    clock.now = T0 + 30
    second = robot_on(root, clock, state_path=state, stock={"A": 10})
    # The hub re-delivers W-1 under a new name: a warehouse ships an order once.
    drop(root, "W-1", order_text("W-1", [("A", 2)]), stamp="240501100500")
    report = second.tick()

    assert report.orders_received == 0
    assert report.shipments_written == 1
    assert sorted(shipped_per_line(shipment_rows(root)).items()) == [
        (("W-1", 1), 2), (("W-2", 1), 1), (("W-3", 1), 3)]
    assert second.stock == {"A": 4}
    assert len(names(root / "in" / "processed")) == 4


def test_a_shipment_decided_before_a_failed_write_is_written_once_later(root, clock,
                                                                         monkeypatch):
    drop(root, "F-1", order_text("F-1", [("SKU-1", 2)]))
    real_write = folder_module.LocalFolder.write_atomic

    def failing_write(self, directory, name, data):
        if name.startswith("shp_"):
            raise OSError("disk full")
        return real_write(self, directory, name, data)

    monkeypatch.setattr(folder_module.LocalFolder, "write_atomic", failing_write)
    report = robot_on(root, clock).ship_all_now()
    assert (report.errors, report.shipments_written) == (1, 0)
    state_before_write = (root / ".sandbox-warehouse-state.json").read_bytes()
    monkeypatch.setattr(folder_module.LocalFolder, "write_atomic", real_write)

    assert robot_on(root, clock).tick().shipments_written == 1
    [shipment] = names(root / "out", "shp_*")

    # A crash after the rename but before the state save, and the hub already moved the file:
    (root / "out" / "processed").mkdir()
    (root / "out" / shipment).rename(root / "out" / "processed" / shipment)
    (root / ".sandbox-warehouse-state.json").write_bytes(state_before_write)

    assert robot_on(root, clock).tick().shipments_written == 0
    assert names(root / "out", "shp_*") == []
    assert shipped_per_line(read_csv(root / "out" / "processed" / shipment)) == {("F-1", 1): 2}


def test_an_unreadable_state_file_stops_the_robot_with_a_plain_message(root, clock):
    (root / ".sandbox-warehouse-state.json").write_text("{not json")

    with pytest.raises(ValueError, match="not valid JSON; delete it to start over"):
        robot_on(root, clock)


# -- running --------------------------------------------------------------------------------------


def test_start_thread_ships_in_the_background_until_stopped(root):
    robot = WarehouseRobot(f"file://{root}", ship_delay_s=0.0, split_rate=0.0, short_rate=0.0)
    stop = robot.start_thread(poll_s=0.05)
    try:
        drop(root, "T-1", order_text("T-1", [("SKU-1", 1)]))
        deadline = time.monotonic() + 10
        while not list((root / "out").glob("shp_*.csv")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop()

    assert shipped_per_line(shipment_rows(root)) == {("T-1", 1): 1}
    drop(root, "T-2", order_text("T-2", [("SKU-1", 1)]))
    time.sleep(0.2)
    assert names(root / "in", "ord_*") == ["ord_T-2_240501100000.csv"]  # stopped: not read


@pytest.mark.parametrize("root_url", ["sftp://wh:pw@10.0.0.5:22", "sftp://wh:pw@example.com",
                                      "ftp://wh:pw@127.0.0.1", "file://relative/path"])
def test_it_refuses_a_root_it_must_not_use(root_url):
    with pytest.raises(ValueError) as error:
        WarehouseRobot(root_url)
    assert "pw" not in str(error.value)
