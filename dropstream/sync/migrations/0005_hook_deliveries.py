"""Deliveries to any platform's hook URL, a store's or a warehouse's, with the platform's event
id; warehouse documents remembered by event id (a file's hash is one kind)."""

from django.db import migrations, models
import django.db.models.deletion


def label_existing(apps, schema_editor):
    PushDelivery = apps.get_model("sync", "PushDelivery")
    PushDelivery.objects.filter(platform="").update(platform="brightsites", topic="order")


class Migration(migrations.Migration):

    dependencies = [
        ('connections', '0004_adapter_seam'),
        ('sync', '0004_move_intent_to_intents'),
    ]

    operations = [
        migrations.AlterField(
            model_name='pushdelivery',
            name='store',
            field=models.ForeignKey(blank=True, null=True,
                                    on_delete=django.db.models.deletion.CASCADE,
                                    related_name='push_deliveries', to='connections.store'),
        ),
        migrations.AddField(
            model_name='pushdelivery',
            name='warehouse',
            field=models.ForeignKey(blank=True, null=True,
                                    on_delete=django.db.models.deletion.CASCADE,
                                    related_name='hook_deliveries', to='connections.warehouse'),
        ),
        migrations.AddField(
            model_name='pushdelivery',
            name='platform',
            field=models.CharField(blank=True, default='', max_length=50),
        ),
        migrations.AddField(
            model_name='pushdelivery',
            name='topic',
            field=models.CharField(blank=True, default='', max_length=32),
        ),
        migrations.AddField(
            model_name='pushdelivery',
            name='event_id',
            field=models.CharField(blank=True, default='', max_length=255),
        ),
        migrations.RunPython(label_existing, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='pushdelivery',
            index=models.Index(fields=['event_id'], name='push_event_id'),
        ),
        migrations.RemoveConstraint(
            model_name='processeddocument',
            name='processed_doc_unique',
        ),
        migrations.RenameField(
            model_name='processeddocument',
            old_name='sha256',
            new_name='event_id',
        ),
        migrations.AlterField(
            model_name='processeddocument',
            name='event_id',
            field=models.CharField(max_length=255),
        ),
        migrations.AddConstraint(
            model_name='processeddocument',
            constraint=models.UniqueConstraint(fields=('warehouse', 'event_id'),
                                               name='processed_doc_unique'),
        ),
    ]
