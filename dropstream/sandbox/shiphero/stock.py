"""Stock: allocation on order creation, release on cancel, movement on shipment, manual
adjustments (spec §10.1, §13 #8 and #14; the rules are assumptions consistent with the field
names).

* Allocation: a line pinned with ``warehouse_id`` takes stock there. Otherwise, without
  ``allow_split`` the whole order goes to the first warehouse that covers every line (else
  the account's first warehouse); with ``allow_split`` each line goes to the first warehouse
  that covers it (else the one with the most available). Units without stock are backordered
  and picked up first-come first-served when stock arrives.
* ``on_hand`` falling below ``allocated`` de-allocates the newest orders' units first.
* Every change bumps ``updated_at``; a change of ``on_hand`` fires Inventory Update (§10.2).
"""

from __future__ import annotations

from dropstream.sandbox.shiphero import payloads
from dropstream.sandbox.shiphero.model import LineItem, Order, Product, Warehouse, WarehouseProduct
from dropstream.sandbox.shiphero.state import Event, SimState

NOT_ALLOCATING = ("fulfilled", "canceled", "cancelled")


def allocate_order(state: SimState, order: Order) -> None:
    """Choose warehouses for the order's lines and allocate what stock allows."""
    warehouses = order.account.all_warehouses()
    if not warehouses or order.fulfillment_status.lower() in NOT_ALLOCATING:
        return
    loose = [line for line in order.line_items if not line.pinned]
    if not order.allow_split:
        chosen = next((w for w in warehouses if all(_covers(line, w) for line in loose)),
                      warehouses[0])
        for line in loose:
            line.warehouse = chosen
    else:
        for line in loose:
            line.warehouse = _best_for(line, warehouses)
    rows = set()
    for line in order.line_items:
        row = _row(state, line)
        if row is not None:
            _take(line, row)
            rows.add(row)
    now = state.clock.now()
    for row in rows:
        recount_backorder(row)
        row.updated_at = now


def _covers(line: LineItem, warehouse: Warehouse) -> bool:
    if line.product is None:
        return True
    row = line.product.stock.get(warehouse.legacy_id)
    return row is not None and row.available >= line.open_quantity


def _best_for(line: LineItem, warehouses: list[Warehouse]) -> Warehouse:
    for warehouse in warehouses:
        if _covers(line, warehouse):
            return warehouse
    if line.product is None:
        return warehouses[0]
    stocked = line.product.stock

    def available(w: Warehouse) -> int:
        return stocked[w.legacy_id].available if w.legacy_id in stocked else 0
    return max(warehouses, key=available)


def _row(state: SimState, line: LineItem) -> WarehouseProduct | None:
    if line.product is None or line.warehouse is None:
        return None
    return state.stock_row(line.product, line.warehouse)


def _take(line: LineItem, row: WarehouseProduct) -> int:
    """Allocate up to the line's backorder from the row's available units."""
    take = min(line.backorder_quantity, row.available)
    if take > 0:
        row.allocated += take
        line.quantity_allocated += take
    return take


def open_lines(product: Product, warehouse: Warehouse) -> list[LineItem]:
    """Lines of not-canceled orders for this product in this warehouse, oldest order first."""
    lines = [line for order in product.account.orders if not order.canceled
             for line in order.line_items
             if line.product is product and line.warehouse is warehouse]
    return sorted(lines, key=lambda line: (line.order.created_at, line.order.legacy_id))


def recount_backorder(row: WarehouseProduct) -> None:
    row.backorder = sum(line.backorder_quantity for line in open_lines(row.product,
                                                                         row.warehouse))


def release_order(state: SimState, order: Order) -> None:
    """Give back every allocated, unshipped unit of the order (cancel, §13 #13)."""
    rows = set()
    for line in order.line_items:
        row = _row(state, line)
        if row is None:
            line.quantity_allocated = 0
            continue
        row.allocated -= line.quantity_allocated
        line.quantity_allocated = 0
        rows.add(row)
    now = state.clock.now()
    for row in rows:
        reallocate(row)
        recount_backorder(row)
        row.updated_at = now


def reallocate(row: WarehouseProduct) -> None:
    """Hand available units to backordered lines, oldest order first."""
    for line in open_lines(row.product, row.warehouse):
        if row.available <= 0:
            break
        if line.backorder_quantity > 0:
            _take(line, row)


def _deallocate_excess(row: WarehouseProduct) -> None:
    """After on_hand dropped below allocated: take units back from the newest orders."""
    for line in reversed(open_lines(row.product, row.warehouse)):
        excess = row.allocated - max(0, row.on_hand - row.reserve_inventory
                                     - row.non_sellable_quantity)
        if excess <= 0:
            break
        give = min(excess, line.quantity_allocated)
        line.quantity_allocated -= give
        row.allocated -= give


def change_stock(state: SimState, row: WarehouseProduct, *, on_hand: int | None = None,
                 delta: int | None = None, reserve_inventory: int | None = None,
                 non_sellable_quantity: int | None = None) -> WarehouseProduct:
    """Set or move the counts of one stock row; re-balances allocations and reports the
    change of on_hand by Inventory Update. Raises ValueError."""
    before = row.on_hand
    target = row.on_hand if on_hand is None else on_hand
    if delta is not None:
        target += delta
    for name, value in (("on_hand", target), ("reserve_inventory", reserve_inventory),
                        ("non_sellable_quantity", non_sellable_quantity)):
        if value is not None and value < 0:
            raise ValueError(f"{name} cannot go below 0 (would be {value})")
    row.on_hand = target
    if reserve_inventory is not None:
        row.reserve_inventory = reserve_inventory
    if non_sellable_quantity is not None:
        row.non_sellable_quantity = non_sellable_quantity
    _deallocate_excess(row)
    reallocate(row)
    recount_backorder(row)
    row.updated_at = state.clock.now()
    if row.on_hand != before:
        report_on_hand(state, [row])
    return row


def ship_units(row: WarehouseProduct, line: LineItem, quantity: int) -> None:
    """Allocated units leave the warehouse (a shipment, §13 #14)."""
    row.on_hand -= quantity
    row.allocated -= quantity
    line.quantity_allocated -= quantity
    line.quantity_shipped += quantity


def report_on_hand(state: SimState, rows: list[WarehouseProduct]) -> None:
    """Inventory Update (§10.2) for rows whose on_hand changed, one body per owner account."""
    by_account: dict[int, list[WarehouseProduct]] = {}
    for row in rows:
        by_account.setdefault(row.product.account.legacy_id, []).append(row)
    for account_id, group in by_account.items():
        account = state.accounts[account_id]
        state.emit(Event("Inventory Update", account, None,
                         [payloads.inventory_update(account, group, state.settings)]))
