"""The Bright Sites store adapter: the StoreAdapter protocol over BrightSitesClient.

Request budget (DESIGN.md "Cost model"): listing costs ⌈rows/500⌉ requests, one order one
request, a pushed order none, a shipment one POST, the shipped status one PUT, and an inventory
write one ``batch_update`` per product whose level changed — the final_sku → (product id,
inventory record id) map is kept in the caller's ``inventory_cache`` and re-read only on a miss
or once a day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from dropstream.platforms.base import (
    AdapterContext,
    InventoryWriteResult,
    OrderSummary,
    StoreOrder,
    StoreShipment,
)
from dropstream.platforms.brightsites.client import BrightSitesClient, format_time
from dropstream.platforms.brightsites.mapping import (
    inventory_from_row,
    order_from_json,
    shipment_body,
    shipment_id,
    shipment_matches,
    summary_from_row,
)
from dropstream.platforms.errors import (
    BadResponse,
    CredentialsRejected,
    OrderDataError,
    PlatformError,
    RemoteNotFound,
    RemoteValidationError,
    TransientError,
)

logger = logging.getLogger(__name__)

INVENTORY_MAX_AGE = timedelta(days=1)
NOT_LISTED = ("not in the store's inventory list (GET /inventories): an unknown SKU, a "
              "vendor-managed product, or inventory turned off for the product")
VENDOR_MANAGED = "vendor-managed product: its stock is kept by the supplier in Bright Sites"
NOT_TRACKED = "Bright Sites does not track stock for this variant (track is off)"
AMBIGUOUS = "several Bright Sites inventory records have this final_sku"


class BrightSitesAdapter:
    """One Bright Sites store. Construct per run; ``close()`` when done.

    ``context.state["inventory_map"]`` is the adapter's memory between runs, JSON-ready:
    ``fetched_at`` (ISO time of the last full inventory read), ``skus`` (final_sku → [product
    id, record id, last known level, tracked]), ``missing`` (SKUs asked for but not listed) and
    ``ambiguous``. ``client_options`` go to BrightSitesClient (timeouts, attempts, backoff);
    its ``retry_budget`` is the run's (``context.retry_budget``) unless one is given.
    """

    platform = "brightsites"

    def __init__(self, settings: Mapping[str, Any], context: AdapterContext | None = None,
                 **client_options: Any) -> None:
        self.settings = dict(settings)
        self.context = context or AdapterContext()
        client_options.setdefault("retry_budget", self.context.retry_budget)
        self.client = BrightSitesClient(self.settings, meter=self.context.meter,
                                        **client_options)
        self.inventory_cache: dict[str, Any] = self.context.state.setdefault("inventory_map", {})

    def __repr__(self) -> str:
        return f"<BrightSitesAdapter {self.client.subdomain!r}>"

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> BrightSitesAdapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- credentials ---------------------------------------------------------------------------

    def validate_credentials(self) -> None:
        """One ``GET /orders?per_page=1``, never retried.

        Raises CredentialsRejected (bad or expired token, API access off), RemoteNotFound (no
        store at the subdomain), RemoteUnavailable/RemoteTimeout (cannot reach it), BadResponse
        (something answers that is not the Bright Sites API). A read-only token passes here:
        the API offers no harmless write to test it; the first write reports it.
        """
        endpoint = "GET /orders"
        body = self.client.get("/orders", endpoint=endpoint, params={"per_page": 1},
                               max_attempts=1)
        try:
            self.client.expect_object(body, endpoint, "orders")
        except BadResponse as exc:
            raise BadResponse(
                f"{self.client.host} answered, but not like the Bright Sites API ({exc}). "
                "Check the subdomain and API URL in the store's settings.",
                field=exc.field) from None

    # -- orders --------------------------------------------------------------------------------

    @property
    def import_status(self) -> str:
        return str(self.settings.get("order_import_status") or "paid")

    def wants(self, summary: OrderSummary) -> bool:
        """Orders at the store's import status (``order_import_status``, default paid)."""
        return summary.status == self.import_status

    def is_cancellation(self, summary: OrderSummary) -> bool:
        return summary.status == "canceled"

    def list_orders(self, *, updated_since: datetime | None,
                    created_since: datetime | None = None,
                    status: str | None = None) -> Iterator[OrderSummary]:
        """Order summaries updated since ``updated_since`` (and created since
        ``created_since``), of any status; with no ``updated_since`` (the first import, a
        backfill) only those at the import status. ``status`` asks for one status whatever
        else (tools, tests). Each order once, none skipped.

        ⌈matching/500⌉ requests when the store does not change meanwhile (see
        BrightSitesClient.order_rows). Raises PlatformError; BadResponse names a wrong row field.
        """
        params: dict[str, str] = {}
        if status or updated_since is None:
            params["status"] = status or self.import_status
        if updated_since is not None:
            params["updated_at_from"] = format_time(updated_since)
        if created_since is not None:
            params["created_at_from"] = format_time(created_since)
        for index, row in enumerate(self.client.order_rows(params)):
            yield summary_from_row(row, f"orders[{index}]")

    def get_order(self, external_id: str) -> StoreOrder:
        """One ``GET /orders/:id`` mapped to a StoreOrder.

        Raises RemoteNotFound for an unknown order, OrderDataError naming the field that cannot
        be mapped, other PlatformErrors for the request.
        """
        order_id = _numeric_id(external_id, "order")
        body = self.client.get(f"/orders/{order_id}", endpoint="GET /orders/:id",
                               subject=f"order {order_id}")
        order = order_from_json(body)
        if order.external_id != str(order_id):
            raise BadResponse(f"Bright Sites answered GET /orders/{order_id} with order "
                              f"{order.external_id}", field="order_id")
        return order

    def order_from_payload(self, payload: Mapping[str, Any]) -> StoreOrder:
        """A pushed show-order body (bare or ``{"order": …}``) mapped with zero requests.

        Raises OrderDataError naming the field when it cannot be mapped.
        """
        return order_from_json(payload)

    def order_from_push(self, payload: Mapping[str, Any]) -> StoreOrder:
        """A pushed order: mapped from the body with zero requests, or read again from the store
        (one request) when the store's settings ask for it (``push_verify``, §10: Push Orders
        has no signature, so the body is only as trustworthy as the URL's secrecy)."""
        order = self.order_from_payload(payload)
        if self.settings.get("push_verify"):
            return self.get_order(order.external_id)
        return order

    # -- shipments -----------------------------------------------------------------------------

    def post_shipment(self, shipment: StoreShipment, *, check_existing: bool = False,
                      claimed: frozenset[str] = frozenset()) -> str:
        """Create one Bright Sites shipment (one POST) and return its id.

        The API has no idempotency key (§8.3), so a POST whose answer was lost (timeout,
        dropped connection, 5xx) is never simply repeated: the order's shipments are read and
        one with the same tracking number and lines is taken as this one; only if none is there
        is the POST sent again. ``claimed`` are store shipment ids that other packages of the
        order already stand for: never taken for this one (packages may share a tracking
        number, or have none and the same lines). ``check_existing`` does the look-up first (a
        retry after a crash). Raises RemoteValidationError (the store refused it), RemoteNotFound (no such
        order), CredentialsRejected (``read_only`` for a read-only token), TransientError.
        """
        order_id = _numeric_id(shipment.order_external_id, "order")
        _check_shipment(shipment)
        if check_existing:
            found = self._find_shipment(order_id, shipment, claimed)
            if found is not None:
                return found
        body = shipment_body(shipment, notify_customer=bool(self.settings.get(
            "notify_customer", True)))
        endpoint = "POST /orders/:id/shipments"
        attempts = self.client.max_attempts
        used = 0
        while True:
            try:
                answer = self.client.request(
                    "POST", f"/orders/{order_id}/shipments", endpoint=endpoint,
                    json_body=body, idempotent=False, first_attempt=used + 1,
                    max_attempts=attempts - used, subject=f"order {order_id}")
                return shipment_id(answer)
            except RemoteValidationError as exc:
                raise RemoteValidationError(
                    f"Bright Sites refused shipment {shipment.tracking_number or '(no tracking)'}"
                    f" of order {order_id}: {_fields_text(exc)}", fields=exc.fields,
                    status=exc.status or 422) from exc
            except TransientError as exc:
                if not getattr(exc, "maybe_applied", False):
                    raise
                used += 1
                if not self.client.pause(self.client.backoff_base):
                    # The run may wait no longer on this store: its next attempt looks for the
                    # shipment before sending it again (the intent stays pending).
                    exc.message = (f"{exc.message} (the shipment may be in the store; the "
                                   "run's next attempt looks for it before posting again)")
                    exc.args = (exc.message,)
                    raise
                logger.warning("Bright Sites store %s: the answer to the shipment POST for "
                               "order %s was lost (%s); looking for it before sending again",
                               self.client.subdomain, order_id, exc.message)
                found = self._find_shipment(order_id, shipment, claimed)
                if found is not None:
                    return found
                if used >= attempts:
                    raise

    def _find_shipment(self, order_id: int, shipment: StoreShipment,
                       claimed: frozenset[str]) -> str | None:
        """The id of the order's store shipment matching ``shipment`` and not ``claimed``
        (one GET), or None."""
        endpoint = "GET /orders/:id/shipments"
        body = self.client.get(f"/orders/{order_id}/shipments", endpoint=endpoint,
                               subject=f"order {order_id}")
        for remote in self.client.expect_object(body, endpoint, "shipments"):
            if shipment_matches(remote, shipment) and shipment_id(remote) not in claimed:
                return shipment_id(remote)
        return None

    @property
    def sets_status_on_shipment(self) -> bool:
        return str(self.settings.get("status_on_shipped") or "shipped") != "none"

    def set_order_shipped(self, external_id: str) -> None:
        """Set the status chosen in ``status_on_shipped`` with one PUT; "none" does nothing.

        No e-mail here: the confirmation goes with the shipment (§8.6 step 4). A refusal such as
        an approval hold (§5.1 shape B) raises RemoteValidationError with a plain message; the
        caller records it and alerts, it does not retry.
        """
        status = str(self.settings.get("status_on_shipped") or "shipped")
        if status == "none":
            return
        order_id = _numeric_id(external_id, "order")
        try:
            self.client.request(
                "PUT", f"/orders/{order_id}", endpoint="PUT /orders/:id",
                json_body={"order": {"status": status, "send_shipping_confirmation": False}},
                subject=f"order {order_id}")
        except RemoteValidationError as exc:
            text = _fields_text(exc)
            hint = (" The order is waiting for manager approval in Bright Sites; approve it "
                    "there, then set the status again." if "approv" in text.lower() else "")
            raise RemoteValidationError(
                f"Bright Sites would not set order {order_id} to {status!r}: {text}.{hint}",
                fields=exc.fields, status=exc.status or 422) from exc

    # -- inventory -----------------------------------------------------------------------------

    def write_inventory(self, quantities: Mapping[str, int], *,
                        full: bool = False) -> InventoryWriteResult:
        """Write absolute levels keyed by final_sku: one ``batch_update`` per changed product.

        Levels equal to the last known store level cost nothing (``unchanged``); a negative
        level is written as 0. The SKU map, with each record's level, is read from
        ``GET /inventories`` only when a SKU was never seen or the map is a day old — and always
        with ``full``, so a full sync compares with what the store holds now, not with a level
        remembered from an earlier run (someone may have changed it in the store's admin). SKUs the
        store does not list (vendor-managed, unknown, inventory off) and untracked variants are
        skipped with the reason; a product the store refuses is reported per SKU in ``failed``.
        After a transient failure the remaining products are not tried (``failed`` says so).
        Raises CredentialsRejected (e.g. a read-only token), which stops every write.
        """
        result = InventoryWriteResult()
        wanted: dict[str, int] = {}
        for sku, quantity in quantities.items():
            if isinstance(quantity, bool) or not isinstance(quantity, int):
                result.failed[str(sku)] = f"quantity must be a whole number, not {quantity!r:.30}"
            else:
                wanted[str(sku)] = max(0, quantity)
        if not wanted:
            return result
        if full:
            self._read_inventory_map()
        cache = self._inventory_map(wanted)
        skus: dict[str, list[Any]] = cache["skus"]
        ambiguous = set(cache.get("ambiguous", ()))
        changes: dict[int, list[tuple[str, int, int]]] = {}
        for sku, quantity in wanted.items():
            entry = skus.get(sku)
            if sku in ambiguous:
                result.skipped[sku] = AMBIGUOUS
            elif entry is None:
                result.skipped[sku] = NOT_LISTED
            elif not entry[3]:
                result.skipped[sku] = NOT_TRACKED
            elif entry[2] != quantity:
                changes.setdefault(int(entry[0]), []).append((sku, int(entry[1]), quantity))
            else:
                result.unchanged[sku] = quantity
        stop: str | None = None
        for product_id in sorted(changes):
            items = changes[product_id]
            if stop is not None:
                for sku, _, _ in items:
                    result.failed[sku] = f"not written: {stop}"
                continue
            try:
                self.client.request(
                    "PUT", f"/inventories/{product_id}/batch_update",
                    endpoint="PUT /inventories/:id/batch_update",
                    json_body={"inventories": [{"id": record, "inventory": level}
                                               for _, record, level in items]},
                    subject=f"product {product_id}")
            except CredentialsRejected:
                raise
            except RemoteValidationError as exc:
                text = _fields_text(exc)
                vendor = "vendor" in text.lower()
                for sku, _, _ in items:
                    if vendor:
                        result.skipped[sku] = VENDOR_MANAGED
                        skus.pop(sku, None)
                        cache["missing"].append(sku)
                    else:
                        result.failed[sku] = f"Bright Sites refused product {product_id}: {text}"
            except RemoteNotFound as exc:
                for sku, _, _ in items:
                    result.failed[sku] = exc.message
                    skus.pop(sku, None)  # re-learnt on the next write (a miss)
            except PlatformError as exc:
                for sku, _, _ in items:
                    result.failed[sku] = exc.message
                if isinstance(exc, TransientError):
                    stop = exc.message
            else:
                for sku, _, level in items:
                    skus[sku][2] = level
                    result.written[sku] = level
        return result

    def _inventory_map(self, wanted: Mapping[str, int]) -> dict[str, Any]:
        """The cached SKU map, re-read first when it is a day old or a wanted SKU is new to it."""
        cache = self.inventory_cache
        fetched = _parse_time(cache.get("fetched_at"))
        known = set(cache.get("skus") or {}) | set(cache.get("missing") or ()) \
            | set(cache.get("ambiguous") or ())
        stale = fetched is None or datetime.now(UTC) - fetched >= INVENTORY_MAX_AGE
        if stale or any(sku not in known for sku in wanted):
            self._read_inventory_map()
        cache.setdefault("missing", [])
        missing = set(cache["missing"])
        for sku in wanted:
            if sku not in cache["skus"] and sku not in missing:
                cache["missing"].append(sku)
                missing.add(sku)
        return cache

    def _read_inventory_map(self) -> None:
        """Page through ``GET /inventories`` and replace the cached map (⌈rows/500⌉ requests)."""
        skus: dict[str, list[Any]] = {}
        ambiguous: set[str] = set()
        endpoint = "GET /inventories"
        for rows in self.client.pages("/inventories", endpoint=endpoint, key="inventories"):
            for index, raw in enumerate(rows):
                row = inventory_from_row(raw, f"inventories[{index}]")
                if not row.final_sku:
                    continue
                previous = skus.get(row.final_sku)
                if previous is not None and previous[1] != row.record_id:
                    ambiguous.add(row.final_sku)
                skus[row.final_sku] = [row.product_id, row.record_id, row.inventory, row.track]
        for sku in ambiguous:
            skus.pop(sku, None)
        self.inventory_cache.clear()
        self.inventory_cache.update(
            fetched_at=datetime.now(UTC).isoformat(), skus=skus, missing=[],
            ambiguous=sorted(ambiguous))


def _numeric_id(value: Any, what: str) -> int:
    text = str(value).strip()
    if not text.isdigit() or not text.isascii():
        raise RemoteNotFound(f"{text!r:.40} is not a Bright Sites {what} id (a number)")
    return int(text)


def _check_shipment(shipment: StoreShipment) -> None:
    """The store does not validate quantities (§8.3): never send a line it might take wrongly.

    Raises OrderDataError naming the bad line.
    """
    if not shipment.lines:
        raise OrderDataError("a shipment needs at least one line", field="lines",
                             external_id=shipment.order_external_id)
    for index, line in enumerate(shipment.lines):
        if not str(line.external_line_id).strip().isdigit():
            raise OrderDataError(f"shipment line {line.external_line_id!r:.40} is not a Bright "
                                 "Sites line item id", field=f"lines[{index}].external_line_id",
                                 external_id=shipment.order_external_id)
        if line.quantity <= 0:
            raise OrderDataError(f"shipment line {line.external_line_id} has quantity "
                                 f"{line.quantity}; it must be positive",
                                 field=f"lines[{index}].quantity",
                                 external_id=shipment.order_external_id)


def _fields_text(exc: RemoteValidationError) -> str:
    if exc.fields:
        return "; ".join(f"{name}: {' '.join(messages)}" if name != "base" else " ".join(messages)
                         for name, messages in exc.fields.items())
    return exc.message


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
