"""Seed a hub (in ``$DROPSTREAM_HOME``) with one enabled connection whose sales channel is due
now; run as ``python -m tests.scheduling.seed`` next to a running ``dropstream run``."""

from __future__ import annotations

import os
from datetime import timedelta


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropstream.settings")
    import django

    django.setup()
    from django.utils import timezone

    from dropstream.connections import actions
    from dropstream.connections.models import Channel
    from tests.fixtures.secret_leaks import make_secret

    merchant = actions.create_merchant("Seeded")
    store = actions.create_store(merchant, name="S", platform="brightsites",
                                 adapter={"subdomain": "s", "api_token": make_secret("bs"),
                                          "api_url": "http://127.0.0.1:9/api"})
    warehouse = actions.create_warehouse(merchant, platform="dropstream",
                                         adapter={"connection_string": "file:///tmp/none"})
    connection = actions.create_connection(name="C", customer=merchant, store=store,
                                           warehouse=warehouse)
    now = timezone.now()
    Channel.objects.filter(connection=connection).exclude(type="sales_order").update(
        enabled_at=None)
    # Enabling schedules the channels from now; then the sales channel is made due at once.
    actions.set_connection_enabled(connection, now)
    Channel.objects.filter(connection=connection, type="sales_order").update(
        next_run_at=now - timedelta(seconds=1))
    print(connection.pk)


if __name__ == "__main__":
    main()
