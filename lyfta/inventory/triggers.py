"""Triggers that keep the stock ledger append-only on SQLite and PostgreSQL: a movement once
written is never changed or removed; a correction is a new movement (DOMAIN.md §5)."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

LEDGER = "inventory_stockmovement"
MESSAGE = "the stock ledger is append-only"

SQLITE_INSTALL = [
    f"CREATE TRIGGER IF NOT EXISTS {LEDGER}_no_{op.lower()} BEFORE {op} ON {LEDGER} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    for op in ("UPDATE", "DELETE")
]
SQLITE_UNINSTALL = [f"DROP TRIGGER IF EXISTS {LEDGER}_no_{op}" for op in ("update", "delete")]

POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION lyfta_ledger_reject() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    f"CREATE OR REPLACE TRIGGER {LEDGER}_no_change BEFORE UPDATE OR DELETE ON {LEDGER} "
    "FOR EACH ROW EXECUTE FUNCTION lyfta_ledger_reject()",
    f"CREATE OR REPLACE TRIGGER {LEDGER}_no_truncate BEFORE TRUNCATE ON {LEDGER} "
    "FOR EACH STATEMENT EXECUTE FUNCTION lyfta_ledger_reject()",
]
POSTGRES_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {LEDGER}_no_change ON {LEDGER}",
    f"DROP TRIGGER IF EXISTS {LEDGER}_no_truncate ON {LEDGER}",
    "DROP FUNCTION IF EXISTS lyfta_ledger_reject()",
]


def _run(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        _run(connection, POSTGRES_INSTALL)
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_INSTALL)
    else:
        raise NotImplementedError(f"ledger triggers for {connection.vendor} are not written")


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        _run(connection, POSTGRES_UNINSTALL)
    elif connection.vendor == "sqlite":
        _run(connection, SQLITE_UNINSTALL)
