"""Monthly partitions of the audit trail on PostgreSQL (issue 20 point 2, decision 0023).

The events and their seals are range-partitioned by the event's time (`occurred_at`; the seal
keeps a copy of it), one partition per calendar month of Europe/Stockholm (TIME_ZONE: the days in
which the log reviewer and `prune_audit --before` count). A month of the log is then a pair of
tables, `audit_auditevent_y2026m01` and `audit_auditseal_y2026m01`, that retention detaches and
drops whole instead of deleting row by row (`lyfta.audit.retention`).

There is no default partition: an event whose month has no partition is refused (and with it the
operation that recorded it, R61). The scheduler therefore keeps the coming months created ahead
(`add_partitions_ahead`, daily), and whoever writes events of other months (an import of an old
log, the scale generator, a test) creates their months first (`ensure_for`). A default partition
would accept such rows silently and then stop the month from ever being created or detached.

Partitions are created by the database function `lyfta_audit_add_partitions`, owned by the
owner of the tables and run with its rights (SECURITY DEFINER): the application's role owns
nothing and could not create them itself, and the function can do nothing but add empty months.
SQLite keeps one table of each; everything here is a no-op there."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime

EVENTS = "audit_auditevent"
SEALS = "audit_auditseal"
TABLES = (EVENTS, SEALS)
# How many months after the current one the scheduler keeps created.
MONTHS_AHEAD = 3
ADD_FUNCTION = "lyfta_audit_add_partitions"
# How long the partition function waits for its lock on the audit tables (prune_audit's detach
# holds the one it conflicts with for milliseconds; anything longer, the next day's run).
LOCK_TIMEOUT = "10s"
# PostgreSQL advisory lock key for "one partition creator at a time" (any fixed 64-bit number).
PARTITION_LOCK = 0x4C79667461A0D18
NAME = re.compile(r"^(audit_audit(?:event|seal))_y(\d{4})m(\d{2})$")


def add_function_sql(zone: str, schema: str) -> str:
    """The function that creates the partitions of the months `first`..`last` (inclusive, any
    days within them) of both tables, skipping those that exist; returns how many it created. The
    month boundaries are midnights in `zone`, and the tables those of `schema`, both fixed when the
    function is made (it runs with its owner's rights, so it trusts no caller's search path). A new
    partition gets the TRUNCATE guard of lyfta.audit.triggers (row triggers, keys and indexes it
    gets from its table when attached).

    Each month is made as a table of its own and then attached: ATTACH PARTITION needs only a
    SHARE UPDATE EXCLUSIVE lock on the audit tables, which readers and writers do not hold
    against it. `CREATE TABLE … PARTITION OF` would need ACCESS EXCLUSIVE: it would wait for
    every open transaction that has read or written the log (a log search, a nightly
    verify_audit), and every request's audit write would queue behind it meanwhile. The lock
    timeout bounds what is left (a running prune_audit); the scheduler tries again the next day."""
    ZoneInfo(zone)  # a real zone name (the TIME_ZONE setting), never input
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(f"unexpected schema name {schema!r}")
    # Built from constants, the zone name and the schema name, both checked above.
    return f"""
CREATE OR REPLACE FUNCTION {schema}.{ADD_FUNCTION}(first date, last date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}
SET lock_timeout = '{LOCK_TIMEOUT}' AS $$
DECLARE
    month date := date_trunc('month', first)::date;
    parent text;
    part text;
    created integer := 0;
BEGIN
    IF last - first > 3660 THEN
        RAISE EXCEPTION 'at most ten years of audit partitions at a time';
    END IF;
    WHILE month <= last LOOP
        FOREACH parent IN ARRAY ARRAY['{EVENTS}', '{SEALS}'] LOOP
            part := format('%s_y%sm%s', parent, to_char(month, 'YYYY'), to_char(month, 'MM'));
            IF to_regclass('{schema}.' || part) IS NULL THEN
                -- Taken only when something is missing: the check above costs no lock.
                PERFORM pg_advisory_xact_lock({PARTITION_LOCK});
                IF to_regclass('{schema}.' || part) IS NULL THEN
                    EXECUTE format(
                        'CREATE TABLE {schema}.%I (LIKE {schema}.%I INCLUDING CONSTRAINTS)',
                        part, parent
                    );
                    EXECUTE format(
                        'ALTER TABLE {schema}.%I ATTACH PARTITION {schema}.%I '
                        'FOR VALUES FROM (%L) TO (%L)',
                        parent, part,
                        month::timestamp AT TIME ZONE '{zone}',
                        (month + interval '1 month')::timestamp AT TIME ZONE '{zone}'
                    );
                    IF to_regprocedure('{schema}.lyfta_audit_reject()') IS NOT NULL THEN
                        EXECUTE format(
                            'CREATE TRIGGER %I BEFORE TRUNCATE ON {schema}.%I '
                            'FOR EACH STATEMENT EXECUTE FUNCTION {schema}.lyfta_audit_reject()',
                            part || '_no_truncate', part
                        );
                    END IF;
                    created := created + 1;
                END IF;
            END IF;
        END LOOP;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$"""  # noqa: S608


def install_function(connection: BaseDatabaseWrapper) -> None:
    """Create (or replace) the partition function; only the roles given EXECUTE may run it
    (docs/operations.md), not PUBLIC."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        cursor.execute(add_function_sql(settings.TIME_ZONE, schema))
        cursor.execute(f"REVOKE ALL ON FUNCTION {ADD_FUNCTION}(date, date) FROM PUBLIC")


def is_partitioned(using: str = "default") -> bool:
    """Whether the audit events are a partitioned table here (PostgreSQL after migration 0007)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))",
            [EVENTS],
        )
        return bool(cursor.fetchone()[0])


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def month_of(moment: dt.datetime | dt.date) -> dt.date:
    """The first day of the (Swedish) month that holds `moment`."""
    if isinstance(moment, dt.datetime):
        moment = moment.astimezone(local_zone()).date() if moment.tzinfo else moment.date()
    return moment.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Month:
    """One month of the log: the partition pair that holds the events of [start, end)."""

    first: dt.date  # the first day of the month

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time.min, tzinfo=local_zone())

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(add_months(self.first, 1), dt.time.min, tzinfo=local_zone())

    def table(self, parent: str) -> str:
        return f"{parent}_y{self.first:%Y}m{self.first:%m}"


def add_partitions(first: dt.date, last: dt.date, using: str = "default") -> int:
    """Create the partitions of the months from `first` to `last` (inclusive) that do not exist
    yet, for events and seals; returns how many tables were created. A no-op on SQLite."""
    if not is_partitioned(using):
        return 0
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {ADD_FUNCTION}(%s, %s)", [month_of(first), month_of(last)])
        return int(cursor.fetchone()[0])


def add_partitions_ahead(months: int = MONTHS_AHEAD, using: str = "default") -> int:
    """Keep the partitions from the previous month to `months` after the current one created
    (the scheduler, daily; idempotent)."""
    this_month = month_of(timezone.now())
    return add_partitions(add_months(this_month, -1), add_months(this_month, months), using)


def ensure_for(*moments: dt.datetime | dt.date, using: str = "default") -> int:
    """Create the partitions that events at `moments` need (an import of an old log, the scale
    generator, tests that write events of past months)."""
    if not moments:
        return 0
    months = [month_of(m) for m in moments]
    return add_partitions(min(months), max(months), using)


@dataclass(frozen=True)
class Partition:
    table: str
    parent: str
    start: dt.datetime | None  # None: MINVALUE, or not a range partition
    end: dt.datetime | None  # None: MAXVALUE, or not a range partition

    @property
    def month(self) -> Month | None:
        """The month this partition is, when it is exactly one month named as ours are."""
        match = NAME.match(self.table)
        if not match or self.start is None or self.end is None:
            return None
        month = Month(dt.date(int(match[2]), int(match[3]), 1))
        if (month.start, month.end) != (self.start, self.end) or match[1] != self.parent:
            return None
        return month


_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


def partitions(parent: str = EVENTS, using: str = "default") -> list[Partition]:
    """The partitions attached to `parent`, oldest first (those without a time range last)."""
    if not is_partitioned(using):
        return []
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [parent],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        match = _BOUND.search(bound or "")
        start = parse_datetime(match[1]) if match else None
        end = parse_datetime(match[2]) if match else None
        found.append(Partition(table=name, parent=parent, start=start, end=end))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda p: (p.start or far, p.table))


def months(using: str = "default") -> list[Month]:
    """The months that have both partitions attached, oldest first."""
    seal_months = {p.month for p in partitions(SEALS, using)} - {None}
    return [
        p.month for p in partitions(EVENTS, using) if p.month is not None and p.month in seal_months
    ]


def writable_until(now: dt.datetime, using: str = "default") -> dt.datetime | None:
    """The first moment from `now` on whose events have no monthly partition pair to go into:
    the end of the unbroken run of months, both tables made, that holds `now` (`now` itself when
    its month has none: audit writes are being refused). None where the tables are not
    partitioned (SQLite). A default partition, which production does not have (decision 0023),
    is not counted."""
    if not is_partitioned(using):
        return None
    ready = set(months(using))
    month = Month(month_of(now))
    if month not in ready:
        return now
    while Month(add_months(month.first, 1)) in ready:
        month = Month(add_months(month.first, 1))
    return month.end
