"""A small client for the sandbox's control API (``/_sandbox/<subdomain>/…``).

    control = SandboxControl(sandbox.control_url("acme"))
    ids = control.create_orders(3, status="paid")
    control.add_faults([{"endpoint": "GET /orders/:id", "action": "status", "status": 500,
                         "count": 2}])
"""

from __future__ import annotations

from typing import Any

import httpx


class SandboxControlError(RuntimeError):
    """The control API refused a request; the message carries its reason."""


class SandboxControl:
    """Drives one sandbox store. Control requests are never metered."""

    def __init__(self, control_url: str, *, timeout: float = 30.0) -> None:
        self.control_url = control_url.rstrip("/")
        # Plain http on loopback: skip building a TLS context (tens of ms per client).
        self._client = httpx.Client(base_url=self.control_url + "/", timeout=timeout,
                                    verify=False)  # noqa: S501

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SandboxControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        """Returns the decoded JSON answer. Raises SandboxControlError on a non-2xx answer."""
        response = self._client.request(method, path, json=body)
        try:
            payload = response.json()
        except ValueError:
            payload = {"error": response.text}
        if response.status_code >= 300:
            message = payload.get("error") if isinstance(payload, dict) else payload
            raise SandboxControlError(f"{method} {path}: HTTP {response.status_code}: "
                                      f"{message}")
        return payload

    # ------------------------------------------------------------------ orders

    def create_orders(self, count: int = 1, status: str = "paid", **options: Any) -> list[int]:
        """Place orders; options: lines, customer, shipping_method, created_at,
        approval_pending. Returns the new order ids (ascending; newest is last)."""
        return list(self._call("POST", "orders", {"count": count, "status": status,
                                                  **options})["order_ids"])

    def update_order(self, order_id: int, **fields: Any) -> dict[str, Any]:
        """An admin edit (status, approval_pending, note, shipping_address, …); bumps
        ``updated_at``. Returns the raw order."""
        return dict(self._call("PUT", f"orders/{order_id}", fields))

    def approve_order(self, order_id: int) -> dict[str, Any]:
        """Lift the hidden approval hold (MOAS) of an order."""
        return self.update_order(order_id, approval_pending=False)

    def get_order(self, order_id: int) -> dict[str, Any]:
        """The stored show-order JSON plus ``approval_pending`` and ``stock_taken``."""
        return dict(self._call("GET", f"orders/{order_id}"))

    def delete_orders(self) -> None:
        self._call("DELETE", "orders")

    def push_order(self, order_id: int) -> None:
        """Push one order now (the admin's manual "push" button)."""
        self._call("POST", f"orders/{order_id}/push")

    # ------------------------------------------------------------------ faults and hooks

    def add_faults(self, rules: list[dict[str, Any]] | dict[str, Any]) -> int:
        """Append fault rules; returns how many rules are active."""
        return int(self._call("POST", "faults", rules)["rules"])

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "faults")["rules"])

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def add_hook(self, after: str, nth: int = 1, *,
                 create_orders: dict[str, Any] | None = None,
                 update_order: dict[str, Any] | None = None) -> int:
        """After the ``nth`` request matching ``after`` is handled, create or update orders."""
        body: dict[str, Any] = {"after": after, "nth": nth}
        if create_orders is not None:
            body["create_orders"] = create_orders
        if update_order is not None:
            body["update_order"] = update_order
        return int(self._call("POST", "hooks", body)["hooks"])

    def hooks(self) -> dict[str, Any]:
        """``{"pending": n, "fired": [{"after", "nth", "order_ids"|"updated"|"error"}]}``."""
        return dict(self._call("GET", "hooks"))

    def clear_hooks(self) -> None:
        self._call("DELETE", "hooks")

    # ------------------------------------------------------------------ meter, state, push

    def meter(self) -> dict[str, Any]:
        """``{"total", "by_endpoint", "by_token", "by_month", "by_status"}``."""
        return dict(self._call("GET", "meter"))

    def reset_meter(self) -> None:
        self._call("DELETE", "meter")

    def state(self) -> dict[str, Any]:
        return dict(self._call("GET", "state"))

    def set_push(self, url: str, wrap: bool = False) -> None:
        self._call("POST", "push", {"url": url, "wrap": wrap})

    def clear_push(self) -> None:
        self._call("DELETE", "push")

    def set_push_faults(self, *, lose: float = 0.0, duplicate: float = 0.0,
                        seed: int | None = None) -> dict[str, Any]:
        """Lose or duplicate each later push with these chances; returns the push summary."""
        body: dict[str, Any] = {"lose": lose, "duplicate": duplicate}
        if seed is not None:
            body["seed"] = seed
        return dict(self._call("POST", "push/faults", body))

    def clear_push_faults(self) -> None:
        self._call("DELETE", "push/faults")

    def wait_for_pushes(self, timeout: float = 10.0) -> dict[str, Any]:
        """Block until every queued push was attempted; returns the push summary."""
        return dict(self._call("POST", "push/wait", {"timeout": timeout}))

    def emails(self) -> list[dict[str, Any]]:
        """Recorded e-mail events (shipping confirmations, push failures)."""
        return list(self._call("GET", "emails")["emails"])

    # ------------------------------------------------------------------ inventory, settings

    def inventories(self) -> list[dict[str, Any]]:
        """Every inventory record, vendor-managed ones included, with ``final_sku``."""
        return list(self._call("GET", "inventories")["inventories"])

    def set_inventory(self, levels: dict[str, int] | list[dict[str, Any]]) -> int:
        """``{final_sku: level}`` or ``[{final_sku, inventory, track, allow_negative}]``."""
        return int(self._call("PUT", "inventories", levels)["updated"])

    def settings(self, **values: Any) -> dict[str, Any]:
        """Change store switches (shipment_validation, auto_ship, update_response,
        cancel_errors, line_extras, gift_rate, shipping_methods); returns them all."""
        if not values:
            return dict(self._call("GET", "settings"))
        return dict(self._call("PUT", "settings", values))

    def add_token(self, token: str, access: str = "read_write",
                  expires_at: str | None = None) -> None:
        self._call("POST", "tokens", {"token": token, "access": access,
                                      "expires_at": expires_at})

    def clock(self, *, advance_seconds: float | None = None,
              freeze: bool | str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if advance_seconds is not None:
            body["advance_seconds"] = advance_seconds
        if freeze is not None:
            body["freeze"] = freeze
        return dict(self._call("POST", "clock", body))
