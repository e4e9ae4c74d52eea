"""Orders, packages and stock summaries as the API shows them (§3, §5.3, §5.7, §6.1).

Everything is built once as HAL/camelCase; ``plain`` turns a HAL document into the plain-JSON
form (§3): PascalCase keys, no ``_links``, embedded order items as ``OrderItems``, collections as
``{"TotalResults", "ResourceList"}`` (stock summaries: ``{"TotalResults", "Summaries"}``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from dropstream.sandbox.extensiv.model import (
    STATUS_OPEN,
    Facility,
    Order,
    OrderItem,
    Package,
    StockRow,
)
from dropstream.sandbox.extensiv.wire import REL, fmt_wms, query_parameter_error, to_pascal

ORDER_REL = REL + "orders/order"
ITEM_REL = REL + "orders/item"
PACKAGE_REL = REL + "orders/package"
PACKAGES_REL = REL + "orders/packages"
CANCEL_REL = REL + "orders/ordercancel"

# §5.3: accepted values of ``detail`` and ``itemdetail`` (case-insensitive, comma-separated).
DETAILS = ("none", "orderitems", "billingdetails", "savedelements", "packages", "contacts",
           "proposedbilling", "outboundserialnumbers", "smallparcel", "parceloptions",
           "inserts", "all")
ITEM_DETAILS = ("none", "savedelements", "allocations", "all", "allocationswithdetail")


def parse_detail(value: str | None, allowed: tuple[str, ...], parameter: str) -> set[str]:
    """The set of lower-case detail names; ``all`` stands for every one. Unknown → 400."""
    names = {part.strip().lower() for part in (value or "").split(",") if part.strip()}
    unknown = sorted(names - set(allowed))
    if unknown:
        raise query_parameter_error(parameter, "NotParsable",
                                    f"Value not supported: {', '.join(unknown)}")
    return set(allowed) if "all" in names else names


ZoneOf = Callable[[Facility], "tzinfo | None"]


class OrderView:
    """Renders orders for one request's ``detail``/``itemdetail``; dates in each order's frame
    (``zone_of`` its facility, §3)."""

    def __init__(self, details: set[str], item_details: set[str], zone_of: ZoneOf) -> None:
        self.details = details
        self.item_details = item_details
        self.zone_of = zone_of
        self.zone: tzinfo | None = None

    def date(self, moment: Any) -> str | None:
        return fmt_wms(moment, self.zone)

    def order(self, order: Order) -> dict[str, Any]:
        self.zone = self.zone_of(order.facility)
        fields = dict(order.fields)
        if "savedelements" not in self.details:
            fields.pop("savedElements", None)
        routing = dict(fields.pop("routingInfo", None) or {})
        routing.setdefault("trackingNumber", None)
        document: dict[str, Any] = {"readOnly": self.read_only(order),
                                    "referenceNum": order.reference_num, **fields,
                                    "routingInfo": routing}
        if "orderitems" in self.details:
            document["_embedded"] = {ITEM_REL: [self.item(order, line) for line in order.items]}
        document["_links"] = links(order)
        return document

    def read_only(self, order: Order) -> dict[str, Any]:
        read_only: dict[str, Any] = {
            "orderId": order.order_id, "asnCandidate": 0, "routeCandidate": 0,
            "fullyAllocated": order.fully_allocated, "deferNotification": False,
            "isClosed": order.is_closed, "status": order.status,
            "processDate": self.date(order.process_date), "shipDate": self.date(order.ship_date),
            "pickStarted": order.pick_started, "pickDoneDate": self.date(order.pick_done),
            "packStarted": order.pack_started, "packDoneDate": self.date(order.pack_done),
            "pickTicketPrintDate": None, "loadOutDoneDate": None, "loadedState": 0,
            "asnSent": False, "routeSent": False, "labelsExported": False,
            "pkgsExported": False, "onHoldDate": None, "onHoldReason": None,
            "smallParcelShipDate": None, "chargesPending": False,
            "batchIdentifier": ({"nameKey": None, "id": order.batch_id}
                                if order.batch_id is not None else None),
            "customerIdentifier": order.customer.identifier(),
            "facilityIdentifier": order.facility.identifier(),
            "warehouseTransactionSourceType": 7,
            "creationDate": self.date(order.created), "createdByIdentifier": order.created_by,
            "lastModifiedDate": self.date(order.modified),
            "lastModifiedByIdentifier": order.created_by,
        }
        if "packages" in self.details:
            read_only["packages"] = [self.package(package) for package in order.packages]
        return read_only

    def item(self, order: Order, line: OrderItem) -> dict[str, Any]:
        read_only: dict[str, Any] = {
            "orderItemId": line.order_item_id, "fullyAllocated": line.fully_allocated,
            "unitIdentifier": {"name": "Each", "id": 1}, "secondaryUnitIdentifier": None,
            "isOrderQtySecondary": False, "rowVersion": line.row_version,
        }
        if self.item_details & {"allocations", "allocationswithdetail"}:
            read_only["allocations"] = self.allocations(order, line)
        extra = dict(line.extra)
        if "savedelements" not in self.item_details:
            extra.pop("savedElements", None)
        extra.setdefault("qualifier", "")
        return {"readOnly": read_only, "itemIdentifier": line.item.identifier(),
                "qty": float(line.qty), **extra}

    def allocations(self, order: Order, line: OrderItem) -> list[dict[str, Any]]:
        if not line.allocated:
            return []
        picked = float(line.allocated) if order.pick_done else 0.0
        allocation: dict[str, Any] = {"receiveItemId": line.receive_item_id,
                                      "qty": float(line.allocated),
                                      "properlyPickedPrimary": picked,
                                      "properlyPickedSecondary": 0.0, "loadedOut": False}
        if "allocationswithdetail" in self.item_details:
            allocation["detail"] = {
                "itemTraits": {"itemIdentifier": line.item.identifier(),
                               "qualifier": line.extra.get("qualifier", ""),
                               "lotNumber": None, "serialNumber": None, "expirationDate": None,
                               "palletIdentifier": None},
                "locationIdentifier": {"nameKey": {"name": "A-01-01"}, "id": 1}}
        return [allocation]

    def packages(self, order: Order) -> list[dict[str, Any]]:
        self.zone = self.zone_of(order.facility)
        return [self.package(package) for package in order.packages]

    def package(self, package: Package) -> dict[str, Any]:
        return {
            "packageId": package.package_id, "packageTypeId": 0,
            "length": package.length, "width": package.width, "height": package.height,
            "weight": package.weight, "codAmount": 0.0, "insuredAmount": 0.0,
            "trackingNumber": package.tracking_number, "description": package.description,
            "createDate": self.date(package.created), "oversize": False, "cod": False,
            "ucc128": 0, "label": None,
            "packageContents": [{
                "packageContentId": content.package_content_id,
                "packageId": content.package_id, "orderItemId": content.order_item_id,
                "receiveItemId": content.receive_item_id, "qty": float(content.qty),
                "lotNumber": None, "serialNumber": None, "expirationDate": None,
                "createDate": self.date(content.created), "serialNumbers": []}
                for content in package.contents],
        }


def cancel_allowed(order: Order) -> bool:
    """§5.6: only an open order that is not in a pick job can be canceled."""
    return order.status == STATUS_OPEN and not order.pick_started


def links(order: Order) -> dict[str, Any]:
    """§1: operator links appear only when the transition is legal."""
    base = f"/orders/{order.order_id}"
    result: dict[str, Any] = {"self": {"href": base},
                              PACKAGES_REL: {"href": base + "/packages"}}
    if cancel_allowed(order):
        result[CANCEL_REL] = {"href": base + "/canceler"}
    return result


def stock_summary(row: StockRow, ordered_not_allocated: float) -> dict[str, Any]:
    """§6.1: one row per item × qualifier × facility; no customer field.
    ``orderedNotAllocated`` = open demand not yet allocated (semantics guessed, §6.1)."""
    return {"facilityId": row.facility_id, "itemIdentifier": row.item.identifier(),
            "qualifier": "", "totalReceived": float(row.total_received),
            "allocated": float(row.allocated), "available": float(row.available),
            "onHold": float(row.on_hold), "onHand": float(row.on_hand),
            "orderedNotAllocated": float(ordered_not_allocated)}


def collection(total: int, rel: str, records: list[dict[str, Any]],
               page_links: dict[str, Any]) -> dict[str, Any]:
    """A HAL collection (§3): ``{"totalResults", "_embedded": {rel: [...]}, "_links"}``."""
    return {"totalResults": total, "_embedded": {rel: records}, "_links": page_links}


def plain(document: Any) -> Any:
    """A HAL document in the plain-JSON form (§3)."""
    if isinstance(document, list):
        return [plain(item) for item in document]
    if not isinstance(document, dict):
        return document
    result: dict[str, Any] = {}
    for key, value in document.items():
        if key == "_links":
            continue
        if key == "_embedded":
            for rel, records in value.items():
                name = "ResourceList" if "totalResults" in document else (
                    "OrderItems" if rel == ITEM_REL else rel.rsplit("/", 1)[-1].title() + "s")
                result[name] = plain(records)
            continue
        result[key] = plain(value) if isinstance(value, dict | list) else value
    return to_pascal(result)
