"""``dropstream sandbox shiphero``: run the ShipHero simulator from the command line.

Creates one brand account (or, with ``--3pl``, a 3PL with one customer account), a warehouse
``Primary`` and a few stocked SKUs, prints the endpoint URLs and the refresh token, and serves
until SIGTERM or Ctrl-C. ``--webhook-url`` registers Shipment Update, Order Canceled and
Inventory Update webhooks to that loopback URL and prints their shared secret.
"""

from __future__ import annotations

import argparse
import sys

from dropstream.sandbox.serving import serve_until_stopped
from dropstream.sandbox.shiphero.errors import ControlError
from dropstream.sandbox.shiphero.net import is_loopback_host, loopback_url_problem
from dropstream.sandbox.shiphero.sandbox import AccountInfo, ShipHeroSandbox, WarehouseInfo

__all__ = ["ShipHeroSandbox", "main"]

DEFAULT_PORT = 8300
DEMO_SKUS = (("TENT-4P-GRN", "Tent 4P green", "129.00", 25),
             ("STOVE-01", "Camp stove", "49.00", 40),
             ("LAMP-LED", "LED lamp", "19.00", 0))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dropstream sandbox shiphero",
        description="Run a local ShipHero public GraphQL API simulator (loopback only).")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--3pl", dest="three_pl", action="store_true",
                        help="create a 3PL account with one customer account")
    parser.add_argument("--webhook-url", default=None,
                        help="register Shipment Update, Order Canceled and Inventory Update "
                             "webhooks to this loopback URL")
    return parser


def populate(sandbox: ShipHeroSandbox, *, three_pl: bool) -> tuple[AccountInfo, AccountInfo,
                                                                     WarehouseInfo]:
    """(token account, account owning the SKUs, warehouse) for a ready-to-use sandbox."""
    if three_pl:
        token_account = sandbox.add_account("Sandbox 3PL", is_3pl=True)
        owner = sandbox.add_customer(token_account, "Sandbox Customer")
    else:
        token_account = owner = sandbox.add_account("Sandbox Brand")
    warehouse = sandbox.add_warehouse(token_account, "Primary")
    for sku, name, price, on_hand in DEMO_SKUS:
        sandbox.add_product(owner, sku, name=name, price=price, stock={warehouse: on_hand})
    return token_account, owner, warehouse


def main(argv: list[str]) -> int:
    """Run until Ctrl-C or SIGTERM. Returns the exit code."""
    args = _parser().parse_args(argv)
    if not is_loopback_host(args.host):
        print(f"error: --host must be a loopback address (127.0.0.1, ::1), not {args.host!r}",
              file=sys.stderr)
        return 2
    if args.webhook_url and loopback_url_problem(args.webhook_url):
        print(f"error: --webhook-url: {loopback_url_problem(args.webhook_url)}",
              file=sys.stderr)
        return 2
    try:
        sandbox = ShipHeroSandbox(host=args.host, port=args.port, seed=args.seed)
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    try:
        token_account, owner, warehouse = populate(sandbox, three_pl=args.three_pl)
        secrets_by_type = {}
        if args.webhook_url:
            for name in ("Shipment Update", "Order Canceled", "Inventory Update"):
                hook = sandbox.register_webhook(owner, name, args.webhook_url)
                secrets_by_type[name] = hook["shared_signature_secret"]
    except ControlError as exc:
        sandbox.stop()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sandbox.start()
    lines = [f"ShipHero sandbox on {sandbox.url}",
             f"  graphql:  {sandbox.graphql_url}",
             f"  refresh:  {sandbox.auth_url}",
             f"  control:  {sandbox.control_url}",
             f"  account:  {token_account.name} (legacy id {token_account.legacy_id}, "
             f"{'3PL' if token_account.is_3pl else 'brand'})",
             f"  refresh token: {token_account.refresh_token}",
             f"  warehouse: {warehouse.identifier} ({warehouse.id})"]
    if owner is not token_account:
        lines.append(f"  customer_account_id: {owner.legacy_id} ({owner.id})")
    for name, secret in secrets_by_type.items():
        lines.append(f"  webhook {name!r} → {args.webhook_url}  secret: {secret}")
    lines.append("Ctrl-C to stop")
    return serve_until_stopped(sandbox, "\n".join(lines))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
