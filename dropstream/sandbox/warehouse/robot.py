"""The sandbox warehouse: a robot that plays a DSFX warehouse on a local or SFTP folder.

Each pass (``tick``) it:

1. finishes any shipment file it decided on but had not written yet (after a crash or a
   dropped connection);
2. reads new ``ord_*.csv`` files in ``/in`` (PH version 1, 2 or 3 by field count, and PD rows),
   records their orders, and moves each file to ``/in/processed/`` — or, when malformed, to
   ``/in/error/`` with ``<name>.error.txt`` saying why, line by line. With
   ``reject_unknown_skus`` the robot knows only the SKUs of its ``stock``: an order naming any
   other SKU is refused on its own, listed in ``/in/error/<order file name>.rejected.txt`` (our
   convention, read by the hub's DSFX adapter: UTF-8, one line per refused order,
   ``<order number>\t<reason>`` such as ``unknown SKU WH-XYZ on line 2``, written under a
   temporary name and renamed), while the file's other orders are received as usual and the
   file goes to ``/in/processed/``. A refused order is not remembered, so a corrected copy sent
   later is received;
3. ships every order received at least ``ship_delay_s`` ago into one ``shp_…csv`` file in
   ``/out`` (layout 1, header row): some orders in two packages, some lines short, each decided
   from ``seed`` and the order number, so a run is reproducible; never more than it has in
   stock;
4. writes an ``inv_1_…csv`` snapshot of its stock every ``inventory_every_s``.

Files are written under ``.name.part`` and renamed, so a reader never sees half a file. The
robot reads and writes DSFX with its own code (``orders.py``, ``folder.py``), never the hub's
``platforms/dsfx``, so a format bug cannot hide on both sides (specs/dsfx.md).

State (orders seen, orders waiting, stock, files decided but not yet written) lives in a JSON
file written atomically before each side effect, so a restart never ships an order twice.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paramiko

from dropstream.sandbox.warehouse.carriers import DEFAULT_CARRIER, carrier_for, tracking_number
from dropstream.sandbox.warehouse.folder import (
    Folder,
    check_root,
    describe_root,
    is_safe_name,
    local_root,
    open_folder,
)
from dropstream.sandbox.warehouse.orders import (
    OrderFileError,
    ReceivedOrder,
    is_order_file_name,
    parse_order_file,
)

log = logging.getLogger("dropstream.sandbox.warehouse")

SHIPMENT_COLUMNS = ("order_number", "line_number", "sku", "quantity", "ship_date", "carrier",
                    "service", "tracking_number", "shipment_id", "weight", "cost")
INVENTORY_COLUMNS = ("sku", "available", "on_hand", "facility")
ORDERS_PER_SHIPMENT_FILE = 500
STATE_VERSION = 1
REJECTED_SUFFIX = ".rejected.txt"

# Errors that mean "the folder or the connection failed": retry on the next tick.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, paramiko.SSHException)

# Order statuses in the state file.
PENDING = "pending"  # received, waiting for its ship delay
SHIPPED = "shipped"  # its shipment rows are written, or queued in the outbox to be written


@dataclass
class TickReport:
    """What one pass did. ``shipments_written`` counts packages (one tracking number each)."""

    orders_received: int = 0
    shipments_written: int = 0
    files_rejected: int = 0
    orders_rejected: int = 0
    inventory_written: int = 0
    orders_shipped: int = 0
    shipment_files_written: int = 0
    errors: int = 0


@dataclass
class Package:
    """One box: the rows it carries are (line number, sku, quantity)."""

    order_number: str
    carrier: str
    service: str
    tracking_number: str
    shipment_id: str
    weight: float
    cost: float
    lines: list[tuple[int, str, int]] = field(default_factory=list)


def _stamp(now: float) -> str:
    """The ``YYMMDDHHMMSS`` (UTC) part of DSFX file names."""
    return datetime.fromtimestamp(now, UTC).strftime("%y%m%d%H%M%S")


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _csv_bytes(header: tuple[str, ...], rows: list[list[str]]) -> bytes:
    """UTF-8 CSV with a header row, minimal quoting and CRLF, as a typical warehouse writes."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _printable(text: str) -> str:
    """``text`` with tabs, newlines and other control characters shown as ``?``: a reason is one
    line of a tab-separated report."""
    return "".join("?" if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _split_lines(lines: list[tuple[int, str, int]],
                 rng: random.Random) -> list[list[tuple[int, str, int]]]:
    """Two packages: lines cut in two groups, or a single line's quantity cut in two."""
    if len(lines) >= 2:
        cut = rng.randrange(1, len(lines))
        return [lines[:cut], lines[cut:]]
    number, sku, quantity = lines[0]
    first = rng.randrange(1, quantity)
    return [[(number, sku, first)], [(number, sku, quantity - first)]]


class WarehouseRobot:
    """A DSFX warehouse on ``root`` (``file:///abs/path`` or ``sftp://user:pw@127.0.0.1:port``).

    Raises ValueError at construction for a root it cannot use (a non-loopback SFTP host, an
    unsupported scheme) or an unreadable state file; never connects before the first pass.
    """

    def __init__(self, root: str, *, ship_delay_s: float = 30.0, split_rate: float = 0.1,
                 short_rate: float = 0.05, seed: int = 1, stock: dict[str, int] | None = None,
                 default_stock: int = 100, inventory_every_s: float = 300.0,
                 state_path: str | None = None, clock: Callable[[], float] = time.time,
                 default_carrier: str = DEFAULT_CARRIER,
                 ship_methods: dict[str, tuple[str, str]] | None = None,
                 facility: str = "", reject_unknown_skus: bool = False) -> None:
        root = str(root)
        check_root(root)
        for name, rate in (("split_rate", split_rate), ("short_rate", short_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        self.root = root
        self.ship_delay_s = ship_delay_s
        self.split_rate = split_rate
        self.short_rate = short_rate
        self.seed = seed
        self.default_stock = default_stock
        self.inventory_every_s = inventory_every_s
        self.default_carrier = default_carrier
        self.ship_methods = dict(ship_methods or {})
        self.facility = facility
        # The catalog is the SKUs of ``stock``; off, any SKU is taken (at ``default_stock``).
        self.reject_unknown_skus = reject_unknown_skus
        self._clock = clock
        self._lock = threading.RLock()
        self._folder: Folder | None = None
        self.state_path = Path(state_path) if state_path else self._default_state_path(root)
        self._state = self._load_state(dict(stock or {}))

    # -- state -------------------------------------------------------------------------------

    @staticmethod
    def _default_state_path(root: str) -> Path:
        """Beside the DSFX folders for a local root; in the data directory for SFTP."""
        directory = local_root(root)
        if directory is not None:
            return directory / ".sandbox-warehouse-state.json"
        from dropstream.config import data_home

        digest = hashlib.sha256(describe_root(root).encode()).hexdigest()[:12]
        return data_home() / f"sandbox-warehouse-{digest}.json"

    def _load_state(self, stock: dict[str, int]) -> dict[str, Any]:
        """The saved state, or a fresh one seeded with ``stock``; ValueError when unreadable."""
        fresh = {"version": STATE_VERSION, "orders": {}, "pending": {}, "stock": stock,
                 "outbox": [], "next_package": 1, "next_file": 1, "last_inventory_at": None}
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return fresh
        try:
            saved = json.loads(text)
        except ValueError:
            raise ValueError(f"the robot's state file {self.state_path} is not valid JSON; "
                             "delete it to start over (orders already shipped may then ship "
                             "again)") from None
        if not isinstance(saved, dict) or saved.get("version") != STATE_VERSION:
            raise ValueError(f"the robot's state file {self.state_path} has an unknown layout; "
                             "delete it to start over")
        return {**fresh, **saved}

    def _save_state(self) -> None:
        """Write the state atomically: a crash leaves the old file or the new one, never half."""
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps(self._state, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.state_path)

    @property
    def stock(self) -> dict[str, int]:
        """Units on hand per SKU (a copy); shipments decrement it."""
        with self._lock:
            return dict(self._state["stock"])

    # -- the folder --------------------------------------------------------------------------

    def _open(self) -> Folder:
        if self._folder is None:
            folder = open_folder(self.root)
            try:
                for directory in ("in", "out", "in/processed", "in/error"):
                    folder.ensure_dir(directory)
            except BaseException:
                folder.close()
                raise
            self._folder = folder
        return self._folder

    def close(self) -> None:
        """Drop the connection (the next pass reconnects)."""
        with self._lock:
            folder, self._folder = self._folder, None
            if folder is not None:
                try:
                    folder.close()
                except TRANSPORT_ERRORS:
                    log.debug("sandbox warehouse: closing the connection failed", exc_info=True)

    # -- passes ------------------------------------------------------------------------------

    def tick(self) -> TickReport:
        """One pass: read new order files, ship what is due, write inventory when due.

        Folder and connection failures are logged and counted in ``errors``, never raised.
        """
        return self._pass(force_ship=False, inventory=True)

    def ship_all_now(self) -> TickReport:
        """Read new order files and ship every received order, whatever its delay."""
        return self._pass(force_ship=True, inventory=False)

    def write_inventory_now(self) -> str:
        """Write an inventory file now; return its name. Raises OSError when the folder fails."""
        with self._lock:
            try:
                return self._write_inventory(self._open(), self._clock())
            except TRANSPORT_ERRORS:
                self.close()
                raise

    def _pass(self, *, force_ship: bool, inventory: bool) -> TickReport:
        with self._lock:
            report = TickReport()
            now = self._clock()
            try:
                folder = self._open()
                self._flush_outbox(folder, report)
                self._receive(folder, now, report)
                self._ship(folder, now, force_ship, report)
                if inventory and self._inventory_due(now):
                    self._write_inventory(folder, now)
                    report.inventory_written += 1
            except TRANSPORT_ERRORS as exc:
                report.errors += 1
                log.warning("sandbox warehouse: %s failed (%s: %s); trying again next pass",
                            describe_root(self.root), type(exc).__name__, exc)
                self.close()
            return report

    def run_forever(self, poll_s: float = 2.0, stop_event: threading.Event | None = None) -> None:
        """Pass every ``poll_s`` seconds until ``stop_event`` is set; nothing stops it earlier."""
        stop = stop_event or threading.Event()
        log.info("sandbox warehouse: watching %s", describe_root(self.root))
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 — the robot must keep running; the log says why
                    log.exception("sandbox warehouse: unexpected error in a pass")
                stop.wait(poll_s)
        finally:
            self.close()

    def start_thread(self, poll_s: float = 2.0) -> Callable[[], None]:
        """Run ``run_forever`` in a daemon thread; return ``stop()``, which ends and joins it."""
        event = threading.Event()
        thread = threading.Thread(target=self.run_forever, args=(poll_s, event), daemon=True,
                                  name="sandbox-warehouse")
        thread.start()

        def stop() -> None:
            event.set()
            thread.join(timeout=max(30.0, poll_s * 2))

        return stop

    # -- receiving orders --------------------------------------------------------------------

    def _receive(self, folder: Folder, now: float, report: TickReport) -> None:
        for name in sorted(folder.list_files("in")):
            if not is_order_file_name(name):
                continue
            if not is_safe_name(name):
                log.warning("sandbox warehouse: ignoring an order file with an unsafe name %r",
                            name)
                continue
            try:
                data = folder.read(f"in/{name}")
            except FileNotFoundError:
                continue  # moved away between listing and reading
            try:
                orders = parse_order_file(name, data)
            except OrderFileError as exc:
                self._reject(folder, name, exc.reasons)
                report.files_rejected += 1
                continue
            except Exception as exc:  # noqa: BLE001 — a reader bug must not stop the robot
                log.exception("sandbox warehouse: could not read %s", name)
                self._reject(folder, name, [f"the warehouse could not read it "
                                            f"({type(exc).__name__}: {exc})"])
                report.files_rejected += 1
                continue
            orders = self._refuse_unknown_skus(folder, name, orders, report)
            report.orders_received += self._accept(orders, name, now)
            # Saved before the move: a crash in between re-reads the file, and every order in
            # it is then already known, so nothing is received twice.
            self._save_state()
            target = self._free_name(folder, "in/processed", name)
            folder.move(f"in/{name}", f"in/processed/{target}")
            log.info("sandbox warehouse: received %s (%d orders)", name, len(orders))

    def _unknown_skus(self, order: ReceivedOrder) -> list[str]:
        """Why ``order`` names SKUs outside the catalog, one reason per line; empty when known."""
        catalog = self._state["stock"]
        return [f"unknown SKU {_printable(line.sku)} on line {line.line_number}"
                for line in order.lines if line.sku not in catalog]

    def _refuse_unknown_skus(self, folder: Folder, name: str, orders: list[ReceivedOrder],
                             report: TickReport) -> list[ReceivedOrder]:
        """Write the rejection report for orders with unknown SKUs; return the others.

        Does nothing unless ``reject_unknown_skus``. Orders already received are left to
        ``_accept`` (a repeat is ignored there, not refused). The report is written before the
        order file moves: a crash in between re-reads the file and finds the same report.
        """
        if not self.reject_unknown_skus:
            return orders
        known = self._state["orders"]
        kept: list[ReceivedOrder] = []
        lines: list[str] = []
        for order in orders:
            reasons = [] if order.order_number in known else self._unknown_skus(order)
            if reasons:
                lines.append(f"{order.order_number}\t{'; '.join(reasons)}\n")
            else:
                kept.append(order)
        if lines:
            content = "".join(lines).encode("utf-8")
            report_name = self._report_name(folder, name, content)
            if report_name is not None:
                folder.write_atomic("in/error", report_name, content)
            report.orders_rejected += len(lines)
            log.warning("sandbox warehouse: refused %d order(s) of %s (unknown SKUs)",
                        len(lines), name)
        return kept

    @staticmethod
    def _report_name(folder: Folder, name: str, content: bytes) -> str | None:
        """``<name>.rejected.txt``, or ``<stem>~2.csv.rejected.txt``… when that name holds
        another report; None when the same report is already there (a pass that crashed)."""
        stem, dot, suffix = name.rpartition(".")
        candidate = name
        for attempt in range(2, 10_000):
            path = f"in/error/{candidate}{REJECTED_SUFFIX}"
            if not folder.exists(path):
                return f"{candidate}{REJECTED_SUFFIX}"
            if folder.read(path) == content:
                return None
            candidate = f"{stem}~{attempt}.{suffix}" if dot else f"{name}~{attempt}"
        raise FileExistsError(f"in/error/{name}{REJECTED_SUFFIX}")

    def _accept(self, orders: list[ReceivedOrder], file_name: str, now: float) -> int:
        """Record new orders as pending; return how many were new (repeats are ignored)."""
        known, pending, stock = (self._state["orders"], self._state["pending"],
                                 self._state["stock"])
        count = 0
        for order in orders:
            if order.order_number in known:
                log.info("sandbox warehouse: order %s was already received; ignoring the copy "
                         "in %s", order.order_number, file_name)
                continue
            known[order.order_number] = PENDING
            pending[order.order_number] = {
                "received_at": now, "file": file_name, "ship_method": order.ship_method,
                "facility": order.facility, "ph_version": order.ph_version,
                "lines": [[line.line_number, line.sku, line.quantity] for line in order.lines],
            }
            for line in order.lines:
                stock.setdefault(line.sku, self.default_stock)
            count += 1
        return count

    def _reject(self, folder: Folder, name: str, reasons: list[str]) -> None:
        """Move a bad order file to ``/in/error/`` with ``<name>.error.txt`` beside it."""
        target = self._free_name(folder, "in/error", name)
        text = f"{name} was rejected by the sandbox warehouse:\n" + "".join(
            f"{reason}\n" for reason in reasons)
        folder.write_atomic("in/error", f"{target}.error.txt", text.encode("utf-8"))
        folder.move(f"in/{name}", f"in/error/{target}")
        log.warning("sandbox warehouse: rejected %s: %s", name, "; ".join(reasons[:3]))

    @staticmethod
    def _free_name(folder: Folder, directory: str, name: str) -> str:
        """``name``, or ``stem~2.csv``, ``stem~3.csv``… when that name is taken in ``directory``."""
        if not folder.exists(f"{directory}/{name}"):
            return name
        stem, dot, suffix = name.rpartition(".")
        for attempt in range(2, 10_000):
            candidate = f"{stem}~{attempt}.{suffix}" if dot else f"{name}~{attempt}"
            if not folder.exists(f"{directory}/{candidate}"):
                return candidate
        raise FileExistsError(f"{directory}/{name}")

    # -- shipping ----------------------------------------------------------------------------

    def _ship(self, folder: Folder, now: float, force: bool, report: TickReport) -> None:
        pending = self._state["pending"]
        due = sorted((order["received_at"], number) for number, order in pending.items()
                     if force or now >= order["received_at"] + self.ship_delay_s)
        for batch in _chunks([number for _, number in due], ORDERS_PER_SHIPMENT_FILE):
            packages = [package for number in batch
                        for package in self._pack(number, pending[number])]
            for number in batch:
                del pending[number]
                self._state["orders"][number] = SHIPPED
            report.orders_shipped += len(batch)
            if packages:
                self._state["outbox"].append({
                    "name": self._shipment_file_name(folder, now),
                    "content": _csv_bytes(SHIPMENT_COLUMNS,
                                          self._shipment_rows(packages, now)).decode("utf-8"),
                    "packages": len(packages),
                })
            # The decision (and the stock it took) is saved before the file is written; the
            # outbox entry is written on this or a later pass, exactly once.
            self._save_state()
            self._flush_outbox(folder, report)

    def _pack(self, number: str, order: dict[str, Any]) -> list[Package]:
        """Decide the packages of one order, taking units from stock.

        Every random draw happens whatever the branch, so each decision depends only on the
        seed and the order number.
        """
        rng = random.Random(f"{self.seed}:{number}")
        stock = self._state["stock"]
        shipped: list[tuple[int, str, int]] = []
        for line_number, sku, quantity in order["lines"]:
            short = rng.random() < self.short_rate
            shortened = rng.randrange(0, quantity)
            wanted = shortened if short else quantity
            on_hand = max(0, stock.get(sku, self.default_stock))
            taken = min(wanted, on_hand)
            stock[sku] = on_hand - taken
            if taken:
                shipped.append((line_number, sku, taken))
        split = rng.random() < self.split_rate
        if not shipped:
            log.info("sandbox warehouse: nothing of order %s could ship", number)
            return []
        groups = [shipped]
        if split and sum(quantity for _, _, quantity in shipped) >= 2:
            groups = _split_lines(shipped, rng)
        carrier, service = carrier_for(order["ship_method"], default_carrier=self.default_carrier,
                                       overrides=self.ship_methods)
        packages = []
        for lines in groups:
            units = sum(quantity for _, _, quantity in lines)
            weight = round(max(0.1, units * rng.uniform(0.3, 2.5)), 2)
            packages.append(Package(
                order_number=number, carrier=carrier, service=service,
                tracking_number=tracking_number(carrier, service, rng),
                shipment_id=f"SBX{self._state['next_package']:08d}",
                weight=weight, cost=round(4.5 + weight * rng.uniform(0.6, 1.4), 2),
                lines=lines))
            self._state["next_package"] += 1
        return packages

    def _shipment_rows(self, packages: list[Package], now: float) -> list[list[str]]:
        """Layout-1 rows; weight and cost on a package's first row only, so sums stay right."""
        rows = []
        for package in packages:
            for index, (line_number, sku, quantity) in enumerate(package.lines):
                first = index == 0
                rows.append([package.order_number, str(line_number), sku, str(quantity),
                             _iso(now), package.carrier, package.service,
                             package.tracking_number, package.shipment_id,
                             f"{package.weight:.2f}" if first else "",
                             f"{package.cost:.2f}" if first else ""])
        return rows

    def _shipment_file_name(self, folder: Folder, now: float) -> str:
        while True:
            number = self._state["next_file"]
            self._state["next_file"] += 1
            name = f"shp_{number:06d}_{_stamp(now)}.csv"
            if not self._written(folder, name):
                return name

    @staticmethod
    def _written(folder: Folder, name: str) -> bool:
        """True when ``name`` is in /out or the hub has already moved it on."""
        return any(folder.exists(f"{directory}/{name}")
                   for directory in ("out", "out/processed", "out/error"))

    def _flush_outbox(self, folder: Folder, report: TickReport) -> None:
        """Write every decided shipment file not yet written, then forget it."""
        outbox = self._state["outbox"]
        while outbox:
            entry = outbox[0]
            # After a crash between the rename and the state save the file is already there
            # (or the hub has moved it on): writing it again would ship twice.
            if not self._written(folder, entry["name"]):
                folder.write_atomic("out", entry["name"], entry["content"].encode("utf-8"))
                report.shipments_written += entry["packages"]
                report.shipment_files_written += 1
                log.info("sandbox warehouse: wrote %s (%d packages)", entry["name"],
                         entry["packages"])
            outbox.pop(0)
            self._save_state()

    # -- inventory ---------------------------------------------------------------------------

    def _inventory_due(self, now: float) -> bool:
        """The first pass writes one; then every ``inventory_every_s`` (0 or less: never)."""
        last = self._state["last_inventory_at"]
        if last is None:
            return True
        return self.inventory_every_s > 0 and now - last >= self.inventory_every_s

    def _write_inventory(self, folder: Folder, now: float) -> str:
        """Write ``inv_1_<stamp>.csv``: on hand, and available = on hand − waiting orders."""
        reserved: Counter[str] = Counter()
        for order in self._state["pending"].values():
            for _, sku, quantity in order["lines"]:
                reserved[sku] += quantity
        rows = [[sku, str(max(0, on_hand - reserved[sku])), str(on_hand), self.facility]
                for sku, on_hand in sorted(self._state["stock"].items())]
        name = f"inv_1_{_stamp(now)}.csv"
        attempt = 1
        while self._written(folder, name):
            attempt += 1
            name = f"inv_1_{_stamp(now)}_{attempt}.csv"
        folder.write_atomic("out", name, _csv_bytes(INVENTORY_COLUMNS, rows))
        self._state["last_inventory_at"] = now
        self._save_state()
        log.info("sandbox warehouse: wrote %s (%d SKUs)", name, len(rows))
        return name


# -- command line ------------------------------------------------------------------------------


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _stock_entry(text: str) -> tuple[str, int]:
    sku, sep, units = text.rpartition("=")
    if not sep or not sku or not units.isdigit():
        raise argparse.ArgumentTypeError("must be SKU=UNITS, e.g. TEE-RED-M=40")
    return sku, int(units)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dropstream sandbox warehouse",
        description="A warehouse robot on a DSFX folder: picks up order files, ships after a "
                    "delay, writes shipment and inventory files.")
    parser.add_argument("--root", required=True,
                        help="file:///absolute/path or sftp://user:password@127.0.0.1:port")
    parser.add_argument("--ship-delay", type=_non_negative, default=30.0,
                        help="seconds between receiving and shipping an order (default 30)")
    parser.add_argument("--split-rate", type=_rate, default=0.1,
                        help="share of orders shipped in two packages (default 0.1)")
    parser.add_argument("--short-rate", type=_rate, default=0.05,
                        help="share of lines shipped short (default 0.05)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--inventory-every", type=float, default=300.0,
                        help="seconds between inventory files; 0 writes only one (default 300)")
    parser.add_argument("--poll", type=_non_negative, default=2.0,
                        help="seconds between passes (default 2)")
    parser.add_argument("--default-stock", type=int, default=100,
                        help="units on hand of a SKU seen for the first time (default 100)")
    parser.add_argument("--reject-unknown-skus", action="store_true",
                        help="refuse orders naming a SKU not in stock (the SKUs of an earlier "
                             "inventory, or --stock); listed in /in/error/<file>.rejected.txt")
    parser.add_argument("--stock", action="append", default=[], metavar="SKU=UNITS",
                        type=_stock_entry,
                        help="units on hand of a SKU at start; repeat for several")
    parser.add_argument("--state", default=None, help="state file (default: beside a local "
                        "root, or in the data directory for SFTP)")
    return parser


def main(argv: list[str]) -> int:
    """Run the robot until Ctrl-C or SIGTERM; return 0, or 2 for an unusable root."""
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        robot = WarehouseRobot(args.root, ship_delay_s=args.ship_delay,
                               split_rate=args.split_rate, short_rate=args.short_rate,
                               seed=args.seed, default_stock=args.default_stock,
                               inventory_every_s=args.inventory_every, state_path=args.state,
                               stock=dict(args.stock) or None,
                               reject_unknown_skus=args.reject_unknown_skus)
    except ValueError as exc:
        print(f"dropstream sandbox warehouse: {exc}", file=sys.stderr)
        return 2
    directory = local_root(args.root)
    if directory is not None:
        for name in ("in", "out"):
            (directory / name).mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    print(f"sandbox warehouse on {describe_root(args.root)}: ship delay {args.ship_delay:g}s, "
          f"split {args.split_rate:g}, short {args.short_rate:g}, seed {args.seed}; "
          "Ctrl-C to stop", flush=True)
    try:
        robot.run_forever(poll_s=args.poll, stop_event=stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        robot.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("sandbox warehouse stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
