"""The simulated X12 3PL warehouse: reads 940s, answers 997s, ships with 945s, reports with 846s.

specs/x12-warehouse.md §8 is its requirements list. Each pass (``tick``) it:

1. writes every outgoing file that is due (997s after ``ack_delay_s``, bursts, …);
2. reads the hub's 997s in ``/in/997_*`` and records which 945/846 group each answers (§8 row 9);
3. reads each ``/in/940_*`` interchange with its own reader (delimiters from the ISA, §1.2),
   checks the envelope and every 940 (§5.2 codes, §8 rows 2, 4, 11), handles re-used control
   numbers per profile (§8 row 3), records the accepted orders, queues the 997 (§8 row 5),
   and moves the file to ``/in/processed/`` (or ``/in/error/`` with ``<name>.error.txt`` when
   nothing in it was accepted);
4. marks orders picked after ``pick_delay_s`` (a ``W05*F`` after that is too late, §8 row 7);
5. ships orders received ``ship_delay_s`` ago, and back-orders due again, deciding each line
   from the seed (CC/CP/BP/IC, one or two packages, §8 row 6); never more than its stock;
6. writes a full 846 snapshot every ``inventory_every_s`` (§8 row 8);
7. flags 945/846 groups whose 997 is overdue, and resends them with new control numbers when
   the profile says so (§8 row 9).

Outgoing files are named by ``file_name_pattern`` (default ``<type>_<ISA13>_<YYYYMMDDHHMMSS>.edi``
in ``/out``), written under ``.name.part`` and renamed unless a fault says otherwise (§6).

State (orders, stock, control numbers, files decided but not written, what was sent and how it
was acknowledged) lives in a JSON file written atomically before each side effect, so a restart
never ships twice and never writes a decided file twice. Everything is reproducible from the
seed, the injected clock and the profile (§8 row 13).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paramiko

from dropstream.sandbox.edi.acks import GroupVerdict, ack_body, check_group, read_ack
from dropstream.sandbox.edi.documents import (
    InventoryItem,
    Package,
    Shipment,
    ShippedLine,
    build_846,
    build_945,
)
from dropstream.sandbox.edi.mailbox import Mailbox, open_mailbox
from dropstream.sandbox.edi.orders940 import ShippingOrder, check_940, read_940
from dropstream.sandbox.edi.profile import PartnerProfile
from dropstream.sandbox.edi.x12 import (
    Interchange,
    OutgoingSet,
    Segment,
    X12Error,
    envelope,
    parse,
    render,
)
from dropstream.sandbox.warehouse.carriers import tracking_number
from dropstream.sandbox.warehouse.folder import (
    check_root,
    describe_root,
    is_safe_name,
    local_root,
)

log = logging.getLogger("dropstream.sandbox.edi")

STATE_VERSION = 1
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, paramiko.SSHException)
FUNCTIONAL_IDS = {"940": "OW", "945": "SW", "846": "IB", "997": "FA"}
OPEN_STATUSES = ("open", "picked", "backordered")
FAULTS = ("damaged_945", "wrong_ctt", "half_written", "direct_write", "out_of_order_846")
GARBAGE = ("not_edi", "empty", "bom", "crlf", "lowercase")
ENVELOPE_TAGS = ("ISA", "GS", "ST", "SE", "GE", "IEA")
SCAC_CARRIERS = {"UPSN": "UPS", "UPSS": "UPS", "UPGF": "UPS", "FDEG": "FedEx", "FDE": "FedEx",
                 "FDEN": "FedEx", "FXFE": "FedEx", "USPS": "USPS", "CNPR": "Canada Post",
                 "DHLC": "DHL", "PRLA": "Purolator"}


@dataclass
class TickReport:
    """What one pass did; ``*_written`` count files that reached the mailbox."""

    files_received: int = 0
    orders_received: int = 0
    sets_rejected: int = 0
    files_rejected: int = 0
    acks_received: int = 0
    acks_written: int = 0
    shipments_written: int = 0
    inventory_written: int = 0
    other_written: int = 0
    errors: int = 0


@dataclass(frozen=True)
class ReceivedOrder:
    """One receipt of a 940 order (a duplicate 940 is a second receipt of the same number)."""

    id: str
    order_number: str
    status: str  # open, picked, backordered, shipped, canceled, rejected
    lines: tuple[tuple[str, str, int], ...]  # (line ref, SKU, quantity ordered)
    received_at: float
    file: str
    isa13: str
    gs06: str
    st02: str


@dataclass(frozen=True)
class SentFile:
    """A 945/846 interchange it sent and what the hub's 997 said about it."""

    file: str
    doc: str
    isa13: int
    gs06: int
    keys: tuple[str, ...]  # W0602 or BIA03 of each set
    sent_at: float | None
    ack: str | None  # AK901 of the hub's 997, None while missing
    ack_at: float | None
    set_acks: dict[str, str]
    late: bool
    overdue: bool
    resent_as: int | None
    resend_of: int | None


@dataclass
class LinePlan:
    want: int
    backorder: bool = False
    cancel: bool = False


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H%M%S")


def _moment(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def _segments_to_json(body: Iterable[Segment]) -> list[list[str]]:
    return [[seg.tag, *seg.elements] for seg in body]


def _segments_from_json(rows: Iterable[list[str]]) -> list[Segment]:
    return [Segment(row[0], tuple(row[1:])) for row in rows]


def _lowercase_body(segments: list[Segment]) -> list[Segment]:
    """Garbage: segment ids inside the transaction sets in lower case; the envelope intact."""
    return [seg if seg.tag in ENVELOPE_TAGS else Segment(seg.tag.lower(), seg.elements)
            for seg in segments]


def _split_units(items: list[tuple[str, int]], count: int) -> list[list[list[Any]]]:
    """Cut shipped units into ``count`` boxes as evenly as possible, lines kept in order."""
    units = [ref for ref, quantity in items for _ in range(quantity)]
    count = max(1, min(count, len(units)))
    size, extra = divmod(len(units), count)
    boxes, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        counts = Counter(units[start:end])
        boxes.append([[ref, counts[ref]] for ref in dict.fromkeys(units[start:end])])
        start = end
    return boxes


class EdiWarehouseRobot:
    """A simulated X12 3PL on ``root`` (``file:///abs/path`` or ``sftp://u:pw@127.0.0.1:port``).

    ``stock`` seeds the units on hand of a fresh state (its SKUs are the catalog for the
    profile's ``unknown_sku`` choice); ``seed`` drives control numbers and every shipping
    decision; ``clock`` returns epoch seconds. Raises ValueError for an unusable root or state.
    """

    def __init__(self, root: str, profile: PartnerProfile | None = None, *, seed: int = 1,
                 stock: Mapping[str, int] | None = None, default_stock: int = 100,
                 state_path: str | Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        root = str(root)
        check_root(root)
        self.root = root
        self.profile = profile or PartnerProfile()
        self.seed = seed
        self.default_stock = default_stock
        self._clock = clock
        self._lock = threading.RLock()
        self._mailbox: Mailbox | None = None
        self.state_path = Path(state_path) if state_path else self._default_state_path(root)
        self._state = self._load_state(dict(stock or {}))

    # -- state -------------------------------------------------------------------------------

    @staticmethod
    def _default_state_path(root: str) -> Path:
        directory = local_root(root)
        if directory is not None:
            return directory / ".sandbox-edi-state.json"
        from dropstream.config import data_home

        digest = hashlib.sha256(describe_root(root).encode()).hexdigest()[:12]
        return data_home() / f"sandbox-edi-{digest}.json"

    def _first_numbers(self) -> tuple[int, int]:
        rng = random.Random(f"{self.seed}:control-numbers")
        isa13, gs06 = rng.randrange(1000, 100_000), rng.randrange(1000, 100_000)
        return (self.profile.first_interchange_number or isa13,
                self.profile.first_group_number or gs06)

    def _load_state(self, stock: dict[str, int]) -> dict[str, Any]:
        isa13, gs06 = self._first_numbers()
        fresh: dict[str, Any] = {
            "version": STATE_VERSION, "next_isa13": isa13, "next_gs06": gs06, "next_order": 1,
            "next_shipment": 1, "next_report": 1, "stock": stock, "catalog": {}, "orders": {},
            "inbound": [], "seen_interchanges": [], "seen_groups": [], "handled_files": {},
            "cancels": [], "rejections": [], "notes": [], "outbox": [], "sent": [],
            "unmatched_acks": [], "armed": [], "held_846": [], "last_inventory_at": None}
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return fresh
        try:
            saved = json.loads(text)
        except ValueError:
            raise ValueError(f"the EDI robot's state file {self.state_path} is not valid JSON; "
                             "delete it to start over (orders may then ship again)") from None
        if not isinstance(saved, dict) or saved.get("version") != STATE_VERSION:
            raise ValueError(f"the EDI robot's state file {self.state_path} has an unknown "
                             "layout; delete it to start over")
        return {**fresh, **saved}

    def _save_state(self) -> None:
        """Atomic: a crash leaves the old file or the new one."""
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps(self._state, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.state_path)

    # -- queries -----------------------------------------------------------------------------

    @property
    def stock(self) -> dict[str, int]:
        """Units on hand per SKU (a copy); shipping takes from it."""
        with self._lock:
            return dict(self._state["stock"])

    def orders(self, order_number: str | None = None) -> list[ReceivedOrder]:
        """Every order receipt, oldest first; only those for ``order_number`` when given."""
        with self._lock:
            return [self._order_view(order) for order in self._state["orders"].values()
                    if order_number is None or order["number"] == order_number]

    def received(self, order_number: str) -> list[ReceivedOrder]:
        """The receipts of one W0502 (more than one means the hub sent it twice)."""
        return self.orders(order_number)

    def receipt_counts(self) -> dict[str, int]:
        """W0502 → how many times an order with that number was received."""
        with self._lock:
            return dict(Counter(order["number"] for order in self._state["orders"].values()))

    def inbound_sets(self) -> list[dict[str, Any]]:
        """Every 940 set read: file, sender, isa13, gs06, st02, order_number, ak5 code."""
        with self._lock:
            return [dict(entry) for entry in self._state["inbound"]]

    def cancels(self) -> list[dict[str, Any]]:
        """Every W05 cancel read: order_number, result (canceled / too_late / unknown)."""
        with self._lock:
            return [dict(entry) for entry in self._state["cancels"]]

    def rejections(self) -> list[dict[str, Any]]:
        """Orders refused out of band (accepted by the 997, never shipped): number, reason."""
        with self._lock:
            return [dict(entry) for entry in self._state["rejections"]]

    def notes(self) -> list[dict[str, Any]]:
        """Files it set aside: unreadable, not addressed to it, duplicates ignored, …"""
        with self._lock:
            return [dict(entry) for entry in self._state["notes"]]

    def sent_files(self) -> list[SentFile]:
        """Every 945/846 interchange decided, with its 997 status."""
        with self._lock:
            return [self._sent_view(record) for record in self._state["sent"]]

    def unacknowledged(self) -> list[SentFile]:
        """Written files the hub has not acknowledged yet."""
        return [item for item in self.sent_files() if item.sent_at is not None and item.ack is None]

    def unmatched_acks(self) -> list[dict[str, Any]]:
        """997s from the hub that answer no group it sent."""
        with self._lock:
            return [dict(entry) for entry in self._state["unmatched_acks"]]

    def shipments(self, order_number: str) -> list[Shipment]:
        """The 945s decided for ``order_number``, in order."""
        with self._lock:
            return [Shipment.from_dict(item) for order in self._state["orders"].values()
                    if order["number"] == order_number for item in order["shipments"]]

    @staticmethod
    def _order_view(order: dict[str, Any]) -> ReceivedOrder:
        return ReceivedOrder(
            id=order["id"], order_number=order["number"], status=order["status"],
            lines=tuple((line["ref"], line["sku"], line["quantity"]) for line in order["lines"]),
            received_at=order["received_at"], file=order["file"], isa13=order["isa13"],
            gs06=order["gs06"], st02=order["st02"])

    @staticmethod
    def _sent_view(record: dict[str, Any]) -> SentFile:
        return SentFile(
            file=record["file"], doc=record["doc"], isa13=record["isa13"], gs06=record["gs06"],
            keys=tuple(record["keys"]), sent_at=record["sent_at"], ack=record["ack"],
            ack_at=record["ack_at"], set_acks=dict(record["set_acks"]), late=record["late"],
            overdue=record["overdue"], resent_as=record["resent_as"],
            resend_of=record["resend_of"])

    # -- the mailbox -------------------------------------------------------------------------

    def _open(self) -> Mailbox:
        if self._mailbox is None:
            mailbox = open_mailbox(self.root)
            try:
                for directory in ("in", "out", "in/processed", "in/error"):
                    mailbox.ensure_dir(directory)
            except BaseException:
                mailbox.close()
                raise
            self._mailbox = mailbox
        return self._mailbox

    def close(self) -> None:
        """Drop the connection (the next pass reconnects)."""
        with self._lock:
            mailbox, self._mailbox = self._mailbox, None
            if mailbox is not None:
                try:
                    mailbox.close()
                except TRANSPORT_ERRORS:
                    log.debug("sandbox EDI warehouse: closing failed", exc_info=True)

    # -- passes ------------------------------------------------------------------------------

    def tick(self) -> TickReport:
        """One pass (see the module docstring); folder failures are counted, never raised."""
        return self._pass(force_ship=False)

    def ship_all_now(self) -> TickReport:
        """A pass that ships every open order and back-order now, whatever the delays."""
        return self._pass(force_ship=True)

    def _pass(self, *, force_ship: bool) -> TickReport:
        with self._lock:
            report = TickReport()
            now = self._clock()
            try:
                mailbox = self._open()
                self._flush(mailbox, now, report)
                self._receive(mailbox, now, report)
                self._pick_due(now)
                self._ship_due(now, force=force_ship)
                if not force_ship and self._inventory_due(now):
                    self._queue_inventory(now)
                self._check_acks(now)
                self._resend_due(now)
                self._flush(mailbox, now, report)
            except TRANSPORT_ERRORS as exc:
                report.errors += 1
                log.warning("sandbox EDI warehouse: %s failed (%s: %s); trying again next pass",
                            describe_root(self.root), type(exc).__name__, exc)
                self.close()
            return report

    def flush(self) -> TickReport:
        """Write what is due without reading anything; raises OSError when the folder fails."""
        with self._lock:
            report = TickReport()
            try:
                self._flush(self._open(), self._clock(), report)
            except TRANSPORT_ERRORS:
                self.close()
                raise
            return report

    def _try_flush(self) -> None:
        try:
            self.flush()
        except TRANSPORT_ERRORS as exc:
            log.warning("sandbox EDI warehouse: writing failed (%s); the file waits for the "
                        "next pass", exc)

    def run_forever(self, poll_s: float = 2.0, stop_event: threading.Event | None = None) -> None:
        """Pass every ``poll_s`` seconds until ``stop_event`` is set."""
        stop = stop_event or threading.Event()
        log.info("sandbox EDI warehouse: watching %s", describe_root(self.root))
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 — the robot keeps running; the log says why
                    log.exception("sandbox EDI warehouse: unexpected error in a pass")
                stop.wait(poll_s)
        finally:
            self.close()

    def start_thread(self, poll_s: float = 2.0) -> Callable[[], None]:
        """Run ``run_forever`` in a daemon thread; return ``stop()``, which ends and joins it."""
        event = threading.Event()
        thread = threading.Thread(target=self.run_forever, args=(poll_s, event), daemon=True,
                                  name="sandbox-edi-warehouse")
        thread.start()

        def stop() -> None:
            event.set()
            thread.join(timeout=max(30.0, poll_s * 2))

        return stop

    # -- outgoing files ----------------------------------------------------------------------

    def _take_number(self, key: str) -> int:
        number = self._state[key]
        self._state[key] = number + 1
        return number

    def _file_name(self, doc: str, isa13: int, gs06: int, now: float) -> str:
        return self.profile.file_name_pattern.format(type=doc, isa13=f"{isa13:09d}", gs06=gs06,
                                                     stamp=_stamp(now))

    def _arm_taken(self, kind: str, doc: str) -> bool:
        """Consume an armed one-shot fault of ``kind`` that applies to ``doc``."""
        for index, fault in enumerate(self._state["armed"]):
            if fault["kind"] == kind and fault["doc"] in (None, doc):
                del self._state["armed"][index]
                return True
        return False

    def _not_before(self, now: float, delay: float) -> float:
        due = now + max(0.0, delay)
        period = self.profile.burst_every_s
        if period > 0:
            due = math.ceil(due / period) * period
        return due

    def _interchange(self, doc: str, sets: list[OutgoingSet], now: float, *,
                     garbage: str = "") -> tuple[str, str, int, int]:
        """Envelope and render ``sets``: (file name, text, ISA13, GS06); takes new numbers."""
        profile = self.profile
        isa13, gs06 = self._take_number("next_isa13"), self._take_number("next_gs06")
        delimiters = profile.delimiters()
        if garbage == "crlf":
            delimiters = type(delimiters)(delimiters.element, delimiters.component,
                                          delimiters.segment if delimiters.segment not in "\r\n"
                                          else "~", "\r\n")
        segments = envelope(FUNCTIONAL_IDS[doc], sets, parties=profile.parties(),
                            when=_moment(now), isa13=isa13, gs06=gs06, delimiters=delimiters)
        if garbage == "lowercase":
            segments = _lowercase_body(segments)
        text = render(segments, delimiters)
        if garbage == "bom":
            text = "\ufeff" + text
        return self._file_name(doc, isa13, gs06, now), text, isa13, gs06

    def _queue(self, doc: str, name: str, text: str, now: float, *, delay: float = 0.0,
               gs06: int | None = None, hold: bool = False) -> None:
        """Add a decided file to the outbox (or hold it back); the caller saves the state."""
        mode = "direct" if self.profile.write_mode == "direct" else "atomic"
        if self._arm_taken("half_written", doc):
            mode = "partial"
        elif self._arm_taken("direct_write", doc):
            mode = "direct"
        entry = {"doc": doc, "name": name, "content": text, "mode": mode, "gs06": gs06,
                 "not_before": self._not_before(now, delay)}
        if hold:
            self._state["held_846"].append(entry)
        else:
            self._state["outbox"].append(entry)

    def _record(self, doc: str, name: str, isa13: int, gs06: int, sets: list[OutgoingSet],
                keys: list[str], now: float, *, resend_of: int | None = None,
                generation: int = 0) -> None:
        """Remember a 945/846 group sent, to match the hub's 997 and to resend it."""
        self._state["sent"].append({
            "file": name, "doc": doc, "functional_id": FUNCTIONAL_IDS[doc], "isa13": isa13,
            "gs06": gs06, "keys": keys, "decided_at": now, "sent_at": None, "ack": None,
            "ack_at": None, "ack_file": None, "set_acks": {}, "late": False, "overdue": False,
            "resent_as": None, "resend_of": resend_of, "generation": generation,
            "sets": [{"set_id": item.set_id, "body": _segments_to_json(item.body)}
                     for item in sets]})

    @staticmethod
    def _written(mailbox: Mailbox, entry: dict[str, Any]) -> bool:
        """True when the file is already there (or the hub has moved it on)."""
        name = entry["name"]
        if entry["mode"] == "partial":
            return mailbox.exists(f"out/.{name}.part")
        return any(mailbox.exists(f"{directory}/{name}")
                   for directory in ("out", "out/processed", "out/error"))

    def _flush(self, mailbox: Mailbox, now: float, report: TickReport) -> None:
        """Write every due outbox entry, in order, each once; then forget it."""
        outbox = self._state["outbox"]
        index = 0
        while index < len(outbox):
            entry = outbox[index]
            if entry["not_before"] > now:
                index += 1
                continue
            if not self._written(mailbox, entry):
                self._write(mailbox, entry)
                self._count(entry["doc"], report)
                log.info("sandbox EDI warehouse: wrote out/%s", entry["name"])
            for record in self._state["sent"]:
                if record["gs06"] == entry["gs06"] and record["sent_at"] is None:
                    record["sent_at"] = now
            del outbox[index]
            self._save_state()

    @staticmethod
    def _write(mailbox: Mailbox, entry: dict[str, Any]) -> None:
        data = entry["content"].encode("utf-8")
        if entry["mode"] == "partial":
            mailbox.write_partial("out", entry["name"], data[:max(1, len(data) // 2)])
        elif entry["mode"] == "direct":
            mailbox.write_direct("out", entry["name"], data)
        else:
            mailbox.write_atomic("out", entry["name"], data)

    @staticmethod
    def _count(doc: str, report: TickReport) -> None:
        if doc == "997":
            report.acks_written += 1
        elif doc == "945":
            report.shipments_written += 1
        elif doc == "846":
            report.inventory_written += 1
        else:
            report.other_written += 1

    # -- receiving ---------------------------------------------------------------------------

    def _receive(self, mailbox: Mailbox, now: float, report: TickReport) -> None:
        for name in sorted(mailbox.list_files("in")):
            if name.startswith(".") or not is_safe_name(name):
                continue
            if name.startswith("997_"):
                self._receive_file(mailbox, name, now, report, self._take_997_file)
            elif name.startswith("940_"):
                report.files_received += 1
                self._receive_file(mailbox, name, now, report, self._take_940_file)

    def _receive_file(self, mailbox: Mailbox, name: str, now: float, report: TickReport,
                      take: Callable[[Interchange, str, float, TickReport],
                                     tuple[bool, list[str], list[str]]]) -> None:
        """Read, decide, save, then write notes and move the file (a restart only moves it)."""
        try:
            data = mailbox.read(f"in/{name}")
        except FileNotFoundError:
            return
        digest = hashlib.sha256(data).hexdigest()
        handled = self._state["handled_files"].get(name)
        if handled is None or handled["sha256"] != digest:
            try:
                good, reasons, refused = take(parse(data), name, now, report)
            except X12Error as exc:
                good, reasons, refused = False, [str(exc)], []
            except Exception as exc:  # noqa: BLE001 — a reader bug must not stop the robot
                log.exception("sandbox EDI warehouse: could not read %s", name)
                good, reasons, refused = False, [f"{type(exc).__name__}: {exc}"], []
            if not good:
                report.files_rejected += 1
                self._state["notes"].append({"file": name, "at": now, "reasons": reasons})
            handled = {"sha256": digest, "good": good, "reasons": reasons, "refused": refused}
            self._state["handled_files"][name] = handled
            self._save_state()
        self._finish_file(mailbox, name, handled)

    def _finish_file(self, mailbox: Mailbox, name: str, handled: dict[str, Any]) -> None:
        directory = "in/processed" if handled["good"] else "in/error"
        target = self._free_name(mailbox, directory, name)
        if not handled["good"]:
            text = f"{name} was rejected by the sandbox EDI warehouse:\n" + "".join(
                f"{reason}\n" for reason in handled["reasons"])
            mailbox.write_atomic("in/error", f"{target}.error.txt", text.encode("utf-8"))
        if handled["refused"]:
            mailbox.write_atomic("in/error", f"{target}.rejected.txt",
                                 "".join(handled["refused"]).encode("utf-8"))
        mailbox.move(f"in/{name}", f"{directory}/{target}")

    @staticmethod
    def _free_name(mailbox: Mailbox, directory: str, name: str) -> str:
        if not mailbox.exists(f"{directory}/{name}"):
            return name
        stem, dot, suffix = name.rpartition(".")
        for attempt in range(2, 10_000):
            candidate = f"{stem}~{attempt}.{suffix}" if dot else f"{name}~{attempt}"
            if not mailbox.exists(f"{directory}/{candidate}"):
                return candidate
        raise FileExistsError(f"{directory}/{name}")

    # -- 940s --------------------------------------------------------------------------------

    def _take_940_file(self, interchange: Interchange, name: str, now: float,
                       report: TickReport) -> tuple[bool, list[str], list[str]]:
        """Check and take one 940 interchange; (any set accepted, reasons, refused lines)."""
        profile = self.profile
        if profile.check_receiver and interchange.receiver != profile.warehouse_id:
            return False, [f"ISA08 {interchange.receiver!r} is not this warehouse "
                           f"({profile.warehouse_id}); no 997 sent"], []
        duplicate = self._remember_control_numbers(interchange)
        if duplicate and profile.duplicates == "ignore":
            self._state["notes"].append({"file": name, "at": now, "reasons": [
                f"duplicate control numbers {duplicate}: ignored"]})
            return True, [], []
        verdicts = [check_group(group, expected_functional_id="OW", expected_set="940",
                                version=profile.version,
                                content_check=lambda ts: check_940(ts, profile))
                    for group in interchange.groups]
        reasons = list(interchange.problems)
        if interchange.problems:  # IEA faults: a TA1 matter, only logged (§8 row 2)
            log.warning("sandbox EDI warehouse: %s: %s", name, "; ".join(interchange.problems))
        if interchange.usage != profile.usage:
            reasons.append(f"ISA15 {interchange.usage!r}, this partner expects "
                           f"{profile.usage!r}")
            for verdict in verdicts:
                verdict.reject_all("1")
        if duplicate and profile.duplicates == "reject":
            reasons.append(f"duplicate control numbers {duplicate}: rejected")
            for verdict in verdicts:
                verdict.reject_all()
        refused: list[str] = []
        accepted = 0
        for group, verdict in zip(interchange.groups, verdicts, strict=True):
            for set_verdict in verdict.sets:
                ts = set_verdict.transaction_set
                number = next((seg.get(2) for seg in ts.body if seg.tag == "W05"), "") \
                    if ts is not None else ""
                self._state["inbound"].append({
                    "file": name, "sender": interchange.sender, "isa13": interchange.control,
                    "gs06": group.control, "st02": set_verdict.control, "order_number": number,
                    "ak5": set_verdict.code, "at": now})
                if not set_verdict.accepted or ts is None:
                    report.sets_rejected += 1
                    reasons.append(f"group {group.control} set {set_verdict.control}: AK5 "
                                   f"{set_verdict.code} {' '.join(set_verdict.set_errors)}")
                    continue
                accepted += 1
                context = {"file": name, "isa13": interchange.control, "gs06": group.control,
                           "st02": set_verdict.control}
                refused += self._take_order(read_940(ts), context, now, report)
        self._queue_acks(verdicts, now)
        return accepted > 0 or not verdicts, reasons, refused

    def _remember_control_numbers(self, interchange: Interchange) -> str:
        """Record ISA13 and each GS06 per sender; return what was re-used ("" when nothing)."""
        reused = []
        key = [interchange.sender, interchange.control]
        if key in self._state["seen_interchanges"]:
            reused.append(f"ISA13 {interchange.control}")
        else:
            self._state["seen_interchanges"].append(key)
        for group in interchange.groups:
            group_key = [group.gs.get(2), group.control]
            if group_key in self._state["seen_groups"]:
                reused.append(f"GS06 {group.control}")
            else:
                self._state["seen_groups"].append(group_key)
        return ", ".join(reused)

    def _queue_acks(self, verdicts: list[GroupVerdict], now: float) -> None:
        """One 997 interchange answering every group (one 997 set per group), per ack_mode."""
        if not verdicts or self.profile.ack_mode == "never":
            return
        copies = 2 if self.profile.ack_mode == "twice" else 1
        for _ in range(copies):
            sets = [OutgoingSet("997", ack_body(verdict)) for verdict in verdicts]
            name, text, _, _ = self._interchange("997", sets, now)
            self._queue("997", name, text, now, delay=self.profile.ack_delay_s)

    def _take_order(self, order: ShippingOrder, context: dict[str, str], now: float,
                    report: TickReport) -> list[str]:
        """Record an accepted 940 (order or cancel); return the out-of-band refusal lines."""
        if order.status_code in self.profile.cancel_codes:
            self._cancel(order.order_number, context, now)
            return []
        stock, catalog = self._state["stock"], self._state["catalog"]
        reason = ""
        if self.profile.refuse_known_order_numbers and any(
                item["number"] == order.order_number and item["status"] != "rejected"
                for item in self._state["orders"].values()):
            reason = "order number already received"
        unknown = [line for line in order.lines if line.sku not in stock]
        if unknown and self.profile.unknown_sku == "reject_order" and not reason:
            reason = "; ".join(f"unknown SKU {line.sku} on line {line.ref}" for line in unknown)
        order_id = f"{self._take_number('next_order'):06d}"
        lines = []
        for line in order.lines:
            is_unknown = line in unknown
            if is_unknown and self.profile.unknown_sku == "accept":
                stock.setdefault(line.sku, self.default_stock)
                is_unknown = False
            upc = line.upc or (line.second_id if line.second_qualifier == "UP" else "")
            entry = catalog.setdefault(line.sku, {"upc": "", "description": ""})
            entry["upc"] = entry["upc"] or upc
            entry["description"] = entry["description"] or line.description
            lines.append({"lx": line.lx, "ref": line.ref, "quantity": line.quantity,
                          "open": line.quantity, "unit": line.unit, "upc": line.upc,
                          "qualifier": line.qualifier, "product_id": line.product_id,
                          "sku": line.sku, "unknown": is_unknown})
        ship_to = order.ship_to
        self._state["orders"][order_id] = {
            "id": order_id, "number": order.order_number, "po": order.po_number,
            "status": "rejected" if reason else "open", "received_at": now, "picked_at": None,
            "backorder_due_at": None, **context,
            "ship_to": {"name": ship_to.name, "address": ship_to.address, "city": ship_to.city,
                        "state": ship_to.state, "postal_code": ship_to.postal_code,
                        "country": ship_to.country},
            "carrier": {"method": order.method or self.profile.default_method,
                        "scac": order.scac or self.profile.default_scac,
                        "routing": order.routing or self.profile.default_routing,
                        "payment": order.payment or "PP"},
            "references": [list(item) for item in order.references],
            "lines": lines, "shipments": []}
        report.orders_received += 1
        if reason:
            self._state["rejections"].append({"order_number": order.order_number,
                                              "order_id": order_id, "reason": reason,
                                              "at": now, **context})
            log.warning("sandbox EDI warehouse: refused order %s: %s", order.order_number,
                        reason)
            return [f"{order.order_number}\t{reason}\n"]
        return []

    def _cancel(self, number: str, context: dict[str, str], now: float) -> None:
        """W05 cancel (§8 row 7): honoured for orders not picked yet, else shipped anyway."""
        matches = [order for order in self._state["orders"].values()
                   if order["number"] == number and order["status"] in OPEN_STATUSES]
        result = "unknown" if not matches else "too_late"
        for order in matches:
            if not self.profile.honour_cancel or self._is_picked(order, now):
                continue
            result = "canceled"
            if self.profile.cancel_answer == "945":
                plan = {line["ref"]: LinePlan(0, cancel=True) for line in order["lines"]}
                self._queue_945([self._decide(order, plan, 1, now)], now)
            else:
                for line in order["lines"]:
                    line["open"] = 0
            order["status"] = "canceled"
        self._state["cancels"].append({"order_number": number, "result": result, "at": now,
                                       **context})
        log.info("sandbox EDI warehouse: cancel of %s: %s", number, result)

    # -- hub 997s ----------------------------------------------------------------------------

    def _take_997_file(self, interchange: Interchange, name: str, now: float,
                       report: TickReport) -> tuple[bool, list[str], list[str]]:
        reasons = list(interchange.problems)
        taken = 0
        for group in interchange.groups:
            for ts in group.sets:
                ack = read_ack(ts) if ts.set_id == "997" else None
                if ack is None:
                    reasons.append(f"set {ts.control} is not a readable 997")
                    continue
                taken += 1
                report.acks_received += 1
                self._match_ack(ack.functional_id, ack.group_control, ack.code, ack.set_codes,
                                name, now)
        return taken > 0, reasons, []

    def _match_ack(self, functional_id: str, control: str, code: str,
                   set_codes: dict[str, str], name: str, now: float) -> None:
        record = next((item for item in self._state["sent"]
                       if item["functional_id"] == functional_id and control.isdigit()
                       and item["gs06"] == int(control)), None)
        if record is None:
            self._state["unmatched_acks"].append({"file": name, "functional_id": functional_id,
                                                  "group_control": control, "code": code,
                                                  "at": now})
            log.warning("sandbox EDI warehouse: %s answers group %s %s, which it never sent",
                        name, functional_id, control)
            return
        if record["ack"] is not None:
            log.info("sandbox EDI warehouse: a second 997 for group %s (%s)", control, name)
            return
        sent_at = record["sent_at"] if record["sent_at"] is not None else now
        record.update(ack=code, ack_at=now, ack_file=name, set_acks=set_codes,
                      late=now - sent_at > self.profile.ack_expected_within_s)
        if code not in ("A", "E"):
            log.warning("sandbox EDI warehouse: the hub answered %s with 997 %s",
                        record["file"], code)

    def _check_acks(self, now: float) -> None:
        within = self.profile.ack_expected_within_s
        for record in self._state["sent"]:
            if record["sent_at"] is None or record["ack"] is not None or record["overdue"]:
                continue
            if now - record["sent_at"] > within:
                record["overdue"] = True
                log.warning("sandbox EDI warehouse: no 997 for %s after %.0fs", record["file"],
                            within)
                self._save_state()

    def _resend_due(self, now: float) -> None:
        """Resend unacknowledged groups with new ISA13/GS06 (same W0602/BIA03, §8 row 9)."""
        after = self.profile.resend_after_s
        if after is None:
            return
        for record in list(self._state["sent"]):
            if (record["sent_at"] is None or record["ack"] is not None
                    or record["resent_as"] is not None
                    or record["generation"] >= self.profile.max_resends
                    or now - record["sent_at"] < after):
                continue
            sets = [OutgoingSet(item["set_id"], _segments_from_json(item["body"]))
                    for item in record["sets"]]
            name, text, isa13, gs06 = self._interchange(record["doc"], sets, now)
            self._record(record["doc"], name, isa13, gs06, sets, list(record["keys"]), now,
                         resend_of=record["gs06"], generation=record["generation"] + 1)
            record["resent_as"] = gs06
            self._queue(record["doc"], name, text, now, gs06=gs06)
            log.info("sandbox EDI warehouse: resending %s as %s", record["file"], name)
            self._save_state()

    # -- shipping ----------------------------------------------------------------------------

    def _is_picked(self, order: dict[str, Any], now: float) -> bool:
        return (order["picked_at"] is not None or order["status"] != "open"
                or now >= order["received_at"] + self.profile.pick_delay_s)

    def _pick_due(self, now: float) -> None:
        for order in self._state["orders"].values():
            if order["status"] == "open" and self._is_picked(order, now):
                order["status"], order["picked_at"] = "picked", now

    def _rng(self, order: dict[str, Any], purpose: str) -> random.Random:
        """Draws that depend only on the seed, the order and how often it shipped before."""
        return random.Random(f"{self.seed}:{order['number']}:{order['id']}:"
                             f"{len(order['shipments'])}:{purpose}")

    def _auto_plan(self, order: dict[str, Any], rng: random.Random) -> tuple[dict[str, LinePlan],
                                                                          int]:
        """Seeded line decisions (CC/CP/BP/IC) and package count; every draw always happens."""
        profile = self.profile
        backorder_short = profile.short_stock == "backorder"
        plan = {}
        for line in order["lines"]:
            draw, cut = rng.random(), rng.random()
            open_qty = line["open"]
            short = 1 + int(cut * (open_qty - 1)) if open_qty >= 2 else open_qty
            if order["status"] == "backordered":
                plan[line["ref"]] = LinePlan(open_qty, backorder=backorder_short)
            elif draw < profile.cancel_line_rate:
                plan[line["ref"]] = LinePlan(0, cancel=True)
            elif draw < profile.cancel_line_rate + profile.partial_rate and open_qty >= 2:
                plan[line["ref"]] = LinePlan(short)
            elif (draw < profile.cancel_line_rate + profile.partial_rate
                  + profile.backorder_rate and open_qty >= 2):
                plan[line["ref"]] = LinePlan(short, backorder=True)
            else:
                plan[line["ref"]] = LinePlan(open_qty, backorder=backorder_short)
        packages = 2 if rng.random() < profile.split_rate else 1
        return plan, packages

    def _decide(self, order: dict[str, Any], plan: Mapping[str, LinePlan], packages: int,
                now: float) -> Shipment:
        """Take stock, update the order, return its next shipment (a 945); nothing written."""
        rng = self._rng(order, "packages")
        stock = self._state["stock"]
        lines, shipped_items = [], []
        for line in order["lines"]:
            if line["open"] <= 0:
                continue
            open_qty = line["open"]
            line_plan = plan.get(line["ref"], LinePlan(open_qty))
            taken = 0
            if line.get("unknown") or line_plan.cancel:
                status = "IC"
            else:
                on_hand = max(0, stock.get(line["sku"], 0))
                taken = min(max(0, line_plan.want), open_qty, on_hand)
                stock[line["sku"]] = on_hand - taken
                status = ("CC" if taken == open_qty else "BP" if line_plan.backorder
                          else "CP" if taken else "IC")
            line["open"] = open_qty - taken if status == "BP" else 0
            lines.append(ShippedLine(line["ref"], line["lx"], status, open_qty, taken,
                                     line["unit"], line["upc"], line["qualifier"],
                                     line["product_id"]))
            if taken:
                shipped_items.append((line["ref"], taken))
        carrier = order["carrier"]
        name = SCAC_CARRIERS.get(carrier["scac"], "other")
        service = carrier["routing"].removeprefix(name).strip() or "Ground"
        boxes = _split_units(shipped_items, packages) if shipped_items else []
        number = self._take_number("next_shipment")
        shipment = Shipment(
            order_number=order["number"], po_number=order["po"],
            shipment_id=f"WMS-{number:06d}", bol=f"BOL-{number:06d}",
            ship_date=_moment(now).strftime("%Y%m%d"), ship_to=order["ship_to"],
            method=carrier["method"], scac=carrier["scac"], routing=carrier["routing"],
            payment=carrier["payment"], lines=lines,
            packages=[Package(tracking_number(name, service, rng),
                              round(max(0.1, sum(units for _, units in box)
                                        * rng.uniform(0.3, 2.5)), 1), box)
                      for box in boxes])
        order["shipments"].append(shipment.to_dict())
        order["picked_at"] = order["picked_at"] or now
        if any(line["open"] > 0 for line in order["lines"]):
            order["status"] = "backordered"
            delay = self.profile.backorder_delay_s
            order["backorder_due_at"] = None if delay is None else now + delay
        else:
            order["status"], order["backorder_due_at"] = "shipped", None
        return shipment

    def _queue_945(self, shipments: list[Shipment], now: float) -> str:
        """One 945 interchange with a set per shipment (plus a damaged copy when armed)."""
        sets = [OutgoingSet("945", build_945(shipment, self.profile)) for shipment in shipments]
        written = list(sets)
        if self._arm_taken("damaged_945", "945"):
            written.append(OutgoingSet("945", list(sets[0].body), se_count_offset=1))
        name, text, isa13, gs06 = self._interchange("945", written, now)
        self._record("945", name, isa13, gs06, sets,
                     [shipment.order_number for shipment in shipments], now)
        self._queue("945", name, text, now, gs06=gs06)
        return name

    def _ship_due(self, now: float, *, force: bool) -> None:
        delay = self.profile.ship_delay_s
        due = []
        for order in self._state["orders"].values():
            if order["status"] == "backordered":
                when = order["backorder_due_at"]
                if force or (when is not None and now >= when):
                    due.append(order)
            elif order["status"] in ("open", "picked"):
                if force or (delay is not None and now >= order["received_at"] + delay):
                    due.append(order)
        size = self.profile.orders_per_945_file
        for start in range(0, len(due), size):
            shipments = []
            for order in due[start:start + size]:
                plan, packages = self._auto_plan(order, self._rng(order, "plan"))
                shipments.append(self._decide(order, plan, packages, now))
            self._queue_945(shipments, now)
            self._save_state()

    def _open_order(self, order_number: str) -> dict[str, Any]:
        for order in self._state["orders"].values():
            if order["number"] == order_number and order["status"] in OPEN_STATUSES:
                return order
        raise KeyError(f"no open order {order_number!r}")

    def ship_order(self, order_number: str, *, shipped: Mapping[str | int, int] | None = None,
                   canceled: Iterable[str | int] = (), backorder: bool = False,
                   packages: int = 1) -> str:
        """Ship the oldest open receipt of ``order_number`` now; return the 945's file name.

        Lines are named by their 940 line id (N9*LI, else LX01). ``shipped`` gives units per
        line (default: all still open); a line short of that is ``BP`` when ``backorder`` (a
        later call or the back-order delay ships the rest, same W0602), else ``CP``, or ``IC``
        when nothing ships; lines in ``canceled`` are ``IC``. Stock limits every line.
        ``packages`` boxes share the units (each its own LX and tracking number).
        KeyError when no receipt of that number is open.
        """
        with self._lock:
            now = self._clock()
            order = self._open_order(order_number)
            wanted = {str(key): value for key, value in (shipped or {}).items()}
            canceled_refs = {str(ref) for ref in canceled}
            plan = {line["ref"]: LinePlan(wanted.get(line["ref"], line["open"]),
                                          backorder=backorder,
                                          cancel=line["ref"] in canceled_refs)
                    for line in order["lines"]}
            name = self._queue_945([self._decide(order, plan, packages, now)], now)
            self._save_state()
        self._try_flush()
        return name

    def pick(self, order_number: str) -> None:
        """Mark every open receipt of ``order_number`` picked: a cancel now comes too late."""
        with self._lock:
            now = self._clock()
            for order in self._state["orders"].values():
                if order["number"] == order_number and order["status"] == "open":
                    order["status"], order["picked_at"] = "picked", now
            self._save_state()

    def restock(self, sku: str, units: int) -> None:
        """Add units on hand (a delivery to the warehouse)."""
        with self._lock:
            self._state["stock"][sku] = self._state["stock"].get(sku, 0) + units
            self._save_state()

    # -- inventory ---------------------------------------------------------------------------

    def _inventory_due(self, now: float) -> bool:
        every = self.profile.inventory_every_s
        if every <= 0:
            return False
        last = self._state["last_inventory_at"]
        return last is None or now - last >= every

    def _inventory_items(self) -> list[InventoryItem]:
        reserved: Counter[str] = Counter()
        for order in self._state["orders"].values():
            if order["status"] in OPEN_STATUSES:
                for line in order["lines"]:
                    if not line.get("unknown"):
                        reserved[line["sku"]] += line["open"]
        catalog = self._state["catalog"]
        return [InventoryItem(sku, max(0, on_hand - reserved[sku]), max(0, on_hand),
                              catalog.get(sku, {}).get("upc", ""),
                              catalog.get(sku, {}).get("description", ""))
                for sku, on_hand in sorted(self._state["stock"].items())]

    def _queue_inventory(self, now: float, *, garbage: str = "") -> str:
        """Decide one full 846 snapshot (new BIA03) and queue it; return its file name."""
        moment = _moment(now)
        report_id = f"INV-{moment:%Y%m%d}-{self._take_number('next_report'):02d}"
        wrong = self.profile.wrong_ctt or self._arm_taken("wrong_ctt", "846")
        sets = build_846(self._inventory_items(), report_id, moment, self.profile,
                         wrong_ctt=wrong)
        name, text, isa13, gs06 = self._interchange("846", sets, now, garbage=garbage)
        keys = [seg.get(3) for item in sets for seg in item.body if seg.tag == "BIA"]
        self._record("846", name, isa13, gs06, sets, keys, now)
        if self._arm_taken("out_of_order_846", "846"):
            self._queue("846", name, text, now, gs06=gs06, hold=True)
        else:
            self._queue("846", name, text, now, gs06=gs06)
            # A report held back lands right after this newer one: out of order (§8 row 10).
            self._state["outbox"].extend(self._state["held_846"])
            self._state["held_846"] = []
        self._state["last_inventory_at"] = now
        self._save_state()
        return name

    def write_inventory_now(self) -> str:
        """Decide an 846 snapshot now and write it (unless held back); return its name."""
        with self._lock:
            name = self._queue_inventory(self._clock())
        self._try_flush()
        return name

    # -- faults ------------------------------------------------------------------------------

    def arm_fault(self, kind: str, doc: str | None = None) -> None:
        """Arm a one-shot fault for the next outgoing file it applies to (§8 rows 8, 10, 12).

        ``damaged_945``: the next 945 interchange carries, after the good sets, a copy of the
        first one with SE01 one too many. ``wrong_ctt``: the next 846 has CTT01 one too many.
        ``half_written``: the next file (of ``doc``: "945", "846", "997"; None = any) is left
        half-written under ``.name.part``, never renamed. ``direct_write``: the next file is
        written under its final name with no temporary name. ``out_of_order_846``: the next 846
        is held back and dropped right after the one that follows it.
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        if doc not in (None, "945", "846", "997"):
            raise ValueError("doc is 945, 846, 997 or None")
        with self._lock:
            self._state["armed"].append({"kind": kind, "doc": doc})
            self._save_state()

    def write_garbage(self, kind: str, doc: str = "945") -> str:
        """Write a bad file into ``/out`` now and return its name (§8 row 12).

        ``not_edi``: text that is no interchange; ``empty``: zero bytes — both named like a
        ``doc`` file (its ISA13 number is used up). ``bom``: an 846 snapshot behind a UTF-8
        byte-order mark; ``crlf``: an 846 with CR LF after every terminator; ``lowercase``: an
        846 whose segment ids inside ST…SE are lower case. The last three are real reports
        (new BIA03) and expect a 997 like any other.
        """
        if kind not in GARBAGE:
            raise ValueError(f"unknown garbage {kind!r}; one of {', '.join(GARBAGE)}")
        with self._lock:
            now = self._clock()
            if kind in ("bom", "crlf", "lowercase"):
                name = self._queue_inventory(now, garbage=kind)
            else:
                isa13 = self._take_number("next_isa13")
                name = self._file_name(doc, isa13, 0, now)
                text = "" if kind == "empty" else (
                    "This is not an X12 interchange.\r\norder,sku,quantity\r\nHUB-1,SKU-1,2\r\n")
                self._queue("garbage", name, text, now)
                self._save_state()
        self._try_flush()
        return name
