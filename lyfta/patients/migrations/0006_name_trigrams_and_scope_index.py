"""Two indexes for the patient search at national size (PostgreSQL only; docs/performance.md,
issue 19):

- **Trigram indexes on the upper-cased names** (`pg_trgm`, GIN): the search filters on
  UPPER(first_name) LIKE '%…%' OR UPPER(last_name) LIKE '%…%', which no b-tree can answer. Without
  them a word that few patients carry had PostgreSQL walk every patient of the unit (30,000 index
  probes at national size) or the whole name index before it knew there was less than a page;
  with them it reads the word's patients from the index and keeps those of the unit.
- **The unit's open care relationships as a covering index** (unit, patient, with the dates):
  every "patients in the actor's scope" (R33) reads only this index, never the relationships'
  rows (an index-only scan: at national size a unit's ~50,000 relationships).

`pg_trgm` is a trusted extension (PostgreSQL 13+): the database's owner may create it. Where the
database user may not, the trigram indexes are left out with a notice and the search still works,
slower (docs/operations.md)."""

from __future__ import annotations

import sys
from typing import Any

from django.db import DatabaseError, migrations, transaction

TRIGRAMS = {
    "patient_first_name_trgm": "upper((first_name)::text)",
    "patient_last_name_trgm": "upper((last_name)::text)",
}
SCOPE_INDEX = (
    "CREATE INDEX IF NOT EXISTS care_open_by_unit ON patients_carerelationship "
    "(unit_id, patient_id) INCLUDE (valid_from, valid_until) WHERE ended_at IS NULL"
)


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(SCOPE_INDEX)
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for name, expression in TRIGRAMS.items():
                schema_editor.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON patients_patient "
                    f"USING gin ({expression} gin_trgm_ops)"
                )
    except DatabaseError as error:
        print(
            f"\n  pg_trgm could not be used ({error}); the name search works without its "
            "trigram indexes, slower (docs/operations.md).",
            file=sys.stderr,
        )
    schema_editor.execute("ANALYZE patients_patient")
    schema_editor.execute("ANALYZE patients_carerelationship")


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in (*TRIGRAMS, "care_open_by_unit"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("patients", "0005_name_statistics")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
