"""DSFX, the reference's warehouse file exchange: the warehouse platform ``dropstream``.

Settings follow specs/dropstream-reference.md §14.2 and specs/dsfx.md.
"""

from __future__ import annotations

from dropstream.platforms.base import PlatformSpec, SettingField, clean_bool
from dropstream.platforms.transport.endpoint import (  # noqa: F401 — part of this package's API
    SCHEMES,
    clean_connection_string,
    local_folder,
    mask_connection_string,
)


def clean_ph_version(value: object) -> int:
    try:
        version = int(value)
    except (TypeError, ValueError):
        raise ValueError("must be 1, 2 or 3") from None
    if version not in (1, 2, 3):
        raise ValueError("must be 1, 2 or 3")
    return version


def clean_positive_int(value: object) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number") from None
    if not 1 <= number <= 10_000:
        raise ValueError("must be between 1 and 10000")
    return number


def clean_settle_seconds(value: object) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError("must be a number of seconds") from None
    if not 0 <= seconds <= 3600:
        raise ValueError("must be between 0 and 3600 seconds")
    return seconds


SPEC = PlatformSpec(
    name="dropstream",
    kind="warehouse",
    label="DropStream Warehouse File Exchange (DSFX)",
    local_folder=local_folder,
    adapter_path="dropstream.platforms.dsfx.adapter:DsfxAdapter",
    fields=(
        SettingField("connection_string", "Connection string", required=True, secret=True,
                     clean=clean_connection_string, mask=mask_connection_string,
                     help="sftp://user:password@host:port (URL-encode special characters), "
                          "ftps://…, ftp://… or file:///path"),
        SettingField("ph_version", "PH layout version", default=2, clean=clean_ph_version),
        SettingField("orders_per_file", "Orders per file", default=500, clean=clean_positive_int),
        SettingField("neutralise_formulas", "Neutralise spreadsheet formulas", default=True,
                     clean=clean_bool),
        SettingField("source_code", "Source code", default="BS"),
        SettingField("facility", "Facility ID (PH version 3)", default=""),
        SettingField("settle_seconds", "Seconds a warehouse file must rest before it is read",
                     default=5.0, clean=clean_settle_seconds,
                     help="files younger than this, or still growing, wait for the next run; 0 "
                          "for a warehouse that uploads under a temporary name and renames"),
    ),
)
