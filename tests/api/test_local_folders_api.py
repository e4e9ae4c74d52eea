"""Issue 18 #3 through the API: another merchant's folder is a 422, and so is a ping of a
folder outside the local-warehouse root."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def root(tmp_path: Path, settings) -> Path:
    settings.LOCAL_WAREHOUSE_ROOT = tmp_path / "warehouses"
    settings.LOCAL_WAREHOUSE_SHARED = False
    return tmp_path / "warehouses"


def folder(path: Path) -> Path:
    (path / "in").mkdir(parents=True, exist_ok=True)
    (path / "out").mkdir(exist_ok=True)
    return path


def test_the_api_answers_422(root, admin_api, merchant, other_merchant):
    theirs = folder(root / f"merchant-{other_merchant.pk}")
    response = admin_api.post("/api/warehouses", {
        "customer_id": merchant.pk, "platform": "dropstream", "description": "DC",
        "adapter": {"connection_string": f"file://{theirs}"}})
    assert response.status_code == 422
    ping = admin_api.post("/api/warehouses/ping", {
        "platform": "dropstream", "adapter": {"connection_string": "file:///etc"}})
    assert ping.status_code == 422
