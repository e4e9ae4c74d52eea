"""Field types shared by the API schemas: bounded ids, safe text, dateStrings, UTC output.

Every bound here exists because a database would otherwise fail with a 500: PostgreSQL rejects
NUL characters and over-long varchar values, and both databases overflow past a signed 64-bit id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from dropstream.api.parsing import parse_datestring

MAX_ID = 2**63 - 1
NO_NUL = r"^[^\x00]*$"
# Some visible character and no NUL. Not "\S" for the visible one: \S matches NUL, so a
# company name or SKU of "\u0000" passed and PostgreSQL refused it with a 500.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An object id; the reference's examples send ids as strings too ("3775"), which is accepted."""


def _not_a_flag(value: Any) -> Any:
    # pydantic reads true as 1; a quantity sent as a flag is a client's mistake, not a 1.
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    return value


Quantity = Annotated[int, BeforeValidator(_not_a_flag), Field(ge=0, le=100_000)]
"""A count of units set by a user (a reserve, a threshold)."""


def Text(max_length: int, *, min_length: int = 0) -> Any:  # noqa: N802 — reads like a type
    """A string the database can hold: no NUL, at most ``max_length`` characters."""
    return Annotated[str, StringConstraints(max_length=max_length, min_length=min_length,
                                            pattern=NO_NUL)]


def _to_datetime(value: Any) -> Any:
    if value is None:
        return None
    return parse_datestring(value)


DateString = Annotated[
    datetime,
    BeforeValidator(_to_datetime),
    WithJsonSchema({"type": "string", "format": "date-time",
                    "description": "ISO 8601, full or partial (2022-12-01), or natural language "
                                   "(now, two hours ago, last monday); UTC when no offset"}),
]
"""An input dateString (reference §13.2)."""


def format_utc(value: datetime | date | None) -> str | None:
    """``2020-08-19T14:57:20.000Z``, the reference's response form; a date is its midnight."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


UtcTime = Annotated[datetime, PlainSerializer(format_utc, return_type=str)]


class In(Schema):
    """Base of request bodies: unknown fields are errors, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid")


class Created(Schema):
    id: int


class ErrorOut(Schema):
    detail: str
    errors: dict[str, str] | None = None


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """The documented error answers of an operation (for OpenAPI and schemathesis)."""
    return dict.fromkeys(codes, ErrorOut)


READ_ERRORS = (401, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 422)


def created_links(module: str, **operations: str) -> dict[str, Any]:
    """``openapi_extra`` for a create operation: OpenAPI links (3.1 §4.8.20) from its 201
    answer's ``id`` to the ``id`` path parameter of each named view function of ``module``, so
    a client — and schemathesis's stateful tests — can chain create → read → update → delete.

    Names are link names (``GetCustomer``) → view function names (``get_customer``); the
    operation ids are the ones django-ninja derives from module and function (checked by
    ``tests/api/test_stateful.py``, which fails on a link to no operation).
    """
    prefix = module.replace(".", "_")
    links = {name: {"operationId": f"{prefix}_{function}",
                    "parameters": {"path.id": "$response.body#/id"}}
             for name, function in operations.items()}
    return {"responses": {201: {"links": links}}}
