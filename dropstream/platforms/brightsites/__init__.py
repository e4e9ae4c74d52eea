"""Bright Sites (BrightStores): the store platform ``brightsites``.

Settings follow the reference adapter (specs/dropstream-reference.md §14.1) plus ours.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from dropstream.platforms.base import PlatformSpec, SettingField, clean_bool

# specs/brightsites-api.md §6: exactly ten statuses.
ORDER_STATUSES = (
    "new", "billed", "paid", "in_progress", "split", "shipped", "completed", "back_ordered",
    "canceled", "moas_pending",
)
DEFAULT_API_URL = "https://{subdomain}.mybrightsites.com/api/v2.6.1"
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def clean_subdomain(value: object) -> str:
    text = str(value).strip().lower()
    # People paste the whole address; keep what the reference means by subdomain.
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.removesuffix(".mybrightsites.com")
    if not _SUBDOMAIN.match(text):
        raise ValueError("must be the part before .mybrightsites.com (letters, digits, hyphens)")
    return text


def clean_token(value: object) -> str:
    text = str(value).strip()
    if not text or any(ch.isspace() for ch in text):
        raise ValueError("must be the API token from Settings → API, without spaces")
    return text


def clean_api_url(value: object) -> str:
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL such as https://acme.mybrightsites.com/api/v2.6.1")
    return text


SPEC = PlatformSpec(
    name="brightsites",
    kind="store",
    label="BrightStores",
    adapter_path="dropstream.platforms.brightsites.adapter:BrightSitesAdapter",
    hooks_path="dropstream.platforms.brightsites.hooks:HOOKS",
    credentials_help="Find them in the store's admin under Settings → API (a read/write token).",
    help_page="getting-brightstores-credentials",
    hosts=("*.mybrightsites.com",),
    fields=(
        SettingField("subdomain", "BrightStores Subdomain", required=True, clean=clean_subdomain,
                     help="https://mysite.mybrightsites.com → mysite", credential=True,
                     address=True),
        SettingField("api_token", "BrightStores API Token", required=True, secret=True,
                     clean=clean_token, help="A read/write token from the store's admin",
                     credential=True),
        SettingField("order_import_status", "Order Import Status", default="paid",
                     choices=ORDER_STATUSES),
        SettingField("api_url", "API URL", clean=clean_api_url, credential=True, address=True,
                     help="Leave empty for https://{subdomain}.mybrightsites.com/api/v2.6.1"),
        SettingField("notify_customer", "E-mail the customer on shipment", default=True,
                     clean=clean_bool),
        SettingField("status_on_shipped", "Order status when fully shipped", default="shipped",
                     choices=("shipped", "completed", "none")),
        SettingField("token_in_query", "Send the token as ?token=", default=False,
                     clean=clean_bool),
        SettingField("push_verify", "Re-read pushed orders", default=False, clean=clean_bool,
                     help="Push Orders carry no signature: the push URL is the secret. With "
                          "this on, the hub reads each pushed order from the API again before "
                          "importing it (one more request per pushed order)."),
    ),
)


def api_base_url(settings: dict) -> str:
    """The store's API root: ``api_url`` or the default built from the subdomain."""
    return settings.get("api_url") or DEFAULT_API_URL.format(subdomain=settings["subdomain"])
