"""The ``dropstream`` command.

Each sub-command sets Django up, checks the encryption key against the stored secrets, and
applies migrations where it serves or changes data, so ``dropstream run`` on a fresh machine
needs no other step. Problems print one line naming the problem and the fix, and exit 2.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable, Sequence

EXIT_USAGE = 2


class CommandError(Exception):
    """A problem the user can fix; printed as one line."""


def _fail(message: str) -> int:
    print(f"dropstream: {message}", file=sys.stderr)
    return EXIT_USAGE


def setup_django() -> None:
    """Load settings and apps; ConfigError/SecretKeyError propagate with plain messages."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropstream.settings")
    import django

    django.setup()


def _tables_exist() -> bool:
    from django.db import connection

    return "connections_store" in connection.introspection.table_names()


def prepare_data(*, migrate: bool = True) -> str:
    """Check the key against stored secrets (creating it when none exist), then migrate.

    Returns what happened to the key ("created" or "ok"). The key check runs first so a wrong
    key stops the command before anything changes.
    """
    from django.core.management import call_command
    from django.db.utils import OperationalError

    from dropstream import crypto

    try:
        secrets = []
        if _tables_exist():
            from dropstream.connections.actions import all_stored_secrets

            secrets = all_stored_secrets()
    except OperationalError as exc:
        raise CommandError(f"the database cannot be reached ({exc}); check DATABASE_URL") from exc
    key_state = crypto.ensure_key(secrets)
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
        # The database cache's table (log-in failure counts) is no model, so migrate leaves it;
        # createcachetable makes it when missing and does nothing otherwise (or with Redis).
        call_command("createcachetable", verbosity=0)
    return key_state


def ensure_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {host}:{port} ({exc.strerror}); stop the program using it or "
                "pass --port with another number") from None


# ---------------------------------------------------------------------------------------------
# Sub-commands
# ---------------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    setup_django()
    from django.conf import settings

    key_state = prepare_data()
    print(f"Data directory: {settings.HOME}")
    print(f"Encryption key: {'created' if key_state == 'created' else 'present'}")
    print("Database: migrated")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    setup_django()
    prepare_data()
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError

    from dropstream.accounts.models import User
    from dropstream.connections.models import Merchant

    merchant = None
    if args.merchant is not None:
        merchant = Merchant.objects.filter(pk=args.merchant).first()
        if merchant is None:
            raise CommandError(f"no merchant with id {args.merchant}; list them in the admin")
    if User.objects.filter(email__iexact=args.email).exists():
        raise CommandError(f"a user with e-mail {args.email} already exists")
    check_password_strength(args.password, User(email=args.email, role=args.role))
    extra = {"is_staff": args.role == "administrator", "is_superuser": args.role == "administrator"}
    try:
        user = User.objects.create_user(args.email, args.password, role=args.role,
                                        merchant=merchant if args.role == "merchant" else None,
                                        **extra)
    except ValidationError as exc:
        raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in
                                     exc.message_dict.items())) from None
    except IntegrityError:
        raise CommandError(f"a user with e-mail {args.email} already exists") from None
    if args.role == "staff" and merchant is not None:
        user.merchants.add(merchant)
    print(f"Created {user.role} {user.email} (id {user.pk})")
    return 0


def check_password_strength(password: str, user) -> None:
    """Django's password validators (settings.AUTH_PASSWORD_VALIDATORS), as for the set-password
    page; raises CommandError listing what is wrong."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise CommandError("password: " + " ".join(exc.messages)) from None


def cmd_check(args: argparse.Namespace) -> int:
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from dropstream import crypto

    problems = 0
    print(f"Data directory: {settings.HOME}")
    db = settings.DATABASES["default"]
    print(f"Database: {connection.vendor} {db.get('NAME')}")
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        print(f"  reachable; {len(pending)} migration(s) pending")
        secrets = []
        if _tables_exist():
            from dropstream.connections.actions import all_stored_secrets

            secrets = all_stored_secrets()
    except Exception as exc:  # noqa: BLE001 — report any database failure as a line
        print(f"  NOT reachable: {exc}")
        problems += 1
        secrets = []
    print(f"Encryption key: {crypto.key_source()}")
    try:
        crypto.reset_cache()
        if crypto.read_key() is None:
            print("  missing" + (" — stored secrets cannot be read" if secrets else
                                 " (created on first start)"))
            problems += bool(secrets)
        else:
            if secrets:
                crypto.decrypt(secrets[0])
            print("  present and opens the stored secrets" if secrets else "  present")
    except crypto.SecretKeyError as exc:
        print(f"  WRONG: {exc}")
        problems += 1
    from huey.contrib.djhuey import HUEY

    print(f"Queue: {type(HUEY).__name__} {settings.HUEY.get('filename') or settings.HUEY.get('url')}")
    try:
        print(f"  reachable; {HUEY.pending_count()} task(s) waiting")
    except Exception as exc:  # noqa: BLE001
        print(f"  NOT reachable: {exc}")
        problems += 1
    print("OK" if not problems else f"{problems} problem(s)")
    return 0 if not problems else 1


def serve_web(host: str, port: int, *, threads: int = 8) -> None:
    from waitress import serve

    from dropstream.wsgi import application

    serve(application, host=host, port=port, threads=threads, ident="dropstream",
          max_request_body_size=2 * 1024 * 1024, _quiet=True)


FIRST_PASSWORD_FILE = "initial-admin-password"  # noqa: S105 — a file name, not a password


def write_private_file(path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by this user only (mode 0600), even
    when the file was there before with wider permissions. Refuses to follow a symlink."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def create_first_administrator() -> tuple[str, object] | None:
    """On a hub with no users, make an administrator so the login page can be used at once.

    Returns (e-mail, path of the file holding the password), or None when users exist. The
    password goes to a file only its owner can read, never to stdout: a terminal's scroll-back,
    a service manager's journal or a CI log would keep it.
    """
    import secrets

    from django.conf import settings
    from django.db import transaction

    from dropstream.accounts.models import User

    if User.objects.exists():
        return None
    from dropstream.config import env_str

    email = env_str("DROPSTREAM_ADMIN_EMAIL", "admin@localhost") or "admin@localhost"
    password = secrets.token_urlsafe(18)
    path = settings.HOME / FIRST_PASSWORD_FILE
    # In one transaction: if the file cannot be written, no administrator exists whose
    # password nobody knows, and the next start tries again.
    with transaction.atomic():
        User.objects.create_superuser(email, password)
        write_private_file(path, password + "\n")
    return email, path


def cmd_run(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise CommandError("--workers must be 1 or more")
    ensure_port_free(args.host, args.port)
    setup_django()
    prepare_data()
    first = create_first_administrator()
    if first:
        print(f"First start: log in as {first[0]} with the password in {first[1]} (readable "
              "only by you; change the password under Admin → Users, then delete the file)",
              flush=True)
    print(f"DropStream is serving on http://{args.host}:{args.port}/ (Ctrl-C stops it)",
          flush=True)
    background = start_background(workers=args.workers)
    try:
        serve_web(args.host, args.port)
    finally:
        background.stop()
    return 0


class Background:
    """The queue consumer and the scheduler loop running as threads of this process."""

    def __init__(self, consumer, scheduler_thread, stop_event) -> None:
        self.consumer, self.scheduler_thread, self.stop_event = (consumer, scheduler_thread,
                                                                 stop_event)

    def stop(self) -> None:
        self.stop_event.set()
        if self.consumer is not None:
            self.consumer.stop(graceful=True)
        if self.scheduler_thread is not None:
            self.scheduler_thread.join(timeout=10)


def make_consumer(workers: int, *, periodic: bool = False, signals: bool = True):
    """A Huey consumer of thread workers. ``signals=False`` leaves the process's signal
    handlers alone (embedded in ``run``, where Ctrl-C must stop the web server)."""
    from huey.consumer import Consumer
    from huey.contrib.djhuey import HUEY

    import dropstream.scheduling.tasks  # noqa: F401 — registers the tasks

    class EmbeddedConsumer(Consumer):
        def _set_signal_handlers(self) -> None:
            if signals:
                super()._set_signal_handlers()

    # max_delay: an idle worker polls a non-blocking queue (SQLite) at least every second, so
    # "Run now" starts within a second; Redis blocks on the queue instead.
    return EmbeddedConsumer(HUEY, workers=workers, worker_type="thread", periodic=periodic,
                            check_worker_health=signals, max_delay=1.0)


def start_background(*, workers: int | None = None, scheduler: bool = True) -> Background:
    """Start the worker threads and the scheduler thread of ``dropstream run``."""
    import threading

    from django.conf import settings
    from huey.contrib.djhuey import HUEY

    from dropstream.scheduling.tasks import run_scheduler

    consumer = None
    if not HUEY.immediate:  # immediate mode (DROPSTREAM_QUEUE_IMMEDIATE) runs tasks inline
        consumer = make_consumer(workers or settings.WORKERS, signals=False)
        consumer.start()
    stop_event = threading.Event()
    thread = None
    if scheduler:
        thread = threading.Thread(target=run_scheduler, args=(stop_event,), name="scheduler",
                                  daemon=True)
        thread.start()
    return Background(consumer, thread, stop_event)


def cmd_worker(args: argparse.Namespace) -> int:
    setup_django()
    prepare_data(migrate=False)
    from django.conf import settings

    workers = settings.WORKERS if args.workers is None else args.workers
    if workers < 1:
        raise CommandError("--workers must be 1 or more")
    from huey.contrib.djhuey import HUEY

    if HUEY.immediate:
        raise CommandError("DROPSTREAM_QUEUE_IMMEDIATE=true runs tasks inline; unset it to run "
                           "a worker")
    print(f"DropStream worker: {workers} thread(s) on the {settings.HUEY['huey_class']} queue "
          "(Ctrl-C stops it)", flush=True)
    make_consumer(workers).run()
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    setup_django()
    prepare_data(migrate=False)
    import threading

    from dropstream.scheduling.tasks import run_scheduler, scheduler_tick

    if args.once:
        counts = scheduler_tick(refresh_budgets=True)
        print(" ".join(f"{k}={v}" for k, v in counts.items()), flush=True)
        return 0
    print("DropStream scheduler running (Ctrl-C stops it)", flush=True)
    stop_event = threading.Event()
    try:
        run_scheduler(stop_event, tick_seconds=args.tick)
    except KeyboardInterrupt:
        stop_event.set()
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    ensure_port_free(args.host, args.port)
    setup_django()
    prepare_data(migrate=False)
    serve_web(args.host, args.port)
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    if args.which == "brightsites":
        from dropstream.sandbox.brightsites.server import main as sandbox_main
    else:
        from dropstream.sandbox.warehouse.robot import main as sandbox_main
    return int(sandbox_main(args.rest) or 0)


def cmd_demo(args: argparse.Namespace) -> int:
    from dropstream.demo import cmd_demo as run_demo

    return run_demo(args)


def cmd_sync_run(args: argparse.Namespace) -> int:
    setup_django()
    prepare_data()
    from dropstream.sync.cli import run_channel_command

    return run_channel_command(args)


# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dropstream", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("init", help="create the data directory, key and database").set_defaults(
        func=cmd_init)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="users_command",
                                                                       required=True)
    create = users.add_parser("create", help="create a user (non-interactive)")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", required=True, choices=["administrator", "staff", "merchant"])
    create.add_argument("--merchant", type=int, help="merchant id (required for merchant users)")
    create.set_defaults(func=cmd_users_create)

    for name, func, text in (("run", cmd_run, "serve the hub (embedded default)"),
                             ("web", cmd_web, "serve only the web app (scaled out)")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=8000)
        if name == "run":
            command.add_argument("-w", "--workers", type=int, default=None,
                                 help="worker threads (default DROPSTREAM_WORKERS, 4)")
        command.set_defaults(func=func)

    worker = sub.add_parser("worker", help="run queued runs (scaled out: many, on many hosts)")
    worker.add_argument("-w", "--workers", type=int, default=None,
                        help="worker threads (default DROPSTREAM_WORKERS, 4)")
    worker.set_defaults(func=cmd_worker)

    scheduler = sub.add_parser("scheduler", help="dispatch due channels (scaled out: one)")
    scheduler.add_argument("--tick", type=float, default=None,
                           help="seconds between passes (default DROPSTREAM_SCHEDULER_TICK_SECONDS)")
    scheduler.add_argument("--once", action="store_true", help="one pass, then exit")
    scheduler.set_defaults(func=cmd_scheduler)

    demo = sub.add_parser("demo", help="run the hub with both sandboxes and a demo connection")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--sandbox-port", type=int, default=0,
                      help="port of the Bright Sites sandbox (default: any free port)")
    demo.set_defaults(func=cmd_demo)

    sub.add_parser("check", help="show where data lives and whether it is healthy").set_defaults(
        func=cmd_check)

    sandbox = sub.add_parser("sandbox", help="run a sandbox (brightsites or warehouse)")
    sandbox.add_argument("which", choices=["brightsites", "warehouse"])
    sandbox.add_argument("rest", nargs=argparse.REMAINDER)
    sandbox.set_defaults(func=cmd_sandbox)

    sync = sub.add_parser("sync", help="run flows by hand").add_subparsers(dest="sync_command",
                                                                          required=True)
    sync_run = sync.add_parser("run", help="run one channel of one connection now")
    sync_run.add_argument("connection", help="connection id or name")
    sync_run.add_argument("--channel", required=True,
                          choices=["sales_order", "shipment", "inventory"])
    sync_run.add_argument("--full", action="store_true", help="inventory: write every SKU")
    sync_run.add_argument("--no-wait", action="store_true",
                          help="exit (code 3) instead of waiting when the channel is running")
    sync_run.set_defaults(func=cmd_sync_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    from dropstream.config import ConfigError
    from dropstream.crypto import SecretKeyError

    try:
        return func(args)
    except (CommandError, ConfigError, SecretKeyError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
