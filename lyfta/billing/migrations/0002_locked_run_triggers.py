"""Database triggers that keep a locked billing run and its lines unchanged (issue 14 point 4)."""

from django.db import migrations


def install(apps, schema_editor):
    from lyfta.billing import triggers

    triggers.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from lyfta.billing import triggers

    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
