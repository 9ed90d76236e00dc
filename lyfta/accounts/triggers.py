"""Database triggers that bump a user's `access_version` on every change that can alter the
answer of a session gate or the assignment a session works in (decision 0018), on SQLite and
PostgreSQL.

The middleware keeps the gates' answers in the session and trusts them only while the version it
reads with the user row equals the one they were computed under. Triggers rather than signals,
because `QuerySet.update()`, `bulk_create()`, `QuerySet.delete()` of devices and raw SQL send no
signals; a trigger sees every row, in the writer's transaction. What bumps:

- the user's own row: any UPDATE (validity dates, active, suspension, the forced password change,
  a service account flag; also a stale `save()` that would write an older version back: the new
  version is always the old one plus one, never what the statement wrote);
- the user's assignments (`accounts_assignment`): INSERT, UPDATE, DELETE — for the old and the new
  user when a row changes hands;
- the user's agreement acceptances (`accounts_agreementacceptance`): INSERT, UPDATE, DELETE;
- the user's TOTP devices (`otp_totp_totpdevice`, the one device plugin installed): INSERT,
  UPDATE (confirmation, verification counters), DELETE;
- a unit or care provider (`organisations_unit`, `organisations_careprovider`): any UPDATE, for
  every user with an assignment there — the cached assignment carries its unit and provider (their
  names and organisation number go into every audit record).

A new version of the user agreement is a new text, so a new digest: the cache is keyed on it
(lyfta/accounts/gates.py), which needs no trigger."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

USER = "accounts_user"
ASSIGNMENT = "accounts_assignment"
AGREEMENT = "accounts_agreementacceptance"
TOTP = "otp_totp_totpdevice"
UNIT = "organisations_unit"
PROVIDER = "organisations_careprovider"
# The tables whose rows name the user they concern in `user_id`.
PER_USER = (ASSIGNMENT, AGREEMENT, TOTP)

_BUMP = f"UPDATE {USER} SET access_version = access_version + 1 WHERE id = "
_UNIT_USERS = f"SELECT user_id FROM {ASSIGNMENT} WHERE unit_id = "
_PROVIDER_USERS = (
    f"SELECT a.user_id FROM {ASSIGNMENT} a JOIN {UNIT} u ON u.id = a.unit_id WHERE u.provider_id = "
)


def _sqlite_per_user(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_access_insert AFTER INSERT ON {table} "
        f"BEGIN {_BUMP}NEW.user_id; END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_access_update AFTER UPDATE ON {table} "
        f"BEGIN {_BUMP}OLD.user_id; "
        f"{_BUMP}NEW.user_id AND NEW.user_id IS NOT OLD.user_id; END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_access_delete AFTER DELETE ON {table} "
        f"BEGIN {_BUMP}OLD.user_id; END",
    ]


SQLITE_INSTALL = [
    # SQLite cannot change NEW in a BEFORE trigger: the row is written again after the statement.
    # The WHEN clause lets through every statement that did not itself raise the version (a plain
    # UPDATE, or a stale save() that wrote an older one) and stops the trigger's own UPDATE.
    f"CREATE TRIGGER IF NOT EXISTS {USER}_access_update AFTER UPDATE ON {USER} "
    "WHEN NEW.access_version <= OLD.access_version "
    f"BEGIN UPDATE {USER} SET access_version = OLD.access_version + 1 WHERE id = NEW.id; END",
    *(statement for table in PER_USER for statement in _sqlite_per_user(table)),
    f"CREATE TRIGGER IF NOT EXISTS {UNIT}_access_update AFTER UPDATE ON {UNIT} "
    f"BEGIN UPDATE {USER} SET access_version = access_version + 1 "
    f"WHERE id IN ({_UNIT_USERS}OLD.id); END",
    f"CREATE TRIGGER IF NOT EXISTS {PROVIDER}_access_update AFTER UPDATE ON {PROVIDER} "
    f"BEGIN UPDATE {USER} SET access_version = access_version + 1 "
    f"WHERE id IN ({_PROVIDER_USERS}OLD.id); END",
]
SQLITE_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {USER}_access_update",
    *(
        f"DROP TRIGGER IF EXISTS {table}_access_{op}"
        for table in PER_USER
        for op in ("insert", "update", "delete")
    ),
    f"DROP TRIGGER IF EXISTS {UNIT}_access_update",
    f"DROP TRIGGER IF EXISTS {PROVIDER}_access_update",
]

POSTGRES_INSTALL = [
    """CREATE OR REPLACE FUNCTION lyfta_access_version_user() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.access_version := OLD.access_version + 1;
        RETURN NEW;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION lyfta_access_version_row() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            {_BUMP}OLD.user_id;
        END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
            {_BUMP}NEW.user_id;
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION lyfta_access_version_unit() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {USER} SET access_version = access_version + 1
            WHERE id IN ({_UNIT_USERS}OLD.id);
        RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION lyfta_access_version_provider() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {USER} SET access_version = access_version + 1
            WHERE id IN ({_PROVIDER_USERS}OLD.id);
        RETURN NULL;
    END $$""",
    f"CREATE OR REPLACE TRIGGER {USER}_access_update BEFORE UPDATE ON {USER} "
    "FOR EACH ROW EXECUTE FUNCTION lyfta_access_version_user()",
    *(
        f"CREATE OR REPLACE TRIGGER {table}_access_change "
        f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION lyfta_access_version_row()"
        for table in PER_USER
    ),
    f"CREATE OR REPLACE TRIGGER {UNIT}_access_update AFTER UPDATE ON {UNIT} "
    "FOR EACH ROW EXECUTE FUNCTION lyfta_access_version_unit()",
    f"CREATE OR REPLACE TRIGGER {PROVIDER}_access_update AFTER UPDATE ON {PROVIDER} "
    "FOR EACH ROW EXECUTE FUNCTION lyfta_access_version_provider()",
]
POSTGRES_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {USER}_access_update ON {USER}",
    *(f"DROP TRIGGER IF EXISTS {table}_access_change ON {table}" for table in PER_USER),
    f"DROP TRIGGER IF EXISTS {UNIT}_access_update ON {UNIT}",
    f"DROP TRIGGER IF EXISTS {PROVIDER}_access_update ON {PROVIDER}",
    "DROP FUNCTION IF EXISTS lyfta_access_version_user()",
    "DROP FUNCTION IF EXISTS lyfta_access_version_row()",
    "DROP FUNCTION IF EXISTS lyfta_access_version_unit()",
    "DROP FUNCTION IF EXISTS lyfta_access_version_provider()",
]


def _statements(connection: BaseDatabaseWrapper, install: bool) -> list[str]:
    if connection.vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_UNINSTALL
    if connection.vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_UNINSTALL
    raise NotImplementedError(f"access-version triggers for {connection.vendor} are not written")


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers (idempotent)."""
    with connection.cursor() as cursor:
        for statement in _statements(connection, install=True):
            cursor.execute(statement)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    """Drop the triggers (the migration's reverse)."""
    with connection.cursor() as cursor:
        for statement in _statements(connection, install=False):
            cursor.execute(statement)
