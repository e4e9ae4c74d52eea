"""ShipHero, a warehouse management system with a public GraphQL API (specs/shiphero-graphql.md):
the warehouse platform ``shiphero``.

Orders go out one ``order_create`` each, under ``partner_order_id`` = the hub's deterministic
reference for the order; shipments and cancellations come back by webhook (Shipment Update,
Order Canceled) and by a reconciliation poll; inventory by webhook (Inventory Update) and by a
full read of ``warehouse_products``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from dropstream.platforms.base import PlatformSpec, SettingField, clean_bool

DEFAULT_API_URL = "https://public-api.shiphero.com"
DEFAULT_SHOP_NAME = "dropstream-hub"


def clean_api_url(value: object) -> str:
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as {DEFAULT_API_URL}")
    for suffix in ("/graphql", "/auth/refresh"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text


def clean_refresh_token(value: object) -> str:
    text = str(value).strip()
    if len(text) < 8 or any(c.isspace() for c in text):
        raise ValueError("must be the developer user's refresh token, without spaces")
    return text


def clean_warehouse_ids(value: object) -> str:
    """A comma-separated list of warehouse ids (Relay ids or legacy numbers)."""
    items = [part.strip() for part in str(value).replace(";", ",").split(",")]
    items = [item for item in items if item]
    if any(not item.replace("=", "").replace("+", "").replace("/", "").isalnum()
           for item in items):
        raise ValueError("must be warehouse ids separated by commas")
    return ",".join(items)


def clean_batch(value: object) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number") from None
    if not 1 <= number <= 500:
        raise ValueError("must be between 1 and 500")
    return number


def clean_shop_name(value: object) -> str:
    text = str(value).strip()
    if not text or len(text) > 100:
        raise ValueError("must be 1 to 100 characters")
    return text


SPEC = PlatformSpec(
    name="shiphero",
    kind="warehouse",
    label="ShipHero",
    adapter_path="dropstream.platforms.shiphero.adapter:ShipHeroWarehouse",
    hooks_path="dropstream.platforms.shiphero.hooks:HOOKS",
    credentials_help=("In ShipHero: My Account → Developer Users → Add a 3rd Party Developer; "
                      "copy the Refresh Token it shows (once)."),
    help_page="shiphero-warehouse",
    hosts=("*.shiphero.com",),
    fields=(
        SettingField("api_url", "API endpoint", default=DEFAULT_API_URL, clean=clean_api_url,
                     address=True,
                     help=f"Leave as {DEFAULT_API_URL} (GraphQL at /graphql, tokens at "
                          "/auth/refresh)"),
        SettingField("refresh_token", "Refresh token", required=True, secret=True,
                     clean=clean_refresh_token, credential=True,
                     help="The developer user's refresh token; the hub turns it into access "
                          "tokens and never stores them"),
        SettingField("customer_account_id", "Customer account id (3PL only)", default="",
                     credential=True,
                     help="Set it when a 3PL's token acts for one of its customers"),
        SettingField("warehouse_ids", "Warehouse ids", default="", clean=clean_warehouse_ids,
                     help="Warehouses whose stock the hub reads, separated by commas; empty "
                          "for every warehouse of the account"),
        SettingField("shop_name", "Shop name", default=DEFAULT_SHOP_NAME, clean=clean_shop_name,
                     help="The store label ShipHero shows on the hub's orders; not the name of "
                          "a store connected to ShipHero natively"),
        SettingField("webhook_secret", "Webhook signature secret", default="", secret=True,
                     help="shared_signature_secret of the hub's webhooks (x-shiphero-hmac-sha256)"),
        SettingField("require_signature", "Refuse unsigned webhooks", default=True,
                     clean=clean_bool),
        SettingField("orders_per_batch", "Orders per batch", default=50, clean=clean_batch),
    ),
)
