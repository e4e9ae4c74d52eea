"""``/api/stores`` and ``/api/warehouses`` (reference §1.2, §13.3, §13.8, §14).

Both carry a platform string and an ``adapter`` object; lists leave the adapter out, one
object's GET shows it masked, and it is never returned in clear.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Status

from dropstream.api import render
from dropstream.api.access import (
    current_user,
    get_visible,
    require_writer,
    visible,
    visible_customer,
)
from dropstream.api.schemas import (
    StoreDetail,
    StoreIn,
    StoreOut,
    StorePatch,
    StorePing,
    WarehouseDetail,
    WarehouseIn,
    WarehouseOut,
    WarehousePatch,
    WarehousePing,
)
from dropstream.api.types import READ_ERRORS, WRITE_ERRORS, Created, Id, created_links, errors
from dropstream.connections import actions
from dropstream.connections.models import Store, Warehouse

stores = Router(tags=["stores"])
warehouses = Router(tags=["warehouses"])

PING_ERRORS = (400, 401, 403, 413, 422)


def _ping(kind: str, platform: str, adapter: dict) -> None:
    # A PlatformError (its message written for an operator) becomes a 422 in api/errors.py.
    actions.ping_adapter(kind, platform, adapter)


# ------------------------------------------------------------------------------ stores ----

@stores.get("", response={200: list[StoreOut], **errors(*READ_ERRORS)})
def list_stores(request: HttpRequest):
    return [render.store(s) for s in visible(Store, current_user(request))]


@stores.post("", response={201: Created, **errors(*WRITE_ERRORS)},
             openapi_extra=created_links(__name__, GetStore="get_store",
                                         UpdateStore="update_store"))
def create_store(request: HttpRequest, payload: StoreIn):
    user = current_user(request)
    require_writer(user)
    customer = visible_customer(user, payload.customer_id)
    store = actions.create_store(customer, name=payload.name, platform=payload.platform,
                                 adapter=payload.adapter, description=payload.description,
                                 url=payload.url, import_since=payload.import_since)
    return Status(201, {"id": store.pk})


@stores.post("/ping", response={204: None, **errors(*PING_ERRORS)})
def ping_store(request: HttpRequest, payload: StorePing):
    require_writer(current_user(request))
    _ping("store", payload.platform, payload.adapter)
    return Status(204, None)


@stores.get("/{id}", response={200: StoreDetail, **errors(*READ_ERRORS)})
def get_store(request: HttpRequest, id: Id):
    store = get_visible(visible(Store, current_user(request)), id, "store")
    return render.store(store, with_adapter=True)


@stores.patch("/{id}", response={204: None, **errors(*WRITE_ERRORS)})
def update_store(request: HttpRequest, id: Id, payload: StorePatch):
    user = current_user(request)
    with transaction.atomic():
        store = get_visible(visible(Store, user).select_for_update(), id, "store")
        require_writer(user)
        actions.update_store(store, payload.model_dump(exclude_unset=True))
    return Status(204, None)


# -------------------------------------------------------------------------- warehouses ----

@warehouses.get("", response={200: list[WarehouseOut], **errors(*READ_ERRORS)})
def list_warehouses(request: HttpRequest):
    return [render.warehouse(w) for w in visible(Warehouse, current_user(request))]


@warehouses.post("", response={201: Created, **errors(*WRITE_ERRORS)},
             openapi_extra=created_links(__name__, GetWarehouse="get_warehouse",
                                         UpdateWarehouse="update_warehouse"))
def create_warehouse(request: HttpRequest, payload: WarehouseIn):
    user = current_user(request)
    require_writer(user)
    customer = visible_customer(user, payload.customer_id)
    warehouse = actions.create_warehouse(customer, platform=payload.platform,
                                         adapter=payload.adapter,
                                         description=payload.description)
    return Status(201, {"id": warehouse.pk})


@warehouses.post("/ping", response={204: None, **errors(*PING_ERRORS)})
def ping_warehouse(request: HttpRequest, payload: WarehousePing):
    require_writer(current_user(request))
    _ping("warehouse", payload.platform, payload.adapter)
    return Status(204, None)


@warehouses.get("/{id}", response={200: WarehouseDetail, **errors(*READ_ERRORS)})
def get_warehouse(request: HttpRequest, id: Id):
    warehouse = get_visible(visible(Warehouse, current_user(request)), id, "warehouse")
    return render.warehouse(warehouse, with_adapter=True)


@warehouses.patch("/{id}", response={204: None, **errors(*WRITE_ERRORS)})
def update_warehouse(request: HttpRequest, id: Id, payload: WarehousePatch):
    user = current_user(request)
    with transaction.atomic():
        warehouse = get_visible(visible(Warehouse, user).select_for_update(), id, "warehouse")
        require_writer(user)
        actions.update_warehouse(warehouse, payload.model_dump(exclude_unset=True))
    return Status(204, None)
