from django.db import migrations, models


def limit_staff_with_merchants(apps, schema_editor):
    # Until now a non-empty list limited a staff user; keep those users limited. Staff with an
    # empty list were "all merchants" and stay so.
    User = apps.get_model("accounts", "User")
    User.objects.filter(merchants__isnull=False).distinct().update(limited_to_merchants=True)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="limited_to_merchants",
            field=models.BooleanField(
                default=False,
                help_text="Staff only: see only the merchants listed (none when the list is "
                          "empty). Giving a Staff user merchants sets this.",
                verbose_name="limited to merchants"),
        ),
        migrations.AlterField(
            model_name="user",
            name="merchants",
            field=models.ManyToManyField(blank=True, help_text="The merchants a limited Staff user sees",
                                         related_name="staff_users", to="connections.merchant"),
        ),
        migrations.RunPython(limit_staff_with_merchants, migrations.RunPython.noop),
    ]
