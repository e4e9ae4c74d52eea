"""``/api/stores/{store_id}/rules``: a store's rules (reference §10; issue 16), ours — the
reference's API has none (§13.3, §15.13).

Rules run per store and hook, top-down by ``position``; new rules start inactive. Every change
goes through ``rules.actions``; its refusals (``RuleError``) are 422 with a field → message map
(``{"condition": "line 1, column 13: unexpected end of expression"}``), mapped once in
``api/errors.py``. Activation compiles first; a draft that does not compile can be saved, and
its GET lists the ``problems`` that keep it inactive.

``POST …/rules/test`` runs the store's active rules of a hook on one of its orders or on pasted
order JSON and answers the trace and the outcome; it changes nothing, so merchant users (read
only elsewhere) may run it too.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Status

from dropstream.api.access import current_user, get_visible, require_writer, visible
from dropstream.api.errors import Invalid
from dropstream.api.routers.orders import Paging, paginate
from dropstream.api.schemas import (
    RuleDetail,
    RuleIn,
    RuleMoveIn,
    RuleOut,
    RulePage,
    RulePatch,
    RuleTestIn,
    RuleTestOut,
)
from dropstream.api.types import READ_ERRORS, WRITE_ERRORS, Created, Id, Text, errors
from dropstream.connections.models import Store
from dropstream.orders.models import Order
from dropstream.rules import actions
from dropstream.rules.errors import InvalidFacts
from dropstream.rules.models import Rule
from dropstream.rules.trace import evaluation_report, facts_for_order, pasted_facts

router = Router(tags=["rules"])

TEST_ERRORS = (400, 401, 404, 413, 422)


class RuleFilters(Paging):
    hook: Text(32) | None = None


def render_rule(rule: Rule) -> dict[str, Any]:
    return {"id": rule.pk, "store_id": rule.store_id, "hook": rule.hook, "name": rule.name,
            "position": rule.position, "active": rule.active, "scope": rule.scope,
            "condition": rule.condition, "action": rule.action,
            "arguments": dict(rule.arguments or {}), "created_at": rule.created_at,
            "updated_at": rule.updated_at}


def _store(request: HttpRequest, store_id: int) -> Store:
    return get_visible(visible(Store, current_user(request)), store_id, "store")


def _rule(request: HttpRequest, store_id: int, rule_id: int, *,
          for_update: bool = False) -> Rule:
    store = _store(request, store_id)
    queryset = visible(Rule, current_user(request)).filter(store=store)
    if for_update:
        queryset = queryset.select_for_update()
    return get_visible(queryset, rule_id, "rule")


@router.get("/{store_id}/rules", response={200: RulePage, **errors(*READ_ERRORS)})
def list_rules(request: HttpRequest, store_id: Id, filters: Query[RuleFilters]):
    """The store's rules, hook by hook, top-down (active and inactive)."""
    store = _store(request, store_id)
    queryset = visible(Rule, current_user(request)).filter(store=store).order_by(
        "hook", "position", "id")
    if filters.hook is not None:
        queryset = queryset.filter(hook=filters.hook)
    rows, page = paginate(queryset, filters)
    return {"rules": [render_rule(rule) for rule in rows], **page}


@router.post("/{store_id}/rules", response={201: Created, **errors(*WRITE_ERRORS)})
def create_rule(request: HttpRequest, store_id: Id, payload: RuleIn):
    """A new, inactive rule (last in its hook unless ``position`` is given)."""
    store = _store(request, store_id)
    require_writer(current_user(request))
    rule = actions.create_rule(store, **payload.model_dump())
    return Status(201, {"id": rule.pk})


# Django tries the patterns in order: this one comes before /{rule_id}, which would take
# "test" for a rule id.
@router.post("/{store_id}/rules/test", response={200: RuleTestOut, **errors(*TEST_ERRORS)})
def test_rules(request: HttpRequest, store_id: Id, payload: RuleTestIn):
    """Run the store's active rules of ``hook`` on ``order_id`` (one of its orders) or on a
    pasted ``order``; nothing is written. ``include_inactive`` evaluates drafts too."""
    store = _store(request, store_id)
    if (payload.order_id is None) == (payload.order is None):
        raise Invalid({"order": "give order_id or order (pasted order JSON), not both"})
    if payload.order_id is not None:
        order = (visible(Order, current_user(request)).filter(store=store, pk=payload.order_id)
                 .select_related("store").first())
        if order is None:
            raise Invalid({"order_id": f"order_id: no order {payload.order_id} of this store"})
        facts = facts_for_order(order)
    else:
        try:
            facts = pasted_facts(payload.order, now=payload.now)
        except InvalidFacts as exc:
            raise Invalid({f"order.{path}": f"order.{path} {message}"
                           for path, message in exc.errors.items()}) from None
    evaluation = actions.test_rules(store, payload.hook, facts, now=payload.now,
                                    include_inactive=payload.include_inactive)
    return evaluation_report(evaluation)


@router.get("/{store_id}/rules/{rule_id}", response={200: RuleDetail, **errors(*READ_ERRORS)})
def get_rule(request: HttpRequest, store_id: Id, rule_id: Id):
    rule = _rule(request, store_id, rule_id)
    return {**render_rule(rule), "problems": actions.rule_problems(rule)}


@router.patch("/{store_id}/rules/{rule_id}", response={204: None, **errors(*WRITE_ERRORS)})
def update_rule(request: HttpRequest, store_id: Id, rule_id: Id, payload: RulePatch):
    """Change the given fields; an active rule must still compile (422 otherwise, unchanged)."""
    with transaction.atomic():
        rule = _rule(request, store_id, rule_id, for_update=True)
        require_writer(current_user(request))
        actions.update_rule(rule, **payload.model_dump(exclude_unset=True))
    return Status(204, None)


@router.delete("/{store_id}/rules/{rule_id}", response={204: None, **errors(*WRITE_ERRORS)})
def delete_rule(request: HttpRequest, store_id: Id, rule_id: Id):
    rule = _rule(request, store_id, rule_id)
    require_writer(current_user(request))
    actions.delete_rule(rule)
    return Status(204, None)


@router.post("/{store_id}/rules/{rule_id}/activate",
             response={200: RuleOut, **errors(*WRITE_ERRORS)})
def activate_rule(request: HttpRequest, store_id: Id, rule_id: Id):
    """Compile and activate; 422 with the compiler's message (line, column) leaves it
    inactive."""
    rule = _rule(request, store_id, rule_id)
    require_writer(current_user(request))
    return render_rule(actions.activate_rule(rule))


@router.post("/{store_id}/rules/{rule_id}/deactivate",
             response={200: RuleOut, **errors(*WRITE_ERRORS)})
def deactivate_rule(request: HttpRequest, store_id: Id, rule_id: Id):
    rule = _rule(request, store_id, rule_id)
    require_writer(current_user(request))
    return render_rule(actions.deactivate_rule(rule))


@router.post("/{store_id}/rules/{rule_id}/move",
             response={200: RuleOut, **errors(*WRITE_ERRORS)})
def move_rule(request: HttpRequest, store_id: Id, rule_id: Id, payload: RuleMoveIn):
    """Put the rule at ``position`` (1-based) in its hook's list; the rules between shift."""
    rule = _rule(request, store_id, rule_id)
    require_writer(current_user(request))
    actions.move_rule(rule, payload.position)
    rule.refresh_from_db()
    return render_rule(rule)
