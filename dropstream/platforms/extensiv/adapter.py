"""The Extensiv warehouse adapter (spec §10): orders out, shipments and cancellations back by
polling, stock summaries in, cancel through the canceler.

Memory (``context.state``, saved by the hub): ``orders_cursor``, the newest ``lastModifiedDate``
read (an unqualified WMS timestamp, kept in the WMS's own frame so no time-zone guess is
needed, §3), and ``canceled_by_hub``, the references the hub asked Extensiv to cancel. Tokens
are never saved (client.py).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
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
)
from dropstream.platforms.errors import (
    AccountNotFound,
    CredentialsRejected,
    NotSupported,
    PermanentError,
    PlatformError,
    RemoteNotFound,
    RemoteValidationError,
    TransientError,
)
from dropstream.platforms.extensiv import mapping
from dropstream.platforms.extensiv.client import (
    ORDERS_PAGE,
    ExtensivClient,
    Login,
    ci,
    refusal_code,
    rql_value,
)

logger = logging.getLogger(__name__)

CURSOR = "orders_cursor"
CURSOR_ID = "orders_cursor_id"  # the last order id read at the cursor's date
CURSOR_AT = "orders_cursor_at"  # hub time (epoch seconds) the cursor last moved
SWEPT = "orders_window_swept"  # the overlap before the cursor was read after it settled
CANCELED = "canceled_by_hub"
CREATE_ATTEMPTS = 8  # sends of one create after ambiguous failures, each after a search
SEARCH_CHUNK = 50  # references per search: keeps the URL short
REFERENCE_MAX = 50  # §5.2: keep referenceNum ≤ 50
SORT = "readOnly.lastModifiedDate,readOnly.orderId"


class ExtensivWarehouse(WarehouseAdapterBase):
    platform = "extensiv"

    def __init__(self, settings: Mapping[str, Any], context: AdapterContext | None = None
                 ) -> None:
        super().__init__(settings, context)
        s = self.settings
        self.customer_id = int(s["wms_customer_id"])
        self.facility_id = int(s["facility_id"])
        listed = str(s.get("inventory_facility_ids") or "")
        self.stock_facilities = [int(f) for f in listed.split(",") if f] or [self.facility_id]
        self.duplicates_allowed = s.get("duplicate_reference") == "allow"
        self.overlap = int(s.get("poll_overlap_seconds") or 0)
        self.login = Login(base_url=str(s.get("base_url") or "https://secure-wms.com"),
                           client_id=str(s["client_id"]), client_secret=str(s["client_secret"]),
                           user_login=str(s.get("user_login") or ""),
                           tpl=str(s.get("tpl") or ""),
                           user_login_id=str(s.get("user_login_id") or ""))
        self.client = ExtensivClient(self.login, meter=self.context.meter)
        self._next_state: dict[str, Any] = {}

    @classmethod
    def rules(cls, settings: Mapping[str, Any]) -> WarehouseRules:
        return WarehouseRules(max_lengths={"order_number": REFERENCE_MAX}, batch_size=50)

    def close(self) -> None:
        self.client.close()

    # -- the connection ------------------------------------------------------------------------

    def validate_credentials(self) -> None:
        """The token, the roles, then whether the customer and each facility hold anything:
        each failure says which setting is wrong."""
        self.client.call("GET", "/orders", endpoint="GET /orders", params={
            "pgsiz": 1, "rql": f"customerIdentifier.id=={self.customer_id}"})
        if not self._stock_rows(f"customerIdentifier.id=={self.customer_id}"):
            raise AccountNotFound(
                f"Extensiv answered, but customer {self.customer_id} has no items in stock "
                "there: check the customer id in the warehouse's settings.")
        for facility in dict.fromkeys([self.facility_id, *self.stock_facilities]):
            rql = f"customerIdentifier.id=={self.customer_id};facilityId=={facility}"
            if not self._stock_rows(rql):
                raise AccountNotFound(
                    f"Extensiv answered, but facility {facility} holds nothing of customer "
                    f"{self.customer_id}: check the facility id in the warehouse's settings.")

    def _stock_rows(self, rql: str) -> int:
        body = self.client.call("GET", "/inventory/stocksummaries",
                                endpoint="GET /inventory/stocksummaries",
                                params={"pgsiz": 1, "rql": rql})
        return int(ci(body, "totalResults") or 0)

    # -- orders out ----------------------------------------------------------------------------

    def submission_key(self, orders: Sequence[WarehouseOrder], created_at: datetime) -> str:
        return f"extensiv-{orders[0].order_number}-{created_at.astimezone(UTC):%Y%m%d%H%M%S}"

    def submitted(self, key: str, orders: Sequence[WarehouseOrder]) -> frozenset[str]:
        """The orders Extensiv holds, found by ``referenceNum`` (§5.9), 50 per search."""
        held = self._held([order.order_number for order in orders])
        return frozenset(o.order_number for o in orders if o.order_number.lower() in held)

    def submit(self, orders: Sequence[WarehouseOrder], *, key: str) -> SubmitResult:
        """One ``POST /orders`` per order. Where the tenant allows duplicate references the
        batch is searched first (one request per 50 orders), so an order already there is not
        sent again; where it refuses them, a ``Duplicate`` answer is adopted by search."""
        held = self._held([o.order_number for o in orders]) if self.duplicates_allowed else {}
        refused: dict[str, str] = {}
        for order in orders:
            if order.order_number.lower() in held:
                continue
            try:
                self._create(order)
            except RemoteValidationError as exc:
                refused[order.order_number] = self._refusal(order, exc)
        return SubmitResult(reference=key, order_numbers=tuple(o.order_number for o in orders),
                            refused=refused)

    def _held(self, references: list[str]) -> dict[str, list[dict[str, Any]]]:
        held: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(references), SEARCH_CHUNK):
            held.update(self._search(references[start:start + SEARCH_CHUNK]))
        for reference, rows in held.items():
            if len(rows) > 1:
                logger.warning("Extensiv holds %d orders with reference %s for customer %s",
                               len(rows), reference, self.customer_id)
            self._start_cursor(rows[0])
        return held

    def _search(self, references: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Reference (lower case) → the customer's orders carrying it."""
        if not references:
            return {}
        values = ",".join(rql_value(ref) for ref in references)
        rql = f"customerIdentifier.id=={self.customer_id};referenceNum=in=({values})"
        found: dict[str, list[dict[str, Any]]] = {}
        page = 1
        while True:
            total, rows = self.client.orders(rql, page=page, page_size=1000)
            for row in rows:
                found.setdefault(str(ci(row, "referenceNum") or "").lower(), []).append(row)
            if len(rows) < 1000 or page * 1000 >= total:
                return found
            page += 1

    def _create(self, order: WarehouseOrder) -> None:
        """Create the order exactly once: after an answer that may have been lost (a timeout,
        a 5xx, a dropped connection) the reference is searched before the next send."""
        body = mapping.order_body(order, customer_id=self.customer_id,
                                  facility_id=self.facility_id)
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                answer = self.client.call("POST", "/orders", endpoint="POST /orders",
                                          json_body=body, idempotent=False)
            except RemoteValidationError as exc:
                name, code, _ = refusal_code(exc)
                if code == "Duplicate" and self._adopt(order):
                    return
                if code == "DoesNotExist" and name.lower() == "customeridentifier":
                    raise AccountNotFound(
                        f"Extensiv has no customer {self.customer_id}: check the customer id "
                        "in the warehouse's settings.", status=400) from None
                if code == "DoesNotExist" and name.lower() == "facilityidentifier":
                    raise AccountNotFound(
                        f"Extensiv has no facility {self.facility_id}: check the facility id "
                        "in the warehouse's settings.", status=400) from None
                raise
            except TransientError as exc:
                if not getattr(exc, "maybe_applied", False) or attempt == CREATE_ATTEMPTS:
                    raise
                time.sleep(self.client.http.retry.backoff(attempt))
                if self._adopt(order):
                    return
                continue
            self._start_cursor(answer)
            return

    def _adopt(self, order: WarehouseOrder) -> bool:
        """Whether Extensiv holds the order already (then the hub takes that one)."""
        rows = self._search([order.order_number]).get(order.order_number.lower())
        if rows:
            self._start_cursor(rows[0])
            logger.info("Extensiv already holds order %s (order id %s); not sent again",
                        order.order_number, mapping.order_id(rows[0]))
        return bool(rows)

    def _start_cursor(self, row: Mapping[str, Any]) -> None:
        """Shipments are polled from the first order the hub sent (its creation time)."""
        if not self.context.state.get(CURSOR):
            created = ci(mapping.read_only(row), "creationDate") or mapping.modified(row)
            if created:
                self.context.state.update({CURSOR: str(created), CURSOR_AT: time.time(),
                                           SWEPT: False})

    def _refusal(self, order: WarehouseOrder, error: RemoteValidationError) -> str:
        """A plain reason naming the field or the unknown SKU (§7)."""
        name, code, hint = refusal_code(error)
        if code == "DoesNotExist" and name.lower().endswith(".itemidentifier"):
            index = name[name.find("[") + 1:name.find("]")]
            sku = (order.lines[int(index)].sku if index.isdigit()
                   and int(index) < len(order.lines) else hint)
            return f"unknown SKU {sku}: Extensiv has no item {sku} for customer " \
                   f"{self.customer_id}"
        if name:
            return f"Extensiv refused {name}: {hint or code}"
        return error.message

    # -- shipments and cancellations back ----------------------------------------------------

    def fetch_shipments(self) -> Iterator[WarehouseDocument]:
        """Orders changed since the cursor: closed ones as one shipment per package, canceled
        ones as cancellations. Nothing is read before the first order went.

        The window starts ``poll_overlap_seconds`` before the cursor (an order committed late
        with an earlier time is still seen) until that much hub time has passed since the
        cursor last moved and the window was read once more; after that a quiet poll reads
        from the cursor only, so it stays one request."""
        cursor = str(self.context.state.get(CURSOR) or "")
        if not cursor:
            return
        now = time.time()
        moved_at = float(self.context.state.get(CURSOR_AT) or 0)
        settling = self.overlap > 0 and not self.context.state.get(SWEPT)
        since = mapping.shift(cursor, self.overlap)
        after = None if settling else (cursor, int(self.context.state.get(CURSOR_ID) or 0))
        rows, newest, newest_id = self._changed_since(since, after)
        mine = [row for row in rows if mapping.status(row) != mapping.STATUS_OPEN
                and mapping.created_by(row, user_login=self.login.user_login,
                                       user_login_id=self.login.user_login_id)]
        swept = bool(self.context.state.get(SWEPT)) or (settling
                                                        and now - moved_at >= self.overlap)
        if newest > cursor:
            self._next_state = {CURSOR: newest, CURSOR_ID: newest_id, CURSOR_AT: now,
                                SWEPT: False}
        elif newest == cursor and newest_id > int(self.context.state.get(CURSOR_ID) or 0):
            self._next_state = {CURSOR_ID: newest_id, SWEPT: swept}
        else:
            self._next_state = {SWEPT: swept}
        if not mine:
            self.context.state.update(self._next_state)
            return
        asked = set(self.context.state.get(CANCELED) or [])
        shipments, cancellations = [], []
        for row in mine:
            reference = str(ci(row, "referenceNum") or "")
            if mapping.status(row) == mapping.STATUS_CLOSED:
                shipments.extend(mapping.shipments(row))
            else:
                why = ("canceled in Extensiv at the hub's request" if reference.lower() in asked
                       else "canceled in Extensiv")
                cancellations.append(WarehouseCancellation(reference, why))
        digest = hashlib.sha256("\n".join(
            f"{mapping.order_id(r)}|{mapping.modified(r)}|{mapping.status(r)}"
            for r in sorted(mine, key=mapping.order_id)).encode()).hexdigest()[:24]
        event_id = f"extensiv:orders:{digest}"
        yield WarehouseDocument(
            name=f"Extensiv orders changed since {since}", event_id=event_id,
            received_at=datetime.now(UTC), shipments=shipments, cancellations=cancellations,
            duplicate=self.context.seen(event_id))

    def _changed_since(self, since: str, after: tuple[str, int] | None
                       ) -> tuple[list[dict[str, Any]], str, int]:
        """Every order of the customer and facility modified at or after ``since`` (or, with
        ``after``, past that (date, order id)), and the (date, order id) of the last one in
        that order. Pages are keyed on the last (date, order id) read, not numbered, so an
        order modified mid-read moves behind the reader, never past it, and N changed orders
        cost ⌈N / 500⌉ requests (one more when N is a multiple of 500)."""
        base = f"customerIdentifier.id=={self.customer_id};" \
               f"facilityIdentifier.id=={self.facility_id}"
        window = _past(*after) if after else \
            f"readOnly.lastModifiedDate=ge={rql_value(since)}"
        found: dict[int, dict[str, Any]] = {}
        newest, newest_id = "", 0
        while True:
            _, rows = self.client.orders(f"{base};{window}", detail="All", sort=SORT)
            for row in rows:
                found[mapping.order_id(row)] = row
            if rows:
                newest, newest_id = mapping.modified(rows[-1]), mapping.order_id(rows[-1])
            if len(rows) < ORDERS_PAGE:
                return list(found.values()), newest, newest_id
            window = _past(newest, newest_id)

    def acknowledge(self, document: WarehouseDocument, errors: Sequence[RowError] = ()) -> None:
        if document.event_id.startswith("extensiv:orders:"):
            self.context.state.update(self._next_state)

    # -- inventory -----------------------------------------------------------------------------

    def fetch_inventory(self) -> Iterator[WarehouseDocument]:
        """``available`` per SKU summed over the mapped facilities, one document per read."""
        rows = list(self.client.stock_summaries(self.customer_id, self.stock_facilities))
        now = datetime.now(UTC)
        yield WarehouseDocument(
            name=f"Extensiv stock summaries, facilities "
                 f"{', '.join(str(f) for f in self.stock_facilities)}",
            event_id=f"extensiv:stock:{now.isoformat()}", received_at=now,
            levels=mapping.levels(rows))

    # -- cancel --------------------------------------------------------------------------------

    def cancel_order(self, order_number: str) -> None:
        """The canceler with the order's ETag (§5.6, §5.8). Already canceled: done. Shipped,
        closed or in a pick job: NotSupported ("the warehouse could not cancel"), which the hub
        turns into an alert, not an error."""
        rows = self._search([order_number]).get(order_number.lower())
        if not rows:
            raise RemoteNotFound(f"Extensiv has no order {order_number} for customer "
                                 f"{self.customer_id}", status=404)
        number = mapping.order_id(rows[-1])
        asked = False
        for _ in range(3):
            order, headers = self.client.exchange(
                "GET", f"/orders/{number}", endpoint="GET /orders/:id",
                params={"detail": "None"}, subject=f"order {order_number}")
            state = mapping.status(order)
            if state == mapping.STATUS_CANCELED:
                if asked:  # a lost answer: the cancel went through
                    self._remember_cancel(order_number)
                return
            if state == mapping.STATUS_CLOSED:
                raise NotSupported(f"the warehouse could not cancel order {order_number}: "
                                   "Extensiv has shipped and closed it")
            asked = True
            try:
                self.client.call("POST", f"/orders/{number}/canceler",
                                 endpoint="POST /orders/:id/canceler", idempotent=False,
                                 json_body={"reason": "Canceled in the store"},
                                 headers={"If-Match": headers.get("ETag", "")})
            except CredentialsRejected as exc:
                code = self.client.last_error_code
                if exc.status == 403 and code:
                    raise NotSupported(
                        f"the warehouse could not cancel order {order_number}: Extensiv "
                        f"answered {code} (it is being picked, packed or closed)") from None
                raise
            except TransientError as exc:
                if not getattr(exc, "maybe_applied", False):
                    raise
                continue  # the answer was lost: read the order again before deciding
            except PermanentError as exc:
                if exc.status == 412:
                    continue  # changed since the read (§5.8): read again and re-decide
                raise
            self._remember_cancel(order_number)
            return
        raise PlatformError(f"Extensiv kept changing order {order_number} while the hub tried "
                            "to cancel it; try again later")

    def _remember_cancel(self, order_number: str) -> None:
        asked = list(self.context.state.get(CANCELED) or [])
        asked.append(order_number.lower())
        self.context.state[CANCELED] = asked[-500:]


def _past(modified: str, order_id: int) -> str:
    """RQL for "after (modified, order id)" in the poll's sort order."""
    when = rql_value(modified)
    return (f"(readOnly.lastModifiedDate=gt={when},(readOnly.lastModifiedDate=={when};"
            f"readOnly.orderId=gt={order_id}))")
