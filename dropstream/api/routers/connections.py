"""``/api/connections``, their channels and runs (reference §1.2, §1.3, §3, §13.3, §13.6)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Status

from dropstream.api import render
from dropstream.api.access import (
    current_user,
    get_visible,
    require_administrator,
    require_merchant_creator,
    require_writer,
    visible,
    visible_customer,
)
from dropstream.api.errors import Invalid
from dropstream.api.schemas import (
    ChannelOut,
    ChannelPatch,
    ChannelPatched,
    ConnectionDetail,
    ConnectionIn,
    ConnectionOut,
    ConnectionPatch,
    RunIn,
    RunOut,
)
from dropstream.api.types import READ_ERRORS, WRITE_ERRORS, Created, Id, created_links, errors
from dropstream.connections import actions
from dropstream.connections.errors import ConnectionsError
from dropstream.connections.models import Channel, Connection, Merchant, Store, Warehouse
from dropstream.scheduling import actions as scheduling

router = Router(tags=["connections"])


# ------------------------------------------------------------------------ create (nested) ----

def _check_nested(payload: ConnectionIn) -> None:
    """Every problem of the body at once, before anything is written."""
    problems: dict[str, str] = {}
    pairs = (("customer", payload.customer_id, payload.customer),
             ("store", payload.store_id, payload.store),
             ("warehouse", payload.warehouse_id, payload.warehouse))
    for name, given_id, given_object in pairs:
        if given_id is not None and given_object is not None:
            problems[name] = f"give {name}_id or a {name} object, not both"
    if payload.store_id is None and payload.store is None:
        problems["store"] = "give store_id or a store object"
    for kind, nested in (("store", payload.store), ("warehouse", payload.warehouse)):
        if nested is None:
            continue
        try:
            actions.clean_adapter(kind, nested.platform, nested.adapter, prefix=f"{kind}.")
        except ConnectionsError as exc:
            problems.update(exc.errors)
    if problems:
        raise Invalid(problems)


def _resolve_customer(user: Any, payload: ConnectionIn) -> Merchant:
    if payload.customer is not None:
        require_merchant_creator(user)
        fields = payload.customer.model_dump(exclude={"company_name"})
        return actions.create_merchant(payload.customer.company_name, **fields)
    if payload.customer_id is not None:
        return visible_customer(user, payload.customer_id)
    # Without a customer, the existing store's (or warehouse's) owner is meant.
    for model, given_id, field in ((Store, payload.store_id, "store_id"),
                                   (Warehouse, payload.warehouse_id, "warehouse_id")):
        if given_id is not None:
            owner = visible(model, user).filter(pk=given_id).values_list("customer", flat=True)
            if not owner:
                raise Invalid({field: f"{field}: no {model.__name__.lower()} with id {given_id}"})
            return Merchant.objects.get(pk=owner[0])
    raise Invalid({"customer": "give customer_id or a customer object"})


def _owned_by(customer: Merchant, given: int | None, field: str) -> None:
    if given is not None and given != customer.pk:
        raise Invalid({field: f"{field} must be the connection's customer ({customer.pk})"})


def _resolve_store(user: Any, customer: Merchant, payload: ConnectionIn) -> Store:
    if payload.store is not None:
        nested = payload.store
        _owned_by(customer, nested.customer_id, "store.customer_id")
        return actions.create_store(customer, name=nested.name, platform=nested.platform,
                                    adapter=nested.adapter, description=nested.description,
                                    url=nested.url, prefix="store.",
                                    import_since=nested.import_since)
    store = visible(Store, user).filter(pk=payload.store_id).first()
    if store is None:
        raise Invalid({"store_id": f"store_id: no store with id {payload.store_id}"})
    return store


def _resolve_warehouse(user: Any, customer: Merchant, payload: ConnectionIn) -> Warehouse:
    if payload.warehouse is not None:
        nested = payload.warehouse
        _owned_by(customer, nested.customer_id, "warehouse.customer_id")
        return actions.create_warehouse(customer, platform=nested.platform,
                                        adapter=nested.adapter,
                                        description=nested.description, prefix="warehouse.")
    if payload.warehouse_id is not None:
        warehouse = visible(Warehouse, user).filter(pk=payload.warehouse_id).first()
        if warehouse is None:
            raise Invalid({"warehouse_id": f"warehouse_id: no warehouse with id "
                                           f"{payload.warehouse_id}"})
        return warehouse
    # Reference §1.1: "a connection created without a warehouse gets the customer's default
    # warehouse" — its oldest one.
    default = Warehouse.objects.filter(customer=customer).order_by("created_at", "id").first()
    if default is None:
        raise Invalid({"warehouse": f"customer {customer.pk} has no warehouse yet; give "
                                    "warehouse_id or a warehouse object"})
    return default


@router.get("", response={200: list[ConnectionOut], **errors(*READ_ERRORS)})
def list_connections(request: HttpRequest):
    return [render.connection(c) for c in visible(Connection, current_user(request))]


@router.post("", response={201: Created, **errors(*WRITE_ERRORS)},
             openapi_extra=created_links(__name__, GetConnection="get_connection",
                                         UpdateConnection="update_connection",
                                         ListChannels="list_channels",
                                         DeleteConnection="delete_connection"))
def create_connection(request: HttpRequest, payload: ConnectionIn):
    """Create a connection from existing ids and/or new nested customer, store and warehouse.

    All in one transaction: any error leaves nothing behind.
    """
    user = current_user(request)
    require_writer(user)
    _check_nested(payload)
    with transaction.atomic():
        customer = _resolve_customer(user, payload)
        store = _resolve_store(user, customer, payload)
        warehouse = _resolve_warehouse(user, customer, payload)
        connection = actions.create_connection(name=payload.name, customer=customer,
                                               store=store, warehouse=warehouse)
        if payload.locations:
            actions.update_connection(connection, {"locations": payload.locations})
    return Status(201, {"id": connection.pk})


# ------------------------------------------------------------------------- one connection ----

def _connection(request: HttpRequest, id: int, *, for_update: bool = False) -> Connection:
    queryset = visible(Connection, current_user(request))
    if for_update:
        queryset = queryset.select_for_update()
    return get_visible(queryset, id, "connection")


@router.get("/{id}", response={200: ConnectionDetail, **errors(*READ_ERRORS)})
def get_connection(request: HttpRequest, id: Id):
    return render.connection(_connection(request, id), with_channels=True)


@router.patch("/{id}", response={204: None, **errors(*WRITE_ERRORS)})
def update_connection(request: HttpRequest, id: Id, payload: ConnectionPatch):
    with transaction.atomic():
        connection = _connection(request, id, for_update=True)
        require_writer(current_user(request))
        actions.update_connection(connection, payload.model_dump(exclude_unset=True))
    return Status(204, None)


@router.delete("/{id}", response={204: None, **errors(401, 403, 404, 422)})
def delete_connection(request: HttpRequest, id: Id):
    connection = _connection(request, id)
    require_administrator(current_user(request), "delete connections")
    actions.delete_connection(connection)
    return Status(204, None)


# ------------------------------------------------------------------------------- channels ----

def _channel(request: HttpRequest, id: int, channel_id: int) -> Channel:
    connection = _connection(request, id)
    return get_visible(connection.channels.all(), channel_id, "channel")


@router.get("/{id}/channels", response={200: list[ChannelOut], **errors(*READ_ERRORS)})
def list_channels(request: HttpRequest, id: Id):
    return [render.channel(c) for c in _connection(request, id).channels.all()]


@router.patch("/{id}/channels/{channel_id}",
              response={204: None, 200: ChannelPatched, **errors(*WRITE_ERRORS)})
def update_channel(request: HttpRequest, id: Id, channel_id: Id, payload: ChannelPatch):
    """Enable/disable (``enabled_at``) and replace schedule rules.

    204 when all is well; 200 with ``warnings`` when rules were saved but run more often than
    the reference's minimum for the channel (§3.3).
    """
    channel = _channel(request, id, channel_id)
    require_writer(current_user(request))
    changes = payload.model_dump(exclude_unset=True)
    warnings: list[str] = []
    with transaction.atomic():
        if "rules" in changes or "full_sync_rules" in changes:
            warnings = scheduling.set_channel_rules(
                channel, changes.get("rules", channel.rules), changes.get("full_sync_rules"))
        if "enabled_at" in changes:
            scheduling.set_channel_enabled(channel, changes["enabled_at"])
    if warnings:
        return Status(200, {"warnings": warnings})
    return Status(204, None)


@router.post("/{id}/channels/{channel_id}/runs",
             response={202: Created, **errors(*WRITE_ERRORS)})
def run_channel_now(request: HttpRequest, id: Id, channel_id: Id, payload: RunIn | None = None):
    """Run now (reference §3.4); ``{"mode": "full"}`` asks the inventory channel for a Full Sync.

    Answers at once with the run's id; poll ``GET …/runs/{run_id}`` for its state.
    """
    channel = _channel(request, id, channel_id)
    require_writer(current_user(request))
    mode = payload.mode if payload is not None else "default"
    run = scheduling.request_run(channel, mode=mode, trigger="manual")
    return Status(202, {"id": run.pk})


@router.get("/{id}/channels/{channel_id}/runs/{run_id}",
            response={200: RunOut, **errors(*READ_ERRORS)})
def get_run(request: HttpRequest, id: Id, channel_id: Id, run_id: Id):
    channel = _channel(request, id, channel_id)
    run = get_visible(channel.runs.all(), run_id, "run")
    return {
        "id": run.pk, "channel_id": run.channel_id, "connection_id": run.connection_id,
        "type": run.channel_type, "mode": run.mode, "trigger": run.trigger, "state": run.state,
        "counts": dict(run.counts or {}), "requests_used": run.requests_used,
        "error": run.error, "queued_at": run.queued_at, "started_at": run.started_at,
        "finished_at": run.finished_at,
    }
