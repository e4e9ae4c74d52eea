"""What every platform provides — its settings, its adapter, the values adapters exchange — and
the registry of platforms.

A new platform is a new folder under ``platforms/`` with a ``SPEC`` in its ``__init__.py`` and
one line in ``_REGISTERED`` (docs/architecture.md, "How to add a platform"). The pieces live in
their own modules and are all importable from here:

* ``settings`` — SettingField, PlatformSpec, shared cleaners;
* ``metering`` — MeteredCall and the sink every attempt is reported to;
* ``values`` — the frozen dataclasses adapters take and return (never ORM rows);
* ``protocols`` — StoreAdapter, WarehouseAdapter, AdapterContext;
* ``hooks`` — HookSpec and HookEvent for platforms that deliver events to a URL.
"""

from __future__ import annotations

import importlib
from typing import Literal

from dropstream.platforms.hooks import (
    HookEvent,
    HookParser,
    HookRejected,
    HookSpec,
)
from dropstream.platforms.metering import (
    MeteredCall,
    MeterSink,
    announce,
    charge,
    discard_meter,
    new_call_id,
)
from dropstream.platforms.protocols import (
    AdapterContext,
    RetryBudget,
    StoreAdapter,
    WarehouseAdapter,
    WarehouseAdapterBase,
    never_seen,
)
from dropstream.platforms.settings import (
    AdapterSettingsError,
    PlatformSpec,
    SettingField,
    UnknownPlatform,
    clean_bool,
    clean_datetime,
)
from dropstream.platforms.values import (
    BASE_SHIP_TO,
    Address,
    InventoryLevel,
    InventoryWriteResult,
    OrderSummary,
    PendingChange,
    RowError,
    StoreOrder,
    StoreOrderLine,
    StoreShipment,
    StoreShipmentLine,
    SubmitResult,
    WarehouseCancellation,
    WarehouseDocument,
    WarehouseOrder,
    WarehouseOrderLine,
    WarehouseReceipt,
    WarehouseRejection,
    WarehouseRules,
    WarehouseShipment,
    WarehouseShipmentLine,
    keep_order_number,
    no_order_problems,
)

__all__ = [
    "AdapterContext",
    "AdapterSettingsError",
    "Address",
    "BASE_SHIP_TO",
    "HookEvent",
    "HookParser",
    "HookRejected",
    "HookSpec",
    "InventoryLevel",
    "InventoryWriteResult",
    "MeterSink",
    "MeteredCall",
    "OrderSummary",
    "PendingChange",
    "PlatformSpec",
    "RetryBudget",
    "RowError",
    "SettingField",
    "StoreAdapter",
    "StoreOrder",
    "StoreOrderLine",
    "StoreShipment",
    "StoreShipmentLine",
    "SubmitResult",
    "UnknownPlatform",
    "WarehouseAdapter",
    "WarehouseAdapterBase",
    "WarehouseDocument",
    "WarehouseOrder",
    "WarehouseOrderLine",
    "WarehouseReceipt",
    "WarehouseRejection",
    "WarehouseRules",
    "WarehouseShipment",
    "WarehouseCancellation",
    "WarehouseShipmentLine",
    "all_platforms",
    "announce",
    "charge",
    "clean_bool",
    "clean_datetime",
    "discard_meter",
    "get_platform",
    "keep_order_number",
    "never_seen",
    "new_call_id",
    "no_order_problems",
    "platforms",
    "register",
    "unregister",
]

# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------

# One line per platform: "module holding SPEC".
_REGISTERED = (
    "dropstream.platforms.brightsites",
    "dropstream.platforms.dsfx",
    "dropstream.platforms.x12",
    "dropstream.platforms.extensiv",
    "dropstream.platforms.shiphero",
)


def _load() -> dict[str, PlatformSpec]:
    specs: dict[str, PlatformSpec] = {}
    for module_name in _REGISTERED:
        spec: PlatformSpec = importlib.import_module(module_name).SPEC
        specs[f"{spec.kind}:{spec.name}"] = spec
    return specs


_SPECS: dict[str, PlatformSpec] | None = None


def _specs() -> dict[str, PlatformSpec]:
    global _SPECS
    if _SPECS is None:
        _SPECS = _load()
    return _SPECS


def platforms(kind: Literal["store", "warehouse"]) -> list[str]:
    return sorted(spec.name for spec in _specs().values() if spec.kind == kind)


def all_platforms() -> list[PlatformSpec]:
    """Every registered platform, stores first."""
    return sorted(_specs().values(), key=lambda spec: (spec.kind != "store", spec.name))


def get_platform(kind: Literal["store", "warehouse"], name: str) -> PlatformSpec:
    """The spec for a platform string; UnknownPlatform lists the known ones."""
    try:
        return _specs()[f"{kind}:{name}"]
    except KeyError:
        raise UnknownPlatform(kind, name, platforms(kind)) from None


def register(spec: PlatformSpec) -> None:
    """Add a platform that is not in ``_REGISTERED`` (a test's own platform)."""
    _specs()[f"{spec.kind}:{spec.name}"] = spec


def unregister(spec: PlatformSpec) -> None:
    _specs().pop(f"{spec.kind}:{spec.name}", None)
