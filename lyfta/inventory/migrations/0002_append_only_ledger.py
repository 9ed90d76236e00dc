"""Database triggers that make the stock ledger append-only."""

from django.db import migrations


def install(apps, schema_editor):
    from lyfta.inventory import triggers

    triggers.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from lyfta.inventory import triggers

    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
