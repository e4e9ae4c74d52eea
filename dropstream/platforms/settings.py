"""The settings a platform declares (its ``SPEC``): fields, validation, masking, and the cleaners
platforms share."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from dropstream.crypto import mask_secret


class AdapterSettingsError(ValueError):
    """Adapter settings are invalid; ``errors`` maps ``adapter.<field>`` to a plain message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors.values()))


Cleaner = Callable[[Any], Any]


@dataclass(frozen=True)
class SettingField:
    """One key of a platform's ``adapter`` object.

    ``clean`` turns a raw value into the stored one or raises ValueError with the reason;
    ``mask`` renders a secret for display. ``credential``: part of the account's own details,
    which a merchant can enter through a one-time credentials link. ``address``: it decides
    where the secrets are sent (a host, a subdomain, a URL), so changing it without entering the
    secrets again is refused — a stored token never follows a new address.
    """

    name: str
    label: str
    required: bool = False
    default: Any = None
    secret: bool = False
    choices: tuple[str, ...] | None = None
    clean: Cleaner | None = None
    mask: Callable[[str], str] = mask_secret
    help: str = ""
    credential: bool = False
    address: bool = False


@dataclass(frozen=True)
class PlatformSpec:
    """A platform as the hub knows it: name, kind, settings, and where its adapter lives."""

    name: str
    kind: Literal["store", "warehouse"]
    label: str
    fields: tuple[SettingField, ...]
    adapter_path: str  # "package.module:Class", imported on first use
    # "package.module:HOOKS" when the platform delivers events to a hook URL (see hooks.py).
    hooks_path: str = ""
    # Where the account's credentials are found, for the person entering them (plain text),
    # and the user-guide page that explains it (a slug under /help/), if any.
    credentials_help: str = ""
    help_page: str = ""
    # The hosts the platform's accounts live on (``*.example.com`` wildcards): the only ones its
    # HTTP client contacts unless the operator allows more (platforms/addresses.py). Empty: any
    # public host.
    hosts: tuple[str, ...] = ()
    # The local folder the settings point at (a ``file:///`` connection string), or None: the
    # hub keeps such folders under DROPSTREAM_LOCAL_WAREHOUSE_ROOT (connections/folders.py).
    local_folder: Callable[[Mapping[str, Any]], str | None] | None = None

    @property
    def credential_fields(self) -> tuple[SettingField, ...]:
        return tuple(f for f in self.fields if f.credential)

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.secret)

    def field(self, name: str) -> SettingField:
        for setting in self.fields:
            if setting.name == name:
                return setting
        raise KeyError(name)

    def clean(self, raw: Mapping[str, Any] | None, *, partial: bool = False) -> dict[str, Any]:
        """Validate ``raw`` and return settings with defaults filled in.

        With ``partial`` only the keys given are checked (for PATCH). Unknown keys are errors, so
        a typo never silently drops a setting. Raises AdapterSettingsError naming every bad field.
        """
        if raw is not None and not isinstance(raw, Mapping):
            raise AdapterSettingsError({"adapter": "adapter must be an object"})
        raw = dict(raw or {})
        errors: dict[str, str] = {}
        cleaned: dict[str, Any] = {}
        known = {f.name for f in self.fields}
        for key in sorted(set(raw) - known):
            errors[f"adapter.{key}"] = (
                f"adapter.{key} is not a {self.label} setting; known settings: "
                + ", ".join(sorted(known))
            )
        for setting in self.fields:
            present = setting.name in raw and raw[setting.name] not in (None, "")
            if not present:
                if partial and setting.name not in raw:
                    continue
                if setting.required:
                    errors[f"adapter.{setting.name}"] = f"adapter.{setting.name} is required"
                elif not partial or setting.name in raw:
                    cleaned[setting.name] = setting.default
                continue
            value = raw[setting.name]
            try:
                if setting.choices is not None:
                    value = str(value)
                    if value not in setting.choices:
                        raise ValueError(f"must be one of {', '.join(setting.choices)}")
                if setting.clean is not None:
                    value = setting.clean(value)
            except (TypeError, ValueError) as exc:
                errors[f"adapter.{setting.name}"] = f"adapter.{setting.name} {exc}"
                continue
            cleaned[setting.name] = value
        if errors:
            raise AdapterSettingsError(errors)
        return cleaned

    def masked(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of plaintext ``settings`` with every secret field masked."""
        shown = dict(settings)
        for setting in self.fields:
            if setting.secret and shown.get(setting.name):
                shown[setting.name] = setting.mask(str(shown[setting.name]))
        return shown

    def adapter_class(self) -> type:
        return _load_path(self.adapter_path)

    def hooks(self) -> Any:
        """The platform's HookSpec, or None when it delivers nothing to a hook URL."""
        return _load_path(self.hooks_path) if self.hooks_path else None


def _load_path(path: str) -> Any:
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


class UnknownPlatform(KeyError):
    def __init__(self, kind: str, name: str, known: Sequence[str]) -> None:
        self.message = f"unknown {kind} platform {name!r}; known platforms: {', '.join(known)}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------
# Cleaners platforms share
# --------------------------------------------------------------------------------------------


def whole_number_between(low: int, high: int) -> Cleaner:
    """A cleaner for a whole number from ``low`` to ``high`` (a batch size, a counter's start)."""

    def clean(value: object) -> int:
        try:
            number = int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise ValueError("must be a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return clean


def seconds_between(low: float, high: float) -> Cleaner:
    """A cleaner for a number of seconds from ``low`` to ``high``."""

    def clean(value: object) -> float:
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError("must be a number of seconds") from None
        if not low <= seconds <= high:
            raise ValueError(f"must be between {low:g} and {high:g} seconds")
        return seconds

    return clean


def clean_bool(value: object) -> bool:
    """true/false, 1/0, yes/no, on/off (any case); raises ValueError otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError("must be true or false")


def clean_datetime(value: object) -> str:
    """An ISO date-time, returned in UTC with "Z"; a time without a zone is taken as UTC."""
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO date-time such as 2026-01-31T00:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")
