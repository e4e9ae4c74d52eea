"""`dropstream sync run <connection> --channel … [--full]`: one channel now, with progress."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table


def _find_connection(value: str):
    from dropstream.connections.models import Connection

    query = Connection.objects.filter(pk=int(value)) if value.isdigit() else \
        Connection.objects.filter(name=value)
    matches = list(query[:2])
    if len(matches) != 1:
        from dropstream.cli import CommandError

        raise CommandError(f"no connection {value!r}" if not matches else
                           f"several connections are named {value!r}; use the id")
    return matches[0]


def run_channel_command(args: argparse.Namespace) -> int:
    from dropstream.sync.runner import run_channel

    console = Console(highlight=False)
    connection = _find_connection(args.connection)
    console.print(f"[bold]{connection}[/bold] · {args.channel}"
                  + (" (full sync)" if args.full else ""))
    result = run_channel(connection.pk, args.channel, mode="full" if args.full else "default",
                         progress=lambda text: console.print(f"  … {text}"))
    table = Table(title="Summary", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in sorted(result.counts.items()):
        table.add_row(key.replace("_", " "), str(value))
    for endpoint, count in sorted(result.requests.items()):
        table.add_row(f"requests: {endpoint}", str(count))
    table.add_row("requests used", str(result.requests_used))
    console.print(table)
    if not result.ok:
        console.print(f"[red]Failed:[/red] {result.error}")
        return 1
    return 0
