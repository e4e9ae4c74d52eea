"""DsfxAdapter end to end through a local folder, a real SFTP server and a real FTP server."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dropstream.platforms.base import AdapterContext, RowError, WarehouseAdapter
from dropstream.platforms.dsfx import SPEC
from dropstream.platforms.dsfx import format as fmt
from dropstream.platforms.dsfx.adapter import DsfxAdapter
from dropstream.platforms.errors import (
    CredentialsRejected,
    HostKeyMismatch,
    NotSupported,
    RemoteNotFound,
)
from tests.platforms.dsfx.factories import CREATED_AT, csv_bytes, make_order


class Memory(dict):
    """An adapter's memory that tells ``on_new_host_key`` when a host key gets pinned."""

    def __init__(self, on_new_host_key=None, **values) -> None:
        super().__init__(values)
        self.on_new_host_key = on_new_host_key

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        if key == "host_key" and self.on_new_host_key is not None:
            self.on_new_host_key(value)


@dataclass
class Site:
    """A DSFX root reachable through ``connection_string``; ``root`` is its local folder."""

    kind: str
    connection_string: str
    root: Path
    host_key: str = ""

    def adapter(self, *, listing_state: dict | None = None, processed_hashes=(),
                on_new_host_key=None, **kwargs) -> DsfxAdapter:
        """The adapter with the memory the hub would lend it (AdapterContext)."""
        settings = SPEC.clean({"connection_string": self.connection_string})
        kwargs.setdefault("settle_seconds", 0)
        kwargs.setdefault("backoff", 0)
        state = Memory(on_new_host_key, host_key=self.host_key)
        if listing_state is not None:
            state["listing"] = listing_state
        known = set(processed_hashes)
        return DsfxAdapter(settings, AdapterContext(state=state, seen=known.__contains__),
                           **kwargs)

    def drop(self, name: str, data: bytes, *, age: float = 60) -> Path:
        """The warehouse writes a file into /out, ``age`` seconds old."""
        path = self.root / "out" / name
        path.write_bytes(data)
        then = time.time() - age
        os.utime(path, (then, then))
        return path

    def tree(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())


@pytest.fixture(params=["file", "sftp", "ftp"])
def site(request, tmp_path: Path) -> Iterator[Site]:
    if request.param == "file":
        root = tmp_path / "wh"
        (root / "in").mkdir(parents=True)
        (root / "out").mkdir()
        yield Site("file", f"file://{root}", root)
    elif request.param == "sftp":
        server = request.getfixturevalue("sftp_server")
        yield Site("sftp", server.connection_string, server.root, server.host_key_text)
    else:
        server = request.getfixturevalue("ftp_server")
        yield Site("ftp", server.connection_string, server.root)


SHIPMENTS = csv_bytes(
    "order_number,line_number,sku,quantity,ship_date,carrier,service,tracking_number",
    "1001,1,SKU-1,1,2024-05-06,UPS,Ground,1Z1",
    "1001,2,SKU-2,2,2024-05-06,UPS,Ground,1Z1",
    "1002,1,SKU-1,1,2024-05-07,USPS,Priority,9400",
)


def test_the_adapter_satisfies_the_warehouse_protocol(site):
    assert isinstance(site.adapter(), WarehouseAdapter)


# -- orders ---------------------------------------------------------------------------------


def test_orders_round_trip_into_in_under_the_deterministic_name(site):
    adapter = site.adapter()
    orders = [make_order("1001"), make_order("BS 1002", lines=3), make_order("1003")]
    reference = adapter.submission_key(orders, CREATED_AT)

    assert not adapter.file_exists(reference)
    result = adapter.submit(orders, key=reference)
    adapter.close()

    assert reference == "ord_1001_240506070809.csv"
    assert result.reference == reference and not result.already_there
    assert result.order_numbers == ("1001", "BS 1002", "1003")
    assert result.warehouse_order_numbers == ("1001", "BS-1002", "1003")
    written = (site.root / "in" / reference).read_bytes()
    expected = fmt.write_orders(orders, created_at=CREATED_AT).content
    assert written == expected
    assert site.tree() == [f"in/{reference}"]


def test_a_batch_already_in_the_warehouse_is_not_uploaded_again(site):
    adapter = site.adapter()
    orders = [make_order("1001")]
    reference = adapter.submission_key(orders, CREATED_AT)
    adapter.submit(orders, key=reference)
    first = (site.root / "in" / reference).stat().st_mtime_ns

    again = adapter.submit(orders, key=reference)
    (site.root / "in" / "processed").mkdir()
    os.rename(site.root / "in" / reference, site.root / "in" / "processed" / reference)
    exists_after_pickup = adapter.file_exists(reference)
    third = adapter.submit(orders, key=reference)

    assert again.already_there and third.already_there and exists_after_pickup
    assert (site.root / "in" / "processed" / reference).stat().st_mtime_ns == first
    assert site.tree() == [f"in/processed/{reference}"]


def test_the_caller_batches_orders_per_file(site):
    adapter = DsfxAdapter(SPEC.clean({"connection_string": site.connection_string,
                                      "orders_per_file": 2}),
                          AdapterContext(state={"host_key": site.host_key}))
    orders = [make_order(str(n)) for n in range(3)]

    with pytest.raises(ValueError, match="exceed orders_per_file"):
        adapter.submit(orders, key=adapter.submission_key(orders, CREATED_AT))

    assert site.tree() == []


def test_cancel_is_not_supported_and_says_what_to_do(tmp_path):
    adapter = Site("file", f"file://{tmp_path}", tmp_path).adapter()

    with pytest.raises(NotSupported) as caught:
        adapter.cancel_order("1001")

    assert caught.value.message == ("DSFX has no cancel record: cancel order 1001 in the "
                                    "warehouse's own system")


# -- shipments and inventory ------------------------------------------------------------------


def test_shipments_round_trip_and_the_file_moves_to_processed(site):
    site.drop("shp_77_240506.csv", SHIPMENTS)
    site.drop("notes.txt", b"not ours")
    adapter = site.adapter()

    documents = list(adapter.fetch_shipments())
    for document in documents:
        adapter.acknowledge(document)

    (document,) = documents
    assert document.name == "shp_77_240506.csv" and not document.duplicate
    assert [(s.key, len(s.lines)) for s in document.shipments] == [("1001|t:1Z1", 2),
                                                                   ("1002|t:9400", 1)]
    assert document.errors == []
    assert site.tree() == ["out/notes.txt", "out/processed/shp_77_240506.csv"]


def test_inventory_round_trips_oldest_file_first(site):
    site.drop("inv_1_240506100000.csv", csv_bytes("A,5", "B,1"), age=120)
    site.drop("inv_1_240506110000.csv", csv_bytes("sku,available", "A,3"), age=60)
    site.drop("shp_1.csv", SHIPMENTS)
    adapter = site.adapter()

    documents = list(adapter.fetch_inventory())
    for document in documents:
        adapter.acknowledge(document)

    assert [d.name for d in documents] == ["inv_1_240506100000.csv", "inv_1_240506110000.csv"]
    assert [[(lv.sku, lv.available) for lv in d.levels] for d in documents] == [
        [("A", 5), ("B", 1)], [("A", 3)]]
    assert site.tree() == ["out/processed/inv_1_240506100000.csv",
                           "out/processed/inv_1_240506110000.csv", "out/shp_1.csv"]


def test_a_file_with_some_bad_rows_is_used_and_its_error_report_lists_them(site):
    data = csv_bytes("1001,1,SKU-1,1,2024-05-06,UPS,,T1", "1001,2,SKU-2,two,2024-05-06,UPS,,T1",
                     "1002,1,SKU-1,1,2024-05-06,UPS,,T2")
    site.drop("shp_9.csv", data)
    adapter = site.adapter()

    (document,) = adapter.fetch_shipments()
    # The caller knows order 1002 does not exist in the hub: it adds that error.
    adapter.acknowledge(document, [RowError(3, "order 1002 is not known")])

    assert [s.order_number for s in document.shipments] == ["1001", "1002"]
    assert site.tree() == ["out/processed/shp_9.csv", "out/processed/shp_9.csv.error.txt"]
    report = (site.root / "out/processed/shp_9.csv.error.txt").read_text().splitlines()
    assert report[1:] == ["line 2: quantity 'two' is not a whole number",
                          "line 3: order 1002 is not known"]


def test_a_file_with_nothing_usable_goes_to_error_with_its_report(site):
    site.drop("shp_bad.csv", csv_bytes("1001,1,SKU-1", "1002,x,SKU-1,1,2024-05-06,UPS"))
    site.drop("shp_unknown.csv", csv_bytes("5555,1,SKU-1,1,2024-05-06,UPS"))
    site.drop("inv_2_240101.csv", csv_bytes("A,1"))
    adapter = site.adapter()

    shipments = list(adapter.fetch_shipments())
    adapter.acknowledge(shipments[0])
    adapter.acknowledge(shipments[1], [RowError(1, "order 5555 is not known")])
    (inventory,) = adapter.fetch_inventory()
    adapter.acknowledge(inventory)

    assert site.tree() == ["out/error/inv_2_240101.csv", "out/error/inv_2_240101.csv.error.txt",
                           "out/error/shp_bad.csv", "out/error/shp_bad.csv.error.txt",
                           "out/error/shp_unknown.csv", "out/error/shp_unknown.csv.error.txt"]
    assert (site.root / "out/error/shp_bad.csv.error.txt").read_text().splitlines()[1:] == [
        "line 1: the row has 3 fields; a shipment row has 6 to 11",
        "line 2: line_number 'x' is not a whole number"]
    assert "inventory layout '2' is not supported" in (
        site.root / "out/error/inv_2_240101.csv.error.txt").read_text()


def test_a_half_written_file_is_not_read(site):
    path = site.drop("shp_5.csv", SHIPMENTS[:40], age=0)
    adapter = site.adapter(settle_seconds=30)

    young = list(adapter.fetch_shipments())
    with path.open("ab") as handle:
        handle.write(SHIPMENTS[40:])
    old = time.time() - 60
    os.utime(path, (old, old + 1))  # old now, but grown since the previous listing
    grown = list(adapter.fetch_shipments())
    settled = list(adapter.fetch_shipments())

    assert young == [] and grown == []
    assert [len(d.shipments) for d in settled] == [2]


def test_the_previous_listing_can_be_persisted_between_runs(site):
    path = site.drop("shp_5.csv", SHIPMENTS)
    state: dict = {}
    first_run = site.adapter(listing_state=state)
    assert len(list(first_run.fetch_shipments())) == 1  # not acknowledged: the run crashed
    with path.open("ab") as handle:
        handle.write(b"1003,1,SKU-1,1,2024-05-06,UPS,,T3\r\n")
    os.utime(path, (time.time() - 60, time.time() - 60))

    second_run = site.adapter(listing_state=state)
    changed = list(second_run.fetch_shipments())
    third = list(site.adapter(listing_state=state).fetch_shipments())

    assert changed == []
    assert [len(d.shipments) for d in third] == [3]


def test_a_redelivered_identical_file_is_ignored(site):
    site.drop("shp_1.csv", SHIPMENTS)
    adapter = site.adapter()
    (first,) = adapter.fetch_shipments()
    adapter.acknowledge(first)

    site.drop("shp_1.csv", SHIPMENTS)
    site.drop("shp_1_again.csv", SHIPMENTS)
    next_run = site.adapter(processed_hashes=[first.event_id])
    again = list(next_run.fetch_shipments())
    for document in again:
        next_run.acknowledge(document)

    assert [(d.name, d.duplicate, d.shipments) for d in again] == [
        ("shp_1.csv", True, []), ("shp_1_again.csv", True, [])]
    assert site.tree() == ["out/processed/shp_1.1.csv", "out/processed/shp_1.csv",
                           "out/processed/shp_1_again.csv"]


def test_nothing_outside_the_prefixes_or_with_a_hostile_name_is_touched(sftp_server):
    sftp_server.hostile_names = ["shp_../../../etc/passwd.csv", "..", "shp_\r.csv"]
    site = Site("sftp", sftp_server.connection_string, sftp_server.root, sftp_server.host_key_text)
    site.drop("shp_1.csv", SHIPMENTS)
    site.drop(".shp_2.csv.part", SHIPMENTS)
    site.drop("SHP_3.csv", SHIPMENTS)
    adapter = site.adapter()

    documents = list(adapter.fetch_shipments())
    for document in documents:
        adapter.acknowledge(document)

    assert [d.name for d in documents] == ["shp_1.csv"]
    assert [(folder, name) for folder, name, _ in adapter.rejected_names] == [
        ("/out", "shp_../../../etc/passwd.csv"), ("/out", "shp_\r.csv")]
    assert site.tree() == ["out/.shp_2.csv.part", "out/SHP_3.csv", "out/processed/shp_1.csv"]


# -- credentials and host keys ---------------------------------------------------------------


def test_validate_credentials_passes_and_leaves_nothing_behind(site):
    site.adapter().validate_credentials()

    assert site.tree() == []


def test_validate_credentials_names_a_missing_folder(site):
    (site.root / "out").rmdir()

    with pytest.raises(RemoteNotFound) as caught:
        site.adapter().validate_credentials()

    assert caught.value.message.startswith("the folder /out does not exist on ")
    assert "SeCrEtZ" not in caught.value.message


def test_a_wrong_password_fails_validation_plainly(sftp_server, leak_catcher):
    wrong = sftp_server.connection_string.replace("pw", "xx", 1)
    leaks_before = len(leak_catcher.leaks)

    with pytest.raises(CredentialsRejected) as caught:
        Site("sftp", wrong, sftp_server.root).adapter().validate_credentials()

    assert caught.value.message == (f"sftp://wh1@127.0.0.1:{sftp_server.port} rejected the "
                                    "user name or password")
    assert len(leak_catcher.leaks) == leaks_before


def test_the_host_key_is_pinned_on_first_use_and_a_changed_one_stops_the_warehouse(sftp_server):
    pinned: list[str] = []
    Site("sftp", sftp_server.connection_string, sftp_server.root).adapter(
        on_new_host_key=pinned.append).validate_credentials()
    sftp_server.restart(new_host_key=True)
    sftp_server.root.joinpath("out", "shp_1.csv").write_bytes(SHIPMENTS)
    site = Site("sftp", sftp_server.connection_string, sftp_server.root, host_key=pinned[0])
    asked: Callable[[str], None] = pinned.append

    with pytest.raises(HostKeyMismatch) as caught:
        list(site.adapter(on_new_host_key=asked).fetch_shipments())

    assert len(pinned) == 1
    assert caught.value.presented == sftp_server.host_key_fingerprint
    assert site.tree() == ["out/shp_1.csv"]


def test_the_settle_time_is_a_warehouse_setting(tmp_path):
    root = tmp_path / "wh"
    (root / "out").mkdir(parents=True)
    site = Site("file", f"file://{root}", root)
    site.drop("shp_1.csv", SHIPMENTS, age=10)
    patient = DsfxAdapter(SPEC.clean({"connection_string": site.connection_string,
                                      "settle_seconds": "30"}))
    default = DsfxAdapter(SPEC.clean({"connection_string": site.connection_string}))

    assert (patient.settle_seconds, default.settle_seconds) == (30.0, 5.0)
    assert list(patient.fetch_shipments()) == []
    assert [d.name for d in default.fetch_shipments()] == ["shp_1.csv"]
