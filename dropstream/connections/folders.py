"""Which local folders a warehouse may use (issue 18 #3).

A ``file:///`` warehouse reads inventory and shipments from its folder and writes order files
into it, so a Staff user limited to merchant A must not point A's warehouse at B's folder (or
at any folder of the machine). Local folders live under ``DROPSTREAM_LOCAL_WAREHOUSE_ROOT``
(default: ``warehouses/`` in the data directory), each merchant in its own ``merchant-<id>/``
(``DROPSTREAM_LOCAL_WAREHOUSE_SHARED=true`` lets every merchant use the whole root: a merchant
running the hub alone). The path is resolved (``..`` and links) before the check, and a folder
that is itself a symbolic link is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings

from dropstream.platforms.settings import PlatformSpec

SETTING = "DROPSTREAM_LOCAL_WAREHOUSE_ROOT"


def merchant_folder(merchant_id: int) -> Path:
    """Where a merchant's local warehouse folders belong."""
    root = Path(django_settings.LOCAL_WAREHOUSE_ROOT)
    return root if django_settings.LOCAL_WAREHOUSE_SHARED else root / f"merchant-{merchant_id}"


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def local_folder_problem(spec: PlatformSpec, settings: Mapping[str, Any],
                         merchant_id: int | None) -> str | None:
    """Why the settings' local folder is not allowed (None when it is, or there is none).
    ``merchant_id`` None (a test of settings not yet saved) checks the root only."""
    if spec.local_folder is None:
        return None
    folder = spec.local_folder(settings)
    if folder is None:
        return None
    allowed = (merchant_folder(merchant_id) if merchant_id is not None
               else Path(django_settings.LOCAL_WAREHOUSE_ROOT))
    if os.path.islink(folder.rstrip("/") or "/"):
        return f"{folder} is a symbolic link; use the folder itself, under {allowed}"
    resolved = Path(os.path.realpath(folder))
    if not _inside(resolved, Path(os.path.realpath(allowed))):
        return (f"must be a folder under {allowed} (local warehouse folders live under "
                f"{SETTING}, one subfolder per merchant)")
    return None


def folder_errors(spec: PlatformSpec, settings: Mapping[str, Any], merchant_id: int | None,
                  prefix: str = "") -> dict[str, str]:
    """``local_folder_problem`` keyed by the setting that holds the folder (for ConnectionsError)."""
    problem = local_folder_problem(spec, settings, merchant_id)
    if problem is None:
        return {}
    folder = spec.local_folder(settings) if spec.local_folder else ""
    name = next((f.name for f in spec.fields if folder and folder in str(settings.get(f.name))),
                None)
    key = f"{prefix}adapter.{name}" if name else f"{prefix}adapter"
    return {key: f"{key} {problem}"}
