"""The folders the hub uses and the file names it accepts inside them.

The hub only ever touches a fixed set of folders under the connection's root (``FOLDERS``), and
only by a folder plus a *file name*, never by a path taken from the server: every name a server
lists is checked by ``unsafe_name_reason`` and a name with ``/``, ``\\``, ``..`` as a whole name,
or a control character is skipped and reported in ``Listing.rejected`` (the adapter logs and
exposes them).

Uploads go under ``temp_name`` (``.<name>.part``), which no reader prefix matches, before the
rename that publishes them (specs/dsfx.md "Ours — safe transfer").
"""

from __future__ import annotations

import unicodedata

from dropstream.platforms.errors import PermanentError

IN = "/in"
OUT = "/out"
IN_PROCESSED = "/in/processed"
OUT_PROCESSED = "/out/processed"
OUT_ERROR = "/out/error"
IN_ERROR = "/in/error"  # ours: order files and reports the warehouse refused
IN_ERROR_PROCESSED = "/in/error/processed"  # ours: refusal reports the hub has applied
FOLDERS = frozenset({IN, OUT, IN_PROCESSED, OUT_PROCESSED, OUT_ERROR, IN_ERROR,
                     IN_ERROR_PROCESSED})
TEMP_SUFFIX = ".part"
PROBE_PREFIX = ".dropstream-probe-"
MAX_NAME_LENGTH = 255


class UnsafeName(PermanentError):
    """A file name that could leave the hub's folders; ``reason`` says why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"refusing file name {name!r}: {reason}")
        self.name = name
        self.reason = reason


def unsafe_name_reason(name: str) -> str | None:
    """Why ``name`` may not be used as a file name inside a hub folder, or None when it is safe."""
    if not name:
        return "the name is empty"
    if name in (".", ".."):
        return "the name is a directory reference"
    if len(name) > MAX_NAME_LENGTH:
        return f"the name is longer than {MAX_NAME_LENGTH} characters"
    if "/" in name or "\\" in name:
        return "the name contains a path separator"
    if any("\udc80" <= char <= "\udcff" for char in name):
        return "the name is not UTF-8"
    for char in name:
        # Cc: control characters (NUL, newline, ESC…); Zl/Zp: line separators; Cf: invisible
        # format characters such as right-to-left overrides that disguise a name in a listing.
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            return f"the name contains the control character U+{ord(char):04X}"
    return None


def check_name(name: str) -> str:
    """Return ``name`` when safe; raises UnsafeName otherwise."""
    reason = unsafe_name_reason(name)
    if reason is not None:
        raise UnsafeName(name, reason)
    return name


def check_folder(folder: str) -> str:
    """Return ``folder`` when it is one of ``FOLDERS``; raises ValueError otherwise."""
    if folder not in FOLDERS:
        raise ValueError(f"{folder!r} is not a DSFX folder; use one of {sorted(FOLDERS)}")
    return folder


def temp_name(name: str) -> str:
    """The upload name for ``name``: hidden, and matching no reader prefix."""
    return f".{name}{TEMP_SUFFIX}"
