"""What a store or warehouse adapter is: built as ``Adapter(settings, context)``, it knows one
platform and nothing of the database (DESIGN.md "Layout").

``settings`` are the platform's cleaned settings (its ``SPEC``); ``context`` is what the hub
lends it for one run — the request meter, the adapter's own memory between runs, and a way to
tell an event it already handled. The hub saves the memory when the run ends, whatever happened.
Optional abilities (cancelling, refusal reports, a change a person must approve) have defaults
in ``WarehouseAdapterBase``, so a platform implements only what it can do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from dropstream.platforms.errors import NotSupported
from dropstream.platforms.metering import MeterSink, discard_meter
from dropstream.platforms.values import (
    InventoryWriteResult,
    OrderSummary,
    PendingChange,
    RowError,
    StoreOrder,
    StoreShipment,
    SubmitResult,
    WarehouseDocument,
    WarehouseOrder,
    WarehouseReceipt,
    WarehouseRejection,
    WarehouseRules,
)


def never_seen(event_id: str) -> bool:
    return False


class RetryBudget:
    """The seconds one run may spend waiting on a failing remote inside the worker: the waits
    between a request's retries and the attempts that timed out, over every request of the run
    (its threads included — it is shared, and locked).

    A request whose next wait would pass it gives up with its transient error instead of
    sleeping, so the run ends failed and goes back to the queue with its own, longer delay
    (``scheduling.tasks.execute_run``), and the worker thread serves other connections meanwhile
    (issue 17). ``seconds=None``: no limit (one-off tools, tests of the retry policy).
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = None if seconds is None else max(0.0, float(seconds))
        self._spent = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<RetryBudget {self.spent:.2f} of {self.seconds} s spent>"

    @property
    def spent(self) -> float:
        """Seconds waited so far."""
        with self._lock:
            return self._spent

    @property
    def left(self) -> float:
        """Seconds that may still be waited (infinite without a limit; never negative)."""
        if self.seconds is None:
            return float("inf")
        with self._lock:
            return max(0.0, self.seconds - self._spent)

    def charge(self, seconds: float) -> None:
        """Count ``seconds`` already waited (an attempt that timed out), whether or not they
        fit."""
        with self._lock:
            self._spent += max(0.0, seconds)

    def take(self, seconds: float) -> bool:
        """Reserve ``seconds`` for a wait about to start; False (nothing taken) when they do
        not fit in what is left."""
        with self._lock:
            if self.seconds is not None and self._spent + seconds > self.seconds:
                return False
            self._spent += max(0.0, seconds)
            return True


@dataclass
class AdapterContext:
    """What the hub lends an adapter for one run.

    ``state`` is the adapter's memory between runs (JSON-ready, changed in place: a pinned host
    key, the last listing of a folder, a store's SKU map, a polling cursor); ``seen(event_id)``
    tells whether the hub already stored a warehouse event (a file's hash, a webhook's id), so a
    re-delivery is marked ``duplicate`` and costs nothing. ``checkpoint()`` saves ``state``
    now, before the run ends: an adapter that records something the far side must never see
    twice (which control numbers went into which file) calls it before the side effect, so a
    kill cannot undo the record.
    """

    meter: MeterSink = discard_meter
    state: dict[str, Any] = field(default_factory=dict)
    seen: Callable[[str], bool] = never_seen
    checkpoint: Callable[[], None] = lambda: None
    # ``take_number(sequence, first)``: the next number of a named sequence that must never
    # repeat, even between runs of the same warehouse going on at once (EDI control numbers);
    # the hub keeps it in the database, atomically. None: the adapter counts in ``state``.
    take_number: Callable[[str, int], int] | None = None
    # How long the run may wait on a failing remote in all (``RetryBudget``); an HTTP adapter
    # hands it to its client. None: each request only has its own retry policy.
    retry_budget: RetryBudget | None = None


@runtime_checkable
class StoreAdapter(Protocol):
    """A store platform."""

    platform: str

    def __init__(self, settings: Mapping[str, Any], context: AdapterContext) -> None: ...

    def validate_credentials(self) -> None:
        """One cheap request; raises a PlatformError with a message a merchant understands."""

    def list_orders(self, *, updated_since: datetime | None,
                    created_since: datetime | None = None) -> Iterator[OrderSummary]:
        """Orders updated since the time and created since ``created_since``, deduplicated.
        With no ``updated_since`` (the first import), only orders at the import status."""

    def wants(self, summary: OrderSummary) -> bool:
        """Whether the hub should import this order (it is at the import status the store's
        settings chose)."""

    def is_cancellation(self, summary: OrderSummary) -> bool:
        """Whether the summary says the order was canceled in the store."""

    def get_order(self, external_id: str) -> StoreOrder:
        """Read and map one order; OrderDataError names the field that cannot be mapped."""

    def order_from_push(self, payload: Mapping[str, Any]) -> StoreOrder:
        """Map a pushed order body — with no request, unless the store's settings ask for the
        order to be read again; OrderDataError when it cannot be mapped."""

    def post_shipment(self, shipment: StoreShipment, *, check_existing: bool = False,
                      claimed: frozenset[str] = frozenset()) -> str:
        """Create the shipment; return the store's shipment id. With ``check_existing`` (a retry
        after a run died mid-post) first look for it in the store and create it only if absent;
        a store shipment in ``claimed`` (other packages' ids) is never taken for this one."""

    @property
    def sets_status_on_shipment(self) -> bool:
        """Whether ``set_order_shipped`` does anything with these settings."""

    def set_order_shipped(self, external_id: str) -> None:
        """Set the order status the merchant chose for a fully shipped order."""

    def write_inventory(self, quantities: Mapping[str, int], *,
                        full: bool = False) -> InventoryWriteResult:
        """Write quantities keyed by store SKU, one request per product that changes. With
        ``full`` the store's current levels are read first and every difference is written,
        whatever the hub believes the store holds (a full sync corrects drift)."""

    def close(self) -> None: ...


@runtime_checkable
class WarehouseAdapter(Protocol):
    """A warehouse platform: files, REST and EDI alike.

    Orders go in batches under a deterministic key the hub records first (an Intent); after a
    crash it asks ``submitted(key, orders)`` which of them the warehouse already holds and sends
    only the rest. Shipments and inventory come back as documents with a stable ``event_id``,
    acknowledged once stored.
    """

    platform: str

    def __init__(self, settings: Mapping[str, Any], context: AdapterContext) -> None: ...

    @classmethod
    def rules(cls, settings: Mapping[str, Any]) -> WarehouseRules:
        """What the platform accepts with these settings (checked before batching)."""

    @classmethod
    def pending_change(cls, state: Mapping[str, Any]) -> PendingChange | None:
        """A change a person must approve before the warehouse works again, if any."""

    @classmethod
    def accept_pending_change(cls, state: dict[str, Any]) -> None:
        """Approve it (changes ``state``); ValueError when nothing waits."""

    def validate_credentials(self) -> None: ...

    def submission_key(self, orders: Sequence[WarehouseOrder], created_at: datetime) -> str:
        """The deterministic key a batch goes under (a file name for DSFX), recorded before
        sending; the same orders at the same time give the same key."""

    def submitted(self, key: str, orders: Sequence[WarehouseOrder]) -> frozenset[str]:
        """The order numbers of ``orders`` the warehouse already holds under ``key`` (asked
        before any re-send)."""

    def submit(self, orders: Sequence[WarehouseOrder], *, key: str) -> SubmitResult: ...

    def fetch_shipments(self) -> Iterator[WarehouseDocument]: ...

    def fetch_inventory(self) -> Iterator[WarehouseDocument]: ...

    def acknowledge(self, document: WarehouseDocument, errors: Sequence[RowError] = ()) -> None:
        """The hub stored the document (``errors``: its rows it could not use)."""

    def fetch_rejections(self) -> list[WarehouseRejection]:
        """Every refusal the warehouse reported that was not acknowledged yet."""

    def acknowledge_rejections(self, source: str) -> None:
        """Set a refusal report aside once the hub applied it."""

    def fetch_receipts(self) -> list[WarehouseReceipt]:
        """What the warehouse confirmed receiving, and submissions whose confirmation is
        overdue, not set aside yet (``acknowledge_rejections(source)``)."""

    def cancel_order(self, order_number: str) -> None:
        """Ask the warehouse to cancel; NotSupported where it cannot."""

    def hook_document(self, topic: str, payload: Mapping[str, Any]) -> WarehouseDocument | None:
        """What an event delivered to the warehouse's hook URL reports (shipments, levels),
        mapped with no request; None for an event the hub does not use."""

    def close(self) -> None: ...


class WarehouseAdapterBase:
    """Defaults for what a warehouse platform may not be able to do."""

    platform = ""

    def __init__(self, settings: Mapping[str, Any], context: AdapterContext | None = None
                 ) -> None:
        self.settings = dict(settings)
        self.context = context or AdapterContext()

    @classmethod
    def rules(cls, settings: Mapping[str, Any]) -> WarehouseRules:
        return WarehouseRules()

    @classmethod
    def pending_change(cls, state: Mapping[str, Any]) -> PendingChange | None:
        return None

    @classmethod
    def accept_pending_change(cls, state: dict[str, Any]) -> None:
        raise ValueError("nothing is waiting to be accepted")

    def fetch_inventory(self) -> Iterator[WarehouseDocument]:
        return iter(())

    def fetch_rejections(self) -> list[WarehouseRejection]:
        return []

    def fetch_receipts(self) -> list[WarehouseReceipt]:
        return []

    def acknowledge_rejections(self, source: str) -> None:
        return None

    def cancel_order(self, order_number: str) -> None:
        raise NotSupported(f"this warehouse cannot be asked to cancel: cancel order "
                           f"{order_number} in the warehouse's own system")

    def hook_document(self, topic: str, payload: Mapping[str, Any]) -> WarehouseDocument | None:
        return None

    def close(self) -> None:
        return None
