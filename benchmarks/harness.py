"""Shared set-up for benchmarks: a private data directory, migrated database, the Bright Sites
sandbox and a DSFX folder, all on loopback. Set DATABASE_URL to benchmark on PostgreSQL."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def setup_django(label: str, *, immediate_queue: bool = True) -> Path:
    """Point the hub at a fresh data directory (and a fresh PostgreSQL schema when asked)."""
    home = Path(tempfile.mkdtemp(prefix=f"dropstream-bench-{label}-"))
    os.environ["DROPSTREAM_HOME"] = str(home)
    os.environ.setdefault("DROPSTREAM_SECRET_KEY", "benchmark-key")
    os.environ["DROPSTREAM_QUEUE_IMMEDIATE"] = "true" if immediate_queue else "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropstream.settings")
    # The simulators serve on loopback and keep folders in temporary directories, which the hub
    # refuses unless the operator allows them (docs/security.md).
    for setting in ("DROPSTREAM_ALLOWED_STORE_HOSTS", "DROPSTREAM_ALLOWED_WAREHOUSE_HOSTS"):
        os.environ.setdefault(setting, "127.0.0.1,::1")
    os.environ.setdefault("DROPSTREAM_LOCAL_WAREHOUSE_ROOT", tempfile.gettempdir())
    os.environ.setdefault("DROPSTREAM_LOCAL_WAREHOUSE_SHARED", "true")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        # A clean slate in the benchmark database.
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", interactive=False, verbosity=0)
    return home


@dataclass
class Bench:
    sandbox: object
    control: object
    subdomain: str
    token: str
    root: Path
    connection: object

    def run(self, channel: str, mode: str = "default"):
        from dropstream.sync.runner import run_channel

        result = run_channel(self.connection.pk, channel, mode=mode)
        if not result.ok:
            raise SystemExit(f"{channel} run failed: {result.error}")
        return result


def make_bench(*, products: int = 40, subdomain: str = "bench", orders_per_file: int = 500,
               import_since: str = "2000-01-01T00:00:00Z",
               separate_process: bool = False) -> Bench:
    """A merchant, store, DSFX folder warehouse and enabled connection on a fresh sandbox.

    ``separate_process`` runs the sandbox as its own process (throughput benchmarks), else in a
    thread of this one.
    """
    from django.utils import timezone

    from dropstream.connections import actions
    from dropstream.sandbox.brightsites.control import SandboxControl
    from dropstream.sandbox.brightsites.server import BrightSitesSandbox

    token = "bench-" + secrets.token_hex(12)
    if separate_process:
        sandbox = start_sandbox_process(subdomain=subdomain, token=token, products=products)
    else:
        sandbox = BrightSitesSandbox(port=0).start()
        sandbox.add_store(subdomain, read_write_token=token, read_only_token=token + "-ro",
                          products=products)
    root = Path(tempfile.mkdtemp(prefix="dropstream-bench-dsfx-"))
    (root / "in").mkdir()
    (root / "out").mkdir()
    merchant = actions.create_merchant("Bench Merchant")
    store = actions.create_store(merchant, name="Bench", platform="brightsites", adapter={
        "subdomain": subdomain, "api_token": token, "api_url": sandbox.api_url(subdomain),
        "import_since": import_since})
    warehouse = actions.create_warehouse(merchant, platform="dropstream", adapter={
        "connection_string": f"file://{root}", "settle_seconds": 0,
        "orders_per_file": orders_per_file})
    connection = actions.create_connection(name="Bench", customer=merchant, store=store,
                                           warehouse=warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    return Bench(sandbox=sandbox, control=SandboxControl(sandbox.control_url(subdomain)),
                 subdomain=subdomain, token=token, root=root, connection=connection)


def add_warehouse(bench: Bench, *, name: str = "Bench West") -> Bench:
    """Another DSFX folder warehouse of ``bench``'s store and merchant, with its own enabled
    connection (a store with several warehouses, issue 16), as a Bench on the same sandbox."""
    from django.utils import timezone

    from dropstream.connections import actions

    root = Path(tempfile.mkdtemp(prefix="dropstream-bench-dsfx-"))
    (root / "in").mkdir()
    (root / "out").mkdir()
    first = bench.connection
    warehouse = actions.create_warehouse(first.customer, platform="dropstream", adapter={
        "connection_string": f"file://{root}", "settle_seconds": 0})
    connection = actions.create_connection(name=name, customer=first.customer,
                                           store=first.store, warehouse=warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    return Bench(sandbox=bench.sandbox, control=bench.control, subdomain=bench.subdomain,
                 token=bench.token, root=root, connection=connection)


def make_connection(sandbox, *, subdomain: str, token: str, name: str,
                    import_since: str = "2000-01-01T00:00:00Z", orders_per_file: int = 500,
                    parent: Path | None = None, warehouse_url: str | None = None):
    """A merchant with one store on ``sandbox`` (``subdomain``), its own DSFX folder warehouse
    (under ``parent`` when given; ``warehouse_url`` instead, e.g. an SFTP server) and an
    enabled connection between them. Returns the Connection."""
    from django.utils import timezone

    from dropstream.connections import actions

    if warehouse_url is None:
        root = Path(tempfile.mkdtemp(prefix="dropstream-bench-dsfx-", dir=parent))
        (root / "in").mkdir()
        (root / "out").mkdir()
        warehouse_url = f"file://{root}"
    merchant = actions.create_merchant(f"{name} Merchant")
    store = actions.create_store(merchant, name=name, platform="brightsites", adapter={
        "subdomain": subdomain, "api_token": token, "api_url": sandbox.api_url(subdomain),
        "import_since": import_since})
    warehouse = actions.create_warehouse(merchant, platform="dropstream", adapter={
        "connection_string": warehouse_url, "settle_seconds": 0,
        "orders_per_file": orders_per_file})
    connection = actions.create_connection(name=name, customer=merchant, store=store,
                                           warehouse=warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    return connection


def machine_speed() -> float:
    """CPU seconds this process takes for a fixed pure-Python workload (best of three), to set
    beside a benchmark's CPU figures: the shared machines here run the same code up to ~50 %
    slower from one minute to the next (another VM on the host), and a figure divided by this
    one compares runs made at different moments."""
    import time

    def once() -> float:
        started = time.process_time()
        total = 0
        for number in range(2_000_000):
            total += number % 7
        return time.process_time() - started

    return min(once() for _ in range(3))


def print_table(title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


@dataclass
class SandboxProcess:
    """The Bright Sites sandbox running as its own process (its own core, like production)."""

    process: object
    url: str

    def api_url(self, subdomain: str) -> str:
        return f"{self.url}/{subdomain}/api/v2.6.1"

    def control_url(self, subdomain: str) -> str:
        return f"{self.url}/_sandbox/{subdomain}"

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except Exception:  # noqa: BLE001 — a stuck sandbox is killed, never left behind
                self.process.kill()
                self.process.wait(timeout=5)


def start_sandbox_process(*, subdomain: str, token: str, products: int = 40,
                          timeout: float = 30.0, more_stores: list[tuple[str, str]] = (),
                          orders: int = 0) -> SandboxProcess:
    """``dropstream sandbox brightsites`` on a free loopback port, in a child process.

    ``more_stores`` adds (subdomain, token) stores to the same process; ``orders`` paid orders
    are created in every store at start. Returns once it prints its URL. Raises SystemExit
    when it does not start in ``timeout`` s.
    """
    import re
    import subprocess
    import time

    command = [str(ROOT / ".venv" / "bin" / "dropstream"), "sandbox", "brightsites",
               "--host", "127.0.0.1", "--port", "0", "--products", str(products),
               "--orders", str(orders)]
    for name, secret in [(subdomain, token), *more_stores]:
        command += ["--store", f"{name}:{secret}:{secret}-ro"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        found = re.search(r"sandbox on (http://\S+)", line)
        if found:
            # Keep draining its output so the child never blocks on a full pipe.
            import threading

            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return SandboxProcess(process=process, url=found.group(1))
    process.kill()
    raise SystemExit("the sandbox did not start: " + "".join(seen)[-2000:])
