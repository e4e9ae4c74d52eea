"""Prepare imported orders for the warehouse: translate SKUs, expand bundles, map the shipping
method, validate. New → Queued (or Pending on manual-release stores), or Error with a message
that says exactly what to fix.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.catalog.models import BundleComponent, Listing, ShippingMethodMap
from dropstream.connections.models import Connection
from dropstream.orders import status as order_status
from dropstream.orders.locks import lock_warehouse_numbers
from dropstream.orders.models import Order, OrderLine, OrderStatus
from dropstream.orders.warehouse_view import warehouse_order
from dropstream.platforms.base import WarehouseRules
from dropstream.platforms.errors import OrderDataError
from dropstream.rules.apply import apply_import_rules, put_back_rule_fields, rule_held

logger = logging.getLogger(__name__)
S = OrderStatus
# Orders prepared per transaction by the bulk path.
PREPARE_CHUNK = 250
FIELDS = ("shipping_warehouse_code", "shipping_carrier_name", "shipping_carrier_service_level",
          "warehouse_order_number")
PREPARED = "Prepared: SKUs translated, shipping method mapped; queued for the warehouse."
HELD = "Held for manual release."
HELD_BY_RULE = "Prepared; held by a rule {until}."
MAX_FIELD = 255
SHIP_TO_LABELS = {"name": "Ship-to name", "street1": "Ship-to address line 1",
                  "street2": "Ship-to address line 2", "city": "Ship-to city",
                  "state": "Ship-to state/province", "postal_code": "Ship-to postal code",
                  "country": "Ship-to country", "company": "Ship-to company",
                  "phone": "Ship-to phone", "email": "Ship-to e-mail"}
# Where each WarehouseOrder field path comes from on the hub order, for length messages.
FIELD_SOURCES = {"order_number": "warehouse_order_number", "ship_method": "shipping_warehouse_code",
                 "customer_email": "customer_email", "customer_notes": "notes",
                 "gift_message": "gift_message",
                 **{f"ship_to.{part}": f"ship_{part}" for part in SHIP_TO_LABELS}}


def _column_limit(model, name: str) -> int:
    return model._meta.get_field(name).max_length


@dataclass
class CatalogView:
    """The catalog of one connection, loaded once per run."""

    listings: dict[str, str] = field(default_factory=dict)  # store sku -> warehouse sku
    bundles: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    shipping: dict[str, ShippingMethodMap] = field(default_factory=dict)
    unmapped_shipping: str = "pass"
    manual_release: bool = False
    # (warehouse, connection, store) ids: order numbers must not collide at the warehouse.
    numbering: tuple[int, int, int] | None = None
    # What the warehouse platform accepts (its required fields, lengths, order-number rule).
    rules: WarehouseRules = field(default_factory=WarehouseRules)

    def warehouse_sku(self, store_sku: str) -> str:
        return self.listings.get(store_sku, store_sku)


def load_catalog(connection: Connection) -> CatalogView:
    listings = dict(Listing.objects.filter(store_id=connection.store_id)
                    .values_list("store_sku", "product__sku"))
    bundles: dict[str, list[tuple[str, int]]] = {}
    components = (BundleComponent.objects.filter(bundle__customer_id=connection.customer_id)
                  .values_list("bundle__sku", "component__sku", "quantity"))
    for bundle_sku, component_sku, quantity in components:
        bundles.setdefault(bundle_sku, []).append((component_sku, quantity))
    shipping = {m.store_description: m for m in connection.shipping_methods.all()}
    warehouse = connection.warehouse
    rules = warehouse.platform_spec.adapter_class().rules(warehouse.adapter_settings())
    return CatalogView(listings=listings, bundles=bundles, shipping=shipping,
                       unmapped_shipping=connection.unmapped_shipping_method,
                       manual_release=connection.store.manual_release,
                       numbering=(connection.warehouse_id, connection.pk, connection.store_id),
                       rules=rules)


def make_numbers_unique(orders: list[Order], catalog: CatalogView) -> None:
    """Give each order a number no other order at its warehouse has: the warehouse's shipments
    then name one order only. Two store numbers can become one warehouse number (``A/1`` and
    ``A-1`` under DSFX's rule), and stores sharing a warehouse have their own sequences. The
    order that has a number first keeps it; a later one gets ``-<store id>`` (another store's
    number) or ``-<its own id in the store>`` (its own store's).

    Called inside the transaction that saves the numbers: it waits for the warehouse's
    numbering lock first, so another transaction numbering for the same warehouse cannot read
    these numbers as free before they are committed (``orders.locks``)."""
    if catalog.numbering is None or not orders:
        return
    warehouse_id, connection_id, store_id = catalog.numbering
    lock_warehouse_numbers(warehouse_id)
    taken = dict(Order.objects.filter(connection__warehouse_id=warehouse_id,
                                      warehouse_order_number__in=[o.warehouse_order_number
                                                                  for o in orders])
                 .exclude(pk__in=[o.pk for o in orders])
                 .values_list("warehouse_order_number", "connection_id"))
    seen: set[str] = set()
    for order in orders:
        number = order.warehouse_order_number
        if number and (number in taken or number in seen):
            other_store = taken.get(number, connection_id) != connection_id
            suffix = store_id if other_store else order.external_id
            order.warehouse_order_number = f"{number}-{suffix}"
        seen.add(order.warehouse_order_number)


def validation_problems(order: Order, lines: list[OrderLine],
                        rules: WarehouseRules | None = None) -> list[str]:
    """Plain messages for everything the warehouse would reject, each saying what to fix;
    empty when the order is valid. ``rules`` are the warehouse platform's (the default: a
    warehouse that needs only the common ship-to fields)."""
    rules = rules or WarehouseRules()
    problems = []
    for part in rules.required_ship_to:
        if not str(getattr(order, f"ship_{part}", "") or "").strip():
            label = SHIP_TO_LABELS.get(part, f"Ship-to {part}")
            problems.append(f"{label} is empty: edit the shipping address, then Reprocess")
    country = order.ship_country.strip()
    if country and not (len(country) == 2 and country.isalpha() and country.isupper()):
        problems.append(f"Ship-to country {country!r} is not an ISO 3166 two-letter code")
    for attr in ("ship_name", "ship_company", "ship_street1", "ship_street2", "ship_city",
                 "customer_email"):
        if len(getattr(order, attr)) > MAX_FIELD:
            problems.append(f"{attr.replace('_', ' ')} is longer than {MAX_FIELD} characters")
    if not order.shipping_warehouse_code.strip():
        problems.append("The order has no shipping method: add one in the store or edit the "
                        "order's carrier code, then Reprocess")
    physical = [line for line in lines if line.line_number is not None]
    if not physical:
        problems.append("The order has no lines to ship")
    for line in physical:
        if not line.warehouse_sku.strip():
            problems.append(f"Line {line.line_number} has no SKU: add a listing for it, then "
                            "Reprocess")
        if line.quantity_ordered <= 0:
            problems.append(f"Line {line.line_number} ({line.warehouse_sku}) has quantity 0")
    problems.extend(_platform_problems(order, lines, rules))
    return problems


def _platform_problems(order: Order, lines: list[OrderLine], rules: WarehouseRules) -> list[str]:
    """The platform's own limits and checks on the warehouse's view of the order."""
    problems = []
    for path, limit in rules.max_lengths.items():
        if path == "lines.sku":
            for line in lines:
                if line.line_number is not None and len(line.warehouse_sku) > limit:
                    problems.append(f"Line {line.line_number}: SKU {line.warehouse_sku!r} is "
                                    f"longer than the {limit} characters the warehouse takes")
            continue
        value = str(getattr(order, FIELD_SOURCES.get(path, path), "") or "")
        if len(value) > limit:
            problems.append(f"The {path.replace('_', ' ').replace('.', ' ')} is "
                            f"{len(value)} characters; the warehouse takes at most {limit}: edit "
                            "the order, then Reprocess")
    view = warehouse_order(order, lines)
    for _, message in rules.problems(view):
        problems.append(f"The warehouse would refuse it: {message}; edit the order, then "
                        "Reprocess")
    return problems


def _fit_columns(order: Order, lines: list[OrderLine]) -> list[str]:
    """Values longer than the hub's own columns: shortened so the order can be saved in Error,
    with a message each (a too-long value must never fail the whole run on PostgreSQL)."""
    problems = []
    for name in FIELDS:
        limit = _column_limit(Order, name)
        value = getattr(order, name)
        if len(value) > limit:
            what = ("carrier code (the store's shipping method, passed on unmapped)"
                    if name == "shipping_warehouse_code" else name.replace("_", " "))
            problems.append(f"The {what} {value[:40]!r}… is {len(value)} characters; at most "
                            f"{limit} fit: map it in the connection's shipping-method map or "
                            "edit the order, then Reprocess")
            setattr(order, name, value[:limit])
    limit = _column_limit(OrderLine, "warehouse_sku")
    for line in lines:
        if len(line.warehouse_sku) > limit:
            problems.append(f"Line {line.line_number}: the warehouse SKU is longer than {limit} "
                            "characters: fix the listing, then Reprocess")
            line.warehouse_sku = line.warehouse_sku[:limit]
    return problems


def _expanded(order: Order, lines: list[OrderLine],
              catalog: CatalogView) -> tuple[list[OrderLine], list[OrderLine]]:
    """Assign warehouse SKUs and line numbers to the store lines (``lines``, by id), in memory.

    Returns (every line in warehouse order, the new component lines to insert); bundle lines
    get component lines and no number themselves.
    """
    number = 0
    result: list[OrderLine] = []
    components_new: list[OrderLine] = []
    for line in lines:
        if not line.ships:
            line.line_number = None  # a gift certificate: nothing for the warehouse
            result.append(line)
            continue
        sku = _rule_sku(order, line) or catalog.warehouse_sku(line.store_sku)
        line.warehouse_sku = sku
        components = catalog.bundles.get(sku)
        if components and not line.canceled:
            line.line_number = None
            result.append(line)
            for component_sku, per_bundle in components:
                number += 1
                component = OrderLine(
                    order=order, parent=line, line_number=number, warehouse_sku=component_sku,
                    store_sku=line.store_sku, name=f"{line.name} — {component_sku}"[:300],
                    quantity_ordered=per_bundle * line.quantity_ordered, unit_price=0)
                components_new.append(component)
                result.append(component)
            continue
        number += 1
        line.line_number = number if not line.canceled else None
        result.append(line)
    return result, components_new


def _rule_sku(order: Order, line: OrderLine) -> str:
    """The warehouse SKU a line rule set for this line ('' when none did)."""
    per_line = (order.rule_fields or {}).get("lines")
    if not per_line:
        return ""
    return (per_line.get(str(line.pk)) or {}).get("warehouse_sku", "")


def _target(order: Order, catalog: CatalogView) -> tuple[str, str]:
    """The status a valid prepared order takes, and the activity's message."""
    if rule_held(order):
        until = f"until {order.held_until.isoformat()}" if order.held_until else "until released"
        return S.PENDING, HELD_BY_RULE.format(until=until)
    if catalog.manual_release:
        return S.PENDING, HELD
    return S.QUEUED, PREPARED


def _expand_lines(order: Order, catalog: CatalogView) -> list[OrderLine]:
    """Assign warehouse SKUs and line numbers; bundle lines get component lines (saved)."""
    order.lines.filter(parent__isnull=False).delete()
    lines = list(order.lines.filter(parent__isnull=True).order_by("id"))
    result, components = _expanded(order, lines, catalog)
    order_status.update_rows(lines, ("warehouse_sku", "line_number"))
    OrderLine.objects.bulk_create(components)
    return result


def _map_shipping(order: Order, catalog: CatalogView) -> str | None:
    """Set the carrier code; return a problem message when the method may not pass through."""
    description = order.external_shipping_description
    mapped = catalog.shipping.get(description)
    if mapped is not None:
        order.shipping_warehouse_code = mapped.carrier_code
        order.shipping_carrier_name = mapped.carrier_name
        order.shipping_carrier_service_level = mapped.service_level
        return None
    if catalog.unmapped_shipping == "error":
        order.shipping_warehouse_code = ""
        return (f"The shipping method {description!r} has no carrier code: add it to the "
                "connection's shipping-method map, then Reprocess")
    if not order.edited or not order.shipping_warehouse_code:
        order.shipping_warehouse_code = description
    return None


def _map_and_number(order: Order, catalog: CatalogView) -> list[str]:
    """Map the shipping method and number the order for the warehouse (in memory); returns
    the problems found on the way."""
    problems = []
    shipping_problem = _map_shipping(order, catalog)
    if shipping_problem:
        problems.append(shipping_problem)
    put_back_rule_fields(order, ())
    try:
        order.warehouse_order_number = catalog.rules.order_number(
            order.external_display_id or order.external_id)
    except OrderDataError as exc:
        order.warehouse_order_number = ""
        problems.append(f"The warehouse cannot number it: {exc}")
    return problems


def _problems(order: Order, lines: list[OrderLine], catalog: CatalogView,
              found: list[str]) -> list[str]:
    """Everything found on the way (``found``) and by validation, without repeats."""
    problems = list(found) + _fit_columns(order, lines)
    mapped_problem = any("shipping method" in p for p in found)
    problems.extend(p for p in validation_problems(order, lines, catalog.rules)
                    if p not in problems and not (mapped_problem and "no shipping method" in p))
    return problems


def prepare_order(order: Order, catalog: CatalogView, *, actor: str = "system") -> str:
    """Prepare one New order in its own transaction; return its new status."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != S.NEW:
            return order.status
        lines = _expand_lines(order, catalog)
        found = _map_and_number(order, catalog)
        make_numbers_unique([order], catalog)
        problems = _problems(order, lines, catalog, found)
        if problems:
            message = "; ".join(problems)
            order_status.transition(order, S.ERROR, event="validation_failed", message=message,
                                    actor=actor, fields=FIELDS)
            raise_alert(AlertKind.ORDER_ERROR, f"Order {order}: {message}",
                        connection=order.connection, channel="sales_order", related=order)
            return S.ERROR
        target, message = _target(order, catalog)
        order_status.transition(order, target, event="prepared", actor=actor, fields=FIELDS,
                                message=message)
        return target


def _prepare_alone(pk: int, catalog: CatalogView) -> str:
    """``prepare_order``, but a database refusal puts that one order in Error instead of
    failing the run (DESIGN.md invariant 5)."""
    try:
        return prepare_order(Order(pk=pk), catalog)
    except DatabaseError as exc:
        logger.exception("preparing order %s failed", pk, extra={"channel": "sales_order"})
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=pk)
            if order.status != S.NEW:
                return order.status
            message = (f"The order could not be prepared: the database refused it "
                       f"({type(exc).__name__}: {exc}). Edit the order, then Reprocess.")
            order_status.transition(order, S.ERROR, event="validation_failed", message=message)
            raise_alert(AlertKind.ORDER_ERROR, f"Order {order}: {message}",
                        connection=order.connection, channel="sales_order", related=order)
        return S.ERROR


def prepare_chunk(order_ids: list[int], catalog: CatalogView, *,
                  actor: str = "system") -> tuple[dict[int, str], list[int]]:
    """Prepare the valid New orders among ``order_ids`` in one transaction, in bulk.

    Returns (order id → new status for those prepared here, ids left for ``prepare_order``:
    the invalid ones, which need their own message and alert). Orders no longer New are left
    out of both. Raises what the database raises; nothing is written then.
    """
    with transaction.atomic():
        orders = list(Order.objects.select_for_update()
                      .filter(pk__in=order_ids, status=S.NEW).order_by("id"))
        if not orders:
            return {}, []
        OrderLine.objects.filter(order__in=orders, parent__isnull=False).delete()
        lines_of: dict[int, list[OrderLine]] = {order.pk: [] for order in orders}
        for line in (OrderLine.objects.filter(order__in=orders, parent__isnull=True)
                     .order_by("order_id", "id")):
            lines_of[line.order_id].append(line)
        good: list[Order] = []
        later: list[int] = []
        changed_lines: list[OrderLine] = []
        components: list[OrderLine] = []
        expanded_of: dict[int, tuple[list[OrderLine], list[OrderLine], list[str]]] = {}
        for order in orders:
            expanded, new_lines = _expanded(order, lines_of[order.pk], catalog)
            expanded_of[order.pk] = (expanded, new_lines, _map_and_number(order, catalog))
        make_numbers_unique(orders, catalog)
        for order in orders:
            expanded, new_lines, found = expanded_of[order.pk]
            if _problems(order, expanded, catalog, found):
                later.append(order.pk)
                continue
            good.append(order)
            changed_lines.extend(lines_of[order.pk])
            components.extend(new_lines)
        order_status.update_rows(changed_lines, ("warehouse_sku", "line_number"))
        OrderLine.objects.bulk_create(components, batch_size=500)
        targets: dict[tuple[str, str], list[Order]] = {}
        for order in good:
            targets.setdefault(_target(order, catalog), []).append(order)
        for (target, message), orders_to in targets.items():
            order_status.transition_each(orders_to, target, event="prepared", actor=actor,
                                         fields=FIELDS, message=message)
    return {order.pk: order.status for order in good}, later


def prepare_orders(connection: Connection, orders: Iterable[Order] | None = None) -> dict[str, int]:
    """Apply the store's import rules, then prepare every New order of the connection (or the
    given ones); count outcomes. Orders the rules route to another connection of the store
    (and the parts they split off) are prepared here too, with that connection's catalog.

    Valid orders go in bulk, a chunk per transaction; an invalid order (or a chunk the bulk
    path could not write) goes through ``prepare_order`` on its own.
    """
    if orders is None:
        ids = list(Order.objects.filter(connection=connection, status=S.NEW,
                                        detail_pending=False).order_by("id")
                   .values_list("pk", flat=True))
    else:
        ids = [order.pk for order in orders]
    routed = apply_import_rules(connection, ids)
    counts = _prepare_ids(connection, routed.kept)
    if routed.skipped:
        counts[S.SKIPPED] = counts.get(S.SKIPPED, 0) + routed.skipped
    if routed.errors:
        counts[S.ERROR] = counts.get(S.ERROR, 0) + routed.errors
    for target_id, moved in sorted(routed.moved.items()):
        target = Connection.objects.select_related("store", "warehouse").get(pk=target_id)
        for outcome, count in _prepare_ids(target, moved).items():
            counts[outcome] = counts.get(outcome, 0) + count
    return counts


def _prepare_ids(connection: Connection, ids: list[int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    if not ids:
        return counts
    catalog = load_catalog(connection)
    for start in range(0, len(ids), PREPARE_CHUNK):
        chunk = ids[start:start + PREPARE_CHUNK]
        try:
            prepared, later = prepare_chunk(chunk, catalog)
        except Exception:  # noqa: BLE001 — the one-order path reports what is wrong
            logger.exception("bulk prepare failed; preparing one by one",
                             extra={"connection_id": connection.pk, "channel": "sales_order"})
            prepared, later = {}, chunk
        for outcome in prepared.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        for pk in later:
            outcome = _prepare_alone(pk, catalog)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
