"""The proof platform's adapter: every call through ``platforms/http.py``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from dropstream.platforms.base import (
    AdapterContext,
    SubmitResult,
    WarehouseAdapterBase,
    WarehouseCancellation,
    WarehouseDocument,
    WarehouseOrder,
    WarehouseRules,
    WarehouseShipment,
    WarehouseShipmentLine,
)
from dropstream.platforms.errors import RemoteValidationError
from dropstream.platforms.http import Credentials, HttpClient, Messages, in_header


class ProofWarehouse(WarehouseAdapterBase):
    platform = "proof"

    def __init__(self, settings: Mapping[str, Any], context: AdapterContext | None = None
                 ) -> None:
        super().__init__(settings, context)
        self.client = HttpClient(
            platform="proof", base_url=self.settings["base_url"], meter=self.context.meter,
            credentials=Credentials(self.settings["api_key"], in_header("X-Api-Key")),
            messages=Messages("proof", "the proof WMS"))

    @classmethod
    def rules(cls, settings: Mapping[str, Any]) -> WarehouseRules:
        return WarehouseRules(batch_size=int(settings.get("orders_per_batch") or 2))

    def validate_credentials(self) -> None:
        self.client.get("/orders", endpoint="GET /orders", params={"batch": ""})

    def submission_key(self, orders: Sequence[WarehouseOrder], created_at: datetime) -> str:
        return f"proof-{orders[0].order_number}-{created_at.astimezone(UTC):%Y%m%d%H%M%S}"

    def submitted(self, key: str, orders: Sequence[WarehouseOrder]) -> frozenset[str]:
        body = self.client.get("/orders", endpoint="GET /orders", params={"batch": key})
        return frozenset(row["number"] for row in body["orders"])

    def submit(self, orders: Sequence[WarehouseOrder], *, key: str) -> SubmitResult:
        refused: dict[str, str] = {}
        for order in orders:
            try:
                self.client.request("POST", "/orders", endpoint="POST /orders", idempotent=False,
                                    json_body={"batch": key, "number": order.order_number,
                                               "lines": [{"line": ln.line_number, "sku": ln.sku,
                                                          "qty": ln.quantity}
                                                         for ln in order.lines]})
            except RemoteValidationError as exc:
                refused[order.order_number] = exc.message
        return SubmitResult(reference=key, refused=refused,
                            order_numbers=tuple(o.order_number for o in orders))

    def fetch_shipments(self) -> Iterator[WarehouseDocument]:
        after = int(self.context.state.get("after", 0))
        body = self.client.get("/shipments", endpoint="GET /shipments", params={"after": after})
        if body["shipments"]:
            events = body["shipments"]
            yield WarehouseDocument(
                name=f"shipments after {after}", event_id=f"feed:{after}:{body['last']}",
                received_at=datetime.now(UTC),
                shipments=[_shipment(p) for p in events if "canceled" not in p],
                cancellations=[WarehouseCancellation(p["number"], p["canceled"])
                               for p in events if "canceled" in p])
            self._next = body["last"]

    def acknowledge(self, document: WarehouseDocument, errors=()) -> None:
        self.context.state["after"] = getattr(self, "_next", self.context.state.get("after", 0))

    def hook_document(self, topic: str, payload: Mapping[str, Any]) -> WarehouseDocument | None:
        if topic != "shipment":
            return None
        return WarehouseDocument(name=f"webhook {payload['event_id']}",
                                 event_id=str(payload["event_id"]),
                                 received_at=datetime.now(UTC),
                                 shipments=[_shipment(payload["package"])])

    def close(self) -> None:
        self.client.close()


def _shipment(package: Mapping[str, Any]) -> WarehouseShipment:
    return WarehouseShipment(
        key=f"{package['number']}|{package['tracking']}", order_number=package["number"],
        carrier=package["carrier"], service="", tracking_number=package["tracking"],
        ship_date=date.today(),
        lines=tuple(WarehouseShipmentLine(line_number=ln["line"], sku="", quantity=ln["qty"])
                    for ln in package["lines"]))
