"""Every API failure as JSON ``{"detail": "...", "errors": {"field": "message"}}``.

Handlers are registered on the NinjaAPI in ``api.py``; routers raise ApiError (or a domain error
that a handler below translates) and never build error responses themselves.

    ApiError                status + detail (+ errors by field, + headers)
    ├── Unauthorized        401, with WWW-Authenticate
    ├── Forbidden           403: the object is visible but this role may not change it
    ├── NotFound            404: missing, or another merchant's (never 403 for those)
    └── Invalid             422: ``errors`` names each bad field

Domain errors map here too, once: ConnectionsError and CatalogError 422 (CatalogConflict and
DuplicateConnection 409), OrderActionError and ShipmentActionError 409 (the state forbids it),
SchedulingError 422 (a run refused on a disabled connection 409), RuleError 422, a PlatformError
from a credentials test 422.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from dropstream.api.parsing import BodyError
from dropstream.catalog.errors import CatalogConflict, CatalogError
from dropstream.connections.errors import ConnectionsError, DuplicateConnection
from dropstream.orders.errors import OrderActionError
from dropstream.platforms.errors import PlatformError
from dropstream.rules.errors import RuleError
from dropstream.scheduling.errors import RunRefused, SchedulingError
from dropstream.shipments.errors import ShipmentActionError

logger = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400

    def __init__(self, detail: str, *, errors: dict[str, str] | None = None,
                 status: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        if status is not None:
            self.status = status


class Unauthorized(ApiError):
    status = 401

    def __init__(self, detail: str, *, scheme: str = "Bearer") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": f'{scheme} realm="DropStream"'})


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Invalid(ApiError):
    status = 422

    def __init__(self, errors: dict[str, str], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(errors.values()), errors=errors)


def error_response(status: int, detail: str, errors: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_path(loc: tuple | list) -> str:
    """``("body", "payload", "store", "adapter")`` → ``store.adapter``; query/path keep the name."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "form", "header", "cookie"):
        source = parts.pop(0)
        # A body param is one schema named "payload"; its name means nothing to a client.
        if source in ("body", "form") and parts and parts[0] == "payload":
            parts.pop(0)
    return ".".join(parts) or "body"


def validation_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    """Pydantic's error list as {field path: message}, first message per field."""
    result: dict[str, str] = {}
    for error in errors:
        path = _field_path(error.get("loc", ()))
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            message = "is not a known field"
        result.setdefault(path, f"{path} {message}" if not message.startswith(path) else message)
    return result


def install(api: NinjaAPI) -> None:
    """Register the JSON handlers for every error type the API can meet."""

    @api.exception_handler(ApiError)
    def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(exc.status, exc.detail, exc.errors, exc.headers)

    @api.exception_handler(DuplicateConnection)
    def _duplicate(request: HttpRequest, exc: DuplicateConnection) -> HttpResponse:
        return error_response(409, str(exc), exc.errors)

    @api.exception_handler(ConnectionsError)
    def _connections(request: HttpRequest, exc: ConnectionsError) -> HttpResponse:
        return error_response(422, str(exc), exc.errors)

    # The domain's own errors, each to one answer, so no router catches them itself.
    @api.exception_handler(CatalogError)
    def _catalog(request: HttpRequest, exc: CatalogError) -> HttpResponse:
        return error_response(409 if isinstance(exc, CatalogConflict) else 422, str(exc),
                              exc.errors)

    @api.exception_handler(OrderActionError)
    def _order_action(request: HttpRequest, exc: OrderActionError) -> HttpResponse:
        return error_response(409, exc.message)

    @api.exception_handler(ShipmentActionError)
    def _shipment_action(request: HttpRequest, exc: ShipmentActionError) -> HttpResponse:
        return error_response(409, exc.message)

    @api.exception_handler(SchedulingError)
    def _scheduling(request: HttpRequest, exc: SchedulingError) -> HttpResponse:
        # A run refused because the connection is disabled: a state to change first (409),
        # not a bad request.
        state = isinstance(exc, RunRefused) and "connection" in exc.errors
        return error_response(409 if state else 422, str(exc), exc.errors)

    @api.exception_handler(RuleError)
    def _rules(request: HttpRequest, exc: RuleError) -> HttpResponse:
        # Invalid fields, a refused activation (the compiler's message), a bad move or pasted
        # order: each names its field.
        return error_response(422, str(exc), exc.errors)

    @api.exception_handler(PlatformError)
    def _platform(request: HttpRequest, exc: PlatformError) -> HttpResponse:
        # Only a credentials test (ping) lets one reach here; its message is written for an
        # operator and carries no secret.
        return error_response(422, exc.message)

    @api.exception_handler(ValidationError)
    def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = validation_errors(exc.errors)
        return error_response(422, "; ".join(errors.values()) or "invalid input", errors)

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # Ninja wraps any parser failure as "Cannot parse request body"; ours says where.
        cause = exc.__cause__
        if isinstance(cause, BodyError):
            return error_response(400, str(cause))
        if isinstance(cause, RequestDataTooBig):
            return _too_big(request, cause)
        return error_response(exc.status_code, str(exc))

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(413, "the request body is larger than 1 MB")

    @api.exception_handler(TooManyFieldsSent)
    def _too_many(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(400, "the form body has too many fields")

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(404, "not found")

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # A bug, not bad input: log it with the traceback, tell the client nothing internal.
        logger.exception("API error on %s %s", request.method, request.path)
        return error_response(500, "internal error; the server log has the details")
