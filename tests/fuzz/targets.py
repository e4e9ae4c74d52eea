"""The parsers of outside input, as fuzz targets shared by the CI tests and ``benchmarks/fuzz.py``.

A target reads one input (the bytes of a corpus file) the way the hub does and enforces the
property every parser of outside input promises: it returns a value or raises its documented
error — a PlatformError subclass, HookRejected, or the format's own parse error — and nothing
else. What it returns must be storable: every text in it is valid Unicode without NUL
(PostgreSQL refuses NUL in text and psycopg refuses lone surrogates, so such a value would
crash the run that stores it instead of becoming an order in Error).

Corpus files live in ``tests/corpus/<target name>/``; each target names its seeds' format
(``bytes`` or ``json``). ``run`` raises ``Crash`` for a broken property.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from dropstream.platforms.brightsites import hooks as brightsites_hooks
from dropstream.platforms.brightsites.mapping import (
    inventory_from_row,
    order_from_json,
    shipment_id,
    summary_from_row,
)
from dropstream.platforms.dsfx.format import read_inventory, read_shipments
from dropstream.platforms.errors import PlatformError
from dropstream.platforms.extensiv import mapping as extensiv
from dropstream.platforms.extensiv.client import ORDER_REL, embedded
from dropstream.platforms.hooks import HookRejected
from dropstream.platforms.shiphero import hooks as shiphero_hooks
from dropstream.platforms.shiphero import mapping as shiphero
from dropstream.platforms.x12 import mapping as x12_mapping
from dropstream.platforms.x12.inbound import of_type, read_inbound
from dropstream.platforms.x12.w846 import InventoryReport
from dropstream.platforms.x12.w940 import read_940
from dropstream.platforms.x12.w945 import ShippingAdvice
from dropstream.sandbox.warehouse.orders import OrderFileError, parse_order_file
from dropstream.sync.push import kept_fields, stored_text
from tests.fuzz.mutate import mutated_bytes, mutated_json

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
BRIGHTSITES_SETTINGS = {"subdomain": "acme", "api_url": "http://127.0.0.1:9/api/v2.6.1"}
SHIPHERO_SETTINGS = {"require_signature": False}
# The longest any one input may take (the largest corpus file reads in milliseconds): past it,
# a parser is taken to hang, the way a quadratic loop over a 1 MB body would.
HANG_SECONDS = 5.0


class Crash(AssertionError):
    """A target broke its property: an undocumented exception, or a value that cannot be
    stored. ``__cause__`` is the exception when there was one."""


@dataclass(frozen=True)
class Target:
    """One parser of outside input.

    ``read`` takes the input (bytes, or the decoded JSON value for ``kind == "json"``) and
    returns what the hub would keep; ``allowed`` are the documented errors."""

    name: str
    kind: str  # "bytes", "json", or "body" (bytes whose seeds are JSON texts)
    read: Callable[[Any], Any]
    allowed: tuple[type[BaseException], ...]

    @property
    def group(self) -> str:
        return self.name.split("-", 1)[0]

    @property
    def folder(self) -> Path:
        return CORPUS / self.name

    def corpus_files(self) -> list[Path]:
        return sorted(p for p in self.folder.glob("*") if p.is_file())

    def decode(self, data: bytes) -> Any:
        """The input a corpus file holds (JSON targets: the value; NaN/Infinity allowed, as
        httpx's ``response.json()`` allows them)."""
        return json.loads(data) if self.kind == "json" else data

    def encode(self, value: Any) -> bytes:
        if self.kind != "json":
            return value
        return json.dumps(value, ensure_ascii=True, sort_keys=True).encode("ascii")

    def seeds(self) -> list[Any]:
        return [self.decode(p.read_bytes()) for p in self.corpus_files()]

    def inputs(self, max_edits: int = 4) -> st.SearchStrategy[Any]:
        """Mutated seeds. A JSON body is damaged as a document (then serialised, sometimes
        with NaN or non-ASCII left as they are) and as bytes."""
        seeds = self.seeds()
        if self.kind == "json":
            return mutated_json(seeds, max_edits)
        if self.kind == "body":
            documents = [document for seed in seeds if (document := _json_or_none(seed))
                         is not None]
            return st.one_of(
                st.builds(_serialise, mutated_json(documents, max_edits), st.booleans()),
                mutated_bytes(seeds, max_edits))
        return mutated_bytes(seeds, max_edits)

    def run(self, value: Any, *, seconds: float = HANG_SECONDS) -> Any:
        """``read(value)``; raises Crash when the property breaks (an undocumented exception,
        an unstorable result, or no answer within ``seconds``), returns the result (None after
        a documented error)."""
        try:
            with _time_limit(seconds):
                result = self.read(value)
        except Hung as exc:
            raise Crash(f"{self.name}: no answer within {seconds:g} s (a hang)") from exc
        except self.allowed as exc:
            _check_message(self, exc)
            return None
        except Exception as exc:
            raise Crash(f"{self.name}: {type(exc).__name__}: {str(exc)[:300]}") from exc
        problem = unstorable(result)
        if problem:
            raise Crash(f"{self.name}: the result holds {problem}")
        return result


class Hung(BaseException):  # noqa: N818 — not an Exception: the parser cannot catch it
    """The parser ran past its time limit."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise Hung()

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:  # a corpus file of broken bytes: a seed for byte edits only
        return None


def _serialise(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _check_message(target: Target, error: BaseException) -> None:
    message = getattr(error, "message", None) or str(error)
    if not message.strip():
        raise Crash(f"{target.name}: {type(error).__name__} without a message") from error


def unstorable(value: Any, path: str = "result") -> str:
    """A description of the first text in ``value`` a database cannot store, or ""."""
    if isinstance(value, int) and abs(value) > 2**63 - 1:
        return f"a number no database column holds at {path}"
    if isinstance(value, str):
        if "\x00" in value:
            return f"a NUL character at {path}"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"a lone surrogate at {path}"
        return ""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return next((found for f in dataclasses.fields(value)
                     if (found := unstorable(getattr(value, f.name), f"{path}.{f.name}"))), "")
    if isinstance(value, Mapping):
        return next((found for k, v in value.items()
                     if (found := unstorable(k, f"{path} key") or unstorable(v, f"{path}[{k!r}]"))
                     ), "")
    if isinstance(value, list | tuple | set | frozenset):
        return next((found for i, v in enumerate(value)
                     if (found := unstorable(v, f"{path}[{i}]"))), "")
    return ""


# --------------------------------------------------------------------------------------------
# The readers, as the hub calls them
# --------------------------------------------------------------------------------------------


def _dsfx_orders(data: bytes) -> Any:
    # The sandbox warehouse's reader of the hub's order files: the other side of write_orders.
    return parse_order_file("ord_1001_240506070809.csv", data)


def _kept(data: bytes, events: list[Any]) -> Any:
    """What the intake (``sync.push.receive``) stores of a body and its events before any
    mapping: the body's text and each event's topic, event id and external id."""
    return stored_text(data), [kept_fields(event) for event in events]


def _mapped(read: Callable[[], Any]) -> Any:
    """The import's mapping of a kept event: its value, or the message of its documented error
    (stored as the delivery's reason, so it too must be storable text)."""
    try:
        return read()
    except PlatformError as exc:
        _check_message_text(exc)
        return f"rejected: {exc}"


def _check_message_text(error: PlatformError) -> None:
    if not str(error).strip():
        raise Crash(f"{type(error).__name__} without a message") from error


def _brightsites_push(data: bytes) -> Any:
    """A Push Orders body through the intake (``parse_push``, then kept as a delivery) and the
    import's mapping (``order_from_json``)."""
    events = brightsites_hooks.parse_push(data, {}, BRIGHTSITES_SETTINGS)
    return _kept(data, events), [_mapped(lambda e=event: order_from_json(e.payload))
                           for event in events]


def _brightsites_answers(answer: Any) -> Any:
    """The store's answers the adapter maps: an order, a list page's rows, inventory rows, a
    created shipment (the seed's ``kind`` says which; a mutated kind reads as an order)."""
    kind = answer.get("kind") if isinstance(answer, dict) else None
    body = answer.get("body") if isinstance(answer, dict) else answer
    if kind == "orders":
        rows = body if isinstance(body, list) else [body]
        return [summary_from_row(row, f"orders[{i}]") for i, row in enumerate(rows)]
    if kind == "inventories":
        rows = body if isinstance(body, list) else [body]
        return [inventory_from_row(row, f"inventories[{i}]") for i, row in enumerate(rows)]
    if kind == "shipment":
        return shipment_id(body)
    return order_from_json(body)


def _x12_inbound(data: bytes) -> Any:
    """A file from the warehouse's /out folder, read and mapped as the X12 adapter does."""
    result = read_inbound(data)
    shipments, cancellations = x12_mapping.shipments_of(of_type(result, ShippingAdvice))
    levels, stated = x12_mapping.levels_of(of_type(result, InventoryReport))
    problems = x12_mapping.problems_of(result)
    return shipments, cancellations, levels, stated, problems, result.acknowledgments


def _x12_940(data: bytes) -> Any:
    return read_940(data).documents


def _extensiv_orders(answer: Any) -> Any:
    """An orders page (``GET /orders?detail=All``) through what fetch_shipments maps."""
    rows = embedded(answer, ORDER_REL)
    found = []
    for row in rows:
        found.append((extensiv.order_id(row), extensiv.status(row), extensiv.modified(row),
                      extensiv.created_by(row, user_login="hub", user_login_id="")))
        if extensiv.status(row) == extensiv.STATUS_CLOSED:
            found.append(extensiv.shipments(row))
    return found


def _extensiv_stock(answer: Any) -> Any:
    rows = answer.get("summaries") if isinstance(answer, dict) else answer
    return extensiv.levels(rows if isinstance(rows, list) else [rows])


def _shiphero_shipments(answer: Any) -> Any:
    """A ``shipments`` query answer's page (adapter ``_pages``: the client has checked that
    ``data.shipments`` is an object) and each node mapped (``fetch_shipments``)."""
    data = answer.get("data") if isinstance(answer, dict) else None
    wrapper = data.get("shipments") if isinstance(data, dict) else None
    if not isinstance(wrapper, dict):
        return None  # the client's BadResponse; not the mapping's concern
    nodes, cursor = shiphero.page_of(wrapper, "shipments")
    return cursor, [shiphero.shipments_from_node(node) for node in nodes]


def _shiphero_stock(answer: Any) -> Any:
    rows = answer if isinstance(answer, list) else [answer]
    return shiphero.levels_from_rows([r for r in rows if isinstance(r, dict)],
                                     frozenset({"76733"}))


def _shiphero_webhook(data: bytes) -> Any:
    """A webhook body through ``hooks.parse`` (then kept as a delivery) and the mapping
    ``hook_document`` applies (``sync.push`` rejects the delivery on PlatformError or
    ValueError)."""
    events = shiphero_hooks.parse(data, {}, SHIPHERO_SETTINGS)
    found = []
    for event in events:
        if event.topic == "shipment":
            found.append(_mapped(lambda e=event: shiphero.shipments_from_webhook(e.payload)))
        elif event.topic == "order_canceled":
            found.append(_mapped(lambda e=event: shiphero.cancellation_from_webhook(e.payload)))
        elif event.topic == "inventory":
            found.append(_mapped(lambda e=event: shiphero.levels_from_webhook(e.payload,
                                                                              frozenset())))
    return _kept(data, events), found


TARGETS: tuple[Target, ...] = (
    Target("dsfx-shipments", "bytes", read_shipments, ()),
    Target("dsfx-inventory", "bytes", read_inventory, ()),
    Target("dsfx-orders", "bytes", _dsfx_orders, (OrderFileError,)),
    Target("brightsites-push", "body", _brightsites_push, (HookRejected, PlatformError)),
    Target("brightsites-answers", "json", _brightsites_answers, (PlatformError,)),
    Target("x12-inbound", "bytes", _x12_inbound, ()),
    Target("x12-940", "bytes", _x12_940, ()),
    Target("extensiv-orders", "json", _extensiv_orders, (PlatformError,)),
    Target("extensiv-stock", "json", _extensiv_stock, (PlatformError,)),
    Target("shiphero-shipments", "json", _shiphero_shipments, (PlatformError,)),
    Target("shiphero-stock", "json", _shiphero_stock, (PlatformError,)),
    Target("shiphero-webhook", "body", _shiphero_webhook, (HookRejected, PlatformError)),
)
BY_NAME = {target.name: target for target in TARGETS}
GROUPS = sorted({target.group for target in TARGETS})


def select(name: str) -> list[Target]:
    """Targets by name or group (``dsfx`` = every ``dsfx-…``); ``all`` is every target."""
    if name == "all":
        return list(TARGETS)
    chosen = [t for t in TARGETS if name in (t.name, t.group)]
    if not chosen:
        raise KeyError(f"no fuzz target {name!r}; use all, "
                       + ", ".join(GROUPS + [t.name for t in TARGETS]))
    return chosen


def corpus_cases() -> Iterator[tuple[Target, Path]]:
    for target in TARGETS:
        for path in target.corpus_files():
            yield target, path


def save_to_corpus(target: Target, value: Any, label: str) -> Path:
    """Keep an input in the target's corpus under a name from its content's digest."""
    import hashlib

    data = target.encode(value)
    suffix = ".json" if target.kind == "json" else ".bin"
    path = target.folder / f"{label}-{hashlib.sha256(data).hexdigest()[:12]}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
