"""Building a connection's adapters from its stored (encrypted) settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dropstream.connections.models import Connection, Store, Warehouse
from dropstream.platforms.base import MeterSink, StoreAdapter, WarehouseAdapter, discard_meter
from dropstream.sync.errors import StopCheck, never_stop

# Per-store caches that outlive one adapter (e.g. Bright Sites final_sku → product ids), so the
# next run does not pay to learn them again. Keyed by store id; process-local by design: a new
# worker process pays once.
_STORE_CACHES: dict[int, dict[str, Any]] = {}


def store_adapter(store: Store, *, meter: MeterSink = discard_meter) -> StoreAdapter:
    cls = store.platform_spec.adapter_class()
    return cls(store.adapter_settings(), meter=meter,
               inventory_cache=_STORE_CACHES.setdefault(store.pk, {}))


def pin_host_key(warehouse_id: int):
    """A callback that pins the first host key a warehouse presents (trust on first use)."""

    def pin(key_text: str) -> None:
        Warehouse.objects.filter(pk=warehouse_id, host_key="").update(host_key=key_text)

    return pin


def warehouse_adapter(warehouse: Warehouse, *, meter: MeterSink = discard_meter) -> WarehouseAdapter:
    """The warehouse's adapter, given what it remembered last time (``adapter_state``, which it
    updates in place) and the hashes of documents already handled; ``save_warehouse_state``
    writes that memory back."""
    from dropstream.sync.models import ProcessedDocument

    cls = warehouse.platform_spec.adapter_class()
    if not isinstance(warehouse.adapter_state, dict):
        warehouse.adapter_state = {}
    hashes = ProcessedDocument.objects.filter(warehouse=warehouse).values_list("sha256",
                                                                              flat=True)
    return cls(warehouse.adapter_settings(), host_key=warehouse.host_key,
               on_new_host_key=pin_host_key(warehouse.pk), meter=meter,
               listing_state=warehouse.adapter_state.setdefault("listing", {}),
               processed_hashes=hashes)


def save_warehouse_state(warehouse: Warehouse) -> None:
    """Write back what the warehouse's adapter remembered during the run."""
    Warehouse.objects.filter(pk=warehouse.pk).update(adapter_state=warehouse.adapter_state)


def remember_document(warehouse: Warehouse, document) -> None:
    """Record a handled document's hash so a re-delivered copy is recognised."""
    from dropstream.sync.models import ProcessedDocument

    ProcessedDocument.objects.get_or_create(warehouse=warehouse, sha256=document.sha256,
                                            defaults={"name": document.name[:255]})


class Guarded:
    """An adapter whose every public method first calls the run's stop check, so a run that
    lost its lease stops before its next request (DESIGN.md invariant 2)."""

    def __init__(self, inner: Any, should_stop: StopCheck) -> None:
        self._inner = inner
        self._should_stop = should_stop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value
        should_stop = self._should_stop

        def checked(*args: Any, **kwargs: Any) -> Any:
            should_stop()
            return value(*args, **kwargs)

        return checked

    def __repr__(self) -> str:
        return f"<Guarded {self._inner!r}>"


@contextmanager
def open_adapters(connection: Connection, *, meter: MeterSink = discard_meter,
                  warehouse_meter: MeterSink = discard_meter,
                  should_stop: StopCheck = never_stop,
                  ) -> Iterator[tuple[StoreAdapter, WarehouseAdapter]]:
    """The connection's store and warehouse adapters for one run, each call guarded by
    ``should_stop``; on leaving, both are closed and the warehouse adapter's memory is saved."""
    store = store_adapter(connection.store, meter=meter)
    try:
        warehouse = warehouse_adapter(connection.warehouse, meter=warehouse_meter)
    except BaseException:
        store.close()
        raise
    try:
        yield Guarded(store, should_stop), Guarded(warehouse, should_stop)
    finally:
        store.close()
        warehouse.close()
        save_warehouse_state(connection.warehouse)
