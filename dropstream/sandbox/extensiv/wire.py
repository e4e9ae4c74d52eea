"""Wire formats of the simulated Extensiv API: clock, dates, casing, ETags, exception bodies.

* Dates (§3): unqualified .NET timestamps ``2016-12-25T23:00:00`` — no offset, no fraction. Which
  frame they are in (UTC or facility-local) is unknown (§12 #3); ``Settings.date_frame`` chooses.
  Facilities carry a Windows ``timeZoneName``; ``zone_for`` maps the common ones to IANA zones.
* Casing (§3): input property names are case-insensitive (``normalize_keys``); HAL answers are
  camelCase, plain-JSON answers PascalCase (``to_pascal``).
* ETag (§5.7, §5.8): a quoted base64 of an 8-byte rowversion; ``If-Match`` compares weakly.
* Exceptions (§7): Newtonsoft ``$type`` plus PascalCase members; 500 is plain text; 401/404 are
  empty by default (§12 #2).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

# --------------------------------------------------------------------------------------------
# Errors (§7)
# --------------------------------------------------------------------------------------------

_NS = "WMS.V2.Generic.Models.Exceptions."
_ASSEMBLY = ", WMS.V2.Generic.Models"
# Only the QueryParameterException string is verbatim (§7); the others follow its pattern.
QUERY_PARAMETER_TYPE = f"{_NS}QueryParameterException{_ASSEMBLY}"
MODEL_VALIDATION_TYPE = f"{_NS}ModelValidationException{_ASSEMBLY}"
OPERATION_TYPE = f"{_NS}OperationException{_ASSEMBLY}"

JSON_TYPE = "application/json; charset=utf-8"
HAL_TYPE = "application/hal+json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
REL = "http://api.3plCentral.com/rels/"


class ApiError(Exception):
    """An HTTP error answer. ``body`` None means an empty body."""

    def __init__(self, status: int, body: Any = None, *, content_type: str = JSON_TYPE,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}


def query_parameter_error(parameter: str, code: str, hint: str) -> ApiError:
    """§7 ``QueryParameterException`` (400), e.g. an unknown rql property or a bad ``pgsiz``."""
    return ApiError(400, {"$type": QUERY_PARAMETER_TYPE, "Parameters": [parameter],
                          "ErrorCode": code, "Hint": hint})


def model_validation_error(name: str, value: Any, code: str, hint: str) -> ApiError:
    """§7 ``ModelValidationException`` (400); ``ModelType`` 0 = Api."""
    return ApiError(400, {"$type": MODEL_VALIDATION_TYPE, "ModelType": 0,
                          "Properties": [{"Name": name, "Value": value}],
                          "ErrorCode": code, "Hint": hint})


def operation_error(action_name: str, code: str, hint: str) -> ApiError:
    """§7 ``OperationException`` (403): the operation is not allowed in this state.
    ``ActionNameType`` 0 = Rel, so ``ActionName`` is the operator's rel URL."""
    return ApiError(403, {"$type": OPERATION_TYPE, "ActionNameType": 0,
                          "ActionName": action_name, "ErrorCode": code, "Hint": hint})


def server_error(text: str = "An error has occurred.") -> ApiError:
    """§7: a 500 carries a plain-text body."""
    return ApiError(500, text, content_type=TEXT_TYPE)


def encode_body(body: Any) -> bytes:
    """JSON bytes for dicts and lists, UTF-8 for text, nothing for None."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# --------------------------------------------------------------------------------------------
# Clock (§11 #20: frozen/advanceable)
# --------------------------------------------------------------------------------------------


class Clock:
    """UTC time in whole seconds: real time shifted by an offset, or frozen."""

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        if start is not None:
            self.set(start, frozen=frozen)
        elif frozen:
            self._frozen = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        with self._lock:
            moment = self._frozen or (datetime.now(UTC) + self._offset)
        return moment.replace(microsecond=0)

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, moment: datetime, *, frozen: bool | None = None) -> datetime:
        """Jump to ``moment`` (naive means UTC); keep the frozen state unless told."""
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        with self._lock:
            freeze = (self._frozen is not None) if frozen is None else frozen
            if freeze:
                self._frozen = aware.astimezone(UTC)
            else:
                self._frozen = None
                self._offset = aware - datetime.now(UTC)
        return self.now()

    def freeze(self) -> None:
        self.set(self.now(), frozen=True)

    def unfreeze(self) -> None:
        self.set(self.now(), frozen=False)

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def describe(self) -> dict[str, Any]:
        return {"now": self.now().strftime("%Y-%m-%dT%H:%M:%SZ"), "frozen": self.frozen}


# --------------------------------------------------------------------------------------------
# Dates (§3, §11 #10)
# --------------------------------------------------------------------------------------------

# Windows zone names (facility ``timeZoneName``) → IANA; unknown names fall back to UTC.
WINDOWS_ZONES = {
    "utc": "UTC", "gmt standard time": "Europe/London",
    "pacific standard time": "America/Los_Angeles", "mountain standard time": "America/Denver",
    "us mountain standard time": "America/Phoenix", "central standard time": "America/Chicago",
    "eastern standard time": "America/New_York", "alaskan standard time": "America/Anchorage",
    "hawaiian standard time": "Pacific/Honolulu", "atlantic standard time": "America/Halifax",
    "w. europe standard time": "Europe/Berlin", "romance standard time": "Europe/Paris",
    "aus eastern standard time": "Australia/Sydney",
}


def zone_for(windows_name: str) -> tzinfo:
    return ZoneInfo(WINDOWS_ZONES.get(windows_name.strip().lower(), "UTC"))


def to_frame(moment: datetime, zone: tzinfo | None) -> datetime:
    """The naive wall time of ``moment`` in ``zone`` (None: UTC)."""
    return moment.astimezone(zone or UTC).replace(tzinfo=None, microsecond=0)


def fmt_wms(moment: datetime | None, zone: tzinfo | None = None) -> str | None:
    """``2026-03-05T14:32:10`` in the chosen frame; None stays None."""
    if moment is None:
        return None
    return to_frame(moment, zone).strftime("%Y-%m-%dT%H:%M:%S")


_WMS_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)?$")


def parse_wms(text: str) -> datetime:
    """An unqualified date or date-time → naive datetime (fraction dropped). ValueError."""
    value = text.strip()
    if not _WMS_DATE.match(value):
        raise ValueError(f"not a date: {text!r}")
    return datetime.fromisoformat(value.replace(" ", "T")[:19])


# --------------------------------------------------------------------------------------------
# Casing (§3)
# --------------------------------------------------------------------------------------------

# Canonical camelCase names of inputs the simulator reads; others just get a lower first letter.
_KNOWN_KEYS = (
    "customerIdentifier", "facilityIdentifier", "itemIdentifier", "referenceNum", "poNum",
    "externalId", "earliestShipDate", "shipCancelDate", "notes", "shippingNotes", "billingCode",
    "invoiceNumber", "asnNumber", "description", "orderType", "routingInfo", "shipTo", "soldTo",
    "billTo", "orderItems", "qty", "qualifier", "lotNumber", "serialNumber", "expirationDate",
    "savedElements", "fulfillInvInfo", "parcelOption", "companyName", "name", "address1",
    "address2", "city", "state", "zip", "country", "phoneNumber", "emailAddress", "sku", "id",
    "carrier", "mode", "scacCode", "account", "trackingNumber", "reason", "value", "sameAs",
    "grant_type", "user_login", "user_login_id", "tpl",
)
_CANONICAL = {key.lower(): key for key in _KNOWN_KEYS}


def canonical_key(key: str) -> str:
    if key.startswith(("_", "$", "http")):
        return key.lower() if key.startswith("http") else key
    return _CANONICAL.get(key.lower(), key[:1].lower() + key[1:])


def normalize_keys(value: Any) -> Any:
    """Input property names in any casing → camelCase (rel-URL keys lower-cased)."""
    if isinstance(value, dict):
        return {canonical_key(str(k)): normalize_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_keys(item) for item in value]
    return value


def to_pascal(value: Any) -> Any:
    """camelCase keys → PascalCase (plain-JSON answers, §3)."""
    if isinstance(value, dict):
        return {(k[:1].upper() + k[1:] if not k.startswith(("_", "$", "http")) else k):
                to_pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_pascal(item) for item in value]
    return value


def wants_hal(accept: str | None) -> bool:
    """§3: HAL only when the client asks for ``application/hal+json``."""
    return bool(accept) and "application/hal+json" in accept.lower()


def is_json_content_type(content_type: str | None) -> bool:
    """§3: ``application/json`` and ``application/hal+json`` both work; none is tolerated."""
    if not content_type:
        return True
    media = content_type.split(";")[0].strip().lower()
    return media in ("application/json", "application/hal+json", "text/json")


# --------------------------------------------------------------------------------------------
# ETag (§5.8)
# --------------------------------------------------------------------------------------------


def make_etag(rowversion: int) -> str:
    """``"AAAAAAALdzM="``: the quoted base64 of an 8-byte big-endian rowversion."""
    return '"' + base64.b64encode(rowversion.to_bytes(8, "big")).decode() + '"'


def etag_matches(if_match: str, current: str) -> bool:
    """Weak comparison (``W/`` accepted, §5.8); ``*`` matches anything; lists allowed."""
    for candidate in if_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag[:2].upper() == "W/":
            tag = tag[2:]
        if tag == current:
            return True
    return False
