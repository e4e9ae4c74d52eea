"""One simulated Bright Sites store: its data and every API operation on it.

``Store`` holds the data (``state``); each route of specs/brightsites-api.md is a function taking
the store first and returning ``(status, body)``, or raising ``ApiError`` with the error answer:

* ``api_orders``: orders and line items (§7);
* ``api_shipments``: shipments and shipping methods (§8);
* ``api_inventory``: inventory records and products (§9);
* ``tokens``: the token check every API request passes first (§2.3);
* ``validation``: query parsing and body checks with the error shapes of §5;
* ``backoffice``: what shoppers and staff do outside the API, offered as ``Store`` methods;
* ``settings``: the simulator's switches (§13) and ``ControlError``.

All state is guarded by one lock per store; renderings are built under it, so a response is a
consistent snapshot.
"""

from __future__ import annotations

from dropstream.sandbox.brightsites.store.backoffice import ADMIN_ORDER_FIELDS
from dropstream.sandbox.brightsites.store.settings import ControlError, StoreSettings
from dropstream.sandbox.brightsites.store.state import Store, StoreIds
from dropstream.sandbox.brightsites.store.tokens import Token, TokenBook
from dropstream.sandbox.brightsites.store.validation import (
    ADDRESS_KEYS,
    CONTACT_KEYS,
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    Query,
)

__all__ = [
    "ADDRESS_KEYS", "ADMIN_ORDER_FIELDS", "CONTACT_KEYS", "DEFAULT_PER_PAGE", "MAX_PER_PAGE",
    "ControlError", "Query", "Store", "StoreIds", "StoreSettings", "Token", "TokenBook",
]
