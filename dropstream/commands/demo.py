"""`dropstream demo [--warehouse NAME]`: the hub, the Bright Sites sandbox and a sandbox
warehouse in one process, with a demo merchant, store, warehouse and an enabled connection, so
orders visibly flow — imported, in the warehouse, shipped, tracking posted, stock updated —
within a minute. Each warehouse platform's demo side is one module in ``DEMO_WAREHOUSES``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dropstream.platforms.addresses import SETTING
from dropstream.processes import (
    ensure_port_free,
    prepare_data,
    serve_web,
    setup_django,
    start_background,
)

DEMO_SUBDOMAIN = "demo"
DEMO_EMAIL = "demo@localhost"
# The demo drives its channels much faster than the reference minimums, to show the flow.
DRIVE_EVERY_SECONDS = 4.0
NEW_ORDERS_EVERY_SECONDS = 12.0


@dataclass
class DemoWarehouse:
    """A running sandbox warehouse and the settings a hub warehouse needs to use it."""

    platform: str
    description: str
    adapter: dict
    lines: list[str]  # what to print about it
    stop: Callable[[], None]


# --warehouse NAME → "module:start"; start(home: Path, hub_url: str) -> DemoWarehouse.
DEMO_WAREHOUSES = {
    "dsfx": "dropstream.commands.demo_dsfx:start",
    "x12": "dropstream.commands.demo_x12:start",
    "extensiv": "dropstream.commands.demo_extensiv:start",
    "shiphero": "dropstream.commands.demo_shiphero:start",
}


def start_demo_warehouse(name: str, home: Path, hub_url: str) -> DemoWarehouse:
    module_name, _, function = DEMO_WAREHOUSES[name].partition(":")
    return getattr(importlib.import_module(module_name), function)(home, hub_url)


@dataclass
class DemoWorld:
    connection_id: int
    email: str
    password: str


def ensure_demo_world(*, api_url: str, token: str, warehouse: DemoWarehouse) -> DemoWorld:
    """Create (or refresh) the demo user and connection; idempotent across restarts."""
    from django.utils import timezone

    from dropstream.accounts.models import User
    from dropstream.connections import actions
    from dropstream.connections.models import Connection, Merchant

    password = secrets.token_urlsafe(9)
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is None:
        User.objects.create_superuser(DEMO_EMAIL, password)
    else:
        user.set_password(password)
        user.save(update_fields=["password"])
    merchant = Merchant.objects.filter(company_name="Demo Merchant").first() or \
        actions.create_merchant("Demo Merchant", city="Denver", country="US")
    name = f"Demo connection ({warehouse.platform})"
    connection = Connection.objects.filter(customer=merchant, name=name).first()
    adapter = {"subdomain": DEMO_SUBDOMAIN, "api_token": token, "api_url": api_url}
    if connection is None:
        store = actions.create_store(merchant, name="Demo Team Store", platform="brightsites",
                                     adapter=adapter, import_since="2000-01-01T00:00:00Z")
        hub_warehouse = actions.create_warehouse(
            merchant, description=warehouse.description, platform=warehouse.platform,
            adapter=warehouse.adapter)
        connection = actions.create_connection(name=name, customer=merchant,
                                               store=store, warehouse=hub_warehouse)
    else:
        # The sandboxes start afresh each time: point the store and the warehouse at their
        # new addresses and tokens.
        store = connection.store
        store.update_adapter(actions.clean_adapter("store", "brightsites", adapter))
        store.order_cursor = None
        store.save(update_fields=["adapter", "order_cursor"])
        hub_warehouse = connection.warehouse
        hub_warehouse.update_adapter(actions.clean_adapter("warehouse", warehouse.platform,
                                                           warehouse.adapter))
        hub_warehouse.save(update_fields=["adapter"])
    for other in Connection.objects.filter(customer=merchant).exclude(pk=connection.pk):
        actions.set_connection_enabled(other, None)  # one demo warehouse at a time
    actions.set_connection_enabled(connection, timezone.now())
    return DemoWorld(connection_id=connection.pk, email=DEMO_EMAIL, password=password)


def drive(connection_id: int, control, stop: threading.Event) -> None:
    """Place new store orders now and then, and ask for runs of every channel often."""
    import logging

    from dropstream.connections.models import Channel
    from dropstream.scheduling.actions import request_run

    logger = logging.getLogger("dropstream.demo")
    channels = list(Channel.objects.filter(connection_id=connection_id))
    since_orders = NEW_ORDERS_EVERY_SECONDS
    while not stop.wait(DRIVE_EVERY_SECONDS):
        try:
            since_orders += DRIVE_EVERY_SECONDS
            if since_orders >= NEW_ORDERS_EVERY_SECONDS:
                since_orders = 0
                control.create_orders(2, status="paid")
            for channel in channels:
                request_run(channel, trigger="manual")
        except Exception:  # noqa: BLE001 — the demo keeps going; the log says what failed
            logger.exception("demo driver step failed")


def allow_loopback_sandboxes() -> None:
    """The demo's simulators serve on loopback, which the hub refuses by default
    (platforms/addresses.py), and its warehouse folder is not in a merchant's own subfolder
    (connections/folders.py): allow both for this process only, unless the operator decided."""
    for setting in SETTING.values():
        os.environ.setdefault(setting, "127.0.0.1,::1")
    os.environ.setdefault("DROPSTREAM_LOCAL_WAREHOUSE_SHARED", "true")


def cmd_demo(args: argparse.Namespace) -> int:
    ensure_port_free(args.host, args.port)
    allow_loopback_sandboxes()
    setup_django()
    prepare_data()
    from django.conf import settings
    from django.urls import reverse

    from dropstream.connections.models import Connection
    from dropstream.sandbox.brightsites.control import SandboxControl
    from dropstream.sandbox.brightsites.server import BrightSitesSandbox

    sandbox = BrightSitesSandbox(port=args.sandbox_port).start()
    token = "demo-" + secrets.token_hex(12)
    sandbox.add_store(DEMO_SUBDOMAIN, read_write_token=token, read_only_token=token + "-ro")
    control = SandboxControl(sandbox.control_url(DEMO_SUBDOMAIN))
    hub_url = f"http://{args.host}:{args.port}"
    warehouse = start_demo_warehouse(args.warehouse, Path(settings.HOME), hub_url)
    world = ensure_demo_world(api_url=sandbox.api_url(DEMO_SUBDOMAIN), token=token,
                              warehouse=warehouse)
    connection = Connection.objects.select_related("store", "warehouse").get(
        pk=world.connection_id)
    store = connection.store
    control.set_push(hub_url + reverse("hook", args=[store.platform, store.hook_secret]))
    background = start_background(workers=2)
    stop_driver = threading.Event()
    driver = threading.Thread(target=drive, args=(world.connection_id, control, stop_driver),
                              name="demo-driver", daemon=True)
    driver.start()
    control.create_orders(3, status="paid")
    print(f"DropStream demo on {hub_url}/  — log in as {world.email} / {world.password}",
          flush=True)
    print(f"Bright Sites sandbox: {sandbox.api_url(DEMO_SUBDOMAIN)} "
          f"(control: {sandbox.control_url(DEMO_SUBDOMAIN)})", flush=True)
    for line in warehouse.lines:
        print(line, flush=True)
    print("Orders flow every few seconds; Ctrl-C stops everything.", flush=True)
    try:
        serve_web(args.host, args.port)
    finally:
        stop_driver.set()
        driver.join(timeout=10)
        warehouse.stop()
        background.stop()
        sandbox.stop()
        print("Demo stopped.", flush=True)
    return 0
