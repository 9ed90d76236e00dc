"""Database triggers that keep a locked billing run locked (issue 14 point 4), on SQLite and
PostgreSQL, as the audit table's are kept append-only: no UPDATE or DELETE of a line whose run is
locked, no INSERT of a line into a locked run (nor an UPDATE moving a line into one), and no
UPDATE or DELETE of a locked run's own row. Locking itself is an UPDATE of a run that is not yet
locked, which is allowed. Corrections are new lines in a later run."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

RUNS = "billing_billingrun"
LINES = "billing_billingline"
MESSAGE = "a locked billing run never changes"

_LOCKED_OLD = f"(SELECT status FROM {RUNS} WHERE id = OLD.run_id) = 'locked'"
_LOCKED_NEW = f"(SELECT status FROM {RUNS} WHERE id = NEW.run_id) = 'locked'"

SQLITE_INSTALL = [
    f"CREATE TRIGGER IF NOT EXISTS {LINES}_locked_insert BEFORE INSERT ON {LINES} "
    f"WHEN {_LOCKED_NEW} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS {LINES}_locked_update BEFORE UPDATE ON {LINES} "
    f"WHEN {_LOCKED_OLD} OR {_LOCKED_NEW} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS {LINES}_locked_delete BEFORE DELETE ON {LINES} "
    f"WHEN {_LOCKED_OLD} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS {RUNS}_locked_update BEFORE UPDATE ON {RUNS} "
    f"WHEN OLD.status = 'locked' BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS {RUNS}_locked_delete BEFORE DELETE ON {RUNS} "
    f"WHEN OLD.status = 'locked' BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
SQLITE_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {LINES}_locked_insert",
    f"DROP TRIGGER IF EXISTS {LINES}_locked_update",
    f"DROP TRIGGER IF EXISTS {LINES}_locked_delete",
    f"DROP TRIGGER IF EXISTS {RUNS}_locked_update",
    f"DROP TRIGGER IF EXISTS {RUNS}_locked_delete",
]

POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION lyfta_billing_line_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND
           (SELECT status FROM {RUNS} WHERE id = OLD.run_id) = 'locked' THEN
            RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND
           (SELECT status FROM {RUNS} WHERE id = NEW.run_id) = 'locked' THEN
            RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION lyfta_billing_run_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status = 'locked' THEN
            RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END $$""",
    # A run's lines are written by the thousand (COPY): INSERT is checked once per statement
    # over the rows it added, UPDATE and DELETE row by row.
    f"""CREATE OR REPLACE FUNCTION lyfta_billing_insert_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM added JOIN {RUNS} r ON r.id = added.run_id
                   WHERE r.status = 'locked') THEN
            RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NULL;
    END $$""",
    f"CREATE OR REPLACE TRIGGER {LINES}_locked BEFORE UPDATE OR DELETE ON {LINES} "
    "FOR EACH ROW EXECUTE FUNCTION lyfta_billing_line_guard()",
    f"CREATE OR REPLACE TRIGGER {LINES}_locked_insert AFTER INSERT ON {LINES} "
    "REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION lyfta_billing_insert_guard()",
    f"CREATE OR REPLACE TRIGGER {RUNS}_locked BEFORE UPDATE OR DELETE ON {RUNS} "
    "FOR EACH ROW EXECUTE FUNCTION lyfta_billing_run_guard()",
]
POSTGRES_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {LINES}_locked ON {LINES}",
    f"DROP TRIGGER IF EXISTS {LINES}_locked_insert ON {LINES}",
    f"DROP TRIGGER IF EXISTS {RUNS}_locked ON {RUNS}",
    "DROP FUNCTION IF EXISTS lyfta_billing_line_guard()",
    "DROP FUNCTION IF EXISTS lyfta_billing_run_guard()",
    "DROP FUNCTION IF EXISTS lyfta_billing_insert_guard()",
]


def _statements(connection: BaseDatabaseWrapper, install: bool) -> list[str]:
    if connection.vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_UNINSTALL
    if connection.vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_UNINSTALL
    raise NotImplementedError(f"billing triggers for {connection.vendor} are not written")


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers (idempotent)."""
    with connection.cursor() as cursor:
        for statement in _statements(connection, install=True):
            cursor.execute(statement)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    """Drop the triggers: the migration's reverse, and the test harness before Django empties the
    tables after a transactional test; never the application."""
    with connection.cursor() as cursor:
        for statement in _statements(connection, install=False):
            cursor.execute(statement)
