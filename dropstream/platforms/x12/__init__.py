"""X12 EDI warehouse platform, release 004010 (specs/x12-warehouse.md): registry key ``x12``.

The hub is the depositor: it sends 940 Warehouse Shipping Orders and reads the partner's 997,
945 and 846 interchanges from a mailbox (SFTP, FTPS, FTP or a local folder, through the shared
``platforms.transport``), answering every 945/846 group with its own 997.

The codec is pure: no Django, no I/O; bytes in, frozen dataclasses out, and back.

- ``envelope``  ISA/GS/ST/SE/GE/IEA, delimiters, segment splitting/joining, text cleaning (§1, §7)
- ``syntax``    per-element M/C, length, type and code checks from the spec's tables (§7.2)
- ``acks``      997 findings (AK2–AK5, AK1/AK9) and the generic reading driver (§5.2)
- ``profile``   what differs per trading partner, with the spec's §9 defaults
- ``w940``      940 Warehouse Shipping Order: validator, writer, and a reader for tests (§2)
- ``w945``      945 Warehouse Shipping Advice reader (§3)
- ``w846``      846 Inventory Inquiry/Advice reader (§4)
- ``w997``      997 Functional Acknowledgment reader and writer (§5)
- ``inbound``   one reader for any file the warehouse drops (945, 846 and 997 groups)

The platform around it:

- ``partner``   the settings turned into a ``PartnerProfile``, envelopes and file names
- ``ledger``    control numbers and what was sent, kept in the adapter's memory (§1.4)
- ``mapping``   945 / 846 / 997 results turned into the hub's values
- ``adapter``   ``X12Adapter``: the WarehouseAdapter (docs/x12-warehouse.md)
"""

from __future__ import annotations

from dropstream.platforms.base import PlatformSpec, SettingField, clean_bool
from dropstream.platforms.settings import seconds_between, whole_number_between
from dropstream.platforms.transport.endpoint import (
    clean_connection_string,
    local_folder,
    mask_connection_string,
)

QUALIFIERS = ("ZZ", "01", "08", "12", "14", "20", "30")
PRODUCT_QUALIFIERS = ("SK", "VN", "UP", "EN", "BP")
PARTIES = ("ST", "DE", "BT", "WH")
TRACKING = ("MAN_CP", "MAN_GM", "MAN04_CN", "N9_CN", "W27")
ORDER_REFERENCES = ("W0602", "W0604", "W0606")


def clean_id(value: object) -> str:
    """An ISA06/ISA08 id: 1–15 characters, upper-case letters, digits, space, - and ."""
    text = str(value).strip()
    if not 1 <= len(text) <= 15:
        raise ValueError("must be 1 to 15 characters")
    if any(not (ch.isascii() and (ch.isalnum() or ch in " -.")) for ch in text):
        raise ValueError("may hold letters, digits, spaces, '-' and '.' only")
    return text


def clean_group_id(value: object) -> str:
    """GS02/GS03: empty (= the ISA id) or 2–15 characters."""
    text = str(value or "").strip()
    if text and len(text) < 2:
        raise ValueError("must be 2 to 15 characters, or empty to use the interchange id")
    return clean_id(text) if text else ""


def clean_folder(value: object) -> str:
    """A folder name at the login's root (no path)."""
    text = str(value).strip().strip("/")
    if not text or "/" in text or "\\" in text or text in (".", "..") or not text.isprintable():
        raise ValueError("must be one folder name at the login's root, such as in or out")
    return text


def clean_parties(value: object) -> str:
    """Comma-separated N1 loops to send; ST is always sent."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    codes = [str(code).strip().upper() for code in items if str(code).strip()]
    unknown = [code for code in codes if code not in PARTIES]
    if unknown:
        raise ValueError(f"unknown party {unknown[0]!r}; use {', '.join(PARTIES)}")
    return ",".join(dict.fromkeys(["ST", *codes]))


def clean_hours(value: object) -> float:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise ValueError("must be a number of hours") from None
    if not 0 < hours <= 24 * 14:
        raise ValueError("must be more than 0 and at most 336 hours")
    return hours


SPEC = PlatformSpec(
    name="x12",
    kind="warehouse",
    label="X12 EDI warehouse (940 / 945 / 846 / 997)",
    adapter_path="dropstream.platforms.x12.adapter:X12Adapter",
    help_page="x12-warehouse",
    local_folder=local_folder,
    fields=(
        SettingField("connection_string", "Mailbox connection string", required=True,
                     secret=True, clean=clean_connection_string, mask=mask_connection_string,
                     help="sftp://user:password@host:port (URL-encode special characters), "
                          "ftps://…, ftp://… or file:///path"),
        SettingField("sender_qualifier", "Our ISA05 id qualifier", default="ZZ",
                     choices=QUALIFIERS),
        SettingField("sender_id", "Our ISA06 interchange id", required=True, clean=clean_id,
                     help="the id the partner set up for us (ISA06; GS02 unless set below)"),
        SettingField("receiver_qualifier", "Partner's ISA07 id qualifier", default="ZZ",
                     choices=QUALIFIERS),
        SettingField("receiver_id", "Partner's ISA08 interchange id", required=True,
                     clean=clean_id),
        SettingField("group_sender", "Our GS02 application code", default="",
                     clean=clean_group_id, help="empty: the same as our ISA06 id"),
        SettingField("group_receiver", "Partner's GS03 application code", default="",
                     clean=clean_group_id, help="empty: the same as the partner's ISA08 id"),
        SettingField("usage_indicator", "Usage indicator (ISA15)", default="T", choices=("T", "P"),
                     help="T while testing with the partner, P in production"),
        SettingField("gs_version", "GS08 version", default="004010",
                     choices=("004010", "004010UCS", "004010VICS")),
        SettingField("first_control_number", "First control number", default=1,
                     clean=whole_number_between(1, 999_999_000),
                     help="ISA13/GS06 the hub starts counting from (set it past the numbers "
                          "an earlier system used with this partner)"),
        SettingField("to_partner_folder", "Folder the hub writes to", default="in",
                     clean=clean_folder),
        SettingField("from_partner_folder", "Folder the partner writes to", default="out",
                     clean=clean_folder),
        SettingField("orders_per_interchange", "Orders per 940 interchange", default=100,
                     clean=whole_number_between(1, 10_000)),
        SettingField("product_id_qualifier", "Product id qualifier (W0104, LIN02)",
                     default="SK", choices=PRODUCT_QUALIFIERS),
        SettingField("parties", "N1 parties in the 940", default="ST,DE", clean=clean_parties,
                     help="comma-separated: ST ship-to (always), DE depositor, BT bill-to, "
                          "WH warehouse"),
        SettingField("depositor_name", "Depositor name (N1*DE)", default=""),
        SettingField("depositor_id", "Depositor id (N1*DE N104)", default=""),
        SettingField("w66_required", "Ship method (W66) required", default=True,
                     clean=clean_bool),
        SettingField("tracking_location", "Where the 945 carries tracking", default="MAN_CP",
                     choices=TRACKING),
        SettingField("order_reference", "Where the 945 carries our order number",
                     default="W0602", choices=ORDER_REFERENCES),
        SettingField("available_qualifier", "846 quantity available qualifier (QTY01)",
                     default="33", choices=("33", "17")),
        SettingField("ack_overdue_hours", "997 overdue after (hours)", default=2.0,
                     clean=clean_hours,
                     help="a 940 without the partner's 997 after this long raises an alert"),
        SettingField("settle_seconds", "Seconds a partner file must rest before it is read",
                     default=0.0, clean=seconds_between(0, 3600),
                     help="0 for a partner that uploads under a temporary name and renames"),
    ),
)
