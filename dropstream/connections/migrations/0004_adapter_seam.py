"""The adapter seam (issue 12): what an adapter remembers moves into ``adapter_state`` (the DSFX
host keys from their own columns), ``import_since`` becomes a store column (hub policy, not a
platform setting), and warehouses get a hook secret of their own."""

import secrets
from datetime import UTC, datetime

from django.db import migrations, models

import dropstream.connections.models


def _parse(value):
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def forwards(apps, schema_editor):
    Store = apps.get_model("connections", "Store")
    Warehouse = apps.get_model("connections", "Warehouse")
    for store in Store.objects.all():
        adapter = dict(store.adapter or {})
        raw = adapter.pop("import_since", None)
        store.import_since = _parse(raw) if raw else None
        store.adapter = adapter
        store.save(update_fields=["import_since", "adapter"])
    for warehouse in Warehouse.objects.all():
        state = dict(warehouse.adapter_state or {})
        if warehouse.host_key:
            state["host_key"] = warehouse.host_key
        if warehouse.pending_host_key:
            state["pending_host_key"] = warehouse.pending_host_key
        warehouse.adapter_state = state
        warehouse.secret = secrets.token_urlsafe(32)
        warehouse.save(update_fields=["adapter_state", "secret"])


def backwards(apps, schema_editor):
    Store = apps.get_model("connections", "Store")
    Warehouse = apps.get_model("connections", "Warehouse")
    for store in Store.objects.exclude(import_since=None):
        adapter = dict(store.adapter or {})
        adapter["import_since"] = store.import_since.isoformat().replace("+00:00", "Z")
        store.adapter = adapter
        store.save(update_fields=["adapter"])
    for warehouse in Warehouse.objects.all():
        state = dict(warehouse.adapter_state or {})
        warehouse.host_key = state.pop("host_key", "")
        warehouse.pending_host_key = state.pop("pending_host_key", "")
        warehouse.adapter_state = state
        warehouse.save(update_fields=["host_key", "pending_host_key", "adapter_state"])


class Migration(migrations.Migration):

    dependencies = [
        ('connections', '0003_push_reconciliation'),
    ]

    operations = [
        migrations.AddField(
            model_name='store',
            name='adapter_state',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='store',
            name='import_since',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='warehouse',
            name='secret',
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name='warehouse',
            name='secret',
            field=models.CharField(default=dropstream.connections.models._push_secret,
                                   help_text="The secret of the warehouse's hook URL",
                                   max_length=64, unique=True),
        ),
        migrations.RemoveField(
            model_name='warehouse',
            name='host_key',
        ),
        migrations.RemoveField(
            model_name='warehouse',
            name='pending_host_key',
        ),
    ]
