"""``run``, ``web``, ``worker`` and ``scheduler``: the hub's long-running processes."""

from __future__ import annotations

import argparse

from dropstream.processes import (
    CommandError,
    create_first_administrator,
    ensure_port_free,
    make_consumer,
    prepare_data,
    serve_web,
    setup_django,
    start_background,
)


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

    from dropstream.scheduling.scheduler import run_scheduler, scheduler_tick

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
