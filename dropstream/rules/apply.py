"""Applying a store's order-import rules to its New orders (issue 16).

``apply_import_rules`` runs once per order, before it is prepared: the engine decides
(``engine.evaluate``, pure), and this module writes the decision in one transaction per order:

* **error / fail** → Error with the message naming the rule, and an alert; that order alone.
* **reject** → Skipped with the rule named. A rejected line is kept on the order with
  ``ships`` off, so it is never sent (and the activity says which rule dropped it).
* **set** → the columns now, and ``rule_fields`` so preparing (which maps the shipping method
  and SKUs afresh) puts the rule's value back on top.
* **hold** → ``rule_fields["hold"]`` and ``held_until``: preparing leaves the order Pending,
  and ``release_due_holds`` (the scheduler's tick) queues it when the time comes.
* **route / split** → the lines are partitioned by (split group, connection). The partition of
  the first line stays this order (its connection may change); every other becomes a *part*:
  an Order with ``parent`` set, its own number, status, export intent and shipments, holding
  those lines (moved, not copied, so the store's line ids stay unique to one warehouse order).

``rules_applied_at`` records that this happened, so a reprocess or a crash after the commit
never routes or splits twice; a store update of the order clears it (``reset_parts``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from dropstream.alerts.actions import raise_alert
from dropstream.alerts.models import AlertKind
from dropstream.bulk import insert_rows, update_many
from dropstream.connections.models import ChannelType
from dropstream.orders import status as order_status
from dropstream.orders.models import PART_MARK, Order, OrderActivity, OrderLine, OrderStatus
from dropstream.rules.engine import Evaluation, RuleSet, compile_rules, evaluate
from dropstream.rules.errors import InvalidFacts
from dropstream.rules.facts import facts_from_order, load_line_stock
from dropstream.rules.models import Hook, Rule

logger = logging.getLogger(__name__)
S = OrderStatus
CHUNK = 200
# A rule's field name → the Order column it sets.
ORDER_COLUMNS = {"shipping_method": "external_shipping_description",
                 "carrier": "shipping_carrier_name",
                 "service_level": "shipping_carrier_service_level",
                 "warehouse_code": "shipping_warehouse_code",
                 "notes": "notes", "gift_message": "gift_message"}
# Set by the shipping-method map when the order is prepared: the rule's value goes back on top.
MAPPED_COLUMNS = ("shipping_carrier_name", "shipping_carrier_service_level",
                  "shipping_warehouse_code")
RELEASED = "released"
# Fields a part copies from its parent (everything that describes the store order).
NOT_COPIED = frozenset({"id", "parent", "connection", "external_id", "external_display_id",
                        "status", "error_message", "created_at", "updated_at",
                        "warehouse_order_number", "exported_at", "export_reference",
                        "store_status_set_at", "retry_count", "retry_at"})


@dataclass
class RulesReport:
    """Where the evaluated orders are now: New on ``connection`` (``kept``), New on another
    connection of the store (``moved``, parts included), or finished (Skipped / Error)."""

    kept: list[int] = field(default_factory=list)
    moved: dict[int, list[int]] = field(default_factory=dict)
    skipped: int = 0
    errors: int = 0


def store_rule_set(store_id: int, hook: str = Hook.ORDER_IMPORT) -> RuleSet:
    """The store's active rules of ``hook``, compiled, top-down (empty when none)."""
    return compile_rules(Rule.objects.filter(store_id=store_id, hook=hook, active=True),
                         hook=hook)


def _uses_stock(rules: RuleSet) -> bool:
    # Loading stock costs two queries a chunk; only rules that mention it need it.
    return any("stock" in str(rule.arguments) or (rule.condition is not None
                                                  and "stock" in rule.condition.text)
               for rule in rules)


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def apply_import_rules(connection, order_ids: Iterable[int], *,
                       now: datetime | None = None) -> RulesReport:
    """Evaluate and apply the store's import rules to the New orders among ``order_ids`` that
    have not had them (parts never do: their parent had). Returns where each order went."""
    ids = list(order_ids)
    report = RulesReport()
    rules = store_rule_set(connection.store_id)
    if not rules:
        report.kept = ids
        return report
    now = now or datetime.now(UTC)
    serving = set(type(connection).objects.filter(store_id=connection.store_id)
                  .values_list("id", flat=True))
    with_stock = _uses_stock(rules)
    for chunk in _chunks(ids, CHUNK):
        orders = list(Order.objects.filter(pk__in=chunk).prefetch_related("lines")
                      .order_by("id"))
        stock = None
        if with_stock:
            stock = load_line_stock(connection.store, [line for order in orders
                                                       for line in order.lines.all()])
        untouched: list[int] = []
        simple: list[tuple[Order, Evaluation, list[tuple[int, list[int]]]]] = []
        splits: list[tuple[Order, Evaluation, list[tuple[int, list[int]]]]] = []
        one_by_one: list[tuple[Order, Evaluation | str]] = []
        for order in orders:
            if order.status != S.NEW or order.parent_id or order.rules_applied_at:
                _place(report, connection.pk, order.connection_id, [order.pk])
                continue
            evaluation = _evaluate(rules, order, stock, now)
            if isinstance(evaluation, str) or evaluation.outcome != "accepted":
                one_by_one.append((order, evaluation))
            elif not evaluation.decisions:
                untouched.append(order.pk)
                _place(report, connection.pk, order.connection_id, [order.pk])
            elif _unknown_route(evaluation, serving):
                one_by_one.append((order, evaluation))
            elif len(partitions := _partitions(order, evaluation)) > 1:
                splits.append((order, evaluation, partitions))
            else:
                simple.append((order, evaluation, partitions))
        if untouched:
            Order.objects.filter(pk__in=untouched, status=S.NEW,
                                 rules_applied_at__isnull=True).update(rules_applied_at=now)
        for writer, batch in ((_accept_in_bulk, simple), (_split_in_bulk, splits)):
            try:
                for target, placed_ids in writer(batch, now):
                    _place(report, connection.pk, target, placed_ids)
            except Exception:  # noqa: BLE001 — the one-order path saves what it can, or says why
                logger.exception("applying the rules in bulk failed; applying one by one",
                                 extra={"connection_id": connection.pk,
                                        "channel": "sales_order"})
                one_by_one.extend((order, evaluation) for order, evaluation, _ in batch)
        for order, evaluation in one_by_one:
            _apply_alone(report, connection, order, evaluation, serving, now)
    _alert_switched_off_targets(connection, report)
    return report


def _alert_switched_off_targets(connection, report: RulesReport) -> None:
    """One alert per connection the rules sent orders to this time that is switched off (or
    whose sales channel is): its orders wait there, prepared, until it is switched on; no run
    of its own sends them, and nobody would be told."""
    if not report.moved:
        return
    targets = type(connection).objects.filter(pk__in=list(report.moved)).prefetch_related(
        "channels")
    for target in targets:
        sales = next((c for c in target.channels.all() if c.type == ChannelType.SALES_ORDER),
                     None)
        if target.is_enabled and sales is not None and sales.is_enabled:
            continue
        count = len(report.moved[target.pk])
        what = "is switched off" if not target.is_enabled else "has its Sales Orders switched off"
        raise_alert(AlertKind.EXPORT_FAILED,
                    f"The store's rules sent {count} order(s) to connection {target} "
                    f"(#{target.pk}), which {what}: they wait there until it is switched on. "
                    "Switch it on, or edit the rules and Reprocess the orders.",
                    connection=target, channel="sales_order")


class _Left:
    """What writing a decision returns when the order is not the one evaluated any more
    (another process applied the rules, or the store's new version replaced it): not an
    error of this run; the next evaluation has it."""


LEFT = _Left()


def _apply_alone(report: RulesReport, connection, order: Order, evaluation: Evaluation | str,
                 serving: set[int], now: datetime) -> None:
    try:
        placed = _apply(order, evaluation, serving, now)
    except Exception:  # noqa: BLE001 — one order's failure never stops the batch
        logger.exception("applying the rules to order %s failed", order.pk,
                         extra={"connection_id": connection.pk, "channel": "sales_order"})
        placed = _error(order, "The rules' decision could not be saved; Reprocess the order "
                               "to try again.")
    if placed is LEFT:
        return
    if placed is None:
        report.errors += 1
    elif not placed:
        report.skipped += 1
    for target, placed_ids in (placed or {}).items():
        _place(report, connection.pk, target, placed_ids)


SIMPLE_FIELDS = ("connection", "rules_applied_at", "rule_fields", "held_until",
                 *ORDER_COLUMNS.values())


Decided = tuple[Order, Evaluation, list[tuple[int, list[int]]]]


def _decide_unchanged(triples: list[Decided], now: datetime
                      ) -> tuple[list[Decided], list[int], list[OrderActivity]]:
    """Lock the orders (in the caller's transaction) and put each decision on those still New,
    not yet evaluated and unchanged (``_decide``, in memory). Returns (their triples, the
    lines rejected, their rules notes)."""
    free = dict(Order.objects.select_for_update()
                .filter(pk__in=[order.pk for order, _, _ in triples], status=S.NEW,
                        rules_applied_at__isnull=True).values_list("pk", "updated_at"))
    written: list[Decided] = []
    rejected: list[int] = []
    notes: list[OrderActivity] = []
    for order, evaluation, partitions in triples:
        if order.pk not in free or not _unchanged(order, free[order.pk]):
            continue
        rejected.extend(_decide(order, evaluation, now, partitions))
        notes.append(_rules_note(order, evaluation))
        written.append((order, evaluation, partitions))
    return written, rejected, notes


def _write_decided(orders: list[Order], rejected: list[int], notes: list[OrderActivity]) -> None:
    if rejected:
        OrderLine.objects.filter(pk__in=rejected).update(ships=False)
    order_status.update_rows(orders, SIMPLE_FIELDS)
    insert_rows(notes)


def _rules_note(order: Order, evaluation: Evaluation) -> OrderActivity:
    return OrderActivity(order_id=order.pk, event="rules",
                         message="; ".join(evaluation.activity())[:4000])


def _accept_in_bulk(triples: list[Decided], now: datetime) -> list[tuple[int, list[int]]]:
    """Accepted orders that stay one warehouse order (sets, holds, an order route, rejected
    lines), written in one transaction: one lock, one update, one activity insert. Returns
    (connection, [order id]) for those written (still New, not yet evaluated, unchanged)."""
    if not triples:
        return []
    with transaction.atomic():
        written, rejected, notes = _decide_unchanged(triples, now)
        _write_decided([order for order, _, _ in written], rejected, notes)
    return [(order.connection_id, [order.pk]) for order, _, _ in written]


def _split_in_bulk(triples: list[Decided], now: datetime) -> list[tuple[int, list[int]]]:
    """Accepted orders that become several warehouse orders, written in one transaction: one
    lock, one update of the store orders, one insert of their parts, one update moving the
    lines, one activity insert (``_accept``'s effect, a chunk at a time). Returns
    (connection, [order id]) for each store order and part written."""
    if not triples:
        return []
    with transaction.atomic():
        written, rejected, notes = _decide_unchanged(triples, now)
        parts: list[tuple[Order, Order, int, list[int]]] = []
        for order, evaluation, partitions in written:
            ids = evaluation.facts.line_ids
            for number, (connection_id, indexes) in enumerate(partitions[1:], start=2):
                line_ids = [ids[i] for i in indexes]
                parts.append((order, _new_part(order, number, connection_id, line_ids,
                                               order.rule_fields), number, line_ids))
        _write_decided([order for order, _, _ in written], rejected, [])
        Order.objects.bulk_create([part for _, part, _, _ in parts])
        moved = [(part.pk, line_id) for _, part, _, line_ids in parts for line_id in line_ids]
        OrderLine.objects.filter(parent_id__in=[line_id for _, line_id in moved]).delete()
        update_many(OrderLine, ["order"], moved)
        for order, part, number, line_ids in parts:
            notes.extend(_part_notes(order, part, number, len(line_ids)))
        insert_rows(notes)
    placed = [(order.connection_id, [order.pk]) for order, _, _ in written]
    return placed + [(part.connection_id, [part.pk]) for _, part, _, _ in parts]


def _place(report: RulesReport, own: int, target: int, ids: list[int]) -> None:
    if target == own:
        report.kept.extend(ids)
    else:
        report.moved.setdefault(target, []).extend(ids)


def _evaluate(rules: RuleSet, order: Order, stock, now: datetime) -> Evaluation | str:
    try:
        facts = facts_from_order(order, stock=stock)
    except InvalidFacts as exc:
        return f"The rules cannot read this order: {exc}"
    return evaluate(rules, facts, now=now, hook=rules.hook)


def _locked_if_new(order: Order) -> Order | None:
    """The order's row locked (in the caller's transaction), or None once it is not New, or
    once it is not the version the rules were evaluated on (``_unchanged``)."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    return locked if locked.status == S.NEW and _unchanged(order, locked.updated_at) else None


def _unchanged(read: Order, updated_at: datetime) -> bool:
    """Whether the order is still as the rules read it. Between the read and the write, a
    store update delivered by push (another process) or an edit may replace it and its lines;
    the decision, made on lines that are gone, would give a part no lines and leave the
    parent all of them. That version is left to the rules' next evaluation (the push's own
    prepare, or the next run)."""
    return read.updated_at == updated_at


def _error(order: Order, message: str) -> _Left | None:
    with transaction.atomic():
        if (locked := _locked_if_new(order)) is None:
            return LEFT
        order_status.transition(locked, S.ERROR, event="rule_error", message=message)
        raise_alert(AlertKind.ORDER_ERROR, f"Order {locked}: {message}",
                    connection=locked.connection, channel="sales_order", related=locked)
    return None


def _apply(order: Order, evaluation: Evaluation | str, serving: set[int],
           now: datetime) -> dict[int, list[int]] | _Left | None:
    """Write one order's decision. Returns connection → ids of the orders now New there
    ({} when the order was skipped, None for an error, LEFT when it was no longer New or no
    longer the version evaluated)."""
    if isinstance(evaluation, str):
        return _error(order, evaluation)
    if evaluation.outcome in ("error", "failed"):
        event = "rule_error" if evaluation.outcome == "error" else "rule_failed"
        return _stop(order, evaluation, event)
    if evaluation.outcome == "rejected":
        with transaction.atomic():
            if (locked := _locked_if_new(order)) is None:
                return LEFT
            _record_decisions(locked, evaluation)
            order_status.transition(locked, S.SKIPPED, event="rule_rejected",
                                    message=f"Skipped: {evaluation.message}")
        return {}
    unknown = _unknown_route(evaluation, serving)
    if unknown:
        return _error(order, unknown)
    with transaction.atomic():
        if (locked := _locked_if_new(order)) is None or locked.rules_applied_at:
            return LEFT
        return _accept(locked, evaluation, now)


def _stop(order: Order, evaluation: Evaluation, event: str) -> _Left | None:
    with transaction.atomic():
        if (locked := _locked_if_new(order)) is None:
            return LEFT
        _record_decisions(locked, evaluation, skip_last=True)
        text = evaluation.message
        message = text[:1].upper() + text[1:] + ": edit the rule or the order, then Reprocess"
        order_status.transition(locked, S.ERROR, event=event, message=message)
        raise_alert(AlertKind.ORDER_ERROR, f"Order {locked}: {message}",
                    connection=locked.connection, channel="sales_order", related=locked)
    return None


def _record_decisions(order: Order, evaluation: Evaluation, *, skip_last: bool = False) -> None:
    sentences = evaluation.activity()
    if skip_last:
        sentences = sentences[:-1]
    if sentences:
        order_status.record(order, "rules", "; ".join(sentences))


def _unknown_route(evaluation: Evaluation, serving: set[int]) -> str:
    """A message naming the rule whose route leads to a connection that does not serve the
    store (deleted since the rule was activated), or ''."""
    for decision in evaluation.decisions:
        targets = [decision.connection_id] if decision.connection_id else []
        if decision.split is not None:
            targets += [g.connection_id for g in decision.split.groups if g.connection_id]
        for target in targets:
            if target not in serving:
                return (f'Rule "{decision.rule_name}" (#{decision.rule_id}) routes to connection '
                        f"{target}, which does not serve this store: edit the rule, then "
                        "Reprocess")
    return ""


def _decide(order: Order, evaluation: Evaluation, now: datetime,
            partitions: list[tuple[int, list[int]]]) -> list[int]:
    """Put an accepted evaluation on ``order`` in memory (fields, hold, route, the record);
    ``partitions`` are ``_partitions(order, evaluation)``. Returns the ids of the lines it
    rejected."""
    ids = evaluation.facts.line_ids if evaluation.facts else ()
    fields = dict(evaluation.order_fields)
    for name, value in fields.items():
        setattr(order, ORDER_COLUMNS[name], value)
    recorded: dict = {"fields": fields,
                      "lines": {str(ids[i]): dict(values)
                                for i, values in evaluation.line_fields.items() if i < len(ids)}}
    if evaluation.hold is not None:
        until = evaluation.hold.until
        recorded["hold"] = until.isoformat() if until else None
        order.held_until = until
    rejected = [ids[i] for i in evaluation.rejected_lines if i < len(ids)]
    if rejected:
        recorded["rejected"] = rejected  # so that a Reset can ship them again
    order.connection_id = (partitions[0][0] if partitions
                           else evaluation.connection_id or order.connection_id)
    order.rules_applied_at = now
    order.rule_fields = recorded
    return rejected


def _accept(order: Order, evaluation: Evaluation, now: datetime) -> dict[int, list[int]]:
    """An accepted evaluation on the locked ``order``, parts included (saved)."""
    ids = evaluation.facts.line_ids if evaluation.facts else ()
    partitions = _partitions(order, evaluation)
    rejected = _decide(order, evaluation, now, partitions)
    if rejected:
        OrderLine.objects.filter(pk__in=rejected).update(ships=False)
    _record_decisions(order, evaluation)
    order.save()
    placed: dict[int, list[int]] = {order.connection_id: [order.pk]}
    for number, (connection_id, indexes) in enumerate(partitions[1:], start=2):
        part = _make_part(order, number, connection_id, [ids[i] for i in indexes],
                          order.rule_fields)
        placed.setdefault(connection_id, []).append(part.pk)
    return placed


def _partitions(order: Order, evaluation: Evaluation) -> list[tuple[int, list[int]]]:
    """(connection id, line indexes) per warehouse order, in the order of their first line.

    Lines the rules rejected stay with the first partition (they are not sent anyway)."""
    base = evaluation.connection_id or order.connection_id
    group_of: dict[int, int] = {}
    group_connection: dict[int, int | None] = {}
    if evaluation.split is not None:
        for number, group in enumerate(evaluation.split.groups):
            group_connection[number] = group.connection_id
            for index in group.line_indexes:
                group_of[index] = number
    keyed: dict[tuple[int, int], list[int]] = {}
    count = len(evaluation.facts.line_ids) if evaluation.facts else 0
    for index in range(count):
        if index in evaluation.rejected_lines:
            continue
        group = group_of.get(index, 0)
        target = (evaluation.line_connections.get(index) or group_connection.get(group)
                  or base)
        keyed.setdefault((group, target), []).append(index)
    partitions = [(target, indexes) for (_, target), indexes in keyed.items()]
    partitions.sort(key=lambda item: item[1][0])
    if partitions and evaluation.rejected_lines:
        partitions[0][1].extend(sorted(evaluation.rejected_lines))
    return partitions


def _new_part(order: Order, number: int, connection_id: int, line_ids: list[int],
              recorded: Mapping) -> Order:
    """Part ``number`` of ``order`` for ``connection_id``, holding ``line_ids`` (unsaved)."""
    values = {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields
              if f.name not in NOT_COPIED}
    display = order.external_display_id or order.external_id
    part = Order(**values, parent_id=order.pk, connection_id=connection_id,
                 external_id=f"{order.external_id}{PART_MARK}{number}"[:64],
                 external_display_id=f"{display}-{number}"[:64], status=S.NEW,
                 created_at=timezone.now())
    part.rule_fields = {**recorded, "lines": {key: value for key, value
                                              in recorded.get("lines", {}).items()
                                              if int(key) in line_ids}}
    return part


def _part_notes(order: Order, part: Order, number: int, lines: int) -> list[OrderActivity]:
    """The activity of a part made (on the part and on its store order)."""
    display = order.external_display_id or order.external_id
    return [OrderActivity(order_id=part.pk, event="part_created",
                          message=f"Part {number} of order {display}: {lines} line(s), for "
                                  f"connection {part.connection_id}."),
            OrderActivity(order_id=order.pk, event="part_created",
                          message=f"Lines moved to part {part.external_display_id} for "
                                  f"connection {part.connection_id}.")]


def _make_part(order: Order, number: int, connection_id: int, line_ids: list[int],
               recorded: Mapping) -> Order:
    part = _new_part(order, number, connection_id, line_ids, recorded)
    part.save()
    OrderLine.objects.filter(parent_id__in=line_ids).delete()
    OrderLine.objects.filter(pk__in=line_ids).update(order=part)
    insert_rows(_part_notes(order, part, number, len(line_ids)))
    return part


# --- what preparing reads ---------------------------------------------------------------------

def rule_held(order: Order, now: datetime | None = None) -> bool:
    """Whether a rule's hold keeps this order Pending once it is prepared."""
    if "hold" not in (order.rule_fields or {}):
        return False
    hold = order.rule_fields["hold"]
    if hold == RELEASED:
        return False
    if hold is None:
        return True
    return order.held_until is not None and order.held_until > (now or timezone.now())


def put_back_rule_fields(order: Order, lines: Iterable[OrderLine]) -> None:
    """After mapping: the fields a rule set override what the maps gave (in memory)."""
    recorded = order.rule_fields or {}
    for name, value in recorded.get("fields", {}).items():
        column = ORDER_COLUMNS.get(name)
        if column in MAPPED_COLUMNS:
            setattr(order, column, value)
    per_line = recorded.get("lines") or {}
    if not per_line:
        return
    for line in lines:
        values = per_line.get(str(line.pk))
        if values and "warehouse_sku" in values:
            line.warehouse_sku = values["warehouse_sku"]


def reset_parts(order: Order) -> bool:
    """Before the store's new version replaces an unsent order: delete its unsent parts (their
    lines are replaced with the parent's) and forget the rules' decision, so they run again.
    Returns False, changing nothing, when a part has been sent: processing has begun.

    The parts are locked before they are judged: the connection a part was routed to exports
    it in its own run, perhaps at this moment in another process, and claims it with a
    conditional update. Read unlocked, a part claimed after the read but before the delete
    was deleted while its file was being sent, and the split made again sent its lines a
    second time (PostgreSQL; SQLite's write lock orders the two anyway). Locked, the claim
    either committed first (the part is seen as sent) or waits and then finds the part gone."""
    parts = list(order.parts.select_for_update())
    if any(part.export_reference or part.exported_at or part.status not in
           (S.NEW, S.PENDING, S.QUEUED, S.DELAYED, S.ERROR, S.SKIPPED) for part in parts):
        return False
    if parts:
        Order.objects.filter(pk__in=[part.pk for part in parts]).delete()
    order.rules_applied_at = None
    order.rule_fields = {}
    order.held_until = None
    return True


def undo_rules(order: Order) -> None:
    """Undo what the import rules did to the locked, unsent ``order`` (a Reset): its parts'
    lines come back and the parts go, rejected lines ship again, it returns to the connection
    that imports the store's orders, and the rules will run again. The caller has checked that
    no part was sent."""
    parts = list(order.parts.all())
    if parts:
        OrderLine.objects.filter(order__in=parts, parent__isnull=False).delete()
        OrderLine.objects.filter(order__in=parts).update(order=order)
        Order.objects.filter(pk__in=[part.pk for part in parts]).delete()
    rejected = (order.rule_fields or {}).get("rejected") or []
    if rejected:
        OrderLine.objects.filter(order=order, pk__in=rejected).update(ships=True)
    if order.rules_applied_at is not None:
        importer = (type(order.connection).objects.filter(store_id=order.store_id,
                                                           imports_orders=True)
                    .order_by("id").values_list("id", flat=True).first())
        order.connection_id = importer or order.connection_id
    order.rules_applied_at, order.rule_fields, order.held_until = None, {}, None


def release_due_holds(now: datetime | None = None) -> int:
    """Queue every order whose rule's hold has ended (the scheduler's tick). Returns how many."""
    now = now or timezone.now()
    due = list(Order.objects.filter(status=S.PENDING, held_until__lte=now)
               .values_list("pk", flat=True)[:1000])
    released = 0
    for pk in due:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=pk)
            if order.status != S.PENDING or not order.held_until or order.held_until > now:
                continue
            until = order.held_until
            order.rule_fields = {**(order.rule_fields or {}), "hold": RELEASED}
            order.held_until = None
            order_status.transition(order, S.QUEUED, event="hold_released",
                                    message=f"Released: the rule's hold ended at "
                                            f"{until.isoformat()}.",
                                    fields=("rule_fields", "held_until"))
            released += 1
    return released


# --- the shipment notification hook -------------------------------------------------------------

@dataclass(frozen=True)
class Notification:
    """What the shipment-notification rules say about telling the store of an order's
    shipments: ``post`` now, ``skip`` (never tell it), ``wait`` until ``until``, or ``error``
    (the shipment stops in Error with ``message``, naming the rule)."""

    verdict: str
    message: str = ""
    until: datetime | None = None


POST = Notification("post")


def notification_verdicts(store_id: int, order_ids: Iterable[int], *,
                          now: datetime | None = None) -> dict[int, Notification]:
    """The store's shipment-notification rules for each order (by id); {} when the store has
    none active (the usual case: one query). A hold is decided once per order and kept in
    ``rule_fields["notify_hold"]``, so later runs wait for the same time, not a new one."""
    rules = store_rule_set(store_id, Hook.SHIPMENT_NOTIFICATION)
    if not rules:
        return {}
    now = now or datetime.now(UTC)
    verdicts: dict[int, Notification] = {}
    for order in Order.objects.filter(pk__in=list(order_ids)).prefetch_related("lines"):
        kept = (order.rule_fields or {}).get("notify_hold")
        if kept:
            until = datetime.fromisoformat(kept)
            verdicts[order.pk] = POST if until <= now else Notification(
                "wait", f"held by a rule until {until.isoformat()}", until)
            continue
        evaluation = _evaluate(rules, order, None, now)
        verdicts[order.pk] = _notification(order, evaluation, now)
    return verdicts


def _notification(order: Order, evaluation: Evaluation | str, now: datetime) -> Notification:
    if isinstance(evaluation, str):
        return Notification("error", evaluation)
    if evaluation.outcome in ("error", "failed"):
        text = evaluation.message
        return Notification("error", text[:1].upper() + text[1:])
    if evaluation.outcome == "rejected":
        return Notification("skip", evaluation.message)
    if evaluation.hold is not None and evaluation.hold.until and evaluation.hold.until > now:
        until = evaluation.hold.until
        Order.objects.filter(pk=order.pk).update(
            rule_fields={**(order.rule_fields or {}), "notify_hold": until.isoformat()})
        order_status.record(order, "rules", "; ".join(evaluation.activity()))
        return Notification("wait", f"held by a rule until {until.isoformat()}", until)
    return POST

