"""`dropstream sync run <connection> --channel … [--full]`: one channel now, with progress."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from dropstream.processes import CommandError, prepare_data, setup_django


def _find_connection(value: str):
    from dropstream.connections.models import Connection

    query = Connection.objects.filter(pk=int(value)) if value.isdigit() else \
        Connection.objects.filter(name=value)
    matches = list(query[:2])
    if len(matches) != 1:
        raise CommandError(f"no connection {value!r}" if not matches else
                           f"several connections are named {value!r}; use the id")
    return matches[0]


EXIT_BUSY = 3


def run_channel_command(args: argparse.Namespace) -> int:
    """Run one channel in this process under the workers' run lock; print a summary.

    Exit 0 when it succeeded, 1 when it failed, 3 when another run of the channel kept it busy
    (``--no-wait``), 2 for a usage error.
    """
    from dropstream.connections.models import Channel
    from dropstream.scheduling.actions import run_here
    from dropstream.scheduling.errors import RunRefused

    console = Console(highlight=False)
    connection = _find_connection(args.connection)
    channel = Channel.objects.filter(connection=connection, type=args.channel).first()
    if channel is None:
        raise CommandError(f"connection {connection} has no {args.channel} channel")
    console.print(f"[bold]{connection}[/bold] · {args.channel}"
                  + (" (full sync)" if args.full else ""))
    try:
        outcome, run = run_here(channel, mode="full" if args.full else "default",
                                progress=lambda text: console.print(f"  … {text}"),
                                wait_seconds=0 if args.no_wait else None)
    except RunRefused as exc:
        raise CommandError(str(exc)) from None
    if outcome == "busy":
        console.print("[yellow]Busy:[/yellow] another run of this channel is running; try "
                      "again when it ends (or leave out --no-wait to wait for it)")
        return EXIT_BUSY
    table = Table(title=f"Summary of run {run.pk}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in sorted(run.counts.items()):
        table.add_row(key.replace("_", " "), str(value))
    for endpoint, count in sorted(run.requests.items()):
        table.add_row(f"requests: {endpoint}", str(count))
    table.add_row("requests used", str(run.requests_used))
    console.print(table)
    for sku, why in sorted((run.details.get("skipped") or {}).items()):
        console.print(f"  skipped {sku}: {why}")
    if outcome == "lost":
        console.print("[red]Stopped:[/red] another worker took the run over after its lease "
                      "lapsed, and completed it; this process stopped before its next request")
        return 1
    if outcome != "succeeded":
        console.print(f"[red]Failed:[/red] {run.error or outcome}")
        return 1
    return 0


def cmd_sync_run(args: argparse.Namespace) -> int:
    setup_django()
    prepare_data()
    return run_channel_command(args)
