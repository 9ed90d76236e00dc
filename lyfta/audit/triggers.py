"""Database triggers that keep the audit tables append-only (R65) on SQLite and PostgreSQL.

UPDATE is always rejected; DELETE only for events (and their seals) that a prune permit covers and
that are older than the legal minimum of five years (R73); TRUNCATE (PostgreSQL) always. A
superuser can still drop triggers; the hash chain and the keyed MACs catch what that allows.

On PostgreSQL the events and seals are partitioned by month (lyfta.audit.partitions): the row
triggers made on the partitioned table are PostgreSQL's to copy onto every partition, but a
TRUNCATE of one partition by its own name fires only that partition's statement triggers, so each
partition gets its own TRUNCATE guard (here for those that exist, and from the partition function
for those it makes)."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

EVENTS = "audit_auditevent"
SEALS = "audit_auditseal"
CHECKPOINTS = "audit_auditcheckpoint"
PERMITS = "audit_auditprunepermit"
MESSAGE = "the audit trail is append-only"

_SQLITE_CUTOFF = "strftime('%Y-%m-%d %H:%M:%f', 'now', '-5 years')"
_SQLITE_PERMITTED = f"(SELECT COALESCE(MAX(max_event_id), 0) FROM {PERMITS})"

SQLITE_INSTALL = [
    *(
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        for table in (EVENTS, SEALS, CHECKPOINTS, PERMITS)
    ),
    *(
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        for table in (CHECKPOINTS, PERMITS)
    ),
    f"CREATE TRIGGER IF NOT EXISTS {EVENTS}_guard_delete BEFORE DELETE ON {EVENTS} "
    f"WHEN OLD.id > {_SQLITE_PERMITTED} OR OLD.occurred_at >= {_SQLITE_CUTOFF} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS {SEALS}_guard_delete BEFORE DELETE ON {SEALS} "
    f"WHEN OLD.event_id > {_SQLITE_PERMITTED} OR COALESCE("
    f"(SELECT occurred_at FROM {EVENTS} WHERE id = OLD.event_id), '9999') >= {_SQLITE_CUTOFF} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
SQLITE_UNINSTALL = [
    *(f"DROP TRIGGER IF EXISTS {t}_no_update" for t in (EVENTS, SEALS, CHECKPOINTS, PERMITS)),
    *(f"DROP TRIGGER IF EXISTS {t}_no_delete" for t in (CHECKPOINTS, PERMITS)),
    f"DROP TRIGGER IF EXISTS {EVENTS}_guard_delete",
    f"DROP TRIGGER IF EXISTS {SEALS}_guard_delete",
]


def _each_partition(statement: str) -> str:
    """A block that runs `statement` (a format() string of the trigger name and the table) for
    the TRUNCATE guard of every partition of the events and seals."""
    return f"""DO $$ DECLARE part regclass; BEGIN
        FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                WHERE inhparent IN (to_regclass('{EVENTS}'), to_regclass('{SEALS}')) LOOP
            EXECUTE format('{statement}', part::text || '_no_truncate', part);
        END LOOP;
    END $$"""


_PG_PERMITTED = f"(SELECT COALESCE(MAX(max_event_id), 0) FROM {PERMITS})"
POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION lyfta_audit_reject() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    f"""CREATE OR REPLACE FUNCTION lyfta_audit_guard_event_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.id > {_PG_PERMITTED} OR OLD.occurred_at >= now() - interval '5 years' THEN
            RAISE EXCEPTION '{MESSAGE} (DELETE on %)', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION lyfta_audit_guard_seal_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.event_id > {_PG_PERMITTED} OR COALESCE(
            (SELECT occurred_at FROM {EVENTS} WHERE id = OLD.event_id), 'infinity'
        ) >= now() - interval '5 years' THEN
            RAISE EXCEPTION '{MESSAGE} (DELETE on %)', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END $$""",
    *(
        f"CREATE OR REPLACE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION lyfta_audit_reject()"
        for table in (EVENTS, SEALS, CHECKPOINTS, PERMITS)
    ),
    *(
        f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION lyfta_audit_reject()"
        for table in (EVENTS, SEALS, CHECKPOINTS, PERMITS)
    ),
    *(
        f"CREATE OR REPLACE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION lyfta_audit_reject()"
        for table in (CHECKPOINTS, PERMITS)
    ),
    f"CREATE OR REPLACE TRIGGER {EVENTS}_guard_delete BEFORE DELETE ON {EVENTS} "
    "FOR EACH ROW EXECUTE FUNCTION lyfta_audit_guard_event_delete()",
    f"CREATE OR REPLACE TRIGGER {SEALS}_guard_delete BEFORE DELETE ON {SEALS} "
    "FOR EACH ROW EXECUTE FUNCTION lyfta_audit_guard_seal_delete()",
    _each_partition(
        "CREATE OR REPLACE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT "
        "EXECUTE FUNCTION lyfta_audit_reject()"
    ),
]
POSTGRES_UNINSTALL = [
    _each_partition("DROP TRIGGER IF EXISTS %I ON %s"),
    *(
        f"DROP TRIGGER IF EXISTS {table}_{kind} ON {table}"
        for table in (EVENTS, SEALS, CHECKPOINTS, PERMITS)
        for kind in ("no_update", "no_truncate", "no_delete", "guard_delete")
    ),
    "DROP FUNCTION IF EXISTS lyfta_audit_reject()",
    "DROP FUNCTION IF EXISTS lyfta_audit_guard_event_delete()",
    "DROP FUNCTION IF EXISTS lyfta_audit_guard_seal_delete()",
]


def _statements(connection: BaseDatabaseWrapper, install: bool) -> list[str]:
    if connection.vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_UNINSTALL
    if connection.vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_UNINSTALL
    raise NotImplementedError(f"audit triggers for {connection.vendor} are not written")


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers (idempotent)."""
    with connection.cursor() as cursor:
        for statement in _statements(connection, install=True):
            cursor.execute(statement)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    """Drop the triggers. Used by the migration's reverse and by the test harness before Django
    empties the tables of a transactional test; never by the application."""
    with connection.cursor() as cursor:
        for statement in _statements(connection, install=False):
            cursor.execute(statement)
