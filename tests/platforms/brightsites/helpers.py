"""Building adapters against a sandbox store, with a meter that keeps every attempt."""

from __future__ import annotations

from typing import Any

from dropstream.platforms.base import AdapterContext, MeteredCall
from dropstream.platforms.brightsites.adapter import BrightSitesAdapter

# Fast retries so the tests do not sleep; the logic is the same as in production.
FAST = {"backoff_base": 0.01, "backoff_cap": 0.05}


class Meter(list):
    """A MeterSink that remembers each MeteredCall."""

    def __call__(self, call: MeteredCall) -> None:
        self.append(call)

    def for_endpoint(self, endpoint: str) -> list[MeteredCall]:
        return [call for call in self if call.endpoint == endpoint]


def settings_for(store: Any, **overrides: Any) -> dict[str, Any]:
    settings = {"subdomain": store.subdomain, "api_token": store.read_write_token,
                "api_url": store.api_url, "order_import_status": "paid",
                "notify_customer": True, "status_on_shipped": "shipped",
                "token_in_query": False}
    settings.update(overrides)
    return settings


def make_adapter(store: Any, *, inventory_cache: dict | None = None, settings: dict | None = None,
                 **options: Any) -> tuple[BrightSitesAdapter, Meter]:
    meter = Meter()
    # The adapter's memory between runs, as the hub lends it: ``inventory_cache`` is its SKU map.
    state = {"inventory_map": inventory_cache} if inventory_cache is not None else {}
    adapter = BrightSitesAdapter(settings or settings_for(store),
                                 AdapterContext(meter=meter, state=state), **{**FAST, **options})
    return adapter, meter
