"""The DSFX warehouse adapter: order files into ``/in``, shipment and inventory files from ``/out``.

Folder conventions (specs/dsfx.md, plus two of ours stated here because the spec leaves them out):

- ``/in``            order files the hub wrote (``ord_…csv``), uploaded as ``.ord_…csv.part``
                     and renamed when complete.
- ``/in/processed/`` **ours:** where the warehouse moves an order file once it has read it.
                     ``submission_exists`` looks in both places, so a batch the warehouse has
                     already taken is never sent twice.
- ``/in/error/``     **ours:** what the warehouse refused. A whole malformed order file is moved
                     here with ``<file>.error.txt`` beside it (free text, line by line). Orders
                     refused one by one (e.g. an unknown SKU) while the rest of their file is
                     accepted are listed in ``<order file name>.rejected.txt``: UTF-8, one line
                     per refused order, ``<order number>\t<reason>`` (e.g. ``BS-1002<TAB>unknown
                     SKU WH-XYZ on line 2``), written under a temporary name and renamed. A name
                     taken already gets ``~2``, ``~3``… before ``.csv`` (``ord_…~2.csv``).
                     ``fetch_rejections`` reads both kinds; ``acknowledge_rejections`` moves a
                     report the hub has applied to ``/in/error/processed/``.
- ``/out``           shipment (``shp_``) and inventory (``inv_``) files from the warehouse.
- ``/out/processed/`` files the hub has handled. A file with *some* bad rows goes here too: its
                     good rows were used, and ``<name>.error.txt`` beside it lists the bad rows.
- ``/out/error/``    files the hub could not use at all (every row bad, unknown layout), each
                     with ``<name>.error.txt`` listing line numbers and reasons.

The hub never deletes a warehouse file, and never overwrites one: a move whose target name is
taken gets ``.1``, ``.2``… before ``.csv``.

**Files still being written** are left for the next fetch. A file is read only when its size
and mtime are the same as at the previous listing (or it is seen for the first time) *and* it is
at least ``settle_seconds`` old — by the server's mtime, or, should the server's clock run ahead,
by how long this adapter has seen it unchanged.

**Memory between runs** (``AdapterContext.state``, JSON-ready, saved by the hub): ``listing`` —
the previous listing of ``/out``, ``{name: [size, mtime, first_seen_unchanged_at]}``;
``host_key`` — the SFTP host key pinned on first use; ``pending_host_key`` — a different key the
server presented, waiting for a person to accept it (``pending_change``).

**De-duplication:** a document's ``event_id`` is the SHA-256 of its content; the hub answers
``context.seen(event_id)`` from its database (deriving it from ``/out/processed/`` would mean
downloading that ever-growing folder on each run), and hashes acknowledged during this
adapter's life count too. A file whose hash is known is yielded with ``duplicate=True`` and
nothing parsed; ``acknowledge`` moves it to ``processed/`` without an error report.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dropstream.platforms.base import (
    AdapterContext,
    RowError,
    SubmitResult,
    WarehouseAdapterBase,
    WarehouseDocument,
    WarehouseOrder,
    WarehouseRejection,
    WarehouseRules,
)
from dropstream.platforms.dsfx import format as dsfx_format
from dropstream.platforms.dsfx.transport import (
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
from dropstream.platforms.errors import (
    CredentialsRejected,
    NotSupported,
    PlatformError,
    RemoteNotFound,
)
from dropstream.platforms.transport.hostkeys import HostKeyTrust

log = logging.getLogger(__name__)

DEFAULT_SETTLE_SECONDS = 5.0
ERROR_SUFFIX = ".error.txt"
REJECTED_SUFFIX = ".rejected.txt"
MAX_REASON = 1000
# ``ord_X_240501100000~2.csv``: the warehouse's copy of a name that was taken.
_COPY_SUFFIX = re.compile(r"~[0-9]+(?=\.csv$)")


class DsfxAdapter(HostKeyTrust, WarehouseAdapterBase):
    """WarehouseAdapter for platform ``dropstream`` (DSFX files over sftp/ftps/ftp/file).

    ``settings`` are the cleaned SPEC settings; ``context`` the hub's meter, this adapter's
    memory (see the module docstring) and its "seen before?" check. The SFTP host key is
    trusted on first use and pinned in the memory. One connection is opened on first use and
    reused until ``close()``. ``settle_seconds`` (default: the ``settle_seconds`` setting, else
    5) is how old or how long unchanged a file must be before it is read. ``transport`` replaces
    the one the connection string would open.
    """

    HOST_KEY_TITLE = "The SFTP server's host key changed"
    HOST_KEY_WAITING = "Orders, shipments and inventory"

    platform = "dropstream"

    def __init__(
        self,
        settings: Mapping[str, Any],
        context: AdapterContext | None = None,
        *,
        settle_seconds: float | None = None,
        timeout: float = 20.0,
        retries: int = 2,
        backoff: float = 0.5,
        transport: Transport | None = None,
    ) -> None:
        super().__init__(settings, context)
        settings = self.settings
        state = self.context.state
        self.ph_version = int(settings.get("ph_version") or 2)
        self.orders_per_file = int(settings.get("orders_per_file") or 500)
        self.neutralise_formulas = bool(settings.get("neutralise_formulas", True))
        self.source_code = str(settings.get("source_code") or "")
        self.facility = str(settings.get("facility") or "")
        if settle_seconds is None:
            settle_seconds = float(settings.get("settle_seconds", DEFAULT_SETTLE_SECONDS))
        self.settle_seconds = settle_seconds
        self.listing_state: dict[str, list[float]] = state.setdefault("listing", {})
        self._acknowledged: set[str] = set()
        # Names a server listed that could not be used safely: (folder, name, reason).
        self.rejected_names: list[tuple[str, str, str]] = []
        self.transport = transport or open_transport(
            settings["connection_string"], host_key=str(state.get("host_key") or ""),
            on_new_host_key=self._pin_host_key, timeout=timeout, retries=retries,
            backoff=backoff, meter=self.context.meter)


    def __repr__(self) -> str:
        return f"<DsfxAdapter {self.transport.where}>"

    # -- credentials -----------------------------------------------------------------------

    def validate_credentials(self) -> None:
        """Connect, check that ``/in`` and ``/out`` exist and that the login can write to both.

        Writability is proven by writing and deleting a hidden probe file (the hub's own file).
        Raises a PlatformError whose message a merchant can act on: RemoteUnavailable (bad host
        or port), CredentialsRejected (bad login, or a folder it may not write), RemoteNotFound
        (a missing folder), HostKeyMismatch.
        """
        transport = self.transport
        transport.connect()
        for folder in (IN, OUT):
            if not transport.exists(folder):
                raise RemoteNotFound(f"the folder {folder} does not exist on {transport.where}; "
                                     "the warehouse must create /in and /out in the login's "
                                     "root folder")
        for folder in (IN, OUT):
            probe = f"{PROBE_PREFIX}{secrets.token_hex(6)}"
            try:
                transport.write(folder, probe, b"DropStream write check\r\n")
            except (CredentialsRejected, RemoteNotFound) as exc:
                raise CredentialsRejected(f"the login cannot write to {folder} on "
                                          f"{transport.where}", read_only=True) from exc
            transport.remove_own(folder, probe)

    # -- orders ----------------------------------------------------------------------------

    @classmethod
    def rules(cls, settings: Mapping[str, Any]) -> WarehouseRules:
        """DSFX needs every ship-to field of a PH row (state included, whatever the country),
        writes order numbers with letters, digits, ``-`` and ``_`` only, and takes
        ``orders_per_file`` orders per file (specs/dsfx.md)."""
        return WarehouseRules(
            required_ship_to=dsfx_format.REQUIRED_SHIP_TO,
            order_number=dsfx_format.dsfx_order_number,
            problems=_format_problems,
            batch_size=int(settings.get("orders_per_file") or 500))

    def submission_key(self, orders: Sequence[WarehouseOrder], created_at: datetime) -> str:
        """``ord_<first order number>_<YYMMDDHHMMSS>.csv``; raises ValueError for no orders."""
        if not orders:
            raise ValueError("a submission needs at least one order")
        return dsfx_format.order_file_name(orders[0].order_number, created_at)

    def submitted(self, key: str, orders: Sequence[WarehouseOrder]) -> frozenset[str]:
        """Every order of the file when it is in ``/in`` or already moved to
        ``/in/processed/``; none when it is in neither (a file arrives whole or not at all)."""
        if self.file_exists(key):
            return frozenset(order.order_number for order in orders)
        return frozenset()

    def file_exists(self, reference: str) -> bool:
        """Whether ``reference`` is in ``/in`` or already moved to ``/in/processed/``."""
        check_name(reference)
        # A missing /in/processed/ simply answers False: the lookup of a file in it fails.
        return self.transport.exists(IN, reference) or self.transport.exists(IN_PROCESSED,
                                                                             reference)

    def submit(self, orders: Sequence[WarehouseOrder], *, key: str) -> SubmitResult:
        """Upload one order file named ``reference`` holding ``orders``.

        Returns ``already_there=True`` without uploading when the file is in ``/in`` or
        ``/in/processed/``. Raises ValueError for more than ``orders_per_file`` orders (the
        caller batches) or a reference that is not an order-file name; OrderDataError for an
        order the format cannot carry (validate with ``format.order_problems`` before batching);
        PlatformError from the transport.
        """
        if len(orders) > self.orders_per_file:
            raise ValueError(f"{len(orders)} orders exceed orders_per_file "
                             f"({self.orders_per_file}); submit them in batches")
        reference = key
        if unsafe_name_reason(reference) or not reference.startswith(
                dsfx_format.ORDER_PREFIX) or not reference.endswith(dsfx_format.SUFFIX):
            raise ValueError(f"{reference!r} is not an order file name (ord_…csv)")
        order_file = dsfx_format.write_orders(
            orders, created_at=datetime.now(UTC), ph_version=self.ph_version,
            neutralise_formulas=self.neutralise_formulas, source_code=self.source_code,
            facility=self.facility)
        result = SubmitResult(reference=reference, order_numbers=order_file.order_numbers,
                              warehouse_order_numbers=order_file.written_numbers)
        if self.file_exists(reference):
            return _already(result)
        try:
            self.transport.write(IN, reference, order_file.content)
        except TargetExists:
            # Appeared between the check and the rename: an earlier attempt got there.
            return _already(result)
        return result

    def fetch_rejections(self) -> list[WarehouseRejection]:
        """The refusals reported in ``/in/error/`` and not acknowledged yet, oldest report first.

        ``<file>.rejected.txt`` gives one rejection per line; a line that is not
        ``<order number>\t<reason>`` gives one with an empty order number and a reason naming
        the line, so it is not lost. ``<file>.error.txt`` beside a refused order file gives one
        ``whole_submission`` rejection carrying the report's text. A missing ``/in/error/`` gives
        an empty list. Raises PlatformError from the transport.
        """
        # Asked first: FTP servers answer a listing of a missing folder in different ways.
        if not self.transport.exists(IN_ERROR):
            return []
        listing = self.transport.list(IN_ERROR)
        rejections: list[WarehouseRejection] = []
        for remote in listing.files:
            name = remote.name
            if name.endswith(REJECTED_SUFFIX):
                kind = REJECTED_SUFFIX
            elif name.endswith(ERROR_SUFFIX):
                kind = ERROR_SUFFIX
            else:
                continue
            reference = _COPY_SUFFIX.sub("", name[:-len(kind)])
            if not reference.startswith(dsfx_format.ORDER_PREFIX):
                continue  # only order files are refused by the warehouse
            try:
                data = self.transport.read(IN_ERROR, name)
            except RemoteNotFound:
                continue  # acknowledged by a concurrent run between listing and reading
            text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
            if kind == REJECTED_SUFFIX:
                rejections.extend(_report_lines(text, reference, name))
            else:
                rejections.append(WarehouseRejection(
                    order_number="", reason=_whole_file_reason(text), reference=reference,
                    source=name, whole_submission=True))
        return rejections

    def acknowledge_rejections(self, source: str) -> None:
        """Move the report ``source`` from ``/in/error/`` to ``/in/error/processed/``.

        Never deletes and never overwrites (a taken name gets ``.1``, ``.2``…); a report already
        gone is not an error. Raises PlatformError from the transport (UnsafeName for a name
        that is not a plain file name).
        """
        check_name(source)
        transport = self.transport
        if not transport.exists(IN_ERROR, source):
            log.info("DSFX %s: %s already acknowledged", transport.where, source)
            return
        if not transport.exists(IN_ERROR_PROCESSED):
            transport.mkdir(IN_ERROR_PROCESSED)
        target = self._free_name(IN_ERROR_PROCESSED, source)
        transport.rename(IN_ERROR, source, IN_ERROR_PROCESSED, target)

    def cancel_order(self, order_number: str) -> None:
        """DSFX has no cancel record; always raises NotSupported."""
        raise NotSupported(f"DSFX has no cancel record: cancel order {order_number} in the "
                           "warehouse's own system")

    # -- shipments and inventory -------------------------------------------------------------

    def fetch_shipments(self) -> Iterator[WarehouseDocument]:
        """One document per settled ``shp_*.csv`` in ``/out``, oldest first."""
        for _remote, data, document in self._documents(dsfx_format.SHIPMENT_PREFIX):
            if not document.duplicate:
                parsed = dsfx_format.read_shipments(data)
                document.shipments, document.errors = parsed.shipments, parsed.errors
            yield document

    def fetch_inventory(self) -> Iterator[WarehouseDocument]:
        """One document per settled ``inv_*.csv`` in ``/out``, oldest first (the newest wins).

        A layout other than 1 gives a document with one file-level error and no levels.
        """
        for remote, data, document in self._documents(dsfx_format.INVENTORY_PREFIX):
            if document.duplicate:
                yield document
                continue
            layout = dsfx_format.inventory_layout_of(remote.name)
            if layout != dsfx_format.INVENTORY_LAYOUT:
                document.errors = [RowError(0, f"inventory layout {layout!r} is not supported; "
                                               "name the file inv_1_<datetime>.csv")]
            else:
                parsed = dsfx_format.read_inventory(data)
                document.levels, document.errors = parsed.levels, parsed.errors
            yield document

    def acknowledge(self, document: WarehouseDocument, errors: Sequence[RowError] = ()) -> None:
        """Move a handled document out of ``/out``; never deletes, never overwrites.

        ``errors`` are the caller's own findings (unknown order or line, over-shipment), added to
        the document's parse errors. The file goes to ``/out/error/`` when it gave nothing usable
        (no shipment or level, or the caller rejected every row); otherwise to
        ``/out/processed/``. Any error writes ``<name>.error.txt`` beside the moved file.
        Raises PlatformError from the transport; a file already gone is not an error.
        """
        all_errors = [*document.errors, *errors]
        usable = document.duplicate or not all_errors or _has_usable_rows(document, errors)
        folder = OUT_PROCESSED if usable else OUT_ERROR
        transport = self.transport
        if not transport.exists(OUT, document.name):
            log.info("DSFX %s: %s already moved", transport.where, document.name)
            return
        if not transport.exists(folder):
            transport.mkdir(folder)
        target = self._free_name(folder, document.name)
        if all_errors and not document.duplicate:
            report = dsfx_format.error_report(document.name, all_errors,
                                              read_at=document.received_at)
            transport.write(folder, target + ERROR_SUFFIX, report)
        transport.rename(OUT, document.name, folder, target)
        self.listing_state.pop(document.name, None)
        if not document.duplicate:
            self._acknowledged.add(document.event_id)

    def close(self) -> None:
        self.transport.close()

    # -- internals ---------------------------------------------------------------------------

    def _documents(self, prefix: str) -> Iterator[tuple[RemoteFile, bytes, WarehouseDocument]]:
        listing = self.transport.list(OUT)
        for name, reason in listing.rejected:
            entry = (OUT, name, reason)
            if entry not in self.rejected_names:
                self.rejected_names.append(entry)
        current = {f.name for f in listing.files}
        for name in list(self.listing_state):
            if name not in current:
                del self.listing_state[name]
        now = time.time()
        for remote in listing.files:
            if not (remote.name.startswith(prefix) and remote.name.endswith(dsfx_format.SUFFIX)):
                continue
            if not self._settled(remote, now):
                continue
            try:
                data = self.transport.read(OUT, remote.name)
            except RemoteNotFound:
                continue  # taken away between listing and reading: nothing to do
            digest = hashlib.sha256(data).hexdigest()
            duplicate = digest in self._acknowledged or self.context.seen(digest)
            document = WarehouseDocument(name=remote.name, event_id=digest,
                                         received_at=datetime.now(UTC), duplicate=duplicate,
                                         stated_at=_stated_at(remote))
            yield remote, data, document

    def _settled(self, remote: RemoteFile, now: float) -> bool:
        """Record this sighting; True when the file looks complete (see the module docstring)."""
        seen = self.listing_state.get(remote.name)
        if seen is None or seen[0] != remote.size or seen[1] != remote.mtime:
            changed = seen is not None
            self.listing_state[remote.name] = [remote.size, remote.mtime, now]
            if changed:
                return False
            seen = self.listing_state[remote.name]
        old_by_server = now - remote.mtime >= self.settle_seconds
        stable_here = now - seen[2] >= self.settle_seconds
        return old_by_server or stable_here

    def _free_name(self, folder: str, name: str) -> str:
        """``name`` or ``stem.N.csv``, whichever is free in ``folder`` with its error report."""
        stem, dot, suffix = name.rpartition(".")
        candidate = name
        for number in range(1, 1000):
            taken = self.transport.exists(folder, candidate) or self.transport.exists(
                folder, candidate + ERROR_SUFFIX)
            if not taken:
                return candidate
            candidate = f"{stem}.{number}.{suffix}" if dot else f"{name}.{number}"
        raise PlatformError(f"{folder} on {self.transport.where} holds 1000 copies of {name}")


# What every warehouse needs and the hub checks itself (addresses, method, SKUs, quantities).
_COMMON = ("order_number", "ship_to.", "ship_method", "lines")


def _stated_at(remote: RemoteFile) -> datetime | None:
    """When the warehouse wrote the file's content: the earlier of the time in its name and
    its modification time on the server (never later than either)."""
    times = [t for t in (dsfx_format.stamp_in_name(remote.name),
                         datetime.fromtimestamp(remote.mtime, UTC) if remote.mtime else None)
             if t is not None]
    return min(times) if times else None


def _format_problems(order: WarehouseOrder) -> list[tuple[str, str]]:
    """The format's own checks beyond the ones every warehouse shares (e.g. line numbers)."""
    return [(name, message) for name, message in dsfx_format.order_problems(order)
            if name.endswith(".line_number") or not name.startswith(_COMMON)]


def _already(result: SubmitResult) -> SubmitResult:
    return SubmitResult(reference=result.reference, order_numbers=result.order_numbers,
                        warehouse_order_numbers=result.warehouse_order_numbers,
                        already_there=True)


def _clean(text: str) -> str:
    """One printable line: control characters become spaces, the length is capped."""
    flat = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text).strip()
    return flat[:MAX_REASON]


def _report_lines(text: str, reference: str, source: str) -> list[WarehouseRejection]:
    """The rejections of one ``.rejected.txt`` report (see the module docstring)."""
    rejections = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        order_number, tab, reason = line.partition("\t")
        order_number = order_number.strip()
        if not tab or not order_number:
            rejections.append(WarehouseRejection(
                order_number="", reference=reference, source=source,
                reason=_clean(f"line {number} of {source} is not "
                              f"'<order number><TAB><reason>': {line[:200]!r}")))
            continue
        rejections.append(WarehouseRejection(
            order_number=order_number, reference=reference, source=source,
            reason=_clean(reason) or "no reason given"))
    return rejections


def _whole_file_reason(text: str) -> str:
    """The report's lines joined with ``; `` (a leading ``…:`` title line left out)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        lines = lines[1:]
    return _clean("; ".join(lines)) or "no reason given"


def _has_usable_rows(document: WarehouseDocument, caller_errors: Sequence[RowError]) -> bool:
    """Whether something in the document survives the caller's rejections."""
    if document.levels:
        return True
    rejected = {e.line_number for e in caller_errors}
    return any(not set(s.source_rows) <= rejected or not s.source_rows
               for s in document.shipments)


__all__ = ["DsfxAdapter"]
