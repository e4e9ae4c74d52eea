"""Chaos soak: the scaled-out hub under kills and failing servers; nothing lost, nothing twice.

    .venv/bin/python benchmarks/soak.py [--stores 20] [--orders 10000] [--duration 600]
                                        [--seed 1] [--quick] [--keep]

Topology, all on loopback and all its own (other tests share the machine's servers):

* a PostgreSQL instance initialised into a temporary directory (run as the ``postgres`` user
  when this runs as root) and a ``redis-server`` process, each on a free port;
* ``dropstream web``, two ``dropstream worker`` and one ``dropstream scheduler`` (started with
  ``tests/fixtures/processes.HubProcesses``), every channel scheduled every minute;
* ``dropstream sandbox brightsites`` with one store per connection: Push Orders to the web
  process for the even-numbered stores, polling for the others;
* per connection a merchant, an SFTP server (``tests/fixtures/sftp``) worked by the sandbox
  warehouse robot, and a TCP proxy between the hub and that server.

For ``--duration`` seconds orders are placed at a steady rate while chaos events happen at
seeded random times: ``kill -9`` of a worker, the scheduler or the web process (each restarted),
one store answering 20 % 500s and 429s, the SFTP proxies cutting connections, a PostgreSQL
restart, and pushes lost or sent twice. Then it settles (bounded): every sales channel gets a
reconciliation poll (a lost push is found only by polling, as in production, where it is
daily), shipment runs are asked for until the robots' packages are in the store, the sweep of
push deliveries whose import task died with a worker runs (as the scheduler runs it five
minutes on), the scheduler is stopped, queued runs drain, and a full inventory sync runs.

Checked and printed (exit 1 when lost, duplicated or stuck is not 0):

* lost / duplicated orders: every order placed in the store (all at the import status, paid)
  appears in exactly one PH row across the warehouse's ``/in`` and ``/in/processed`` files;
* lost / duplicated shipments: every package in the robot's shipment files is one Bright Sites
  shipment (by tracking number), and the store holds no shipment twice;
* stock: each store level = ``inventory.compute.store_quantities`` of the robot's stock;
* stuck: orders New/Queued/Delayed, shipments New/Open, intents Pending, push deliveries
  Received, runs Queued/Running;
* takeovers: each run a killed worker held is finished by another worker (the run table's
  ``worker``);
* requests ÷ bound (DESIGN.md cost model): requests the sandbox metered ÷ (one list request
  per succeeded polling run + orders imported by polling + shipments + orders marked shipped
  + SKUs written by inventory runs).
"""

from __future__ import annotations

import argparse
import csv
import glob
import io
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT), str(ROOT / "benchmarks")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

PRODUCTS = 8
CHAOS_KINDS = ("kill_worker", "store_faults", "kill_scheduler", "sftp_cuts", "kill_web",
               "push_faults", "postgres_restart")


@dataclass(frozen=True)
class Plan:
    stores: int
    orders: int
    duration: float
    settle: float
    seed: int
    events: int


def plan_from(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(stores=args.stores or 6, orders=args.orders or 300,
                    duration=args.duration or 75, settle=args.settle or 150, seed=args.seed,
                    events=len(CHAOS_KINDS))
    return Plan(stores=args.stores or 20, orders=args.orders or 10_000,
                duration=args.duration or 600, settle=args.settle or 600, seed=args.seed,
                events=max(len(CHAOS_KINDS), int((args.duration or 600) / 30)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> None:
    """Poll ``check`` until true; raises SystemExit naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001, S110 — not up yet
            pass
        time.sleep(poll)
    raise SystemExit(f"soak: {what} did not happen within {timeout:g} s")


# ---------------------------------------------------------------------------------------------
# Its own PostgreSQL and Redis
# ---------------------------------------------------------------------------------------------


class OwnPostgres:
    """A PostgreSQL cluster in ``base`` on a free loopback port; its socket stays in ``base``.

    PostgreSQL refuses to run as root, so under root it runs as the ``postgres`` user
    (``setpriv`` execs in place, so the Popen's pid is the postmaster's and signals reach it).
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.port = free_port()
        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))[-1]).parent
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/soak"

    def _as_owner(self, command: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return command
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--",
                *command]

    def init(self) -> None:
        self.base.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        subprocess.run(self._as_owner([str(self.bin / "initdb"), "-D", str(self.data), "-A",
                                       "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]),
                       check=True, capture_output=True)
        self.start()
        import psycopg

        with psycopg.connect(self.url.replace("/soak", "/postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE soak")

    def start(self) -> None:
        log = open(self.base / "postgres.log", "a")  # noqa: SIM115 — kept by the child
        self.process = subprocess.Popen(self._as_owner([
            str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
            "-k", str(self.base), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=300"]), stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.ready, 30, "PostgreSQL start")

    def ready(self) -> bool:
        import psycopg

        with psycopg.connect(self.url.replace("/soak", "/postgres"), connect_timeout=2):
            return True

    def stop(self) -> None:
        """Fast shutdown (SIGINT): sessions are cut, as in a real restart."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1


class OwnRedis:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        log = open(self.base / "redis.log", "a")  # noqa: SIM115 — kept by the child
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.base)], stdout=log,
            stderr=subprocess.STDOUT)

        def answers() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        wait_for(answers, 15, "redis-server start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# The SFTP proxy that cuts connections
# ---------------------------------------------------------------------------------------------


class CuttingProxy:
    """Forwards a loopback port to an SFTP server. While ``cutting`` is set, a connection is
    closed (both ways, abruptly) once the hub has sent it a random number of bytes: handshakes,
    listings and uploads are cut at random points."""

    def __init__(self, target_port: int, rng: random.Random) -> None:
        self.target_port = target_port
        self.rng = rng
        self.cutting = threading.Event()
        self.cuts = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="sftp-proxy").start()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                # Most connections are cut somewhere in their first 20 kB from the hub (an
                # SSH handshake is about 2 kB, so most cuts hit listings and uploads).
                budget = self.rng.randint(500, 20_000) if self.rng.random() < 0.6 else None
            sockets = (client, upstream)
            threading.Thread(target=self._pump, args=(client, upstream, budget, sockets),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, None, sockets),
                             daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, budget: int | None,
              sockets: tuple[socket.socket, socket.socket]) -> None:
        sent = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if budget is not None and self.cutting.is_set() and sent + len(data) > budget:
                    target.sendall(data[: max(budget - sent, 0)])
                    with self._lock:
                        self.cuts += 1
                    break
                target.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for sock in sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


# ---------------------------------------------------------------------------------------------
# The world: sandbox, warehouses, hub processes
# ---------------------------------------------------------------------------------------------


@dataclass
class Site:
    """One connection's outside world: its store, SFTP server, proxy and robot."""

    index: int
    subdomain: str
    token: str
    push: bool
    sftp: object
    proxy: CuttingProxy
    robot: object
    control: object
    connection_id: int = 0
    order_ids: list[int] = field(default_factory=list)
    stop_robot: Callable[[], None] | None = None


@dataclass
class Role:
    name: str
    args: tuple[str, ...]
    home: Path
    ready_text: str
    process: subprocess.Popen | None = None
    kills: int = 0


class Hub:
    """The hub's processes, started through the test fixture's HubProcesses. A role keeps its
    data directory across restarts (its meter journal is recovered on the next start)."""

    def __init__(self, processes, base: Path, web_port: int) -> None:
        self.processes = processes
        self.web_port = web_port
        self.roles = {
            "web": Role("web", ("web", "--port", str(web_port)), base / "web",
                        ""),
            "worker-a": Role("worker-a", ("worker", "-w", "4"), base / "worker-a",
                             "DropStream worker:"),
            "worker-b": Role("worker-b", ("worker", "-w", "4"), base / "worker-b",
                             "DropStream worker:"),
            "scheduler": Role("scheduler", ("scheduler",), base / "scheduler",
                              "DropStream scheduler running"),
        }

    def start(self, name: str) -> None:
        role = self.roles[name]
        role.process = self.processes.start(*role.args, DROPSTREAM_HOME=str(role.home),
                                            PYTHONUNBUFFERED="1")
        if name == "web":
            wait_for(lambda: _http_answers(self.web_port), 60, "the web process start")
        else:
            wait_for(lambda: role.ready_text in self.processes.output(role.process), 60,
                     f"the {name} start")

    def kill(self, name: str) -> int:
        """``kill -9``; returns the pid that died."""
        role = self.roles[name]
        assert role.process is not None
        pid = role.process.pid
        role.process.kill()
        role.process.wait(timeout=10)
        role.kills += 1
        return pid

    def stop(self, name: str) -> None:
        role = self.roles[name]
        if role.process is not None and role.process.poll() is None:
            role.process.send_signal(signal.SIGINT)
            try:
                role.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                role.process.kill()
                role.process.wait(timeout=10)

    def dead(self) -> list[str]:
        return [name for name, role in self.roles.items()
                if role.process is not None and role.process.poll() is not None]


def _http_answers(port: int) -> bool:
    import httpx

    return httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code < 500


def build_sites(plan: Plan, base: Path, rng: random.Random) -> tuple[object, list[Site]]:
    """The sandbox process with one store per connection, and per store an SFTP server, its
    cutting proxy and a robot (not started yet)."""
    from harness import start_sandbox_process

    from dropstream.sandbox.brightsites.control import SandboxControl
    from dropstream.sandbox.warehouse.robot import WarehouseRobot
    from tests.fixtures.sftp import start_sftp_server

    stores = [(f"soak{i:02d}", "soak-" + secrets.token_hex(12)) for i in range(plan.stores)]
    sandbox = start_sandbox_process(subdomain=stores[0][0], token=stores[0][1],
                                    products=PRODUCTS, more_stores=stores[1:])
    sites = []
    for index, (subdomain, token) in enumerate(stores):
        server = start_sftp_server(base / f"sftp{index:02d}")
        proxy = CuttingProxy(server.port, random.Random(rng.random()))
        control = SandboxControl(sandbox.control_url(subdomain))
        # Enough of every SKU that each order ships whole: a short shipment would leave the
        # order partially shipped for good, which the soak could not tell from a lost package.
        stock = {r["final_sku"]: 1_000_000 for r in control.inventories()}
        robot = WarehouseRobot(server.connection_string, ship_delay_s=2.0, split_rate=0.1,
                               short_rate=0.0, seed=plan.seed * 100 + index, stock=stock,
                               default_stock=1_000_000,
                               inventory_every_s=30.0,
                               state_path=str(base / f"robot{index:02d}.json"))
        sites.append(Site(index=index, subdomain=subdomain, token=token, push=index % 2 == 0,
                          sftp=server, proxy=proxy, robot=robot, control=control))
    return sandbox, sites


def hub_warehouse_url(site: Site) -> str:
    """The SFTP server's address as the hub sees it: through the proxy."""
    server = site.sftp
    return (f"sftp://{quote(server.username, safe='')}:{quote(server.password, safe='')}"
            f"@127.0.0.1:{site.proxy.port}")


def connect_sites(sandbox, sites: list[Site], web_port: int) -> None:
    """Merchant, store, SFTP warehouse and enabled connection per site; every channel every
    minute; Push Orders pointed at the web process for the push sites."""
    from harness import make_connection

    from dropstream.connections.models import Channel
    from dropstream.scheduling.actions import set_channel_rules

    every_minute = [{"type": "minutely", "every": 1}]
    for site in sites:
        connection = make_connection(sandbox, subdomain=site.subdomain, token=site.token,
                                     name=site.subdomain, warehouse_url=hub_warehouse_url(site))
        site.connection_id = connection.pk
        for channel in Channel.objects.filter(connection=connection):
            set_channel_rules(channel, every_minute)
        if site.push:
            secret = connection.store.push_secret
            site.control.set_push(f"http://127.0.0.1:{web_port}/hooks/brightsites/{secret}")


# ---------------------------------------------------------------------------------------------
# Chaos
# ---------------------------------------------------------------------------------------------


@dataclass
class Chaos:
    """Seeded chaos events and what they did."""

    hub: Hub
    postgres: OwnPostgres
    sites: list[Site]
    rng: random.Random
    log: list[str] = field(default_factory=list)
    # run id → pid of the killed worker that held it
    held_by_killed: dict[int, int] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    _open: list[tuple[float, Callable[[], None]]] = field(default_factory=list)
    _until: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)  # the load phase's start
    _final: bool = False  # the load phase ended: every window closes now

    def schedule(self, plan: Plan) -> list[tuple[float, str]]:
        """Event times in the first 85 % of the load phase; every kind at least once."""
        kinds = list(CHAOS_KINDS) + [self.rng.choice(CHAOS_KINDS)
                                     for _ in range(plan.events - len(CHAOS_KINDS))]
        self.rng.shuffle(kinds)
        times = sorted(self.rng.uniform(0.08, 0.85) * plan.duration for _ in kinds)
        return list(zip(times, kinds, strict=True))

    def fire(self, kind: str, now: float) -> None:
        getattr(self, f"_{kind}")(now)
        self.counts[kind] += 1

    def close_due(self, now: float, *, all_of_them: bool = False) -> None:
        """End the windows (faults, cuts) whose time is up."""
        self._final = self._final or all_of_them
        due = [close for until, close in self._open if all_of_them or now >= until]
        self._open = [(until, close) for until, close in self._open
                      if not (all_of_them or now >= until)]
        for close in due:  # a close may open a window again (see _sftp_cuts), but not at the end
            close()

    def _window(self, key: str, now: float, seconds: float, close: Callable[[], None]) -> None:
        """Open a window that ``close`` ends; of overlapping windows with the same ``key`` only
        the one ending last closes it."""
        until = now + seconds
        self._until[key] = max(self._until.get(key, 0.0), until)

        def close_if_last() -> None:
            if self._until.get(key, 0.0) <= until:
                close()

        self._open.append((until, close_if_last))

    def _say(self, now: float, text: str) -> None:
        line = f"[{now:6.1f}s] {text}"
        self.log.append(line)
        print(line, flush=True)

    def _kill_and_restart(self, now: float, name: str) -> None:
        pid = self.hub.kill(name)
        held = self._runs_held_by(pid)
        self._say(now, f"kill -9 {name} (pid {pid}); runs it held: {sorted(held) or 'none'}")
        time.sleep(self.rng.uniform(0.5, 2.0))
        self.hub.start(name)

    def _runs_held_by(self, pid: int) -> list[int]:
        from dropstream.scheduling.models import Run, RunState

        marker = f":{pid}:"
        held = list(Run.objects.filter(state=RunState.RUNNING, worker__contains=marker)
                    .values_list("id", flat=True))
        for run_id in held:
            self.held_by_killed[run_id] = pid
        return held

    def _kill_worker(self, now: float) -> None:
        """Kill a worker while it holds a run (waiting up to 45 s for one), so the takeover
        path really runs."""
        from dropstream.scheduling.models import Run, RunState

        name = self.rng.choice(["worker-a", "worker-b"])
        process = self.hub.roles[name].process
        assert process is not None
        marker = f":{process.pid}:"
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not Run.objects.filter(
                state=RunState.RUNNING, worker__contains=marker).exists():
            time.sleep(0.2)
        self._kill_and_restart(now, name)

    def _kill_scheduler(self, now: float) -> None:
        self._kill_and_restart(now, "scheduler")

    def _kill_web(self, now: float) -> None:
        self._kill_and_restart(now, "web")

    def _store_faults(self, now: float) -> None:
        site = self.rng.choice(self.sites)
        window = self.rng.uniform(10, 25)
        site.control.add_faults([
            {"endpoint": "*", "action": "status", "status": 500, "probability": 0.1},
            {"endpoint": "*", "action": "status", "status": 429, "probability": 0.111,
             "retry_after": 1}])
        self._say(now, f"store {site.subdomain}: 20 % 500s and 429s for {window:.0f} s")
        self._window(f"store:{site.subdomain}", now, window, site.control.clear_faults)

    def _sftp_cuts(self, now: float) -> None:
        """Cut for 20–30 s, longer (5 s at a time, up to a minute) until a cut happened."""
        window = self.rng.uniform(20, 30)
        for site in self.sites:
            site.proxy.cutting.set()
        self._say(now, f"SFTP proxies cut connections for {window:.0f} s")
        before = self._cuts()
        opened = time.monotonic()

        def close() -> None:
            if not self._final and self._cuts() == before and time.monotonic() - opened < 60:
                self._window("sftp", time.monotonic() - self.started, 5, close)
                return
            for site in self.sites:
                site.proxy.cutting.clear()

        self._window("sftp", now, window, close)

    def _cuts(self) -> int:
        return sum(site.proxy.cuts for site in self.sites)

    def _push_faults(self, now: float) -> None:
        window = self.rng.uniform(10, 25)
        pushing = [site for site in self.sites if site.push]
        for site in pushing:
            site.control.set_push_faults(lose=0.15, duplicate=0.15,
                                         seed=self.rng.randrange(1 << 30))
        self._say(now, f"pushes lost 15 % / sent twice 15 % for {window:.0f} s")

        def close() -> None:
            for site in pushing:
                site.control.clear_push_faults()

        self._window("push", now, window, close)

    def _postgres_restart(self, now: float) -> None:
        from django.db import connections

        started = time.monotonic()
        self.postgres.restart()
        connections.close_all()
        self._say(now, f"PostgreSQL restarted ({time.monotonic() - started:.1f} s down)")


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def place_orders(sites: list[Site], due: int, placed: int) -> int:
    """Place ``due - placed`` paid orders, spread over the stores; returns the new total."""
    missing = due - placed
    if missing <= 0:
        return placed
    share, extra = divmod(missing, len(sites))
    start = placed % len(sites)
    for offset in range(len(sites)):
        site = sites[(start + offset) % len(sites)]
        count = share + (1 if offset < extra else 0)
        if count:
            site.order_ids += site.control.create_orders(count, status="paid")
    return due


def load_phase(plan: Plan, sites: list[Site], chaos: Chaos) -> None:
    from django.db import close_old_connections

    events = chaos.schedule(plan)
    started = chaos.started = time.monotonic()
    placed = 0
    while True:
        now = time.monotonic() - started
        # A slow event (a kill waits for a held run, a restart for the database) can push the
        # later ones past the phase's end: the phase lasts until every planned event fired.
        if now >= plan.duration and not events:
            break
        close_old_connections()
        placed = place_orders(sites, int(plan.orders * min(now / plan.duration, 1.0)), placed)
        while events and events[0][0] <= now:
            _, kind = events.pop(0)
            try:
                chaos.fire(kind, now)
            except Exception as exc:  # noqa: BLE001 — e.g. the database restarting under us
                chaos._say(now, f"{kind} failed to fire: {type(exc).__name__}: {exc}")
        chaos.close_due(now)
        time.sleep(0.5)
    place_orders(sites, plan.orders, placed)
    chaos.close_due(time.monotonic() - started, all_of_them=True)
    print(f"load phase done: {plan.orders} orders placed in {plan.duration:.0f} s", flush=True)


def request_runs(sites: list[Site], channel_type: str, mode: str = "default") -> None:
    from dropstream.connections.models import Channel
    from dropstream.scheduling.actions import request_run

    for channel in Channel.objects.filter(connection_id__in=[s.connection_id for s in sites],
                                          type=channel_type):
        request_run(channel, mode=mode)


def ph_numbers(site: Site) -> Counter:
    """Order numbers in PH rows of the warehouse's order files (received and not yet)."""
    from tests.fixtures.warehouse_files import ph_numbers as in_folder

    return in_folder(site.sftp.root)


def robot_packages(site: Site) -> dict[str, str]:
    """tracking number → order number of every package in the robot's shipment files."""
    packages: dict[str, str] = {}
    root = site.sftp.root
    for folder in (root / "out", root / "out" / "processed", root / "out" / "error"):
        for path in folder.glob("shp_*.csv"):
            for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
                packages[row["tracking_number"]] = row["order_number"]
    return packages


@dataclass
class Tally:
    lost_orders: int = 0
    duplicated_orders: int = 0
    lost_shipments: int = 0
    duplicated_shipments: int = 0
    stock_mismatches: int = 0
    stuck: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)


def count_orders(sites: list[Site], tally: Tally) -> None:
    for site in sites:
        numbers = ph_numbers(site)
        expected = {str(order_id) for order_id in site.order_ids}
        lost = sorted(expected - set(numbers))
        doubled = sorted(n for n, c in numbers.items() if c > 1)
        tally.lost_orders += len(lost)
        tally.duplicated_orders += len(doubled) + len(set(numbers) - expected)
        if lost:
            tally.examples.append(f"{site.subdomain}: orders never in a file: {lost[:5]}")
        if doubled:
            tally.examples.append(f"{site.subdomain}: orders in two PH rows: {doubled[:5]}")


def store_tracking(site: Site) -> Counter:
    """Tracking numbers of the shipments the store holds, over all orders placed."""
    from concurrent.futures import ThreadPoolExecutor

    from dropstream.sandbox.brightsites.control import SandboxControl

    held: Counter = Counter()
    with SandboxControl(site.control.control_url) as control:
        def shipments(order_id: int) -> list[str]:
            return [s["tracking_number"] for s in control.get_order(order_id)["shipments"]]

        with ThreadPoolExecutor(4) as pool:
            for numbers in pool.map(shipments, site.order_ids):
                held.update(numbers)
    return held


def count_shipments(sites: list[Site], tally: Tally) -> None:
    for site in sites:
        packages = robot_packages(site)
        held = store_tracking(site)
        lost = sorted(set(packages) - set(held))
        doubled = sorted(t for t, c in held.items() if c > 1)
        tally.lost_shipments += len(lost)
        tally.duplicated_shipments += len(doubled) + len(set(held) - set(packages))
        if lost:
            tally.examples.append(f"{site.subdomain}: packages not in the store: "
                                  f"{[(t, packages[t]) for t in lost[:3]]}")
        if doubled:
            tally.examples.append(f"{site.subdomain}: shipments held twice: {doubled[:3]}")


def count_stuck(tally: Tally) -> None:
    from dropstream.intents.models import Intent, IntentState
    from dropstream.orders.models import Order, OrderStatus
    from dropstream.scheduling.models import Run, RunState
    from dropstream.shipments.models import Shipment, ShipmentState
    from dropstream.sync.models import PushDelivery

    tally.stuck = {
        "orders": Order.objects.filter(status__in=[
            OrderStatus.NEW, OrderStatus.QUEUED, OrderStatus.DELAYED, OrderStatus.ERROR]).count(),
        "shipments": Shipment.objects.filter(state__in=[
            ShipmentState.NEW, ShipmentState.OPEN, ShipmentState.ERROR]).count(),
        "intents": Intent.objects.filter(state=IntentState.PENDING).count(),
        "push deliveries": PushDelivery.objects.filter(
            state=PushDelivery.State.RECEIVED).count(),
        "runs": Run.objects.filter(state__in=[RunState.QUEUED, RunState.RUNNING]).count(),
    }
    problems = Order.objects.filter(status__in=[OrderStatus.DELAYED, OrderStatus.ERROR]) \
        .values_list("external_id", "status", "error_message")[:3]
    tally.examples += [f"order {e} {s}: {m[:160]}" for e, s, m in problems]


def count_stock(sites: list[Site], tally: Tally) -> int:
    """Compare store levels with the formula on the robot's stock; returns SKUs checked."""
    from dropstream.inventory.compute import store_quantities

    checked = 0
    for site in sites:
        expected = store_quantities(site.robot.stock, listings={}, bundles={}, reserved={})
        for record in site.control.inventories():
            sku = record["final_sku"]
            if sku not in expected or not record["track"] or record["vendor_managed"]:
                continue
            checked += 1
            if record["inventory"] != expected[sku]:
                tally.stock_mismatches += 1
                tally.examples.append(f"{site.subdomain} {sku}: store {record['inventory']}, "
                                      f"formula {expected[sku]}")
    return checked


def settled(sites: list[Site]) -> bool:
    """Every order in a file once, every package in the store, nothing left to post."""
    from dropstream.orders.models import Order, OrderStatus
    from dropstream.shipments.models import Shipment, ShipmentState

    tally = Tally()
    count_orders(sites, tally)
    if tally.lost_orders or tally.duplicated_orders:
        return False
    if Order.objects.filter(status__in=[OrderStatus.NEW, OrderStatus.QUEUED,
                                        OrderStatus.DELAYED]).exists():
        return False
    if Shipment.objects.filter(state__in=[ShipmentState.NEW, ShipmentState.OPEN]).exists():
        return False
    placed = sum(len(site.order_ids) for site in sites)
    shipped_orders = sum(len(set(robot_packages(site).values())) for site in sites)
    posted = Shipment.objects.filter(state=ShipmentState.COMPLETED).count()
    packages = sum(len(robot_packages(site)) for site in sites)
    return shipped_orders == placed and posted >= packages


def sweep_push_deliveries() -> int:
    """Run the scheduler's sweep of Received push deliveries as it will run ``STUCK_AFTER``
    (5 min) from now, and wait (bounded) for their imports; returns how many it re-queued.

    A delivery whose import task died with a killed worker (Redis hands a message out once)
    waits for that sweep; the soak cannot wait five minutes, so it asks for the sweep now."""
    from django.utils import timezone

    from dropstream.sync.models import PushDelivery
    from dropstream.sync.push import STUCK_AFTER, requeue_stuck_deliveries

    swept = requeue_stuck_deliveries(timezone.now() + STUCK_AFTER)
    wait_bounded(lambda: not PushDelivery.objects.filter(
        state=PushDelivery.State.RECEIVED).exists(), 60, "re-queued push deliveries")
    return len(swept)


def runs_drained() -> bool:
    from dropstream.scheduling.models import Run, RunState

    return not Run.objects.filter(state__in=[RunState.QUEUED, RunState.RUNNING]).exists()


def settle_phase(plan: Plan, sites: list[Site], hub: Hub) -> dict[str, float]:
    """Reconcile, ship, drain and sync inventory, each bounded; returns seconds per step."""
    from django.db import close_old_connections

    timings: dict[str, float] = {}
    started = time.monotonic()
    deadline = started + plan.settle
    request_runs(sites, "sales_order")  # the reconciliation poll (daily in production)
    asked = time.monotonic()
    while time.monotonic() < deadline:
        close_old_connections()
        if settled(sites):
            break
        if time.monotonic() - asked >= 10:
            request_runs(sites, "sales_order")
            request_runs(sites, "shipment")
            asked = time.monotonic()
        time.sleep(2)
    timings["orders and shipments"] = time.monotonic() - started

    step = time.monotonic()
    swept = sweep_push_deliveries()
    timings[f"push sweep ({swept} re-queued)"] = time.monotonic() - step
    step = time.monotonic()
    hub.stop("scheduler")  # no new runs from here on: what is queued must drain by itself
    wait_bounded(runs_drained, max(deadline - time.monotonic(), 30), "runs drain")
    for site in sites:
        site.robot.write_inventory_now()
    request_runs(sites, "inventory", mode="full")
    wait_bounded(runs_drained, 60, "inventory full syncs")
    timings["drain and full inventory sync"] = time.monotonic() - step
    return timings


def wait_bounded(check: Callable[[], bool], timeout: float, what: str) -> bool:
    """Like ``wait_for`` but says so and goes on (the tally will show what is stuck)."""
    from django.db import close_old_connections

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if check():
            return True
        time.sleep(1)
    print(f"soak: {what}: not done after {timeout:.0f} s", flush=True)
    return False


def takeovers(chaos: Chaos) -> tuple[int, int, list[str]]:
    """(runs killed mid-run, of those finished by another worker, lines for the table)."""
    from dropstream.scheduling.models import FINISHED_STATES, Run

    rows = {row["id"]: row for row in Run.objects.filter(pk__in=list(chaos.held_by_killed))
            .values("id", "state", "worker", "attempt", "channel_type", "connection_id")}
    taken = 0
    lines = []
    for run_id, pid in sorted(chaos.held_by_killed.items()):
        row = rows.get(run_id)
        done = (row is not None and row["state"] in FINISHED_STATES
                and f":{pid}:" not in row["worker"])
        taken += done
        if row is not None:
            lines.append(f"run {run_id} ({row['channel_type']}, connection "
                         f"{row['connection_id']}): held by pid {pid}, then {row['state']} "
                         f"by {row['worker'].split(':')[1]} at attempt {row['attempt']}")
    return len(chaos.held_by_killed), taken, lines


def cost(sites: list[Site]) -> tuple[int, int, Counter]:
    """(requests the sandbox metered, the cost model's bound for the work done, requests by
    endpoint)."""
    from dropstream.scheduling.models import Run, RunState
    from dropstream.sync.models import PushDelivery

    by_endpoint: Counter = Counter()
    for site in sites:
        by_endpoint.update(site.control.meter()["by_endpoint"])
    requests = sum(by_endpoint.values())
    bound = 0
    for site in sites:
        runs = list(Run.objects.filter(connection_id=site.connection_id,
                                       state=RunState.SUCCEEDED)
                    .values("channel_type", "mode", "counts"))
        polls = sum(1 for r in runs if r["channel_type"] == "sales_order"
                    and r["mode"] == "default")
        pushed = PushDelivery.objects.filter(store__connections__pk=site.connection_id,
                                             state=PushDelivery.State.IMPORTED,
                                             reason="created").count()
        counts = [r["counts"] or {} for r in runs]
        shipments = sum(int(c.get("shipments_posted", 0)) for c in counts)
        marked = sum(int(c.get("shipments_orders_marked", 0)) for c in counts)
        # One batch_update per product changed: a run that wrote n SKUs changed at most
        # min(n, products) products (each product has one SKU or more).
        written = sum(min(int(c.get("inventory_written", 0)), PRODUCTS) for c in counts)
        bound += polls + max(len(site.order_ids) - pushed, 0) + shipments + marked + written
    return requests, bound, by_endpoint


def report(plan: Plan, chaos: Chaos, tally: Tally, hub: Hub, timings: dict[str, float],
           wall: float, cpu: float, stock_checked: int, requests: int, bound: int,
           takeover: tuple[int, int, list[str]]) -> None:
    from harness import print_table

    killed, taken, lines = takeover
    stuck = sum(tally.stuck.values())
    rows = [
        ("stores (push / poll)", f"{plan.stores} ({sum(1 for i in range(plan.stores) if i % 2 == 0)}"
                                 f" / {plan.stores // 2})"),
        ("orders placed", f"{plan.orders}"),
        ("load phase / settle bound", f"{plan.duration:.0f} s / {plan.settle:.0f} s"),
        ("chaos events", ", ".join(f"{k} {v}" for k, v in sorted(chaos.counts.items()))),
        ("SFTP connections cut", str(sum(s.proxy.cuts for s in chaos.sites))),
        ("lost (orders / shipments)", f"{tally.lost_orders + tally.lost_shipments} "
                                      f"({tally.lost_orders} / {tally.lost_shipments})"),
        ("duplicated (orders / shipments)",
         f"{tally.duplicated_orders + tally.duplicated_shipments} "
         f"({tally.duplicated_orders} / {tally.duplicated_shipments})"),
        ("stuck", f"{stuck} (" + ", ".join(f"{k} {v}" for k, v in tally.stuck.items()) + ")"),
        ("stock = formula", f"{stock_checked - tally.stock_mismatches} / {stock_checked} SKUs"),
        ("takeovers (runs held by a killed worker, finished by another)",
         f"{taken} / {killed}"),
        ("requests ÷ bound", f"{requests} / {bound} = {requests / bound:.2f}" if bound else "-"),
        *[(f"settle: {k}", f"{v:.0f} s") for k, v in timings.items()],
        ("wall / soak process CPU", f"{wall:.0f} s / {cpu:.0f} s (load {_load()})"),
    ]
    print_table("Chaos soak", ("figure", "value"), rows)
    for line in lines:
        print(f"takeover: {line}")
    for line in tally.examples[:20]:
        print(f"problem: {line}")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def configure(base: Path, postgres: OwnPostgres, redis: OwnRedis) -> None:
    """The environment this process and every hub process share."""
    os.environ.update({
        # The sandbox runs from .venv/bin/dropstream: import this checkout's package.
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": postgres.url,
        "DROPSTREAM_QUEUE_URL": redis.url,
        "DROPSTREAM_QUEUE_NAME": f"soak-{os.getpid()}",
        "DROPSTREAM_SECRET_KEY": secrets.token_urlsafe(32),
        "DROPSTREAM_LOG_LEVEL": "WARNING",
        # Short leases and waits, so a killed worker's run is taken over within the soak.
        "DROPSTREAM_RUN_LEASE_SECONDS": "15",
        "DROPSTREAM_RUN_RESEND_SECONDS": "10",
        "DROPSTREAM_RUN_RETRY_SECONDS": "2",
        "DROPSTREAM_RUN_MAX_ATTEMPTS": "5",
        "DROPSTREAM_SCHEDULER_TICK_SECONDS": "1",
        "DROPSTREAM_ALLOWED_STORE_HOSTS": "127.0.0.1",
        "DROPSTREAM_ALLOWED_WAREHOUSE_HOSTS": "127.0.0.1",
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=0, help="default 20 (quick: 6)")
    parser.add_argument("--orders", type=int, default=0, help="default 10000 (quick: 300)")
    parser.add_argument("--duration", type=float, default=0,
                        help="load phase, seconds (default 600; quick: 75)")
    parser.add_argument("--settle", type=float, default=0,
                        help="bound on settling, seconds (default 600; quick: 150)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the CI size: about 3 minutes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    plan = plan_from(args)
    rng = random.Random(plan.seed)
    wall0, cpu0 = time.monotonic(), time.process_time()
    base = Path(tempfile.mkdtemp(prefix="dropstream-soak-"))
    if os.geteuid() == 0:
        # The postgres user must reach its directory inside (traverse only, no listing).
        os.chmod(base, 0o711)  # noqa: S103
    postgres, redis = OwnPostgres(base / "pg"), OwnRedis(base / "redis")
    sandbox = None
    sites: list[Site] = []
    hub = None
    try:
        postgres.init()
        redis.start()
        configure(base, postgres, redis)
        from harness import setup_django

        setup_django("soak", immediate_queue=False)
        from tests.fixtures.processes import HubProcesses

        sandbox, sites = build_sites(plan, base, rng)
        web_port = free_port()
        connect_sites(sandbox, sites, web_port)
        processes = HubProcesses(base=base / "processes")
        processes.base.mkdir()
        hub = Hub(processes, base / "homes", web_port)
        for name in hub.roles:
            hub.start(name)
        for site in sites:
            site.stop_robot = site.robot.start_thread(poll_s=1.0)
        print(f"soak: {plan.stores} stores, {plan.orders} orders over {plan.duration:.0f} s, "
              f"seed {plan.seed}, in {base}", flush=True)
        chaos = Chaos(hub=hub, postgres=postgres, sites=sites, rng=rng)
        load_phase(plan, sites, chaos)
        dead = hub.dead()
        if dead:
            print(f"soak: processes died on their own: {dead}", flush=True)
        timings = settle_phase(plan, sites, hub)
        tally = Tally()
        count_orders(sites, tally)
        count_shipments(sites, tally)
        stock_checked = count_stock(sites, tally)
        count_stuck(tally)
        requests, bound, by_endpoint = cost(sites)
        takeover = takeovers(chaos)
        report(plan, chaos, tally, hub, timings, time.monotonic() - wall0,
               time.process_time() - cpu0, stock_checked, requests, bound, takeover)
        print("requests by endpoint: " + ", ".join(f"{k} {v}" for k, v in
                                                   by_endpoint.most_common()))
        bad = (tally.lost_orders + tally.lost_shipments + tally.duplicated_orders
               + tally.duplicated_shipments + sum(tally.stuck.values()) + tally.stock_mismatches
               + (takeover[0] - takeover[1]))
        return 1 if bad else 0
    finally:
        for site in sites:
            if site.stop_robot is not None:
                site.stop_robot()
        if hub is not None:
            for name in hub.roles:
                hub.stop(name)
        for site in sites:
            site.proxy.close()
            site.sftp.stop()
            site.control.close()
        if sandbox is not None:
            sandbox.stop()
        if "django.apps" in sys.modules:
            from django.db import connections

            connections.close_all()
        redis.stop()
        postgres.stop()
        if args.keep:
            print(f"soak: kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
