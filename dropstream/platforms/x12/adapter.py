"""The X12 warehouse adapter: 940s into the partner's mailbox, 997 / 945 / 846 back from it.

Folders (the partner's own names come from the settings; the hub calls them /in and /out):

- ``/in``               the hub's files: ``940_<first order>_<YYMMDDHHMMSS>.edi`` (one
                        interchange per batch, one 940 set per order) and its own 997s,
                        ``997_<ISA13>_<YYYYMMDDHHMMSS>.edi``; uploaded as ``.<name>.part``
                        and renamed when complete.
- ``/in/processed/``, ``/in/error/``  where the partner moves what it read; ``submitted``
                        looks in all three before a re-send. ``<file>.rejected.txt``
                        (``<order>\\t<reason>`` lines) and ``<file>.error.txt`` beside a refused
                        file are read as refusals, like DSFX's; applied ones go to
                        ``/in/error/processed/``.
- ``/out``              the partner's ``997*``, ``945*`` and ``846*`` files.
- ``/out/processed/``   files the hub used; ``/out/error/`` files with a broken envelope or a
                        refused set, with ``<name>.error.txt`` saying why in words. The good
                        sets of such a file are used all the same.

**Control numbers** (``ledger``): ISA13 and GS06 are one counter per partner, taken from the
hub's database sequences (``context.take_number``: atomic, so the shipment and inventory runs
answering files at the same time never share a number). For a 940 the order is: write the interchange (any order the format cannot
carry raises OrderDataError before a number is taken) → reserve the numbers and record
``sent[key] = numbers + SHA-256 of the bytes`` → save the memory (``context.checkpoint``) →
upload under a temporary name → rename. A kill before the save: nothing left the hub and the
numbers are free again. A kill after it: the numbers stay taken; the recovery asks
``submitted`` (is the file in /in, /in/processed or /in/error?) and, when the file is not
there, ``submit`` writes the batch again with the *recorded* numbers and time and sends it only
when the bytes are the same; different content (an order canceled meanwhile) takes new
numbers. So a number never names two different contents, and the file name, derived from the
submission key, never changes. The hub's own 997s follow the same pattern, keyed by the SHA-256
of the file they answer.

**997s in** (``fetch_rejections`` / ``fetch_receipts``, in the sales-order run): AK1/AK102 is
matched to the 940 group sent, AK2/AK202 to its set, hence its order. Accepted and accepted
with errors become receipts recorded on the orders; rejected sets become refusals (the order
goes to Error with the 997's reasons). A 940 with no 997 after ``ack_overdue_hours`` becomes an
overdue receipt (an alert), once; it is never re-sent by itself (§5.4).

**945 / 846 in**: every file is answered with the hub's 997 right after parsing, before the hub
stores anything; a re-delivered file (same SHA-256) is a duplicate and not answered again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from dropstream.platforms.base import (
    AdapterContext,
    RowError,
    SubmitResult,
    WarehouseAdapterBase,
    WarehouseDocument,
    WarehouseOrder,
    WarehouseReceipt,
    WarehouseRejection,
    WarehouseRules,
)
from dropstream.platforms.errors import (
    CredentialsRejected,
    PlatformError,
    RemoteNotFound,
)
from dropstream.platforms.transport import (
    IN,
    IN_ERROR,
    IN_ERROR_PROCESSED,
    IN_PROCESSED,
    OUT,
    OUT_ERROR,
    OUT_PROCESSED,
    PROBE_PREFIX,
    RemoteFile,
    TargetExists,
    Transport,
    check_name,
    open_transport,
    unsafe_name_reason,
)
from dropstream.platforms.transport.hostkeys import HostKeyTrust
from dropstream.platforms.x12 import w940
from dropstream.platforms.x12.acks import ReadResult
from dropstream.platforms.x12.inbound import of_type, read_inbound
from dropstream.platforms.x12.ledger import Ledger, now_text, parse_time
from dropstream.platforms.x12.mapping import levels_of, outcome_of, problems_of, shipments_of
from dropstream.platforms.x12.partner import (
    ACK_PREFIX,
    INVENTORY_PREFIX,
    ORDER_PREFIX,
    SHIPMENT_PREFIX,
    SUFFIX,
    Partner,
    ack_file_name,
    order_file_name,
)
from dropstream.platforms.x12.w846 import InventoryReport
from dropstream.platforms.x12.w945 import ShippingAdvice
from dropstream.platforms.x12.w997 import Acknowledgment, write_997

log = logging.getLogger(__name__)

PLATFORM = "x12"
ERROR_SUFFIX = ".error.txt"
REJECTED_SUFFIX = ".rejected.txt"
OVERDUE = "overdue:"  # the source of an overdue receipt: "overdue:<submission key>"
REPORT = "in/error/"  # the source of a refusal report in /in/error/
MAX_REASON = 1000
_COPY_SUFFIX = re.compile(r"~[0-9]+(?=\.edi$)")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _clean(text: str) -> str:
    flat = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text).strip()
    return flat[:MAX_REASON]


class X12Adapter(HostKeyTrust, WarehouseAdapterBase):
    """WarehouseAdapter for platform ``x12`` (see the module docstring).

    ``transport`` replaces the one the connection string opens; ``clock`` returns the current
    UTC time (tests move it to make a 997 overdue).
    """

    HOST_KEY_TITLE = "The EDI mailbox's SFTP host key changed"
    HOST_KEY_WAITING = "940s, 945s, 846s and 997s"
    HOST_KEY_OWNER = "the partner"

    platform = PLATFORM

    def __init__(self, settings: Mapping[str, Any], context: AdapterContext | None = None, *,
                 transport: Transport | None = None, timeout: float = 20.0, retries: int = 2,
                 backoff: float = 0.5, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(settings, context)
        settings = self.settings
        state = self.context.state
        self.partner = Partner.from_settings(settings)
        self.profile = self.partner.profile
        self.batch_size = int(settings.get("orders_per_interchange") or 100)
        self.settle_seconds = float(settings.get("settle_seconds") or 0.0)
        self.ack_overdue = timedelta(hours=float(settings.get("ack_overdue_hours") or 2.0))
        self._clock = clock or (lambda: datetime.now(UTC))
        self.ledger = Ledger(state, self.partner.first_control_number, self.context.checkpoint,
                             getattr(self.context, "take_number", None))
        self._acknowledged: set[str] = set()
        # 997 files read this run: name → (folder it goes to, problems found in it)
        self._ack_files: dict[str, tuple[str, list[str]]] = {}
        self._acks: tuple[list[WarehouseRejection], list[WarehouseReceipt]] | None = None
        self.transport = transport or open_transport(
            settings["connection_string"], host_key=str(state.get("host_key") or ""),
            on_new_host_key=self._pin_host_key, timeout=timeout, retries=retries,
            backoff=backoff, meter=self.context.meter, platform=PLATFORM,
            folder_names={"in": str(settings.get("to_partner_folder") or "in"),
                          "out": str(settings.get("from_partner_folder") or "out")})

    def __repr__(self) -> str:
        return f"<X12Adapter {self.transport.where}>"


    def validate_credentials(self) -> None:
        """Connect, check that both folders exist and that the login can write to them."""
        transport = self.transport
        transport.connect()
        for folder in (IN, OUT):
            if not transport.exists(folder):
                raise RemoteNotFound(f"the folder {folder} does not exist on {transport.where}; "
                                     "check the folder names in the settings")
        for folder in (IN, OUT):
            probe = f"{PROBE_PREFIX}{secrets.token_hex(6)}"
            try:
                transport.write(folder, probe, b"DropStream write check\r\n")
            except (CredentialsRejected, RemoteNotFound) as exc:
                raise CredentialsRejected(f"the login cannot write to {folder} on "
                                          f"{transport.where}", read_only=True) from exc
            transport.remove_own(folder, probe)

    # -- orders ------------------------------------------------------------------------------

    @classmethod
    def rules(cls, settings: Mapping[str, Any]) -> WarehouseRules:
        """W0502 takes at most 22 characters, unchanged; everything else the 940 writer would
        refuse is found by its validator, one order at a time (``w940``)."""
        profile = Partner.from_settings(settings).profile

        def problems(order: WarehouseOrder) -> list[tuple[str, str]]:
            return [(element, message) for element, message in
                    w940._problems(order, profile, w940.OrderDetails())]

        return WarehouseRules(max_lengths={"order_number": 22}, problems=problems,
                              batch_size=int(settings.get("orders_per_interchange") or 100))

    def submission_key(self, orders: Sequence[WarehouseOrder], created_at: datetime) -> str:
        return order_file_name(orders, created_at)

    def _on_far_side(self, name: str) -> bool:
        """Whether the partner has ``name``: still in /in, or already moved on."""
        check_name(name)
        return any(self.transport.exists(folder, name)
                   for folder in (IN, IN_PROCESSED, IN_ERROR))

    def submitted(self, key: str, orders: Sequence[WarehouseOrder]) -> frozenset[str]:
        """Every order of the interchange when its file is on the partner's side (a file
        arrives whole or not at all: it is renamed only once complete); none otherwise."""
        if self._on_far_side(key):
            self._mark_sent(key)
            return frozenset(order.order_number for order in orders)
        return frozenset()

    def _mark_sent(self, key: str) -> None:
        record = self.ledger.sent.get(key)
        if record is not None and not record.get("sent_at"):
            record["sent_at"] = now_text(self._clock())

    def submit(self, orders: Sequence[WarehouseOrder], *, key: str) -> SubmitResult:
        """Upload one 940 interchange named ``key`` holding ``orders`` (see the module
        docstring for the order of steps). ``already_there`` when the file is on the
        partner's side. Raises ValueError for too many orders or a bad key, OrderDataError
        for an order the 940 cannot carry (nothing reserved, nothing sent), PlatformError
        from the transport."""
        if not orders:
            raise ValueError("a submission needs at least one order")
        if len(orders) > self.batch_size:
            raise ValueError(f"{len(orders)} orders exceed orders_per_interchange "
                             f"({self.batch_size}); submit them in batches")
        if unsafe_name_reason(key) or not key.startswith(ORDER_PREFIX) or \
                not key.endswith(SUFFIX):
            raise ValueError(f"{key!r} is not a 940 file name (940_…{SUFFIX})")
        result = SubmitResult(reference=key,
                              order_numbers=tuple(order.order_number for order in orders))
        if self._on_far_side(key):
            self._mark_sent(key)
            return _already(result)
        data = self._same_bytes_again(key, orders)
        if data is None:
            data = self._reserve_940(key, orders)
        try:
            self.transport.write(IN, key, data)
        except TargetExists:
            return _already(result)  # an earlier attempt's rename landed meanwhile
        self._mark_sent(key)
        return result

    def _write_940(self, orders: Sequence[WarehouseOrder], isa13: int, gs06: int,
                   created_at: datetime) -> bytes:
        return w940.write_940(orders, self.partner.envelope(isa13, gs06, created_at),
                              self.profile)

    def _same_bytes_again(self, key: str, orders: Sequence[WarehouseOrder]) -> bytes | None:
        """The interchange a crashed attempt reserved numbers for, when these orders give the
        very same bytes; None when there was none or the content differs."""
        record = self.ledger.sent.get(key)
        created = parse_time(record.get("created_at")) if record else None
        if record is None or created is None:
            return None
        data = self._write_940(orders, int(record["isa13"]), int(record["gs06"]), created)
        return data if _digest(data) == record.get("sha256") else None

    def _reserve_940(self, key: str, orders: Sequence[WarehouseOrder]) -> bytes:
        created = self._clock().replace(second=0, microsecond=0)
        self._write_940(orders, 1, 1, created)  # OrderDataError here: no number is taken
        isa13, gs06 = self.ledger.reserve()
        data = self._write_940(orders, isa13, gs06, created)
        self.ledger.sent[key] = {
            "isa13": isa13, "gs06": gs06, "created_at": now_text(created),
            "sha256": _digest(data), "orders": [order.order_number for order in orders],
            "sent_at": None, "ack": None, "ack_file": "", "overdue_reported": False}
        self.ledger.save()  # before the upload: a kill can never hand these numbers out again
        return data

    # -- 997s from the partner, and refusal reports -------------------------------------------

    def fetch_rejections(self) -> list[WarehouseRejection]:
        """Sets the partner's 997s rejected, unmatched 997s, and ``/in/error`` reports."""
        rejections, _ = self._read_acks()
        return [*rejections, *self._reports()]

    def fetch_receipts(self) -> list[WarehouseReceipt]:
        """Sets the partner's 997s accepted (with or without errors), and overdue 997s."""
        _, receipts = self._read_acks()
        return [*receipts, *self._overdue()]

    def _read_acks(self) -> tuple[list[WarehouseRejection], list[WarehouseReceipt]]:
        if self._acks is not None:
            return self._acks
        rejections: list[WarehouseRejection] = []
        receipts: list[WarehouseReceipt] = []
        for remote in self._settled(ACK_PREFIX):
            try:
                data = self.transport.read(OUT, remote.name)
            except RemoteNotFound:
                continue
            found = self._read_ack_file(remote.name, data)
            if found is None:
                self._set_aside_ack(remote.name)  # only repeats of 997s already applied
                continue
            rejections += found[0]
            receipts += found[1]
        self._acks = (rejections, receipts)
        return self._acks

    def _read_ack_file(self, name: str, data: bytes
                       ) -> tuple[list[WarehouseRejection], list[WarehouseReceipt]] | None:
        """The refusals and receipts of one 997 file; None when it holds only repeats."""
        result = read_inbound(data, self.profile)
        foreign = self.partner.foreign(result.interchange)
        acks = of_type(result, Acknowledgment)
        problems = problems_of(result)
        if foreign or not acks:
            reason = foreign or "; ".join(problems) or "it holds no 997 set"
            self._ack_files[name] = (OUT_ERROR, [reason])
            return [WarehouseRejection("", f"{name} is not a usable 997: {reason}",
                                       reference=name, source=name)], []
        self._ack_files[name] = (OUT_ERROR if problems else OUT_PROCESSED, problems)
        rejections: list[WarehouseRejection] = []
        by_message: dict[tuple[str, str], list[str]] = defaultdict(list)
        useful = False
        for ack in acks:
            group = ack.acknowledged
            matched = self.ledger.sent_for_group(group.control_number) \
                if group.functional_id == "OW" else None
            if matched is None:
                useful = True
                rejections.append(WarehouseRejection(
                    "", f"{name} answers group {group.functional_id} {group.control_number}, "
                        "which the hub never sent to this partner", reference=name, source=name))
                continue
            key, record = matched
            if record.get("ack_file") and record["ack_file"] != name:
                log.info("X12: %s repeats the 997 for %s already read in %s", name, key,
                         record["ack_file"])
                continue
            useful = True
            record.update(ack=group.code, ack_file=name, ack_at=now_text(self._clock()))
            outcome = outcome_of(group, list(record.get("orders") or []))
            for number, message in outcome.accepted:
                by_message[(key, message)].append(number)
            rejections += [WarehouseRejection(number, reason, reference=key, source=name)
                           for number, reason in outcome.rejected]
            if outcome.whole:
                rejections.append(WarehouseRejection("", outcome.whole, reference=key,
                                                      source=name, whole_submission=True))
            if outcome.unnamed:
                by_message[(key, outcome.unnamed[0].upper() + outcome.unnamed[1:] + ".")] = []
        if not useful:
            return None
        receipts = [WarehouseReceipt(key, message, name, tuple(numbers))
                    for (key, message), numbers in by_message.items()]
        return rejections, receipts

    def _overdue(self) -> list[WarehouseReceipt]:
        now = self._clock()
        hours = self.ack_overdue.total_seconds() / 3600
        found = []
        for key, record in self.ledger.sent.items():
            sent_at = parse_time(record.get("sent_at"))
            if record.get("ack") or record.get("overdue_reported") or sent_at is None:
                continue
            if now - sent_at >= self.ack_overdue:
                found.append(WarehouseReceipt(
                    key, f"No 997 from the warehouse for {key} (interchange "
                         f"{int(record['isa13']):09d}, group {record['gs06']}) {hours:g} h "
                         "after it was sent: ask the partner whether it received the orders. "
                         "The hub does not send them again by itself (a second copy could "
                         "ship twice).", f"{OVERDUE}{key}", overdue=True))
        return found

    def _reports(self) -> list[WarehouseRejection]:
        """``/in/error/<file>.rejected.txt`` and ``.error.txt`` about the hub's 940 files."""
        if not self.transport.exists(IN_ERROR):
            return []
        found: list[WarehouseRejection] = []
        for remote in self.transport.list(IN_ERROR).files:
            name = remote.name
            kind = next((suffix for suffix in (REJECTED_SUFFIX, ERROR_SUFFIX)
                         if name.endswith(suffix)), "")
            reference = _COPY_SUFFIX.sub("", name[:-len(kind)]) if kind else ""
            if not reference.startswith(ORDER_PREFIX):
                continue
            try:
                text = self.transport.read(IN_ERROR, name).decode("utf-8", errors="replace")
            except RemoteNotFound:
                continue
            source = REPORT + name
            if kind == REJECTED_SUFFIX:
                for line in text.splitlines():
                    number, tab, reason = line.partition("\t")
                    if line.strip():
                        found.append(WarehouseRejection(
                            number.strip() if tab else "",
                            _clean(reason if tab else f"unreadable report line {line!r}")
                            or "no reason given", reference=reference, source=source))
            else:
                lines = [line.strip() for line in text.splitlines() if line.strip()]
                if len(lines) > 1 and lines[0].endswith(":"):
                    lines = lines[1:]
                found.append(WarehouseRejection("", _clean("; ".join(lines)) or
                                                "no reason given", reference=reference,
                                                source=source, whole_submission=True))
        return found

    def acknowledge_rejections(self, source: str) -> None:
        """Set a report aside: a 997 file goes to /out/processed (or /out/error with its
        reasons), a /in/error report to /in/error/processed, an overdue notice is marked."""
        if source.startswith(OVERDUE):
            record = self.ledger.sent.get(source[len(OVERDUE):])
            if record is not None:
                record["overdue_reported"] = True
            return
        if source.startswith(REPORT):
            name = check_name(source[len(REPORT):])
            if self.transport.exists(IN_ERROR, name):
                self._move(IN_ERROR, name, IN_ERROR_PROCESSED)
            return
        self._set_aside_ack(source)

    def _set_aside_ack(self, name: str) -> None:
        folder, problems = self._ack_files.get(name, (OUT_PROCESSED, []))
        self._move(OUT, name, folder, problems)

    # -- 945s and 846s -----------------------------------------------------------------------

    def fetch_shipments(self) -> Iterator[WarehouseDocument]:
        """One document per ``945*`` file: a shipment per package, cancellations for advices
        that cancel every line, and the file's problems as errors."""
        for document, result in self._documents(SHIPMENT_PREFIX):
            if result is not None:
                advices = of_type(result, ShippingAdvice)
                document.shipments, document.cancellations = shipments_of(advices)
                _not_of_kind(document, result, ShippingAdvice, "945")
            yield document

    def fetch_inventory(self) -> Iterator[WarehouseDocument]:
        """One document per ``846*`` file: its levels, as of the newest report time."""
        for document, result in self._documents(INVENTORY_PREFIX):
            if result is not None:
                levels, stated = levels_of(of_type(result, InventoryReport))
                document.levels, document.stated_at = levels, stated
                _not_of_kind(document, result, InventoryReport, "846")
            yield document

    def _documents(self, prefix: str
                   ) -> Iterator[tuple[WarehouseDocument, ReadResult[Any] | None]]:
        for remote in self._settled(prefix):
            try:
                data = self.transport.read(OUT, remote.name)
            except RemoteNotFound:
                continue
            digest = _digest(data)
            duplicate = digest in self._acknowledged or self.context.seen(digest)
            document = WarehouseDocument(name=remote.name, event_id=digest,
                                         received_at=datetime.now(UTC), duplicate=duplicate)
            if duplicate:
                yield document, None
                continue
            result = read_inbound(data, self.profile)
            foreign = self.partner.foreign(result.interchange)
            if foreign:
                document.errors = [RowError(0, f"not for this connection: {foreign}")]
                yield document, None
                continue
            self._answer(digest, result)
            document.errors = [RowError(0, problem) for problem in problems_of(result)]
            yield document, result

    def _answer(self, digest: str, result: ReadResult[Any]) -> None:
        """The hub's 997 for a 945/846 file, uploaded before the hub uses the file (§5.4)."""
        acks = [ack for ack in result.acknowledgments if ack.functional_id != "FA"]
        if not acks:
            return  # nothing a 997 can name (an unreadable ISA), or only 997s
        record = self.ledger.answers.get(digest)
        if record is not None and record.get("sent_at"):
            return
        data = None
        if record is not None:
            created = parse_time(record["created_at"])
            assert created is not None
            again = write_997(acks, self.partner.envelope(int(record["isa13"]),
                                                          int(record["gs06"]), created),
                              self.profile)
            data = again if _digest(again) == record.get("sha256") else None
            if data is not None and self._on_far_side(record["name"]):
                record["sent_at"] = now_text(self._clock())
                return
        if data is None:
            created = self._clock().replace(microsecond=0)
            write_997(acks, self.partner.envelope(1, 1, created), self.profile)  # raises first
            isa13, gs06 = self.ledger.reserve()
            data = write_997(acks, self.partner.envelope(isa13, gs06, created), self.profile)
            record = {"name": ack_file_name(isa13, created), "isa13": isa13, "gs06": gs06,
                      "created_at": now_text(created), "sha256": _digest(data),
                      "sent_at": None}
            self.ledger.answers[digest] = record
            self.ledger.save()
        try:
            self.transport.write(IN, record["name"], data)
        except TargetExists:
            pass  # an earlier attempt's rename landed
        record["sent_at"] = now_text(self._clock())

    def acknowledge(self, document: WarehouseDocument, errors: Sequence[RowError] = ()) -> None:
        """Move a handled 945/846 file out of /out: to /out/error with ``<name>.error.txt``
        when its envelope or a set was refused (its good sets were used all the same), or when
        the hub could use nothing in it; otherwise to /out/processed (with the report when the
        hub found problems in some rows). Never deletes, never overwrites."""
        if not self.transport.exists(OUT, document.name):
            log.info("X12 %s: %s already moved", self.transport.where, document.name)
            return
        problems = [error.reason for error in document.errors]
        hub_problems = [error.reason for error in errors]
        usable = bool(document.levels or document.cancellations) or any(
            not set(s.source_rows) <= {e.line_number for e in errors} for s in
            document.shipments)
        broken = bool(problems) or (bool(hub_problems) and not usable)
        folder = OUT_PROCESSED if document.duplicate or not broken else OUT_ERROR
        reasons = [] if document.duplicate else list(dict.fromkeys([*problems, *hub_problems]))
        self._move(OUT, document.name, folder, reasons)
        if not document.duplicate:
            self._acknowledged.add(document.event_id)

    def close(self) -> None:
        self.transport.close()

    # -- internals ---------------------------------------------------------------------------

    def _settled(self, prefix: str) -> list[RemoteFile]:
        """The partner's files starting with ``prefix``, old enough to be complete."""
        now = datetime.now(UTC).timestamp()
        return [remote for remote in self.transport.list(OUT).files
                if remote.name.startswith(prefix) and not remote.name.startswith(".")
                and now - remote.mtime >= self.settle_seconds]

    def _move(self, folder: str, name: str, to_folder: str, reasons: Sequence[str] = ()
              ) -> None:
        """Move a file (never overwriting: a taken name gets ``.1``, ``.2``…), with
        ``<name>.error.txt`` beside it when there are reasons."""
        transport = self.transport
        if not transport.exists(folder, name):
            return
        if not transport.exists(to_folder):
            transport.mkdir(to_folder)
        target = self._free_name(to_folder, name)
        if reasons:
            text = f"{name} could not be used in full ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC):\n"
            text += "".join(f"- {_clean(reason)}\n" for reason in reasons)
            transport.write(to_folder, target + ERROR_SUFFIX, text.encode("utf-8"))
        transport.rename(folder, name, to_folder, target)

    def _free_name(self, folder: str, name: str) -> str:
        stem, dot, suffix = name.rpartition(".")
        candidate = name
        for number in range(1, 1000):
            if not (self.transport.exists(folder, candidate) or
                    self.transport.exists(folder, candidate + ERROR_SUFFIX)):
                return candidate
            candidate = f"{stem}.{number}.{suffix}" if dot else f"{name}.{number}"
        raise PlatformError(f"{folder} on {self.transport.where} holds 1000 copies of {name}")


def _already(result: SubmitResult) -> SubmitResult:
    return SubmitResult(reference=result.reference, order_numbers=result.order_numbers,
                        already_there=True)


def _not_of_kind(document: WarehouseDocument, result: ReadResult[Any], kind: type,
                 label: str) -> None:
    """A group of another kind in the file is not lost silently: it is an error."""
    others = [doc for doc in result.documents if not isinstance(doc, kind)]
    if others:
        document.errors.append(RowError(0, f"{len(others)} set(s) that are not {label}s; "
                                           "the partner must send them in their own file"))


__all__ = ["X12Adapter"]
