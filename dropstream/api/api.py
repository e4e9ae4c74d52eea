"""The NinjaAPI: routers, bearer auth on everything but ``/auth/token``, JSON errors.

Docs at ``/api/docs``, the OpenAPI document at ``/api/openapi.json``.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Body, NinjaAPI

from dropstream.api import errors
from dropstream.api.auth import BearerAuth, issue_token, user_for_basic
from dropstream.api.docs import LocalSwagger
from dropstream.api.parsing import BodyParser
from dropstream.api.routers import (
    adapters,
    connections,
    customers,
    orders,
    products,
    rules,
    usage,
)
from dropstream.api.schemas import TokenIn, TokenOut
from dropstream.api.types import errors as error_responses

DESCRIPTION = """
The DropStream developer API (specs/dropstream-reference.md §13): existing clients work by
changing the base URL. Get a token with `POST /api/auth/token` (Basic auth with your e-mail and
password, body `{"grant_type": "client_credentials"}`), then send `Authorization: Bearer <token>`.

Bodies are JSON or form-encoded with bracket notation (`store[adapter][api_token]=…`). Ids may be
sent as integers or strings. Updates are `PATCH` with only the changed properties (204).
`enabled_at`: a dateString enables, `null` disables. Errors are JSON:
`{"detail": "...", "errors": {"field": "message"}}`.
"""

api = NinjaAPI(
    title="DropStream API",
    version="1.0",
    description=DESCRIPTION,
    auth=BearerAuth(),
    parser=BodyParser(),
    urls_namespace="api",
    docs=LocalSwagger(),
)
errors.install(api)


@api.post("/auth/token", auth=None, tags=["auth"],
          response={200: TokenOut, **error_responses(400, 401, 413, 422, 429)})
def token(request: HttpRequest, payload: TokenIn = Body(None)):  # noqa: B008
    """Exchange Basic credentials (e-mail:password) for a bearer token."""
    user = user_for_basic(request)
    access_token, lifetime = issue_token(user)
    return {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime}


api.add_router("/customers", customers.router)
api.add_router("/stores", adapters.stores)
api.add_router("/stores", rules.router)  # /stores/{store_id}/rules…
api.add_router("/warehouses", adapters.warehouses)
api.add_router("/connections", connections.router)
api.add_router("/orders", orders.orders)
api.add_router("/shipments", orders.shipments)
api.add_router("/products", products.router)
api.add_router("/usage", usage.router)
