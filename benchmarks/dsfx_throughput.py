"""DSFX throughput: 10,000 orders of 3 lines written and read back, local folder and SFTP.

Phases, per transport:

- ``submit``   DsfxAdapter.submit in files of ``orders_per_file`` (500) orders: format,
               existence checks, upload as ``.part``, rename.
- ``read back`` the order files downloaded again and every PH record counted (proves all
               orders arrived).
- ``shipments`` the warehouse's answer, one shipment row per line (30,000 rows in 20 files),
               through fetch_shipments + acknowledge (list, settle check, download, SHA-256,
               parse, group, move to processed/).

Timings come from a run without tracemalloc; peak memory (Python allocations) from a second
run with tracemalloc, because tracing slows allocation-heavy code down several times.

Run: ``.venv/bin/python benchmarks/dsfx_throughput.py [--orders N]``
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dropstream.platforms.base import AdapterContext, Address, WarehouseOrder, WarehouseOrderLine  # noqa: E402
from dropstream.platforms.dsfx import SPEC  # noqa: E402
from dropstream.platforms.dsfx.adapter import DsfxAdapter  # noqa: E402
from dropstream.platforms.dsfx.transport import IN  # noqa: E402

ORDERS_PER_FILE = 500


def make_orders(count: int) -> list[WarehouseOrder]:
    ship_to = Address(name="Joan Harry", street1="5050 Road N", city="Waterloo", state="ON",
                      postal_code="N1N 1N1", country="CA", phone="555-666-7777")
    ordered_at = datetime(2024, 5, 6, tzinfo=UTC)
    return [WarehouseOrder(order_number=f"BS{n:06d}", ordered_at=ordered_at, ship_to=ship_to,
                           bill_to=ship_to, ship_method="UPS-GND",
                           lines=tuple(WarehouseOrderLine(i, f"SKU-{n % 97}-{i}", i,
                                                          Decimal("12.50")) for i in (1, 2, 3)),
                           customer_email="joan@example.com")
            for n in range(count)]


def shipment_files(orders: list[WarehouseOrder]) -> list[tuple[str, bytes]]:
    files = []
    for start in range(0, len(orders), ORDERS_PER_FILE):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        for order in orders[start:start + ORDERS_PER_FILE]:
            for line in order.lines:
                writer.writerow([order.order_number, line.line_number, line.sku, line.quantity,
                                 "2024-05-07", "UPS", "Ground", f"1Z{order.order_number}", "",
                                 "1.5", "7.25"])
        files.append((f"shp_{start // ORDERS_PER_FILE:04d}_240507.csv",
                      buffer.getvalue().encode()))
    return files


def run_phases(connection_string: str, root: Path, orders: list[WarehouseOrder],
               host_key: str, checkpoint: Callable[[str], None]) -> dict[str, float]:
    """Seconds per phase; ``checkpoint(phase)`` runs as each phase ends (outside the timing)."""
    settings = SPEC.clean({"connection_string": connection_string,
                           "orders_per_file": ORDERS_PER_FILE})
    adapter = DsfxAdapter(settings, AdapterContext(state={"host_key": host_key}),
                          settle_seconds=0)
    created = datetime(2024, 5, 6, 12, tzinfo=UTC)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    names = []
    for index, start in enumerate(range(0, len(orders), ORDERS_PER_FILE)):
        batch = orders[start:start + ORDERS_PER_FILE]
        reference = adapter.submission_key(batch, created + timedelta(seconds=index))
        adapter.submit(batch, key=reference)
        names.append(reference)
    timings["submit"] = time.perf_counter() - started
    checkpoint("submit")

    started = time.perf_counter()
    headers = 0
    for name in names:
        data = adapter.transport.read(IN, name)
        headers += sum(1 for row in csv.reader(io.StringIO(data.decode())) if row[0] == "PH")
    timings["read back"] = time.perf_counter() - started
    checkpoint("read back")
    assert headers == len(orders), (headers, len(orders))

    for name, data in shipment_files(orders):
        (root / "out" / name).write_bytes(data)
    started = time.perf_counter()
    shipped = 0
    for document in adapter.fetch_shipments():
        shipped += len({s.order_number for s in document.shipments})
        assert not document.errors, document.errors[:3]
        adapter.acknowledge(document)
    timings["shipments"] = time.perf_counter() - started
    checkpoint("shipments")
    assert shipped == len(orders), (shipped, len(orders))
    adapter.close()
    return timings


def measure(kind: str, orders: list[WarehouseOrder], traced: bool) -> tuple[dict, dict]:
    """(seconds per phase, peak traced bytes per phase — empty unless ``traced``)."""
    with tempfile.TemporaryDirectory(prefix=f"dsfx-bench-{kind}-") as tmp:
        root = Path(tmp) / "root"
        (root / "in").mkdir(parents=True)
        (root / "out").mkdir()
        server = None
        if kind == "sftp":
            from tests.fixtures.sftp import start_sftp_server

            server = start_sftp_server(root)
            connection_string, host_key = server.connection_string, server.host_key_text
        else:
            connection_string, host_key = f"file://{root}", ""
        peaks: dict[str, float] = {}

        def checkpoint(phase: str) -> None:
            if traced:
                peaks[phase] = tracemalloc.get_traced_memory()[1]
                tracemalloc.reset_peak()

        try:
            if traced:
                tracemalloc.start()
            timings = run_phases(connection_string, root, orders, host_key, checkpoint)
        finally:
            if traced:
                tracemalloc.stop()
            if server is not None:
                server.stop()
        return timings, peaks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    args = parser.parse_args(argv)
    orders = make_orders(args.orders)
    print(f"DSFX throughput: {args.orders:,} orders x 3 lines, {ORDERS_PER_FILE} orders per "
          "file\n")
    print(f"{'transport':<10}{'phase':<12}{'seconds':>9}{'orders/s':>11}{'peak MiB':>10}")
    print("-" * 52)
    for kind in ("file", "sftp"):
        timings, _ = measure(kind, orders, traced=False)
        _, peaks = measure(kind, orders, traced=True)
        for phase, seconds in timings.items():
            print(f"{kind:<10}{phase:<12}{seconds:>9.2f}{args.orders / seconds:>11,.0f}"
                  f"{peaks[phase] / 2**20:>10.1f}")
    print("\npeak MiB: highest Python memory traced (tracemalloc) during the phase, not counting "
          "the order\nobjects built before; for sftp it includes the in-process asyncssh server.")


if __name__ == "__main__":
    main()
