"""The ShipHero warehouse adapter (spec §12): orders out by ``order_create``, shipments and
cancellations back by webhook and by a reconciliation poll, stock by webhook and by a full read.

Exactly once (§4.3): ShipHero has no idempotency key and creates a second order for a repeated
``order_create``. So an order is only ever re-sent after asking ShipHero for its
``partner_order_id`` — in ``submit`` after a create whose answer was lost (a 5xx, a dropped
connection), and in ``submitted`` before the hub re-sends a batch after a crash.

Memory (``context.state``): ``shipments_since`` / ``canceled_since``, the reconciliation
cursors (ShipHero's own ``created_date`` / ``updated_at`` values, so the two clocks never need
to agree), and ``credits_used``, the running total of credits ShipHero charged. Tokens are kept
in memory only (``client.py``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from dropstream.platforms.base import (
    AdapterContext,
    RowError,
    SubmitResult,
    WarehouseAdapterBase,
    WarehouseCancellation,
    WarehouseDocument,
    WarehouseOrder,
    WarehouseRules,
    WarehouseShipment,
)
from dropstream.platforms.errors import (
    PlatformError,
    RemoteNotFound,
    RemoteValidationError,
    TransientError,
)
from dropstream.platforms.shiphero import DEFAULT_API_URL, DEFAULT_SHOP_NAME, mapping, queries
from dropstream.platforms.shiphero.client import ShipHeroClient

logger = logging.getLogger(__name__)

CREATE_TRIES = 8  # order_create attempts for one order, each after looking for it first
OVERLAP = timedelta(minutes=30)  # §12.3: re-read the last half hour (late or equal stamps)
FIRST_LOOKBACK = timedelta(days=2)  # the first poll's window, with no cursor yet
_SKU = re.compile(r"SKU '([^']+)'")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ShipHeroWarehouse(WarehouseAdapterBase):
    platform = "shiphero"

    def __init__(self, settings: Mapping[str, Any], context: AdapterContext | None = None, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(settings, context)
        self.shop_name = str(self.settings.get("shop_name") or DEFAULT_SHOP_NAME)
        self.customer = str(self.settings.get("customer_account_id") or "").strip()
        self.warehouses = mapping.configured_warehouses(
            str(self.settings.get("warehouse_ids") or ""))
        self._sleep = sleep
        self.client = ShipHeroClient(
            api_url=str(self.settings.get("api_url") or DEFAULT_API_URL),
            refresh_token=str(self.settings["refresh_token"]), meter=self.context.meter,
            sleep=sleep)
        self._cursor: dict[str, str] = {}

    @classmethod
    def rules(cls, settings: Mapping[str, Any]) -> WarehouseRules:
        return WarehouseRules(batch_size=int(settings.get("orders_per_batch") or 50),
                              max_lengths={"order_number": 100})

    # -- calls ---------------------------------------------------------------------------------

    def _run(self, document: str, variables: Mapping[str, Any], *, operation: str,
             mutation: bool = False) -> Mapping[str, Any]:
        """One GraphQL call; returns the root field's wrapper. Counts the credits it cost."""
        before = self.client.budget.used
        try:
            data = self.client.execute(document, variables, operation=operation,
                                       mutation=mutation)
        finally:
            used = self.client.budget.used - before
            if used:
                state = self.context.state
                state["credits_used"] = int(state.get("credits_used") or 0) + used
        return self.client.wrapper(data, operation)

    def _cid(self) -> str | None:
        return self.customer or None

    def validate_credentials(self) -> None:
        self._run(queries.ACCOUNT, {}, operation="account")
        if self.customer:  # a 3PL's customer id is only checked by a query that uses it
            self._run(queries.FIND_ORDER, {"pid": "dropstream-check", "cid": self.customer},
                      operation="orders")

    # -- orders out ----------------------------------------------------------------------------

    def submission_key(self, orders: Sequence[WarehouseOrder], created_at: datetime) -> str:
        return f"shiphero-{orders[0].order_number}-{created_at.astimezone(UTC):%Y%m%d%H%M%S}"

    def find_order(self, order_number: str) -> Mapping[str, Any] | None:
        """The ShipHero order created for ``order_number``, or None (§4.3)."""
        wrapper = self._run(queries.FIND_ORDER, {
            "pid": mapping.partner_order_id(self.shop_name, order_number), "cid": self._cid()},
            operation="orders")
        nodes = [edge["node"] for edge in (wrapper.get("data") or {}).get("edges") or []]
        if len(nodes) > 1:
            logger.warning("ShipHero holds %d orders for %s; a person should cancel the extra",
                           len(nodes), order_number)
        return nodes[0] if nodes else None

    def submitted(self, key: str, orders: Sequence[WarehouseOrder]) -> frozenset[str]:
        return frozenset(order.order_number for order in orders
                         if self.find_order(order.order_number) is not None)

    def submit(self, orders: Sequence[WarehouseOrder], *, key: str) -> SubmitResult:
        refused: dict[str, str] = {}
        for order in orders:
            reason = self._create(order)
            if reason:
                refused[order.order_number] = reason
        return SubmitResult(reference=key, refused=refused,
                            order_numbers=tuple(o.order_number for o in orders))

    def _create(self, order: WarehouseOrder) -> str:
        """Create one order exactly once; returns ShipHero's reason when it refuses it."""
        payload = mapping.order_input(order, shop_name=self.shop_name,
                                      customer_account_id=self.customer)
        last: PlatformError | None = None
        for attempt in range(1, CREATE_TRIES + 1):
            try:
                self._run(queries.CREATE_ORDER, {"data": payload}, operation="order_create",
                          mutation=True)
                return ""
            except (RemoteValidationError, RemoteNotFound) as exc:
                return _refusal(exc)
            except TransientError as exc:
                last = exc
                if getattr(exc, "maybe_applied", False):
                    # The answer was lost: the order may exist. Look before sending again.
                    if self.find_order(order.order_number) is not None:
                        return ""
                elif attempt == CREATE_TRIES:
                    raise
                logger.warning("ShipHero order_create for %s failed (%s); attempt %d of %d",
                               order.order_number, exc.message, attempt, CREATE_TRIES)
                self._sleep(min(2.0, 0.2 * attempt))
        assert last is not None
        raise last

    def cancel_order(self, order_number: str) -> None:
        """``order_cancel`` (§6) unless the order shipped; raises RemoteValidationError saying
        why not (too late, already shipped), RemoteNotFound when ShipHero has no such order."""
        found = self.find_order(order_number)
        if found is None:
            raise RemoteNotFound(f"ShipHero has no order {order_number} to cancel")
        status = str(found.get("fulfillment_status") or "").lower()
        if status in ("canceled", "cancelled"):
            return
        if status == "fulfilled":
            raise RemoteValidationError(f"ShipHero already shipped order {order_number}; it "
                                        "cannot be canceled")
        data: dict[str, Any] = {"order_id": found["id"], "reason": "Canceled in the store",
                                "void_on_platform": False}
        if self.customer:
            data["customer_account_id"] = self.customer
        try:
            self._run(queries.CANCEL_ORDER, {"data": data}, operation="order_cancel",
                      mutation=True)
        except (RemoteValidationError, TransientError) as exc:
            # §6: treat any error as "not canceled" and read the order again.
            again = self.find_order(order_number)
            if again and str(again.get("fulfillment_status") or "").lower() in (
                    "canceled", "cancelled"):
                return
            raise RemoteValidationError(f"ShipHero did not cancel order {order_number}: "
                                        f"{exc.message}") from None

    # -- shipments back ------------------------------------------------------------------------

    def fetch_shipments(self) -> Iterator[WarehouseDocument]:
        """The reconciliation poll: shipments created since the cursor (with an overlap), and
        orders canceled since the other cursor; finds any webhook that never came."""
        now = datetime.now(UTC)
        since = self._window_start("shipments_since", now)
        shipments: list[WarehouseShipment] = []
        newest = since
        for node in self._pages(queries.SHIPMENTS_SINCE, {"from": _iso(since),
                                                          "cid": self._cid()}, "shipments"):
            if str((node.get("order") or {}).get("shop_name") or self.shop_name) \
                    != self.shop_name:
                continue  # another integration's order in the same account
            shipments.extend(mapping.shipments_from_node(node))
            stamp = _parse(node.get("created_date"))
            if stamp and stamp > newest:
                newest = stamp
        canceled_since = self._window_start("canceled_since", now)
        cancellations = []
        newest_cancel = canceled_since
        for node in self._pages(queries.CANCELED_SINCE, {
                "from": _iso(canceled_since), "shop": self.shop_name, "cid": self._cid()},
                "orders"):
            cancellations.append(WarehouseCancellation(str(node.get("order_number") or ""),
                                                       "canceled in ShipHero"))
            stamp = _parse(node.get("updated_at"))
            if stamp and stamp > newest_cancel:
                newest_cancel = stamp
        self._cursor = {"shipments_since": _iso(newest), "canceled_since": _iso(newest_cancel)}
        keys = ",".join(sorted(s.key for s in shipments)
                        + sorted(c.order_number for c in cancellations))
        event_id = "poll:" + hashlib.sha256(keys.encode()).hexdigest()[:32]
        yield WarehouseDocument(
            name=f"ShipHero shipments since {_iso(since)}", event_id=event_id,
            received_at=now, shipments=shipments, cancellations=cancellations,
            duplicate=bool(shipments or cancellations) and self.context.seen(event_id))

    def _window_start(self, name: str, now: datetime) -> datetime:
        cursor = _parse(self.context.state.get(name)) if self.context.state.get(name) else None
        return (cursor - OVERLAP) if cursor else now - FIRST_LOOKBACK

    def _pages(self, document: str, variables: dict[str, Any],
               root: str) -> Iterator[Mapping[str, Any]]:
        after = None
        while True:
            wrapper = self._run(document, {**variables, "after": after}, operation=root)
            nodes, after = mapping.page_of(wrapper, root)
            yield from nodes
            if after is None:
                return

    def acknowledge(self, document: WarehouseDocument, errors: Sequence[RowError] = ()) -> None:
        """The hub stored the poll's document: move the cursors (never back)."""
        for name, value in self._cursor.items():
            old = _parse(self.context.state.get(name)) if self.context.state.get(name) else None
            new = _parse(value)
            if new and (old is None or new > old):
                self.context.state[name] = value
        self._cursor = {}

    def hook_document(self, topic: str, payload: Mapping[str, Any]) -> WarehouseDocument | None:
        """A webhook body (``hooks.py`` checked and split it) mapped with no request."""
        now = datetime.now(UTC)
        if topic == "shipment":
            fulfillment = payload.get("fulfillment") or {}
            shipments = mapping.shipments_from_webhook(payload)
            return WarehouseDocument(
                name=f"ShipHero Shipment Update {fulfillment.get('order_number')}",
                event_id=f"shipment-update:{fulfillment.get('shipment_id')}:"
                         f"{fulfillment.get('package_number')}",
                received_at=now, shipments=shipments)
        if topic == "order_canceled":
            cancellation = mapping.cancellation_from_webhook(payload)
            return WarehouseDocument(name=f"ShipHero Order Canceled {cancellation.order_number}",
                                     event_id=f"order-canceled:{payload.get('order_id')}",
                                     received_at=now, cancellations=[cancellation])
        if topic == "inventory":
            levels = mapping.levels_from_webhook(payload, self.warehouses)
            return WarehouseDocument(name="ShipHero Inventory Update",
                                     event_id=f"inventory-update:{now.timestamp()}",
                                     received_at=now, levels=levels, stated_at=now)
        return None

    # -- inventory -----------------------------------------------------------------------------

    def fetch_inventory(self) -> Iterator[WarehouseDocument]:
        """A full read of ``warehouse_products`` (§10.1), per configured warehouse or for the
        whole account."""
        started = datetime.now(UTC)
        rows: list[Mapping[str, Any]] = []
        for warehouse in sorted(self.warehouses) or [None]:
            rows.extend(self._pages(queries.STOCK, {"wid": warehouse, "cid": self._cid()},
                                    "warehouse_products"))
        levels = mapping.levels_from_rows(rows, self.warehouses)
        yield WarehouseDocument(name=f"ShipHero stock at {_iso(started)}",
                                event_id=f"stock:{started.timestamp()}", received_at=started,
                                levels=levels, stated_at=started)

    def close(self) -> None:
        self.client.close()


def _refusal(error: PlatformError) -> str:
    """ShipHero's reason for refusing an order, in the hub's words (an unknown SKU named)."""
    found = _SKU.search(error.message)
    if found and "not exist" in error.message:
        return f"unknown SKU {found.group(1)} ({error.message})"
    return error.message
