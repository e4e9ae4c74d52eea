"""The ``dropstream`` command.

Each sub-command sets Django up, checks the encryption key against the stored secrets, and
applies migrations where it serves or changes data, so ``dropstream run`` on a fresh machine
needs no other step. Problems print one line naming the problem and the fix, and exit 2.
The sub-commands live in ``dropstream/commands/``; this module only parses and dispatches.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from dropstream.commands.admin import cmd_check, cmd_init, cmd_users_create
from dropstream.commands.demo import DEMO_WAREHOUSES, cmd_demo
from dropstream.commands.sandboxes import SANDBOXES, cmd_sandbox
from dropstream.commands.serve import cmd_run, cmd_scheduler, cmd_web, cmd_worker
from dropstream.commands.sync_run import cmd_sync_run
from dropstream.processes import CommandError

EXIT_USAGE = 2


def _fail(message: str) -> int:
    print(f"dropstream: {message}", file=sys.stderr)
    return EXIT_USAGE


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
    demo.add_argument("--warehouse", default="dsfx", choices=list(DEMO_WAREHOUSES),
                      help="which sandbox warehouse the demo connection uses (default dsfx)")
    demo.set_defaults(func=cmd_demo)

    sub.add_parser("check", help="show where data lives and whether it is healthy").set_defaults(
        func=cmd_check)

    sandbox = sub.add_parser("sandbox", help="run a simulator of a remote system: "
                                              + ", ".join(SANDBOXES))
    sandbox.add_argument("which", choices=list(SANDBOXES))
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
