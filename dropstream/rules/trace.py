"""A test run of a store's rules as people see it: the facts of a chosen order, and an
``Evaluation`` as plain data (the API's answer and the Test tab's tables).

Line numbers in the report are ``line_index`` values, 0-based like ``line.index`` in a
condition; ``line_id`` is the OrderLine id (None for a pasted line without one).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dropstream.rules.engine import Decision, Evaluation, Hold, Split
from dropstream.rules.facts import OrderFacts, facts_from_json, facts_from_order, load_line_stock

__all__ = ["evaluation_report", "facts_for_order", "pasted_facts"]


def facts_for_order(order: Any) -> OrderFacts:
    """The facts of a stored ``orders.Order`` with its lines' stock by connection loaded, as
    the import would see them (three queries). Raises InvalidFacts for an order with more
    lines than rules handle."""
    lines = [line for line in order.lines.all() if line.parent_id is None]
    return facts_from_order(order, stock=load_line_stock(order.store, lines))


def pasted_facts(data: Any, *, now: datetime | None = None) -> OrderFacts:
    """The facts of pasted order JSON: the order object itself, or ``GET /api/orders/{id}``'s
    answer as it is (``{"order": {…}}``). Raises InvalidFacts naming each wrong field."""
    if isinstance(data, Mapping) and set(data) == {"order"} and isinstance(data["order"],
                                                                          Mapping):
        data = data["order"]
    return facts_from_json(data, now=now)


def _hold(hold: Hold | None) -> dict[str, Any] | None:
    if hold is None:
        return None
    return {"until": hold.until.isoformat() if hold.until else None,
            "description": hold.describe()}


def _split(split: Split | None) -> dict[str, Any] | None:
    if split is None:
        return None
    return {"by": split.by, "groups": [
        {"key": group.key, "line_indexes": list(group.line_indexes),
         "connection_id": group.connection_id} for group in split.groups]}


def _decision(decision: Decision | None) -> str | None:
    return decision.describe() if decision is not None else None


def evaluation_report(evaluation: Evaluation) -> dict[str, Any]:
    """The evaluation as JSON-ready data: the outcome, one trace row per condition evaluated
    (which rule, which line, matched or not, the error, what it decided), the activity
    sentences, and what the import would apply."""
    trace = [{
        "rule_id": entry.rule_id, "rule_name": entry.rule_name, "position": entry.position,
        "action": entry.action, "line_index": entry.line_index, "matched": entry.matched,
        "error": entry.error, "decision": _decision(entry.decision),
    } for entry in evaluation.trace]
    return {
        "hook": evaluation.hook,
        "outcome": evaluation.outcome,
        "message": evaluation.message,
        "error_rule_id": evaluation.error_rule_id,
        "trace": trace,
        "activity": evaluation.activity(),
        "order_fields": dict(evaluation.order_fields),
        "line_fields": [{"line_index": index, "line_id": evaluation.line_id(index),
                         "fields": dict(fields)}
                        for index, fields in sorted(evaluation.line_fields.items())],
        "rejected_lines": sorted(evaluation.rejected_lines),
        "connection_id": evaluation.connection_id,
        "line_connections": [{"line_index": index, "line_id": evaluation.line_id(index),
                              "connection_id": connection_id}
                             for index, connection_id in sorted(
                                 evaluation.line_connections.items())],
        "hold": _hold(evaluation.hold),
        "split": _split(evaluation.split),
    }
