"""Issue 18 #3 and #4: a local (``file:///``) warehouse stays inside its merchant's own
folder under DROPSTREAM_LOCAL_WAREHOUSE_ROOT, and links in a warehouse folder cannot redirect
the hub's reads or writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dropstream.connections import actions
from dropstream.connections.errors import ConnectionsError
from dropstream.platforms.dsfx import transport as tr
from dropstream.platforms.errors import PermanentError
from dropstream.sync.adapters import build


@pytest.fixture
def root(tmp_path: Path, settings) -> Path:
    settings.LOCAL_WAREHOUSE_ROOT = tmp_path / "warehouses"
    settings.LOCAL_WAREHOUSE_SHARED = False
    return tmp_path / "warehouses"


def folder(path: Path) -> Path:
    (path / "in").mkdir(parents=True, exist_ok=True)
    (path / "out").mkdir(exist_ok=True)
    return path


def create(merchant, path) -> object:
    return actions.create_warehouse(merchant, platform="dropstream", description="DC",
                                    adapter={"connection_string": f"file://{path}"})


def test_a_merchant_uses_its_own_subfolder(root, merchant):
    own = folder(root / f"merchant-{merchant.pk}" / "main")
    assert create(merchant, own).adapter_settings()["connection_string"] == f"file://{own}"


def test_another_merchants_folder_is_refused_naming_the_setting(root, merchant, other_merchant):
    theirs = folder(root / f"merchant-{other_merchant.pk}")
    with pytest.raises(ConnectionsError) as caught:
        create(merchant, theirs)
    message = caught.value.errors["adapter.connection_string"]
    assert "DROPSTREAM_LOCAL_WAREHOUSE_ROOT" in message
    assert f"merchant-{merchant.pk}" in message


@pytest.mark.parametrize("where", ["/etc", "{root}/merchant-{pk}/../merchant-{other}/x"])
def test_folders_outside_or_climbing_out_are_refused(root, merchant, other_merchant, where):
    path = where.format(root=root, pk=merchant.pk, other=other_merchant.pk)
    with pytest.raises(ConnectionsError):
        create(merchant, path)


def test_a_link_to_another_merchants_folder_is_refused(root, merchant, other_merchant):
    theirs = folder(root / f"merchant-{other_merchant.pk}")
    (root / f"merchant-{merchant.pk}").mkdir(parents=True)
    link = root / f"merchant-{merchant.pk}" / "shortcut"
    link.symlink_to(theirs)
    with pytest.raises(ConnectionsError, match="symbolic link"):
        create(merchant, link)


def test_moving_a_warehouse_into_another_merchants_folder_is_refused(root, merchant,
                                                                     other_merchant):
    warehouse = create(merchant, folder(root / f"merchant-{merchant.pk}"))
    with pytest.raises(ConnectionsError):
        actions.update_warehouse(warehouse, {"adapter": {
            "connection_string": f"file://{folder(root / f'merchant-{other_merchant.pk}')}"}})


def test_a_folder_stored_before_the_rule_stops_the_run(root, merchant, settings, tmp_path):
    settings.LOCAL_WAREHOUSE_SHARED = True
    settings.LOCAL_WAREHOUSE_ROOT = tmp_path
    warehouse = create(merchant, folder(tmp_path / "anywhere"))
    settings.LOCAL_WAREHOUSE_SHARED = False
    settings.LOCAL_WAREHOUSE_ROOT = root
    with pytest.raises(PermanentError, match="Settings tab"):
        build(warehouse)


# -- links inside a folder (#4) ----------------------------------------------------------------

def test_a_link_planted_at_the_upload_name_overwrites_nothing(tmp_path: Path):
    wh = folder(tmp_path / "wh")
    victim = tmp_path / "secret.key"
    victim.write_bytes(b"KEY")
    (wh / "in" / ".ord_1.csv.part").symlink_to(victim)
    transport = tr.LocalTransport(tr.parse_connection_string(f"file://{wh}"))
    transport.write("/in", "ord_1.csv", b"orders")
    assert victim.read_bytes() == b"KEY"
    assert (wh / "in" / "ord_1.csv").read_bytes() == b"orders"
    assert not (wh / "in" / "ord_1.csv").is_symlink()


def test_a_linked_in_folder_is_refused(tmp_path: Path):
    wh = tmp_path / "wh"
    wh.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (wh / "in").symlink_to(elsewhere)
    (wh / "out").mkdir()
    transport = tr.LocalTransport(tr.parse_connection_string(f"file://{wh}"), backoff=0)
    with pytest.raises(PermanentError, match="symbolic link"):
        transport.write("/in", "ord_2.csv", b"orders")
    with pytest.raises(PermanentError, match="symbolic link"):
        transport.list("/in")
    assert os.listdir(elsewhere) == []
