"""DSFX, the reference's warehouse file exchange: the warehouse platform ``dropstream``.

Settings follow specs/dropstream-reference.md §14.2 and specs/dsfx.md.
"""

from __future__ import annotations

from dropstream.platforms.base import PlatformSpec, SettingField, clean_bool
from dropstream.platforms.settings import seconds_between, whole_number_between
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
        SettingField("orders_per_file", "Orders per file", default=500, clean=whole_number_between(1, 10_000)),
        SettingField("neutralise_formulas", "Neutralise spreadsheet formulas", default=True,
                     clean=clean_bool),
        SettingField("source_code", "Source code", default="BS"),
        SettingField("facility", "Facility ID (PH version 3)", default=""),
        SettingField("settle_seconds", "Seconds a warehouse file must rest before it is read",
                     default=5.0, clean=seconds_between(0, 3600),
                     help="files younger than this, or still growing, wait for the next run; 0 "
                          "for a warehouse that uploads under a temporary name and renames"),
    ),
)
