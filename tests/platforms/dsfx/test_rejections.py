"""DsfxAdapter.fetch_rejections / acknowledge_rejections on a local folder and over FTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from dropstream.platforms.base import WarehouseRejection
from dropstream.platforms.dsfx import SPEC
from dropstream.platforms.dsfx.adapter import DsfxAdapter
from dropstream.sandbox.warehouse.robot import WarehouseRobot
from tests.sandbox.warehouse.orderfiles import drop, pd, ph, render

NAME = "ord_A-1_240501100000.csv"


@pytest.fixture(params=["file", "ftp"])
def site(request, tmp_path: Path):
    """(connection string, local root) of a DSFX folder with /in and /out."""
    if request.param == "file":
        root = tmp_path / "wh"
        (root / "in").mkdir(parents=True)
        (root / "out").mkdir()
        return f"file://{root}", root
    server = request.getfixturevalue("ftp_server")
    return server.connection_string, server.root


def adapter_on(connection_string: str) -> DsfxAdapter:
    settings = SPEC.clean({"connection_string": connection_string})
    return DsfxAdapter(settings, settle_seconds=0, backoff=0)


def write_error_file(root: Path, name: str, text: str) -> Path:
    (root / "in" / "error").mkdir(exist_ok=True)
    path = root / "in" / "error" / name
    path.write_text(text, encoding="utf-8")
    return path


def test_it_reads_one_rejection_per_report_line(site):
    connection_string, root = site
    write_error_file(root, f"{NAME}.rejected.txt",
                     "B-1\tunknown SKU WH-XYZ on line 2\r\n\r\nC-1\tout of range\n")
    adapter = adapter_on(connection_string)

    rejections = adapter.fetch_rejections()

    source = f"{NAME}.rejected.txt"
    assert rejections == [
        WarehouseRejection("B-1", "unknown SKU WH-XYZ on line 2", NAME, source),
        WarehouseRejection("C-1", "out of range", NAME, source),
    ]
    adapter.close()


def test_acknowledging_moves_the_report_to_processed_and_it_is_not_read_again(site):
    connection_string, root = site
    write_error_file(root, f"{NAME}.rejected.txt", "B-1\tunknown SKU X on line 1\n")
    adapter = adapter_on(connection_string)

    adapter.acknowledge_rejections(f"{NAME}.rejected.txt")

    assert adapter.fetch_rejections() == []
    assert (root / "in" / "error" / "processed" / f"{NAME}.rejected.txt").read_text() == \
        "B-1\tunknown SKU X on line 1\n"
    assert not (root / "in" / "error" / f"{NAME}.rejected.txt").exists()
    adapter.acknowledge_rejections(f"{NAME}.rejected.txt")  # already gone: nothing to do
    adapter.close()


def test_a_second_report_of_the_same_name_is_kept_beside_the_first(tmp_path):
    root = tmp_path / "wh"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    adapter = adapter_on(f"file://{root}")
    write_error_file(root, f"{NAME}.rejected.txt", "B-1\tfirst\n")
    adapter.acknowledge_rejections(f"{NAME}.rejected.txt")
    write_error_file(root, f"{NAME}.rejected.txt", "B-1\tsecond\n")

    adapter.acknowledge_rejections(f"{NAME}.rejected.txt")

    processed = root / "in" / "error" / "processed"
    assert sorted(p.read_text() for p in processed.iterdir()) == ["B-1\tfirst\n", "B-1\tsecond\n"]


def test_a_whole_refused_file_is_one_rejection_with_the_reasons(site):
    connection_string, root = site
    write_error_file(root, NAME, "not a csv")
    write_error_file(root, f"{NAME}.error.txt", f"{NAME} was rejected by the sandbox "
                     "warehouse:\nline 1: ship-to city is empty\nline 3: quantity 'x' is bad\n")
    adapter = adapter_on(connection_string)

    [rejection] = adapter.fetch_rejections()

    assert rejection == WarehouseRejection(
        "", "line 1: ship-to city is empty; line 3: quantity 'x' is bad", NAME,
        f"{NAME}.error.txt", whole_submission=True)
    adapter.close()


def test_a_copy_numbered_report_refers_to_the_original_file_name(tmp_path):
    root = tmp_path / "wh"
    (root / "in").mkdir(parents=True)
    write_error_file(root, "ord_A-1_240501100000~2.csv.rejected.txt", "B-1\tx\n")

    [rejection] = adapter_on(f"file://{root}").fetch_rejections()

    assert (rejection.reference, rejection.source) == (
        NAME, "ord_A-1_240501100000~2.csv.rejected.txt")


def test_an_unreadable_line_is_reported_not_dropped(tmp_path):
    root = tmp_path / "wh"
    (root / "in").mkdir(parents=True)
    write_error_file(root, f"{NAME}.rejected.txt", "B-1 no tab here\n\tno number\n")

    rejections = adapter_on(f"file://{root}").fetch_rejections()

    assert [r.order_number for r in rejections] == ["", ""]
    assert [r.whole_submission for r in rejections] == [False, False]
    assert "line 1 of" in rejections[0].reason and "B-1 no tab here" in rejections[0].reason
    assert "line 2 of" in rejections[1].reason


def test_other_files_and_a_missing_error_folder_give_nothing(site):
    connection_string, root = site
    adapter = adapter_on(connection_string)
    assert adapter.fetch_rejections() == []
    write_error_file(root, "notes.txt", "hello\n")
    write_error_file(root, "shp_1_1.csv.error.txt", "line 1: bad\n")
    write_error_file(root, f".{NAME}.rejected.txt.part", "B-1\thalf written\n")

    assert adapter.fetch_rejections() == []
    adapter.close()


def test_it_reads_the_report_the_sandbox_warehouse_writes(tmp_path):
    root = tmp_path / "wh"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    robot = WarehouseRobot(f"file://{root}", ship_delay_s=0, inventory_every_s=0,
                           state_path=str(tmp_path / "robot.json"), stock={"KNOWN": 5},
                           reject_unknown_skus=True)
    name = drop(root, "A-1", render(ph("A-1"), pd("A-1", 1, "KNOWN", 1),
                                    ph("B-1"), pd("B-1", 1, "WH-XYZ", 1)))
    robot.tick()

    assert adapter_on(f"file://{root}").fetch_rejections() == [
        WarehouseRejection("B-1", "unknown SKU WH-XYZ on line 1", name,
                           f"{name}.rejected.txt")]
