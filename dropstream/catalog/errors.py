"""Errors of the catalog: what is wrong, by field, so a page shows each beside its field and
the API answers with the same ``errors``."""

from __future__ import annotations


class CatalogError(ValueError):
    """Invalid catalog input (the API's 422); ``errors`` maps a field path to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class CatalogConflict(CatalogError):
    """The input clashes with what is stored — a SKU or store SKU already taken (the API's 409);
    still by field, so the page can show it beside the field."""
