"""Statistics on the upper-cased names (PostgreSQL only): the name search filters on
UPPER(first_name) LIKE '%…%' OR UPPER(last_name) LIKE '%…%'. Without statistics on those
expressions the planner guesses a match rate of about 1 % for any word, at national size reads the
whole table and sorts it (300 ms). With them it sees how common the word is and, for a common one,
walks the (last_name, first_name) index and stops after a page (docs/performance.md, issue 19)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

STATISTICS = {
    "patient_first_name_upper": "upper((first_name)::text)",
    "patient_last_name_upper": "upper((last_name)::text)",
}


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, expression in STATISTICS.items():
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {name} ON ({expression}) FROM patients_patient"
        )
    # Filled now rather than at the next autovacuum's ANALYZE (a sample: seconds at any size).
    schema_editor.execute("ANALYZE patients_patient")


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in STATISTICS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("patients", "0004_register_event")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
