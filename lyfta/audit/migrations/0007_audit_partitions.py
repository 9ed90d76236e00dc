"""The audit events and seals partitioned by month on PostgreSQL (issue 20 point 2, decision
0023). Every seal gets its event's time (`occurred_at`), the partition key of both tables; on
PostgreSQL the two tables are then rebuilt partitioned (lyfta/audit/partition_convert.py: one
transaction, the rows copied; docs/operations.md says what that costs on a large log). SQLite keeps
one table of each and only gains the column."""

import datetime

from django.db import migrations, models


def sqlite_triggers_off(apps, schema_editor):
    # Filling the new column is an UPDATE, which the append-only triggers refuse.
    if schema_editor.connection.vendor == "sqlite":
        from lyfta.audit import triggers

        triggers.uninstall(schema_editor.connection)


def triggers_on(apps, schema_editor):
    from lyfta.audit import triggers

    triggers.install(schema_editor.connection)


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        from lyfta.audit import partition_convert

        partition_convert.partition(schema_editor, apps.get_model("audit", "AuditEvent"))
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditseal SET occurred_at = "
            "(SELECT occurred_at FROM audit_auditevent WHERE id = audit_auditseal.event_id)"
        )
    triggers_on(apps, schema_editor)


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        from lyfta.audit import partition_convert

        partition_convert.unpartition(
            schema_editor, apps.get_model("audit", "AuditEvent"), apps.get_model("audit", "AuditSeal")
        )
        return
    from lyfta.audit import triggers

    triggers.uninstall(connection)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0006_signin_failure_index'),
    ]

    operations = [
        migrations.RunPython(sqlite_triggers_off, triggers_on),
        migrations.AddField(
            model_name='auditseal',
            name='occurred_at',
            field=models.DateTimeField(
                default=datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.timezone.utc),
                verbose_name='händelsens tidpunkt',
            ),
            preserve_default=False,
        ),
        migrations.RunPython(forwards, backwards),
    ]
