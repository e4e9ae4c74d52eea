"""Building a connection's adapters, for any platform, from their stored settings and memory.

Every adapter is built as ``Adapter(settings, context)`` (``platforms.protocols``): its cleaned
(decrypted) settings and an ``AdapterContext`` holding the run's meter, the adapter's memory
between runs (``adapter_state`` of its Store or Warehouse) and the "seen before?" check over the
warehouse documents already handled. No platform is named here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from dropstream.connections.folders import local_folder_problem
from dropstream.connections.models import Connection, HookOwner, Store, Warehouse
from dropstream.platforms.base import (
    AdapterContext,
    MeterSink,
    RetryBudget,
    StoreAdapter,
    WarehouseAdapter,
    WarehouseDocument,
    discard_meter,
)
from dropstream.platforms.errors import PermanentError, PlatformError
from dropstream.sync.errors import StopCheck, never_stop
from dropstream.sync.models import ProcessedDocument


class Memory:
    """An adapter's ``adapter_state`` for one run: handed to the adapter as a dict it changes in
    place, written back as only the keys it changed, so two runs of one store or warehouse (its
    shipment and inventory channels) do not undo each other's changes."""

    def __init__(self, owner: HookOwner) -> None:
        self.owner = owner
        state = owner.adapter_state if isinstance(owner.adapter_state, dict) else {}
        self.state: dict[str, Any] = copy.deepcopy(state)
        self._before = copy.deepcopy(state)

    def save(self) -> None:
        changed = {key: value for key, value in self.state.items()
                   if self._before.get(key) != value}
        removed = set(self._before) - set(self.state)
        if not changed and not removed:
            return
        model = type(self.owner)
        with transaction.atomic():
            current = model.objects.select_for_update().filter(pk=self.owner.pk).values_list(
                "adapter_state", flat=True).first() or {}
            merged = {key: value for key, value in current.items() if key not in removed}
            merged.update(changed)
            model.objects.filter(pk=self.owner.pk).update(adapter_state=merged)
        self.owner.adapter_state = merged
        self._before = copy.deepcopy(self.state)

    def reload(self) -> None:
        """Save what this run changed, then take in what other runs saved since it began.

        Values are replaced in place where both are dicts: the adapter keeps references into
        ``state`` (a store's SKU map), which must see the new contents."""
        self.save()
        model = type(self.owner)
        current = model.objects.filter(pk=self.owner.pk).values_list(
            "adapter_state", flat=True).first() or {}
        for key in set(self.state) - set(current):
            del self.state[key]
        for key, value in copy.deepcopy(current).items():
            mine = self.state.get(key)
            if isinstance(mine, dict) and isinstance(value, dict):
                mine.clear()
                mine.update(value)
            else:
                self.state[key] = value
        self.owner.adapter_state = current
        self._before = copy.deepcopy(self.state)


def seen_by(warehouse: Warehouse):
    """The "seen before?" check of a warehouse: a document the hub has stored already."""

    def seen(event_id: str) -> bool:
        return ProcessedDocument.objects.filter(warehouse=warehouse, event_id=event_id).exists()

    return seen


def remember_document(warehouse: Warehouse, document: WarehouseDocument) -> None:
    """Record a handled document's event id so a re-delivered copy is recognised."""
    ProcessedDocument.objects.get_or_create(warehouse=warehouse, event_id=document.event_id,
                                            defaults={"name": document.name[:255]})


SEQUENCES = "sequences"  # the adapter_state key ``take_number`` counts in


def number_taker(owner: HookOwner):
    """``take_number`` for a store or warehouse: the next number of a named sequence, counted
    in its ``adapter_state`` under a row lock, so two runs going on at once never get the same
    one (the run's own ``Memory`` never writes this key: it does not change it)."""

    def take(sequence: str, first: int) -> int:
        model = type(owner)
        with transaction.atomic():
            current = model.objects.select_for_update().filter(pk=owner.pk).values_list(
                "adapter_state", flat=True).first() or {}
            sequences = dict(current.get(SEQUENCES) or {})
            number = max(first, int(sequences.get(sequence) or first))
            sequences[sequence] = number + 1
            model.objects.filter(pk=owner.pk).update(
                adapter_state={**current, SEQUENCES: sequences})
        return number

    return take


def build(owner: HookOwner, *, meter: MeterSink = discard_meter,
          memory: Memory | None = None, retry_budget: RetryBudget | None = None) -> Any:
    """The adapter of a store or warehouse (unguarded, for one-off use: the caller closes it
    and saves ``memory`` when it keeps one). ``retry_budget``: the run's allowance for waiting
    on a failing remote (``AdapterContext.retry_budget``)."""
    settings = owner.adapter_settings()
    problem = local_folder_problem(owner.platform_spec, settings, owner.customer_id)
    if problem is not None:  # stored before the rule existed, or the root moved
        raise PermanentError(f"The warehouse folder {problem}. Change it on the Settings tab.")
    memory = memory or Memory(owner)
    seen = seen_by(owner) if isinstance(owner, Warehouse) else AdapterContext().seen
    context = AdapterContext(meter=meter, state=memory.state, seen=seen,
                             checkpoint=memory.save, take_number=number_taker(owner),
                             retry_budget=retry_budget)
    return owner.platform_spec.adapter_class()(settings, context)


def store_adapter(store: Store, *, meter: MeterSink = discard_meter) -> StoreAdapter:
    """A store's adapter for a one-off job outside a run (its memory is not saved)."""
    return build(store, meter=meter)


class Guarded:
    """An adapter whose every public method first calls the run's stop check, so a run that
    lost its lease stops before its next request (DESIGN.md invariant 2)."""

    def __init__(self, inner: Any, should_stop: StopCheck, memory: Memory | None = None) -> None:
        self._inner = inner
        self._should_stop = should_stop
        self.memory = memory

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
def fresh_memory(adapter: Any) -> Iterator[None]:
    """For a block run under a lock that other runs of the same store or warehouse also take:
    the adapter starts it with the memory they saved (not the one this run began with) and
    saves its own before the lock is released. A store's SKU map holds the level last written
    for each SKU, and the adapter sends nothing for a level equal to it: a map older than
    another connection's write would skip a write the store needs (issue 16)."""
    memory = getattr(adapter, "memory", None)
    if memory is None:
        yield
        return
    memory.reload()
    try:
        yield
    finally:
        memory.save()


def save_memory(adapter: Any) -> None:
    """Save what the adapter remembered so far, now (``Memory.save``), when it has a memory."""
    memory = getattr(adapter, "memory", None)
    if memory is not None:
        memory.save()


def note_failure(adapter: Any, error: PlatformError) -> None:
    """Let the adapter remember what a failure told it (e.g. a changed host key to accept)."""
    note = getattr(adapter, "note_failure", None)
    if note is not None:
        note(error)


@contextmanager
def open_adapters(connection: Connection, *, meter: MeterSink = discard_meter,
                  warehouse_meter: MeterSink = discard_meter,
                  should_stop: StopCheck = never_stop,
                  retry_budget: RetryBudget | None = None,
                  ) -> Iterator[tuple[StoreAdapter, WarehouseAdapter]]:
    """The connection's store and warehouse adapters for one run, each call guarded by
    ``should_stop`` and both sharing the run's ``retry_budget``; on leaving — whatever
    happened — both are closed and what each remembered is saved."""
    store_memory, warehouse_memory = Memory(connection.store), Memory(connection.warehouse)
    store = build(connection.store, meter=meter, memory=store_memory, retry_budget=retry_budget)
    try:
        warehouse = build(connection.warehouse, meter=warehouse_meter, memory=warehouse_memory,
                          retry_budget=retry_budget)
    except BaseException:
        store.close()
        raise
    try:
        yield (Guarded(store, should_stop, store_memory),
               Guarded(warehouse, should_stop, warehouse_memory))
    except PlatformError as exc:
        note_failure(warehouse, exc)
        note_failure(store, exc)
        raise
    finally:
        store.close()
        warehouse.close()
        store_memory.save()
        warehouse_memory.save()
