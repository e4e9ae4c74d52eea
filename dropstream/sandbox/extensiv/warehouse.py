"""One simulated 3PL tenant: customers, facilities, items, stock and orders (§5, §6).

API-side operations (``create_order``, ``update_order``, ``cancel_by_client``) answer with the
spec's errors (``ApiError``). The lifecycle driver (``allocate``, ``pick``, ``pack``, ``ship``,
``cancel``) is the warehouse acting on its own (§11 #11–#13); misuse raises ``ControlError``.
Every change bumps ``lastModifiedDate`` and the rowversion behind the ETag (§5.8, §11 #11, #14).

Stock (§6.1, §11 #16): creating an order adds open demand (``orderedNotAllocated``); allocating
moves quantity from ``available`` to ``allocated``; shipping removes the shipped quantity from
``allocated`` and ``onHand`` and returns any short-shipped allocation to ``available``;
canceling returns the whole allocation. ``onHand = available + allocated + onHold`` throughout.
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from dropstream.sandbox.extensiv.model import (
    STATUS_CANCELED,
    STATUS_CLOSED,
    STATUS_OPEN,
    Customer,
    Facility,
    IdMint,
    Item,
    Order,
    OrderItem,
    Package,
    PackageContent,
    StockRow,
)
from dropstream.sandbox.extensiv.render import CANCEL_REL, ITEM_REL, ORDER_REL
from dropstream.sandbox.extensiv.settings import Settings
from dropstream.sandbox.extensiv.wire import (
    ApiError,
    Clock,
    make_etag,
    model_validation_error,
    operation_error,
    zone_for,
)

REL_ORDER_UPDATE = ORDER_REL  # ActionName of an OperationException from PUT /orders/{id}

# Header fields the create body may carry besides identifiers and items are kept verbatim.
_NOT_ECHOED = ("customerIdentifier", "facilityIdentifier", "referenceNum", "orderItems",
               "_embedded", "_links", "readOnly")


class ControlError(ValueError):
    """A control request (lifecycle driver, tenant set-up) that cannot be done."""


class Tenant:
    """A 3PL tenant's warehouse data. All methods are thread-safe (one re-entrant lock)."""

    def __init__(self, name: str, *, mint: IdMint, clock: Clock, settings: Settings,
                 seed: int) -> None:
        self.name = name
        self.lock = threading.RLock()
        self.mint = mint
        self.clock = clock
        self.settings = settings
        self.customers: dict[int, Customer] = {}
        self.facilities: dict[int, Facility] = {}
        self.items: dict[int, Item] = {}
        self.stock: dict[tuple[int, int, int], StockRow] = {}
        self.orders: dict[int, Order] = {}
        self._tracking = random.Random(f"tracking:{seed}:{name}")

    # ------------------------------------------------------------------ set-up

    def add_customer(self, customer_id: int, name: str = "", external_id: str = "") -> Customer:
        with self.lock:
            if customer_id in self.customers:
                raise ControlError(f"customer {customer_id} exists already")
            customer = Customer(customer_id, name or f"Customer {customer_id}", external_id)
            self.customers[customer_id] = customer
            return customer

    def add_facility(self, facility_id: int, name: str = "",
                     time_zone: str = "UTC") -> Facility:
        """``time_zone`` is a Windows zone name such as "Pacific Standard Time" (§3)."""
        with self.lock:
            if facility_id in self.facilities:
                raise ControlError(f"facility {facility_id} exists already")
            facility = Facility(facility_id, name or f"Facility {facility_id}", time_zone)
            self.facilities[facility_id] = facility
            return facility

    def add_sku(self, customer_id: int, sku: str, *, item_id: int | None = None,
                description: str = "", stock: Mapping[int, float] | None = None) -> Item:
        """An item of ``customer_id``; ``stock`` maps facility id → quantity on hand."""
        with self.lock:
            if customer_id not in self.customers:
                raise ControlError(f"no customer {customer_id}")
            if not sku or self._item_by_sku(customer_id, sku) is not None:
                raise ControlError(f"sku {sku!r} is empty or exists already")
            if item_id is not None and item_id in self.items:
                raise ControlError(f"item id {item_id} exists already")
            item = Item(item_id or self.mint.next("item"), customer_id, sku, description)
            self.items[item.item_id] = item
            for facility_id, quantity in (stock or {}).items():
                self.set_stock(customer_id, sku, int(facility_id), on_hand=float(quantity))
            return item

    def set_stock(self, customer_id: int, sku: str, facility_id: int, *,
                  on_hand: float | None = None, on_hold: float | None = None) -> StockRow:
        """Set a facility's on-hand and on-hold quantity; a rise counts as received."""
        with self.lock:
            item = self._item_by_sku(customer_id, sku)
            if item is None:
                raise ControlError(f"no sku {sku!r} for customer {customer_id}")
            if facility_id not in self.facilities:
                raise ControlError(f"no facility {facility_id}")
            row = self._row(customer_id, facility_id, item, create=True)
            assert row is not None
            new_on_hand = row.on_hand if on_hand is None else float(on_hand)
            new_on_hold = row.on_hold if on_hold is None else float(on_hold)
            if new_on_hold < 0 or new_on_hand < row.allocated + new_on_hold:
                raise ControlError("on_hand must cover allocated + on_hold, on_hold >= 0")
            row.total_received += max(new_on_hand - row.on_hand, 0.0)
            row.on_hand, row.on_hold = new_on_hand, new_on_hold
            return row

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                "name": self.name,
                "customers": [vars(c).copy() for c in self.customers.values()],
                "facilities": [vars(f).copy() for f in self.facilities.values()],
                "skus": [{"customer_id": i.customer_id, "sku": i.sku, "item_id": i.item_id}
                         for i in self.items.values()],
                "orders": len(self.orders),
            }

    # ------------------------------------------------------------------ lookups

    def _item_by_sku(self, customer_id: int, sku: str) -> Item | None:
        wanted = sku.lower()
        return next((item for item in self.items.values()
                     if item.customer_id == customer_id and item.sku.lower() == wanted), None)

    def _row(self, customer_id: int, facility_id: int, item: Item, *,
             create: bool = False) -> StockRow | None:
        key = (customer_id, facility_id, item.item_id)
        if key not in self.stock and create:
            self.stock[key] = StockRow(customer_id, facility_id, item,
                                       self.mint.next("receive_item"))
        return self.stock.get(key)

    def zone(self, facility: Facility) -> tzinfo | None:
        """The frame of unqualified dates for this facility (§3, ``Settings.date_frame``)."""
        return zone_for(facility.time_zone) if self.settings.date_frame == "facility" else None

    def order(self, order_id: int) -> Order:
        """The order, or a 404 with an empty body (§7)."""
        with self.lock:
            found = self.orders.get(order_id)
        if found is None:
            raise ApiError(404)
        return found

    def etag(self, order: Order) -> str:
        return make_etag(order.rowversion)

    def ordered_not_allocated(self, row: StockRow) -> float:
        with self.lock:
            return sum(line.qty - line.allocated for order in self.orders.values()
                       if order.status == STATUS_OPEN and order.customer.id == row.customer_id
                       and order.facility.id == row.facility_id
                       for line in order.items if line.item.item_id == row.item.item_id)

    def _touch(self, order: Order) -> None:
        order.modified = self.clock.now()
        order.rowversion = self.mint.next("rowversion")

    # ------------------------------------------------------------------ API: create (§5.2)

    def create_order(self, body: Any, created_by: dict[str, Any]) -> Order:
        """Validate a normalised create body (§5.2, §11 #5, #6) and store the order."""
        with self.lock:
            if not isinstance(body, dict):
                raise model_validation_error("Order", None, "Required",
                                             "The request body must be an order object")
            _require_identifier(body, "customerIdentifier", ("id", "name", "externalId"))
            _require_identifier(body, "facilityIdentifier", ("id", "name"))
            reference = body.get("referenceNum")
            if not isinstance(reference, str) or not reference.strip():
                raise model_validation_error("ReferenceNum", reference, "Required",
                                             "ReferenceNum is required")
            if not isinstance(body.get("shipTo"), dict):
                raise model_validation_error("ShipTo", None, "Required", "ShipTo is required")
            raw_items = _order_items(body)
            customer = self._resolve_customer(body["customerIdentifier"])
            facility = self._resolve_facility(body["facilityIdentifier"])
            limit = self.settings.reference_max_length
            if limit and len(reference) > limit:
                raise model_validation_error("ReferenceNum", reference, "ValueNotSupported",
                                             f"ReferenceNum is longer than {limit} characters")
            lines = [self._line(customer, index, raw) for index, raw in enumerate(raw_items)]
            self._check_duplicate(customer, reference)
            now = self.clock.now()
            order = Order(order_id=self.mint.next("order"), customer=customer,
                          facility=facility, reference_num=reference,
                          fields={k: v for k, v in body.items() if k not in _NOT_ECHOED},
                          items=lines, created=now, modified=now, created_by=created_by,
                          rowversion=self.mint.next("rowversion"))
            if self.settings.process_date_on == "create":
                order.process_date = now  # §5.6: API orders are Complete at once
            self.orders[order.order_id] = order
            if self.settings.allocate_on_create:
                self._allocate(order)
            return order

    def _resolve_customer(self, identifier: dict[str, Any]) -> Customer:
        """§3 identifiers: ``id`` wins over ``name`` over ``externalId``."""
        found: Customer | None
        if identifier.get("id") is not None:
            value: Any = identifier["id"]
            found = self.customers.get(_as_int(value) or -1)
        elif identifier.get("name"):
            value = identifier["name"]
            found = next((c for c in self.customers.values()
                          if c.name.lower() == str(value).lower()), None)
        else:
            value = identifier.get("externalId")
            found = next((c for c in self.customers.values()
                          if c.external_id and c.external_id == str(value)), None)
        if found is None:
            raise model_validation_error("CustomerIdentifier", value, "DoesNotExist",
                                         f"Customer does not exist: {value}")
        return found

    def _resolve_facility(self, identifier: dict[str, Any]) -> Facility:
        found: Facility | None
        if identifier.get("id") is not None:
            value: Any = identifier["id"]
            found = self.facilities.get(_as_int(value) or -1)
        else:
            value = identifier.get("name")
            found = next((f for f in self.facilities.values()
                          if f.name.lower() == str(value).lower()), None)
        if found is None:
            raise model_validation_error("FacilityIdentifier", value, "DoesNotExist",
                                         f"Facility does not exist: {value}")
        return found

    def _line(self, customer: Customer, index: int, raw: Any) -> OrderItem:
        """One order item: identifier (``id`` wins over ``sku``), positive ``qty``."""
        prefix = f"OrderItems[{index}]"
        if not isinstance(raw, dict):
            raise model_validation_error(prefix, None, "Required", f"{prefix} is required")
        identifier = raw.get("itemIdentifier")
        if not isinstance(identifier, dict) or (identifier.get("id") is None
                                                and not identifier.get("sku")):
            raise model_validation_error(f"{prefix}.ItemIdentifier", None, "Required",
                                         f"{prefix}.ItemIdentifier is required")
        qty = raw.get("qty")
        if qty is None:
            raise model_validation_error(f"{prefix}.Qty", None, "Required",
                                         f"{prefix}.Qty is required")
        if isinstance(qty, bool) or not isinstance(qty, int | float) or qty <= 0:
            raise model_validation_error(f"{prefix}.Qty", qty, "ValueNotSupported",
                                         "Qty must be a positive number")
        if identifier.get("id") is not None:
            value: Any = identifier["id"]
            item = self.items.get(_as_int(value) or -1)
            if item is not None and item.customer_id != customer.id:
                item = None
        else:
            value = identifier["sku"]
            item = self._item_by_sku(customer.id, str(value))
        if item is None:
            raise model_validation_error(f"{prefix}.ItemIdentifier", value, "DoesNotExist",
                                         f"Item does not exist for customer {customer.id}: "
                                         f"{value}")
        extra = {k: v for k, v in raw.items() if k not in ("itemIdentifier", "qty", "readOnly")}
        return OrderItem(self.mint.next("order_item"), item, float(qty), extra)

    def _check_duplicate(self, customer: Customer, reference: str) -> None:
        """§5.9 / §12 #1: ``Settings.duplicate_*`` decide whether and where it is unique."""
        settings = self.settings
        if settings.duplicate_reference == "allow":
            return
        for order in self.orders.values():
            if order.reference_num.lower() != reference.lower():
                continue
            if settings.duplicate_scope == "customer" and order.customer.id != customer.id:
                continue
            if order.status == STATUS_CANCELED and not settings.duplicate_counts_canceled:
                continue
            raise model_validation_error("ReferenceNum", reference, "Duplicate",
                                         f"Duplicate ReferenceNum: {reference}")

    # ------------------------------------------------------------------ API: update, cancel

    def update_order(self, order: Order, body: Any) -> Order:
        """PUT of an open order (§5.1): header fields, and items while nothing is allocated."""
        with self.lock:
            _refuse_unless_open(order, REL_ORDER_UPDATE)
            if not isinstance(body, dict):
                raise model_validation_error("Order", None, "Required",
                                             "The request body must be an order object")
            reference = body.get("referenceNum", order.reference_num)
            if not isinstance(reference, str) or not reference.strip():
                raise model_validation_error("ReferenceNum", reference, "Required",
                                             "ReferenceNum is required")
            lines = None
            if "orderItems" in body or "_embedded" in body:
                if any(line.allocated for line in order.items):
                    raise operation_error(REL_ORDER_UPDATE, "FullyAllocated",
                                          "Order items cannot change while allocated")
                lines = [self._line(order.customer, index, raw)
                         for index, raw in enumerate(_order_items(body))]
            if reference.lower() != order.reference_num.lower():
                self._check_duplicate(order.customer, reference)
            order.reference_num = reference
            order.fields = {k: v for k, v in body.items() if k not in _NOT_ECHOED}
            if lines is not None:
                order.items = lines
            self._touch(order)
            return order

    def cancel_by_client(self, order: Order, body: Any) -> Order:
        """``POST /orders/{id}/canceler`` (§5.6, §11 #15) after the If-Match check."""
        with self.lock:
            reason = body.get("reason") if isinstance(body, dict) else None
            if not isinstance(reason, str) or not reason.strip():
                raise model_validation_error("Reason", reason, "Required", "Reason is required")
            _refuse_unless_open(order, CANCEL_REL)
            if order.pick_started:
                raise operation_error(CANCEL_REL, self.settings.cancel_in_pick_code,
                                      "The order is in a pick job and cannot be canceled")
            self._cancel(order)
            return order

    # ------------------------------------------------------------------ lifecycle driver

    def _open_order(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise ControlError(f"no order {order_id}")
        if order.status != STATUS_OPEN:
            raise ControlError(f"order {order_id} is {_STATUS_NAMES[order.status]}")
        return order

    def _allocate(self, order: Order) -> bool:
        """Allocate what the facility has available; True when anything moved."""
        moved = False
        for line in order.items:
            row = self._row(order.customer.id, order.facility.id, line.item)
            need = line.qty - line.allocated
            if row is None or need <= 0:
                continue
            take = min(need, max(row.available, 0.0))
            if take > 0:
                row.allocated += take
                line.allocated += take
                line.receive_item_id = row.receive_item_id
                line.row_version += 1
                moved = True
        return moved

    def allocate(self, order_id: int) -> Order:
        """Allocate stock to an open order (fully when the facility has enough)."""
        with self.lock:
            order = self._open_order(order_id)
            if self._allocate(order):
                self._touch(order)
            return order

    def pick(self, order_id: int) -> Order:
        """Put the order in a pick job and finish picking (§5.6: now it cannot be canceled)."""
        with self.lock:
            order = self._open_order(order_id)
            if order.pick_started:
                raise ControlError(f"order {order_id} is picked already")
            self._allocate(order)
            if not any(line.allocated for line in order.items):
                raise ControlError(f"order {order_id} has nothing allocated to pick")
            order.pick_started, order.pick_done = True, self.clock.now()
            order.batch_id = order.order_id % 100_000
            self._touch(order)
            return order

    def pack(self, order_id: int, packages: list[dict[str, Any]] | None = None) -> Order:
        """Pack into ``packages`` (default: one package with everything allocated).

        A package: ``{"tracking_number"?, "weight"?, "length"?, "width"?, "height"?,
        "description"?, "contents": [{"sku" | "order_item_id", "qty"}]}``; a missing tracking
        number is generated. Packed quantity per line may not exceed its allocation."""
        with self.lock:
            order = self._open_order(order_id)
            if order.pack_started:
                raise ControlError(f"order {order_id} is packed already")
            if not order.pick_started:
                self.pick(order_id)
            specs = packages if packages is not None else [_everything(order)]
            built = [self._package(order, spec) for spec in specs]
            _check_packed(order, built)
            order.packages = built
            order.pack_started, order.pack_done = True, self.clock.now()
            self._touch(order)
            return order

    def ship(self, order_id: int, packages: list[dict[str, Any]] | None = None) -> Order:
        """Ship and close (§5.6, §11 #11, #12): pack first unless packed; lines shipped short
        are reduced (or removed, ``Settings.short_line``) and their allocation released."""
        with self.lock:
            order = self._open_order(order_id)
            if order.pack_started and packages is not None:
                raise ControlError(f"order {order_id} is packed already; ship it as packed")
            if not order.pack_started:
                self.pack(order_id, packages)
            shipped = _packed_per_line(order.packages)
            if not any(shipped.values()):
                raise ControlError(f"order {order_id} has nothing packed to ship")
            self._close(order, shipped)
            return order

    def _close(self, order: Order, shipped: dict[int, float]) -> None:
        kept: list[OrderItem] = []
        for line in order.items:
            quantity = shipped.get(line.order_item_id, 0.0)
            row = self._row(order.customer.id, order.facility.id, line.item)
            if row is not None:
                row.allocated -= line.allocated  # the short part returns to available
                row.on_hand -= quantity
            if quantity < line.qty:
                line.row_version += 1
            line.qty = line.allocated = quantity
            if quantity > 0 or self.settings.short_line == "reduce":
                kept.append(line)
        now = self.clock.now()
        order.items = kept
        order.status, order.is_closed, order.ship_date = STATUS_CLOSED, True, now
        if order.process_date is None or self.settings.process_date_on == "close":
            order.process_date = now
        routing = dict(order.fields.get("routingInfo") or {})
        routing["trackingNumber"] = order.packages[0].tracking_number  # §5.4 #2
        order.fields["routingInfo"] = routing
        self._touch(order)

    def cancel(self, order_id: int) -> Order:
        """Cancel in the WMS without the hub asking (§11 #13); allowed until closed."""
        with self.lock:
            order = self._open_order(order_id)
            self._cancel(order)
            return order

    def _cancel(self, order: Order) -> None:
        for line in order.items:
            row = self._row(order.customer.id, order.facility.id, line.item)
            if row is not None and line.allocated:
                row.allocated -= line.allocated
            line.allocated = 0.0
        order.status = STATUS_CANCELED
        order.is_closed = self.settings.cancel_sets_closed
        self._touch(order)

    def _package(self, order: Order, spec: Any) -> Package:
        if not isinstance(spec, dict) or not isinstance(spec.get("contents"), list) or not (
                spec["contents"]):
            raise ControlError("each package needs a non-empty contents list")
        now = self.clock.now()
        tracking = spec.get("tracking_number") or self._new_tracking()
        package = Package(self.mint.next("package"), str(tracking), now,
                          description=str(spec.get("description", "")))
        for name in ("weight", "length", "width", "height"):
            value = spec.get(name, 0.0)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ControlError(f"package {name} must be a non-negative number")
            setattr(package, name, float(value))
        for content in spec["contents"]:
            line = _content_line(order, content)
            qty = content.get("qty")
            if isinstance(qty, bool) or not isinstance(qty, int | float) or qty <= 0:
                raise ControlError("each package content needs a positive qty")
            package.contents.append(PackageContent(
                self.mint.next("package_content"), package.package_id, line.order_item_id,
                line.receive_item_id or 0, float(qty), now))
        return package

    def _new_tracking(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        return "1Z" + "".join(self._tracking.choice(alphabet) for _ in range(16))


_STATUS_NAMES = {STATUS_OPEN: "open", STATUS_CLOSED: "closed", STATUS_CANCELED: "canceled"}


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _require_identifier(body: dict[str, Any], key: str, alternates: tuple[str, ...]) -> None:
    identifier = body.get(key)
    if not isinstance(identifier, dict) or all(
            identifier.get(name) in (None, "") for name in alternates):
        name = key[:1].upper() + key[1:]
        raise model_validation_error(name, None, "Required", f"{name} is required")


def _order_items(body: dict[str, Any]) -> list[Any]:
    """``orderItems`` or the documented alternative ``_embedded[<item rel>]`` (§5.2)."""
    items = body.get("orderItems")
    if items is None and isinstance(body.get("_embedded"), dict):
        items = body["_embedded"].get(ITEM_REL.lower())
    if not isinstance(items, list) or not items:
        raise model_validation_error("OrderItems", None, "Required",
                                     "At least one order item is required")
    return items


def _refuse_unless_open(order: Order, action: str) -> None:
    """§5.6 / §11 #15: closed → 403 ``OrderConfirmed``, canceled → 403 ``OrderCanceled``."""
    if order.status == STATUS_CLOSED:
        raise operation_error(action, "OrderConfirmed", "The order is closed (confirmed)")
    if order.status == STATUS_CANCELED:
        raise operation_error(action, "OrderCanceled", "The order is canceled")


def _everything(order: Order) -> dict[str, Any]:
    return {"contents": [{"order_item_id": line.order_item_id, "qty": line.allocated}
                         for line in order.items if line.allocated > 0]}


def _content_line(order: Order, content: Any) -> OrderItem:
    if not isinstance(content, dict):
        raise ControlError("package contents must be objects")
    if content.get("order_item_id") is not None:
        line = order.line(int(content["order_item_id"]))
    else:
        sku = str(content.get("sku", "")).lower()
        line = next((item for item in order.items if item.item.sku.lower() == sku), None)
    if line is None:
        raise ControlError(f"no order line for {content!r}")
    return line


def _packed_per_line(packages: list[Package]) -> dict[int, float]:
    """Packed quantity per ``orderItemId`` (§10: how the hub computes shipped quantities)."""
    totals: dict[int, float] = {}
    for package in packages:
        for content in package.contents:
            totals[content.order_item_id] = totals.get(content.order_item_id, 0.0) + content.qty
    return totals


def _check_packed(order: Order, packages: list[Package]) -> None:
    totals = _packed_per_line(packages)
    for line in order.items:
        if totals.get(line.order_item_id, 0.0) > line.allocated:
            raise ControlError(f"line {line.order_item_id} ({line.item.sku}): packing "
                               f"{totals[line.order_item_id]:g} but only {line.allocated:g} "
                               "allocated")
