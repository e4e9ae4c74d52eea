"""Extensiv 3PL Warehouse Manager (SecureWMS, formerly 3PL Central): a REST warehouse.

Built from ``specs/extensiv-3plwm.md``. Orders go out one ``POST /orders`` each under
``referenceNum`` = the hub's order number; after an ambiguous failure the order is searched by
``referenceNum`` before anything is sent again (§5.9), so a lost answer never makes a second
warehouse order in either duplicate mode. Shipments come back by polling orders modified since
a cursor kept in the adapter's memory; inventory from stock summaries summed over the mapped
facilities. OAuth2 client-credentials tokens live in memory only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from dropstream.platforms.base import PlatformSpec, SettingField

DEFAULT_BASE_URL = "https://secure-wms.com"
DUPLICATE_MODES = ("reject", "allow")


def clean_url(value: object) -> str:
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be a URL such as https://secure-wms.com")
    return text


def clean_id(value: object) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError("must be a whole number (the id shown in Extensiv's grid)")
    return int(text)


def clean_id_list(value: object) -> str:
    """``10, 11``: facility ids, stored as a normalised comma-separated list."""
    parts = [part.strip() for part in str(value).replace(";", ",").split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise ValueError("must be facility ids separated by commas, such as 10, 11")
    return ",".join(str(int(part)) for part in dict.fromkeys(parts))


def clean_tpl(value: object) -> str:
    text = str(value).strip()
    inner = text.strip("{}")
    if len(inner) != 36 or inner.count("-") != 4:
        raise ValueError("must be the 3PL GUID, such as {4A000ABE-1111-2222-3333-444455556666}")
    return "{" + inner.upper() + "}"


def clean_overlap(value: object) -> int:
    try:
        seconds = int(str(value).strip())
    except ValueError:
        raise ValueError("must be a whole number of seconds") from None
    if not 0 <= seconds <= 86_400:
        raise ValueError("must be between 0 and 86400 seconds")
    return seconds


SPEC = PlatformSpec(
    name="extensiv",
    kind="warehouse",
    label="Extensiv 3PL Warehouse Manager",
    adapter_path="dropstream.platforms.extensiv.adapter:ExtensivWarehouse",
    credentials_help=(
        "In Extensiv's Support Portal, Manage Credentials → External REST/Developer gives the "
        "client id and secret (roles: OrderView, OrderWrite, OrderEdit, InventoryDetailView, "
        "CustomerView, FacilityView). The user login is the 3PL Warehouse Manager ID of the "
        "customer user made for this integration; customer and facility ids are in the Manage "
        "Customers and Manage Warehouses grids."),
    help_page="extensiv-warehouse",
    # §1: every known tenant is on secure-wms.com; another base URL must be allowed by the
    # operator (DROPSTREAM_ALLOWED_WAREHOUSE_HOSTS, platforms/addresses.py).
    hosts=("secure-wms.com", "*.secure-wms.com"),
    fields=(
        SettingField("client_id", "Client ID", required=True, credential=True),
        SettingField("client_secret", "Client secret", required=True, secret=True,
                     credential=True),
        SettingField("user_login", "User login (3PL Warehouse Manager ID)", default="",
                     credential=True,
                     help="the integration user's login; or leave empty and give the TPL key "
                          "and user login id below"),
        SettingField("tpl", "TPL key (3PL GUID)", default="", clean=clean_tpl,
                     credential=True, help="only with a user login id, for older credentials"),
        SettingField("user_login_id", "User login id", default="", clean=clean_id,
                     credential=True),
        SettingField("wms_customer_id", "Customer id", required=True, clean=clean_id),
        SettingField("facility_id", "Facility id (orders go here)", required=True,
                     clean=clean_id),
        SettingField("inventory_facility_ids", "Facilities counted for inventory", default="",
                     clean=clean_id_list,
                     help="facility ids separated by commas; empty: the order facility only"),
        SettingField("base_url", "API base URL", default=DEFAULT_BASE_URL, clean=clean_url,
                     address=True, help="https://secure-wms.com unless Extensiv gave you another"),
        SettingField("duplicate_reference", "Duplicate reference numbers", default="reject",
                     choices=DUPLICATE_MODES,
                     help="reject: this tenant refuses a second order with the same reference "
                          "number; allow: it would create one, so the hub searches before "
                          "every batch"),
        SettingField("poll_overlap_seconds", "Shipment poll overlap (seconds)", default=600,
                     clean=clean_overlap),
    ),
)
