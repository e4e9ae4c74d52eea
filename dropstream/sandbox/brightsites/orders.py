"""Simulated orders: generation from the seeded catalog, and their JSON renderings.

Shapes: list row §7.2, show order §7.3, line item §7.4, update response §7.5 (observed older
shape by default), shipment §8.2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from dropstream.sandbox.brightsites.catalog import (
    SHIPPING_COSTS,
    VENDORS,
    Customer,
    InventoryRecord,
    Product,
)
from dropstream.sandbox.brightsites.wire import (
    cents,
    fmt_date,
    fmt_display_money,
    fmt_money,
    fmt_ts,
)

_VENDORS_BY_ID = {vendor["id"]: vendor for vendor in VENDORS}
_LOGO_LOCATIONS = ({"id": 4, "name": "Left Chest"}, {"id": 7, "name": "Full Back"},
                   {"id": 9, "name": "Right Sleeve"})
_CARDS = (("Visa", "1111"), ("MasterCard", "4444"), ("American Express", "0005"),
          ("Discover", "1117"))


@dataclass
class Order:
    """One stored order. ``approval_pending`` is the hidden MOAS hold of §5.1 / §12 #11."""

    id: int
    created_at: datetime
    updated_at: datetime
    status: str
    approval_pending: bool
    customer_email: str
    customer_id: int | None
    username: str
    shipping_contact: dict[str, str]
    shipping_address: dict[str, str]
    billing_contact: dict[str, str]
    billing_address: dict[str, str]
    legacy_shipment: dict[str, Any]
    lines: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    custom_data_collections: list[dict[str, Any]]
    custom_adjustments: list[dict[str, Any]]
    required_adjustments: list[dict[str, Any]]
    item_total: Decimal
    grand_total: Decimal
    notes: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    # (record id, quantity) taken from store inventory at creation; returned on cancel.
    stock_taken: list[tuple[int, int]] = field(default_factory=list)
    restocked: bool = False

    def line(self, line_id: int) -> dict[str, Any] | None:
        for line in self.lines:
            if line["id"] == line_id:
                return line
        return None

    def shipped_quantity(self, line_id: int) -> int:
        """§7.4: the sum of ``quantity`` for this line over all shipments."""
        return sum(item["quantity"] for shipment in self.shipments
                   for item in shipment["line_items"] if item["id"] == line_id)

    def is_physical(self, line: dict[str, Any]) -> bool:
        return line.get("gift_certificate") is None and bool(line.get("final_sku"))

    def fully_shipped(self) -> bool:
        physical = [line for line in self.lines if self.is_physical(line)]
        return bool(physical) and all(
            self.shipped_quantity(line["id"]) >= line["quantity"] for line in physical)


@dataclass(frozen=True)
class LineRequest:
    """What to put on one generated line: a variant (or a gift certificate) and a quantity."""

    product: Product
    record: InventoryRecord | None
    quantity: int
    amount: Decimal | None = None


@dataclass(frozen=True)
class StoreIdentity:
    """The site fields every show-order carries (§7.3)."""

    site_id: int
    site_name: str
    site_url: str
    custom_store_id: str
    organization_name: str
    organization_id: int


def build_order(rng: random.Random, *, order_id: int, line_ids: list[int], payment_id: int,
                now: datetime, status: str, approval_pending: bool, customer: Customer,
                shipping_method: str, lines: list[LineRequest],
                line_extras: bool) -> Order:
    """A complete, arithmetically consistent order (totals = lines + adjustments)."""
    built = [_build_line(rng, line_id, request, customer.tax_rate, line_extras)
             for line_id, request in zip(line_ids, lines, strict=True)]
    item_total = sum((Decimal(line["total_price"]) for line in built), Decimal("0"))
    collections: list[dict[str, Any]] = []
    required: list[dict[str, Any]] = []
    custom: list[dict[str, Any]] = []
    if rng.random() < 0.1:
        collections.append({"title": "Gift Wrap",
                            "attributes": [{"key": "Wrap this order?", "value": "Yes"}],
                            "price_modifier": {"modifier_type": "$", "amount": "5.0"}})
        required.append({"note": "gift wrap", "amount": "5.0", "modifier_type": "$"})
    elif rng.random() < 0.15:
        collections.append({"title": "Cost Center",
                            "attributes": [{"key": "Department", "value": "Marketing"}],
                            "price_modifier": {"modifier_type": "$", "amount": "0.0"}})
    cost = SHIPPING_COSTS.get(shipping_method, Decimal("12.5"))
    required.append({"note": "shipment", "amount": fmt_money(cost), "modifier_type": "$"})
    tax = sum((Decimal(line["tax_price"]) for line in built if line["tax_price"]), Decimal("0"))
    if tax:
        required.append({"note": "sales tax", "amount": fmt_money(tax), "modifier_type": "$"})
    if item_total >= 40 and rng.random() < 0.15:
        discount = min(cents(item_total * Decimal("0.1")), Decimal("25"))
        custom.append({"note": "quantity discount", "amount": fmt_money(-discount),
                       "modifier_type": "$"})
    grand_total = item_total + sum((Decimal(adj["amount"]) for adj in required + custom),
                                   Decimal("0"))
    payment = _payment(rng, payment_id, now - timedelta(seconds=3), grand_total)
    in_hands = now.date() + timedelta(days=rng.randint(5, 21)) if rng.random() < 0.4 else None
    return Order(
        id=order_id, created_at=now, updated_at=now, status=status,
        approval_pending=approval_pending, customer_email=customer.contact["email"],
        customer_id=customer.customer_id, username=customer.username,
        shipping_contact=dict(customer.contact), shipping_address=dict(customer.address),
        billing_contact=dict(customer.billing_contact),
        billing_address=dict(customer.billing_address),
        legacy_shipment={"tracking_number": None, "cost": fmt_money(cost),
                         "created_at": fmt_ts(now - timedelta(seconds=75)),
                         "shipping_method": shipping_method, "ship_date": None,
                         "in_hands_date": fmt_date(in_hands) if in_hands else None},
        lines=built, payments=[payment], custom_data_collections=collections,
        custom_adjustments=custom, required_adjustments=required, item_total=item_total,
        grand_total=grand_total,
    )


def _payment(rng: random.Random, payment_id: int, at: datetime,
             amount: Decimal) -> dict[str, Any]:
    if rng.random() < 0.7:
        brand, last4 = rng.choice(_CARDS)
        authorization: str | None = f"{rng.randint(10**9, 10**10 - 1)}"
        details: dict[str, Any] = {"method": "credit card", "card type": brand,
                                   "card": f"**** **** **** {last4}",
                                   "amount": fmt_display_money(amount)}
    else:
        authorization = None
        details = {"method": "Custom payment", "custom method name": "Purchase Order",
                   "details": f"PO-{rng.randint(1000, 9999)}",
                   "amount": fmt_display_money(amount)}
    return {"id": payment_id, "authorization": authorization, "created_at": fmt_ts(at),
            "amount": fmt_money(amount), "state": "completed", "details": details}


def _build_line(rng: random.Random, line_id: int, request: LineRequest, tax_rate: Decimal,
                line_extras: bool) -> dict[str, Any]:
    product = request.product
    if product.gift_certificate:
        return _gift_line(rng, line_id, request, line_extras)
    record = request.record
    subs = [product.sub_option(sid) for sid in (record.sub_option_ids if record else [])]
    subs = [sub for sub in subs if sub is not None]
    options_price = sum((Decimal(sub["price_modifier"]) for sub in subs), Decimal("0"))
    unit = product.price + options_price
    total = unit * request.quantity
    tax = cents(total * tax_rate) if tax_rate else None
    final_sku = product.final_sku(record) if record else product.sku
    is_apparel = any(opt["option_type"] == "size" for opt in product.options)
    logos = []
    if is_apparel and rng.random() < 0.3:
        logos.append({
            "name": "Team logo", "charge": rng.choice((None, "2.5")),
            "image_url": rng.choice((
                "https://assets.mybrightsites.com/uploads/website/line_item_logo/image/"
                f"{line_id}/logo.png", f"/uploads/line_item_logo/{line_id}/logo.png")),
            "supplier_id": rng.choice((None, "VENDOR123")),
            "location": rng.choice(_LOGO_LOCATIONS + (None,)),
        })
    personalizations = []
    if is_apparel and rng.random() < 0.1:
        personalizations.append({"title": "Name on back",
                                 "attributes": [{"key": "Name", "value": "NÚÑEZ"}],
                                 "price_modifier": {"modifier_type": "$", "amount": "0.0"}})
    line: dict[str, Any] = {
        "id": line_id, "name": product.name, "final_sku": final_sku,
        "final_internal_id": f"INT-{final_sku}" if product.internal_id else None,
        "tax_code": product.tax_code, "quantity": request.quantity,
        "product_price": fmt_money(product.price), "options_price": fmt_money(options_price),
        "total_price": fmt_money(total), "tax_price": fmt_money(tax) if tax else None,
        "unit_price": fmt_money(unit), "product_id": product.id,
        "product_options": [_product_option(product, sub) for sub in subs],
        "vendors": [dict(_VENDORS_BY_ID[v["id"]]) for v in product.vendors
                    if v["id"] in _VENDORS_BY_ID],
        "logos": logos, "product_personalizations": personalizations,
        "gift_certificate": None, "note": rng.choice((None,) * 9 + ("Please fold, no hangers",)),
    }
    if line_extras:
        line.update({"pdf_status": "not_available", "pdf_file_url": None, "split_items": []})
    return line


def _product_option(product: Product, sub: dict[str, Any]) -> dict[str, Any]:
    option = product.option(sub["product_option_id"])
    return {"option_id": option["id"], "sub_option_id": sub["id"], "option_name": option["name"],
            "option_type": option["option_type"], "sub_option_name": sub["name"]}


def _gift_line(rng: random.Random, line_id: int, request: LineRequest,
               line_extras: bool) -> dict[str, Any]:
    amount = request.amount or Decimal(rng.choice((25, 50, 100)))
    total = amount * request.quantity
    line: dict[str, Any] = {
        "id": line_id, "name": request.product.name, "final_sku": request.product.sku,
        "quantity": request.quantity, "product_price": "0.0", "options_price": "0.0",
        "total_price": fmt_money(total), "tax_price": None, "unit_price": fmt_money(amount),
        "pdf_status": "not_available", "pdf_file_url": None, "product_id": request.product.id,
        "final_internal_id": None, "tax_code": "", "product_options": [], "vendors": [],
        "logos": [], "product_personalizations": [],
        "gift_certificate": {"first_name": "Sam", "last_name": "Roe", "message": "Enjoy!",
                             "expires_at": "2026-05-14T09:15:50.000-06:00",
                             "code": f"{rng.getrandbits(60):015X}"[:15],
                             "amount": fmt_money(amount)},
        "note": None,
    }
    if line_extras:
        line["split_items"] = []
    return line


# --------------------------------------------------------------------------------------------
# Renderings
# --------------------------------------------------------------------------------------------


def list_row(order: Order) -> dict[str, Any]:
    """§7.2: exactly seven fields, in the observed key order."""
    return {"created_at": fmt_ts(order.created_at), "updated_at": fmt_ts(order.updated_at),
            "order_id": order.id, "shipping_method": order.legacy_shipment["shipping_method"],
            "tracking": order.legacy_shipment["tracking_number"] or "N/A",
            "status": order.status, "customer": order.customer_email}


def show_order(order: Order, site: StoreIdentity) -> dict[str, Any]:
    """§7.3: the full show-order JSON, keys as in the spec's complete example."""
    return {
        "order_id": order.id, "created_at": fmt_ts(order.created_at),
        "updated_at": fmt_ts(order.updated_at), "status": order.status,
        "site_id": site.site_id, "site_name": site.site_name, "site_url": site.site_url,
        "custom_store_id": site.custom_store_id, "organization_name": site.organization_name,
        "organization_id": site.organization_id,
        "custom_data_collections": _copy(order.custom_data_collections),
        "customer_email": order.customer_email, "customer_id": order.customer_id,
        "username": order.username, "item_total": fmt_money(order.item_total),
        "grand_total": fmt_money(order.grand_total),
        "shipping_contact": dict(order.shipping_contact),
        "shipping_address": dict(order.shipping_address),
        "billing_contact": dict(order.billing_contact),
        "billing_address": dict(order.billing_address),
        "payment": _copy(order.payments[0]) if order.payments else None,
        "payments": _copy(order.payments), "shipment": dict(order.legacy_shipment),
        "line_items": _copy(order.lines), "coupons_adjustments": [],
        "balance_adjustments": [], "custom_adjustments": _copy(order.custom_adjustments),
        "required_adjustments": _copy(order.required_adjustments),
        "notes": _copy(order.notes), "shipments": [shipment_json(s) for s in order.shipments],
    }


def update_response(order: Order, shape: str) -> dict[str, Any]:
    """§7.5: the observed older shape (``date``, no site fields), or the documented one."""
    if shape == "documented":
        body = show_order(order, StoreIdentity(0, "", "", "", "", 0))
        for key in ("site_id", "site_name", "site_url", "custom_store_id", "organization_name",
                    "organization_id", "shipments"):
            body.pop(key)
        return body
    lines = []
    for line in order.lines:
        old = {k: v for k, v in line.items() if k not in ("tax_code", "vendors", "note")}
        old.setdefault("split_items", [])
        old.setdefault("pdf_status", "not_available")
        lines.append(_copy(old))
    return {
        "order_id": order.id, "custom_data_collections": _copy(order.custom_data_collections),
        "customer_email": order.customer_email, "customer_id": order.customer_id,
        "username": order.username, "item_total": fmt_money(order.item_total),
        "grand_total": fmt_money(order.grand_total),
        "required_adjustments": _copy(order.required_adjustments), "balance_adjustments": [],
        "payment": _copy(order.payments[0]) if order.payments else None,
        "status": order.status, "date": fmt_ts(order.created_at),
        "shipping_contact": dict(order.shipping_contact),
        "shipping_address": dict(order.shipping_address),
        "billing_contact": dict(order.billing_contact),
        "billing_address": dict(order.billing_address),
        "shipment": dict(order.legacy_shipment), "payments": _copy(order.payments),
        "line_items": lines, "coupons_adjustments": [],
        "custom_adjustments": _copy(order.custom_adjustments), "notes": _copy(order.notes),
    }


def shipment_json(shipment: dict[str, Any]) -> dict[str, Any]:
    """§8.2: ``{id, tracking_number, ship_date, note, shipping_method, line_items}``."""
    return {"id": shipment["id"], "tracking_number": shipment["tracking_number"],
            "ship_date": shipment["ship_date"], "note": shipment["note"],
            "shipping_method": shipment["shipping_method"],
            "line_items": [dict(item) for item in shipment["line_items"]]}


def _copy(value: Any) -> Any:
    """A deep copy of plain JSON data (faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
