"""What the hub's processes share: Django set up, the data directory made ready, the web server,
the embedded worker and scheduler threads, the first administrator. The commands in
``dropstream/commands/`` are built from these."""

from __future__ import annotations

import os
import socket


class CommandError(Exception):
    """A problem the user can fix; printed as one line."""


def setup_django() -> None:
    """Load settings and apps; ConfigError/SecretKeyError propagate with plain messages."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropstream.settings")
    import django

    django.setup()


def tables_exist() -> bool:
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
        if tables_exist():
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


def check_password_strength(password: str, user) -> None:
    """Django's password validators (settings.AUTH_PASSWORD_VALIDATORS), as for the set-password
    page; raises CommandError listing what is wrong."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise CommandError("password: " + " ".join(exc.messages)) from None


def serve_web(host: str, port: int, *, threads: int = 8) -> None:
    from django.core.wsgi import get_wsgi_application
    from waitress import serve

    serve(get_wsgi_application(), host=host, port=port, threads=threads, ident="dropstream",
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
    from django.utils.module_loading import autodiscover_modules
    from huey.consumer import Consumer
    from huey.contrib.djhuey import HUEY

    # Register every app's ``tasks`` module (runs, push imports, alert e-mails): a consumer
    # drops a message whose task it does not know, and a scaled-out worker never imports the
    # modules that queue them (the web process queues push imports).
    autodiscover_modules("tasks")

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

    from dropstream.scheduling.scheduler import run_scheduler

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
