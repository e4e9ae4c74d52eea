"""``/api/usage``: Bright Sites requests per store — today, this month, projection, allowance and
guard (ours; the reference has no request budget, §15.1)."""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest
from ninja import Router

from dropstream.api.access import current_user, visible
from dropstream.api.schemas import UsageOut
from dropstream.api.types import errors
from dropstream.connections.models import Store
from dropstream.scheduling.budget import store_usage

router = Router(tags=["usage"])


def _store_usage(store: Store) -> dict[str, Any]:
    usage = store_usage(store)
    guard = dict(usage["guard"])
    # JSON has no infinity: "no polling would fit" is null.
    if not math.isfinite(guard["stretch_factor"]):
        guard["stretch_factor"] = None
    return {**usage, "store_id": store.pk, "customer_id": store.customer_id, "name": store.name,
            "projected_overage_cost": f"{usage['projected_overage_cost']:.2f}",
            "overage_price": f"{usage['overage_price']:.4f}", "guard": guard}


@router.get("", response={200: UsageOut, **errors(401, 422)})
def usage(request: HttpRequest):
    """Per visible store: requests today and this month, the month's projection, allowance,
    overage price and the budget guard."""
    stores = visible(Store, current_user(request))
    return {"stores": [_store_usage(s) for s in stores]}
