"""A locked run keeps who it invoices as they were when it was locked (`invoice_parties`).

SQLite adds the column by rebuilding the run table, which drops the table's triggers and trips
over the line triggers that name it: the lock triggers are taken down around the change and put
back after (on PostgreSQL that is a harmless no-op pair)."""

from django.db import migrations, models


def install(apps, schema_editor):
    from lyfta.billing import triggers

    triggers.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from lyfta.billing import triggers

    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_locked_run_triggers")]

    operations = [
        migrations.RunPython(uninstall, install),
        migrations.AddField(
            model_name="billingrun",
            name="invoice_parties",
            field=models.JSONField(
                blank=True,
                default=dict,
                editable=False,
                verbose_name="fakturaparter vid låsning",
            ),
        ),
        migrations.RunPython(install, uninstall),
    ]
