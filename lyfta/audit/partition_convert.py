"""Migration 0007 on PostgreSQL: turn the audit event and seal tables into tables partitioned by
month (decision 0023), and back.

The whole conversion is one transaction under an ACCESS EXCLUSIVE lock on both tables: nothing
reads or writes the audit trail meanwhile (stop the application, docs/operations.md). The old
tables are renamed aside, new partitioned ones made like them, the months from the oldest event to
`MONTHS_AHEAD` after the newest (or now) created, every row copied (INSERT … SELECT; each seal
gets its event's time), the keys, indexes, identity sequence, grants and triggers put back, and
the old tables dropped. Copying rather than attaching the old table as one "history" partition
costs time and a second copy on disk while it runs, but leaves every month its own partition that
retention can later detach alone."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from lyfta.audit import partitions, triggers
from lyfta.audit.partitions import EVENTS, SEALS, TABLES

log = logging.getLogger(__name__)

ASIDE = "_unpartitioned"
# Columns of the seal table as migration 0006 left it, without the event time it gains: frozen
# here (not lyfta.audit.sealing's list), as a migration must stay what it was.
SEAL_COLUMNS = (
    "seq",
    "version",
    "prev_hash",
    "entry_hash",
    "mac",
    "key_id",
    "sealed_at",
    "event_id",
)


@contextmanager
def _step(what: str) -> Iterator[None]:
    """Log each step and its time: on a large log the migration runs for minutes (and the
    operator sees where it is)."""
    start = time.perf_counter()
    log.info("audit partitions: %s…", what)
    yield
    log.info("audit partitions: %s took %.1f s", what, time.perf_counter() - start)


def _one(cursor: Any, sql: str, params: list[Any] | None = None) -> Any:
    cursor.execute(sql, params or [])
    row = cursor.fetchone()
    return row[0] if row else None


def _grants(cursor: Any, relation: str) -> list[tuple[str, str]]:
    """(grantee, privilege) of everyone but the owner on `relation` (PUBLIC by that name)."""
    cursor.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, "
        "a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
        "WHERE c.oid = to_regclass(%s) AND a.grantee <> c.relowner",
        [relation],
    )
    return [(grantee, privilege) for grantee, privilege in cursor.fetchall()]


def _set_aside(cursor: Any, table: str) -> None:
    """Rename `table`, its indexes (and so its key constraints) and its identity sequence out of
    the way of the new table's names."""
    cursor.execute(
        "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = to_regclass(%s)",
        [table],
    )
    for (index,) in cursor.fetchall():
        cursor.execute(f'ALTER INDEX "{index}" RENAME TO "{(index + ASIDE)[:63]}"')
    sequence = None
    if table == EVENTS:  # the seals are numbered by the sealer, not by a sequence
        sequence = _one(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [table])
    if sequence:
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {table}_id_seq{ASIDE}")
    cursor.execute(f"ALTER TABLE {table} RENAME TO {table}{ASIDE}")


def _month_range(cursor: Any) -> tuple[Any, Any]:
    """The first and last month to create: the oldest event's month (or the previous month) to
    MONTHS_AHEAD after the newest event or now, whichever is later."""
    cursor.execute(f"SELECT min(occurred_at), max(occurred_at) FROM {EVENTS}{ASIDE}")  # noqa: S608
    oldest, newest = cursor.fetchone()
    now = _one(cursor, "SELECT now()")
    first = partitions.add_months(partitions.month_of(now), -1)
    if oldest is not None:
        first = min(first, partitions.month_of(oldest))
    last = partitions.month_of(max(now, newest) if newest is not None else now)
    return first, partitions.add_months(last, partitions.MONTHS_AHEAD)


def partition(schema_editor: BaseDatabaseSchemaEditor, event_model: Any) -> None:
    """Convert the two tables (PostgreSQL; `event_model` is the migration's AuditEvent, whose
    indexes are made again on the partitioned table)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {EVENTS}, {SEALS} IN ACCESS EXCLUSIVE MODE")
        orphans = _one(
            cursor,
            f"SELECT count(*) FROM {SEALS} s WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {EVENTS} e WHERE e.id = s.event_id)",
        )
        if orphans:
            raise RuntimeError(
                f"{orphans} audit seals have no event: run manage.py verify_audit and settle "
                "that before partitioning the audit tables"
            )
        grants = {table: _grants(cursor, table) for table in TABLES}
        old_sequence = _one(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [EVENTS])
        sequence_grants = _grants(cursor, old_sequence) if old_sequence else []
        # The seal's foreign key to the event cannot point into a partitioned table by the id
        # alone (the key there is (id, occurred_at)); verify_audit checks that every seal has
        # its event.
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND (conrelid = to_regclass(%s) "
            "OR confrelid = to_regclass(%s))",
            [SEALS, EVENTS],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE {SEALS} DROP CONSTRAINT "{name}"')
        for table in TABLES:
            _set_aside(cursor, table)
            cursor.execute(
                f"CREATE TABLE {table} (LIKE {table}{ASIDE} INCLUDING DEFAULTS INCLUDING IDENTITY "
                "INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS) "
                "PARTITION BY RANGE (occurred_at)"
            )
        partitions.install_function(connection)
        with _step("months"):
            first, last = _month_range(cursor)
            cursor.execute(f"SELECT {partitions.ADD_FUNCTION}(%s, %s)", [first, last])
        with _step("copying the events"):
            cursor.execute(f"INSERT INTO {EVENTS} SELECT * FROM {EVENTS}{ASIDE}")  # noqa: S608
        with _step("copying the seals with their events' time"):
            columns = ", ".join(SEAL_COLUMNS)
            cursor.execute(
                f"INSERT INTO {SEALS} ({columns}, occurred_at) "  # noqa: S608
                f"SELECT {', '.join(f's.{c}' for c in SEAL_COLUMNS)}, e.occurred_at "
                f"FROM {SEALS}{ASIDE} s JOIN {EVENTS}{ASIDE} e ON e.id = s.event_id"
            )
        # Keys and indexes after the rows: building them once is faster than keeping them up
        # while copying. Every unique key holds the partition key.
        with _step("keys"):
            cursor.execute(f"ALTER TABLE {EVENTS} ADD PRIMARY KEY (id, occurred_at)")
            cursor.execute(f"ALTER TABLE {SEALS} ADD PRIMARY KEY (seq, occurred_at)")
            cursor.execute(
                f"ALTER TABLE {SEALS} ADD CONSTRAINT {SEALS}_event_key "
                "UNIQUE (event_id, occurred_at)"
            )
        with _step("indexes"):
            for index in event_model._meta.indexes:
                schema_editor.execute(index.create_sql(event_model, schema_editor))
        if old_sequence:
            _carry_sequence(cursor)
        _grant(cursor, grants, sequence_grants)
        with _step("dropping the old tables"):
            cursor.execute(f"DROP TABLE {SEALS}{ASIDE}, {EVENTS}{ASIDE}")
        triggers.install(connection)
        with _step("statistics (ANALYZE)"):
            cursor.execute(f"ANALYZE {EVENTS}, {SEALS}")


def _carry_sequence(cursor: Any) -> None:
    """The new table's identity sequence goes on where the old one (set aside) stood."""
    cursor.execute(f"SELECT last_value, is_called FROM {EVENTS}_id_seq{ASIDE}")  # noqa: S608
    value, called = cursor.fetchone()
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)", [EVENTS, value, called]
    )


def _grant(
    cursor: Any, grants: dict[str, list[tuple[str, str]]], sequence_grants: list[tuple[str, str]]
) -> None:
    """Give the new tables the old ones' grants, the identity sequence its, and EXECUTE on the
    partition function to every role that could add events (the scheduler's role)."""
    for table, granted in grants.items():
        for grantee, privilege in granted:
            cursor.execute(f"GRANT {privilege} ON {table} TO {grantee}")
    sequence = _one(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [EVENTS])
    for grantee, privilege in sequence_grants:
        cursor.execute(f"GRANT {privilege} ON SEQUENCE {sequence} TO {grantee}")
    for grantee, privilege in grants.get(EVENTS, []):
        if privilege == "INSERT" and grantee != "PUBLIC":
            cursor.execute(
                f"GRANT EXECUTE ON FUNCTION {partitions.ADD_FUNCTION}(date, date) TO {grantee}"
            )


def unpartition(schema_editor: BaseDatabaseSchemaEditor, event_model: Any, seal_model: Any) -> None:
    """The reverse: one plain table of each again, with Django's keys, indexes and the seal's
    foreign key, the rows copied back. `seal_model` is the migration's AuditSeal (still with the
    event time, which the migration's reverse drops next)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {EVENTS}, {SEALS} IN ACCESS EXCLUSIVE MODE")
        grants = {table: _grants(cursor, table) for table in TABLES}
        old_sequence = _one(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [EVENTS])
        sequence_grants = _grants(cursor, old_sequence) if old_sequence else []
        triggers.uninstall(connection)
        for table in TABLES:
            _set_aside(cursor, table)
            cursor.execute(
                f"CREATE TABLE {table} (LIKE {table}{ASIDE} INCLUDING DEFAULTS INCLUDING IDENTITY "
                "INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
            )
            cursor.execute(f"INSERT INTO {table} SELECT * FROM {table}{ASIDE}")  # noqa: S608
        cursor.execute(f"ALTER TABLE {EVENTS} ADD PRIMARY KEY (id)")
        cursor.execute(f"ALTER TABLE {SEALS} ADD PRIMARY KEY (seq)")
        cursor.execute(f"ALTER TABLE {SEALS} ADD CONSTRAINT {SEALS}_event_id_key UNIQUE (event_id)")
        for index in event_model._meta.indexes:
            schema_editor.execute(index.create_sql(event_model, schema_editor))
        event_field = seal_model._meta.get_field("event")
        schema_editor.execute(
            schema_editor._create_fk_sql(  # type: ignore[attr-defined]
                seal_model, event_field, "_fk_%(to_table)s_%(to_column)s"
            )
        )
        if old_sequence:
            _carry_sequence(cursor)
        _grant(cursor, grants, sequence_grants)
        cursor.execute(f"DROP TABLE {SEALS}{ASIDE}, {EVENTS}{ASIDE}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {partitions.ADD_FUNCTION}(date, date)")
        triggers.install(connection)
