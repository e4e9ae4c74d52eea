"""Server time of the main pages with N orders (default 10,000) in a scratch SQLite database.

    .venv/bin/python benchmarks/pages.py [--orders 10000] [--tries 5]

Prints one row per page: best and median milliseconds over ``tries`` requests (after a warm-up),
and the number of SQL queries. The budget is 300 ms per page (issue 8).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--tries", type=int, default=5)
    args = parser.parse_args()

    os.environ["DROPSTREAM_HOME"] = tempfile.mkdtemp(prefix="dropstream-bench-")
    os.environ.setdefault("DROPSTREAM_SECRET_KEY", "benchmark-key")
    os.environ.pop("DATABASE_URL", None)  # a scratch SQLite database, never a real one
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropstream.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection as db
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dropstream.accounts.models import User
    from dropstream.connections import actions
    from dropstream.orders.models import Order

    call_command("migrate", verbosity=0)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.web.test_page_speed import create_orders

    folder = Path(os.environ["DROPSTREAM_HOME"]) / "wh"
    (folder / "in").mkdir(parents=True)
    (folder / "out").mkdir()
    merchant = actions.create_merchant("Bench Co")
    store = actions.create_store(merchant, name="Bench Store", platform="brightsites",
                                 adapter={"subdomain": "bench", "api_token": "bench-token-0000"})
    warehouse = actions.create_warehouse(merchant, platform="dropstream",
                                         adapter={"connection_string": f"file://{folder}"})
    connection = actions.create_connection(name="Bench", customer=merchant, store=store,
                                           warehouse=warehouse)
    started = time.perf_counter()
    create_orders(connection, args.orders)
    print(f"created {args.orders} orders in {time.perf_counter() - started:.1f} s")
    user = User.objects.create_user("bench@example.com", "bench-password", role="administrator")
    client = Client()
    client.force_login(user)
    order = Order.objects.order_by("id").first()
    urls = ["/", "/connections/", f"/connections/{connection.pk}/",
            f"/connections/{connection.pk}/settings/", "/orders/", "/orders/?status=error",
            "/orders/?q=R104242", "/orders/?q=buyer7@example.com", "/orders/?page=150",
            f"/orders/{order.pk}/", "/shipments/", "/inventory/", "/alerts/"]
    print(f"{'page':45} {'best ms':>8} {'median ms':>10} {'queries':>8}  budget 300 ms")
    worst = 0.0
    for url in urls:
        client.get(url)
        timings = []
        for _ in range(args.tries):
            with CaptureQueriesContext(db) as queries:
                start = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        best, median = min(timings), statistics.median(timings)
        worst = max(worst, median)
        flag = "" if median <= 300 else "  OVER"
        print(f"{url:45} {best:8.1f} {median:10.1f} {len(queries):8d}{flag}")
    return 0 if worst <= 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
