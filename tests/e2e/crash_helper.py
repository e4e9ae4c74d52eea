"""Run as a separate process by the crash-safety test: set up a connection in a data directory.

    python -m tests.e2e.crash_helper <api_url> <subdomain> <token> <dsfx_root>
prints the connection id.
"""

from __future__ import annotations

import os
import sys


def main(api_url: str, subdomain: str, token: str, root: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropstream.settings")
    from dropstream.cli import prepare_data, setup_django

    setup_django()
    prepare_data()
    from django.utils import timezone

    from dropstream.connections import actions

    merchant = actions.create_merchant("Crash Test")
    store = actions.create_store(merchant, name="Crash", platform="brightsites", adapter={
        "subdomain": subdomain, "api_token": token, "api_url": api_url,
        "import_since": "2000-01-01T00:00:00Z"})
    warehouse = actions.create_warehouse(merchant, platform="dropstream", adapter={
        "connection_string": f"file://{root}", "settle_seconds": 0, "orders_per_file": 1})
    connection = actions.create_connection(name="Crash", customer=merchant, store=store,
                                           warehouse=warehouse)
    actions.set_connection_enabled(connection, timezone.now())
    print(connection.pk)


if __name__ == "__main__":
    main(*sys.argv[1:5])
