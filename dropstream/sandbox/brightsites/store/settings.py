"""The simulator's switches for what the spec leaves open, and the error of a bad control call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dropstream.sandbox.brightsites.catalog import SHIPPING_METHODS


class ControlError(ValueError):
    """A bad control-API request; the message says what to fix."""


@dataclass
class StoreSettings:
    """The simulator's switches for behaviour the spec leaves open (§13)."""

    shipment_validation: str = "strict"  # §8.3: "strict" or "lenient"
    auto_ship: bool = False  # §8.6: advance to shipped when every physical line is covered
    update_response: str = "observed"  # §7.5: "observed" (older shape) or "documented"
    cancel_errors: list[str] = field(default_factory=list)  # §7.6 errors[] of cancel
    line_extras: bool = True  # §7.4: pdf_status, pdf_file_url, split_items on every line
    gift_rate: float = 0.03  # share of generated orders with a gift-certificate line
    shipping_methods: list[str] = field(default_factory=lambda: list(SHIPPING_METHODS))

    def update(self, values: Mapping[str, Any]) -> None:
        """Apply control-API values. Raises ControlError naming the bad key."""
        for key, value in values.items():
            if key == "shipment_validation" and value in ("strict", "lenient"):
                self.shipment_validation = value
            elif key == "update_response" and value in ("observed", "documented"):
                self.update_response = value
            elif key in ("auto_ship", "line_extras") and isinstance(value, bool):
                setattr(self, key, value)
            elif key == "gift_rate" and isinstance(value, int | float) and 0 <= value <= 1:
                self.gift_rate = float(value)
            elif key in ("cancel_errors", "shipping_methods") and isinstance(value, list) and all(
                    isinstance(item, str) for item in value):
                setattr(self, key, list(value))
            else:
                raise ControlError(f"setting {key!r} cannot be {value!r}")

    def describe(self) -> dict[str, Any]:
        """The settings as the control API shows them."""
        return {"shipment_validation": self.shipment_validation, "auto_ship": self.auto_ship,
                "update_response": self.update_response, "cancel_errors": self.cancel_errors,
                "line_extras": self.line_extras, "gift_rate": self.gift_rate,
                "shipping_methods": self.shipping_methods}
