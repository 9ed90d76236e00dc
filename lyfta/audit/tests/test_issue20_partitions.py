"""Issue 20 point 2: the audit events and seals partitioned by month on PostgreSQL (decision 0023).
The migration's result and its way back, events landing in their month, the scheduler's months
ahead, retention detaching whole months with verify_audit passing before and after (R73, R74),
and the append-only guards on the partitioned tables (R65). SQLite keeps one table of each, so
these tests run on PostgreSQL only."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County
from lyfta.access.actor import Actor
from lyfta.access.commands import run_once
from lyfta.audit import partitions, retention, triggers
from lyfta.audit.models import AuditCheckpoint, AuditEvent, AuditPrunePermit, AuditSeal
from lyfta.audit.partitions import EVENTS, SEALS, Month, add_months, month_of
from lyfta.audit.retention import audit_prune
from lyfta.audit.sealing import (
    FORMAT_VERSION,
    audit_key,
    audit_seal,
    chain_hash,
    fetch_events,
    key_id,
    seal_mac,
)
from lyfta.audit.services import record
from lyfta.audit.shipping import ship_audit
from lyfta.audit.verify import audit_verify
from lyfta.core.scheduler import jobs
from lyfta.patients.models import CareRelationship, Patient

SYSTEM = Actor.system("test")

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgresql_only(db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the audit tables are partitioned on PostgreSQL only; SQLite keeps one table")


@contextmanager
def clock(moment: dt.datetime) -> Iterator[None]:
    """Record and seal as if it were `moment`."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def events(n: int, label: str = "now") -> list[AuditEvent]:
    return [
        record(action="unit.updated", actor=SYSTEM, resource_type="test", resource_id=f"{label}{i}")
        for i in range(n)
    ]


def old_month_events(month: dt.date, n: int) -> list[AuditEvent]:
    """`n` events in `month` (long past), written as an import would: its partitions first."""
    partitions.ensure_for(month)
    start = Month(month).start + dt.timedelta(days=3)
    return [
        AuditEvent.objects.create(
            occurred_at=start + dt.timedelta(hours=i),
            action="unit.updated",
            outcome="granted",
            source_system="import",
            resource_id=f"{month:%Y-%m}/{i}",
        )
        for i in range(n)
    ]


def home(table: str, key: str, value: int) -> str:
    """The partition that holds the row of `table` whose `key` is `value`."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE {key} = %s", [value])  # noqa: S608
        return str(cursor.fetchone()[0])


def exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return bool(cursor.fetchone()[0])


def refused(statement: str, match: str = "append-only") -> None:
    """`statement` fails in the database (and is rolled back to before it)."""
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


def this_month() -> dt.date:
    return month_of(timezone.now())


# Seven years back: older than every retention period that cleanup allows.
OLD = add_months(month_of(timezone.now()), -7 * 12)


# --- the migration ------------------------------------------------------------------------------


def test_issue20_the_migration_partitions_both_tables_by_month_with_the_time_in_every_key() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_partitioned_table p "
            "JOIN pg_class c ON c.oid = p.partrelid ORDER BY 1"
        )
        assert cursor.fetchall() == [
            (EVENTS, "RANGE (occurred_at)"),
            (SEALS, "RANGE (occurred_at)"),
        ]
        cursor.execute(
            "SELECT conrelid::regclass::text, contype, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid IN (to_regclass(%s), to_regclass(%s)) "
            "AND contype IN ('p', 'u', 'f') ORDER BY 1, 2",
            [EVENTS, SEALS],
        )
        assert cursor.fetchall() == [
            (EVENTS, "p", "PRIMARY KEY (id, occurred_at)"),
            (SEALS, "p", "PRIMARY KEY (seq, occurred_at)"),
            (SEALS, "u", "UNIQUE (event_id, occurred_at)"),
        ]
        # The model's partial indexes are on the partitioned table (and so on every month).
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [EVENTS])
        indexes = {name for (name,) in cursor.fetchall()}
    assert {index.name for index in AuditEvent._meta.indexes} <= indexes
    # From the previous month to three months ahead, and no default partition of its own.
    labels = [m.label for m in partitions.months()]
    wanted = [Month(add_months(this_month(), k)).label for k in range(-1, 4)]
    assert labels[-5:] == wanted
    assert {p.table for p in partitions.partitions(EVENTS) if p.month is None} == {
        f"{EVENTS}_test_default"  # the test harness's stand-in (conftest.py), not the migration's
    }


def test_issue20_the_migration_copies_every_row_into_its_month_and_back() -> None:
    """Migrating back to one table of each and forward again (what an existing installation's
    upgrade does) keeps every event and seal, puts each into its month, and the chain verifies
    before, in between and after."""
    months = [OLD, add_months(OLD, 1)]
    for month in months:
        old_month_events(month, 3)
    audit_seal(backfill=True)
    young = events(4)
    audit_seal(checkpoint=True)
    assert audit_verify().ok
    before = sorted(AuditSeal.objects.values_list("seq", "event_id", "entry_hash"))

    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0006_signin_failure_index")])
    assert not partitions.is_partitioned()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {SEALS}")  # noqa: S608
        assert cursor.fetchone()[0] == len(before)
    executor.loader.build_graph()
    executor.migrate([("audit", "0007_audit_partitions")])

    assert partitions.is_partitioned()
    assert sorted(AuditSeal.objects.values_list("seq", "event_id", "entry_hash")) == before
    for event in AuditEvent.objects.filter(source_system="import"):
        label = f"y{event.occurred_at.astimezone(partitions.local_zone()):%Ym%m}"
        assert home(EVENTS, "id", event.pk) == f"{EVENTS}_{label}"
        assert home(SEALS, "event_id", event.pk) == f"{SEALS}_{label}"
    assert home(EVENTS, "id", young[0].pk) == Month(this_month()).table(EVENTS)
    # The identity sequence goes on after the copied ids.
    assert events(1)[0].pk > max(e.pk for e in young)
    audit_seal(checkpoint=True)
    report = audit_verify()
    assert report.ok, report.summary()


# --- where events go ----------------------------------------------------------------------------


def test_issue20_an_event_of_a_coming_month_lands_in_that_months_partition_with_its_seal() -> None:
    later = timezone.now() + dt.timedelta(days=62)
    with clock(later):
        event = events(1, "later")[0]
        audit_seal()
    month = Month(month_of(later))
    assert home(EVENTS, "id", event.pk) == month.table(EVENTS)
    assert home(SEALS, "event_id", event.pk) == month.table(SEALS)
    assert AuditSeal.objects.get(event_id=event.pk).occurred_at == event.occurred_at


def detach_defaults() -> None:
    """Take away the test harness's DEFAULT partitions (conftest.py): production has none."""
    with connection.cursor() as cursor:
        for table in partitions.TABLES:
            cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {table}_test_default")


def test_issue20_an_event_of_a_month_without_partition_is_refused_until_the_month_is_made() -> None:
    """No default partition in production: the audit record fails, and with it the operation
    that recorded it (R61), rather than the event landing where no month can be detached. The
    remedy is the scheduler's job, or the command by hand: a second later writes go through."""
    detach_defaults()
    far = timezone.now() + dt.timedelta(days=3 * 366)
    with clock(far):
        with pytest.raises(IntegrityError, match="no partition"), transaction.atomic():
            events(1, "far")
        call_command("add_audit_partitions", stdout=io.StringIO())
        (event,) = events(1, "far")
    assert home(EVENTS, "id", event.pk) == Month(month_of(far)).table(EVENTS)


def test_issue20_r61_without_this_months_partitions_a_patient_read_is_not_returned(
    as_alice: Client, county: County
) -> None:
    """What a missed month costs (decision 0023): every read of patient data fails, because its
    audit record cannot be stored (R61). Hence the months made ahead and the gauge to alert on."""
    patient = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Aina", last_name="Apel"
    )
    CareRelationship.objects.create(
        unit=county.unit_a, patient=patient, origin="order", valid_from=timezone.localdate()
    )
    url = reverse("patients:detail", args=[patient.pk])
    assert "Apel" in as_alice.get(url).content.decode()
    detach_defaults()
    month = Month(this_month())
    with connection.cursor() as cursor:
        for table in partitions.TABLES:
            cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {month.table(table)}")
    with pytest.raises(IntegrityError, match="no partition"):
        as_alice.get(url)


# --- the scheduler's months ahead ---------------------------------------------------------------


def test_issue20_the_job_creates_the_coming_months_ahead_once() -> None:
    job = next(j for j in jobs() if j.name == "add_audit_partitions")
    assert job.interval == 24 * 3600
    half_a_year = timezone.now() + dt.timedelta(days=183)
    with clock(half_a_year):
        run_once(job)
        first = [m.label for m in partitions.months()]
        assert partitions.add_partitions_ahead() == 0  # idempotent
    ahead = Month(add_months(month_of(half_a_year), partitions.MONTHS_AHEAD))
    assert first[-1] == ahead.label
    assert [m.label for m in partitions.months()] == first
    # A partition made later carries the TRUNCATE guard itself (PostgreSQL does not copy it).
    refused(f"TRUNCATE {ahead.table(EVENTS)}")


@pytest.mark.django_db(transaction=True)
def test_issue20_a_month_is_made_while_others_hold_the_log_open_and_carries_the_guards() -> None:
    """The scheduler's job must not stop the application: a month is attached under a lock that
    open readers and writers of the log do not hold against it (`CREATE TABLE … PARTITION OF`
    would wait for them, and every audit write would queue behind it). The new month has the
    R65 guards and the keys. (Transactional: the other connection must see the tables.)"""
    import psycopg

    month = Month(add_months(this_month(), 9))
    # Production has no default partition; attaching would have to lock and read this one.
    detach_defaults()
    try:
        with psycopg.connect(**connection.get_connection_params()) as other:
            # A log search's open transaction. Table names are constants.
            other.execute(f"SELECT count(*) FROM {EVENTS}")  # noqa: S608
            other.execute(f"SELECT count(*) FROM {SEALS}")  # noqa: S608
            started = timezone.now()
            assert partitions.add_partitions(month.first, month.first) == 2
            assert timezone.now() - started < dt.timedelta(seconds=5)
            other.rollback()
        with clock(month.start + dt.timedelta(days=2)):
            (event,) = events(1, "attached")
            audit_seal()
        assert home(EVENTS, "id", event.pk) == month.table(EVENTS)
        assert home(SEALS, "event_id", event.pk) == month.table(SEALS)
        for statement in (
            f"UPDATE {month.table(EVENTS)} SET action = 'x'",  # noqa: S608
            f"DELETE FROM {month.table(SEALS)}",  # noqa: S608
            f"TRUNCATE {month.table(EVENTS)}",
        ):
            refused(statement)
        refused(
            f"INSERT INTO {EVENTS} SELECT * FROM {month.table(EVENTS)}",  # noqa: S608
            match="duplicate key",
        )
    finally:
        with connection.cursor() as cursor:  # the month would outlive the test otherwise
            for table in (SEALS, EVENTS):
                cursor.execute(f"DROP TABLE IF EXISTS {month.table(table)}")
                cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {table}_test_default DEFAULT")


def test_issue20_only_roles_given_execute_may_create_partitions() -> None:
    """The application's role owns nothing: it creates months only through the function, and
    only once it is granted EXECUTE on it (docs/operations.md), never as PUBLIC."""
    import os

    role = f"lyfta_app_part_{os.getpid()}"
    month = add_months(this_month(), 9)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cursor.execute(f"GRANT SELECT, INSERT ON {EVENTS}, {SEALS} TO {role}")
        cursor.execute(f"SET LOCAL ROLE {role}")
        refused(f"SELECT {partitions.ADD_FUNCTION}('{month}', '{month}')", "permission denied")
        refused(
            f"CREATE TABLE {role}_p PARTITION OF {EVENTS} FOR VALUES FROM ('2099-01-01') "
            "TO ('2099-02-01')",
            match="permission denied|must be owner",
        )
        cursor.execute("RESET ROLE")
        cursor.execute(f"GRANT EXECUTE ON FUNCTION {partitions.ADD_FUNCTION}(date, date) TO {role}")
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute(f"SELECT {partitions.ADD_FUNCTION}(%s, %s)", [month, month])
        assert cursor.fetchone()[0] == 2
        cursor.execute("RESET ROLE")


def test_issue20_the_command_makes_older_months_for_an_import() -> None:
    out = io.StringIO()
    call_command("add_audit_partitions", "--from", add_months(OLD, -2).isoformat(), stdout=out)
    assert exists(Month(add_months(OLD, -2)).table(EVENTS))
    assert exists(Month(add_months(OLD, -2)).table(SEALS))
    assert "tabeller skapade" in out.getvalue()


# --- retention detaches whole months ------------------------------------------------------------


def imported_history() -> list[list[AuditEvent]]:
    """The bench's shape: young events sealed first, then two months of a long-past log sealed by
    an operator's backfill (so their seals are not the oldest of the chain), then young ones."""
    events(3, "first")
    audit_seal()
    history = [old_month_events(OLD, 4), old_month_events(add_months(OLD, 1), 3)]
    audit_seal(backfill=True)
    events(3, "after")
    audit_seal(checkpoint=True)
    ship_audit()
    return history


def test_issue20_prune_detaches_the_oldest_month_and_verify_passes_before_and_after() -> None:
    history = imported_history()
    assert audit_verify().ok
    # A --before inside the second month removes the first month only: the second stays whole.
    before = Month(add_months(OLD, 1)).first + dt.timedelta(days=20)
    out = io.StringIO()
    call_command("prune_audit", "--before", before.isoformat(), stdout=out)

    oldest = Month(OLD)
    assert not exists(oldest.table(EVENTS)) and not exists(oldest.table(SEALS))
    assert exists(Month(add_months(OLD, 1)).table(EVENTS))
    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in history[0]]).exists()
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in history[1]]).count() == 3
    assert f"1 månad lossad och borttagen ({oldest.label}): 4 logghändelser" in out.getvalue()
    # Seals 4–7 went; a boundary checkpoint names them, and the permit and the run are recorded.
    boundary = AuditCheckpoint.objects.get(kind=AuditCheckpoint.Kind.PRUNE_BOUNDARY)
    assert (boundary.from_seq, boundary.seal_seq) == (4, 7)
    assert AuditPrunePermit.objects.get().boundary_seq == 7
    run = AuditEvent.objects.get(action="audit.pruned")
    assert run.detail["months"] == [oldest.label] and run.detail["deleted"] == 4
    assert run.detail["ranges"] == [[4, 7]]
    audit_seal()
    report = audit_verify()
    assert report.ok, report.summary()

    # The next month later on: its stretch joins the first one, and the chain still verifies.
    result = audit_prune(actor=SYSTEM, before=Month(add_months(OLD, 2)).first)
    assert (result.months, result.ranges, result.deleted) == (
        (Month(add_months(OLD, 1)).label,),
        ((8, 10),),
        3,
    )
    events(2, "later")
    audit_seal()
    report = audit_verify()
    assert report.ok, report.summary()
    assert report.first_seq == 1


def test_issue20_prune_as_a_role_that_does_not_own_the_tables_is_refused_and_changes_nothing() -> (
    None
):
    """Detaching is DDL: the application's role (R65: SELECT and INSERT only) cannot, and is told
    to run it as the tables' owner before anything is written."""
    import os

    imported_history()
    role = f"lyfta_app_prune_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        cursor.execute(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"SET LOCAL ROLE {role}")
        with pytest.raises(ValidationError, match=f"ägare .*inte som {role}. Ingenting gallrades"):
            audit_prune(actor=SYSTEM, before=Month(add_months(OLD, 2)).first)
        cursor.execute("RESET ROLE")
    assert exists(Month(OLD).table(EVENTS))
    assert not AuditPrunePermit.objects.exists()
    assert not AuditCheckpoint.objects.filter(kind=AuditCheckpoint.Kind.PRUNE_BOUNDARY).exists()
    assert not AuditEvent.objects.filter(action="audit.pruned").exists()


@pytest.mark.django_db(transaction=True)
def test_issue20_prune_gives_up_on_busy_tables_changes_nothing_and_says_run_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Detaching waits for every transaction that holds the audit tables, and audit writes queue
    behind it. So cleanup waits only briefly, then rolls back and says to run it again; the run
    again succeeds. (Transactional: the other connection must see the months.)"""
    import psycopg

    imported_history()
    before = Month(add_months(OLD, 2)).first
    monkeypatch.setattr(retention, "DETACH_LOCK_TIMEOUT", "200ms")
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute(f"LOCK TABLE {SEALS} IN ACCESS SHARE MODE")  # a reader's open transaction
        with pytest.raises(CommandError, match="upptagna och ingenting gallrades"):
            call_command("prune_audit", "--before", before.isoformat())
        other.rollback()
    assert exists(Month(OLD).table(EVENTS)) and exists(Month(OLD).table(SEALS))
    assert not AuditPrunePermit.objects.exists()
    assert not AuditEvent.objects.filter(action="audit.pruned").exists()

    result = audit_prune(actor=SYSTEM, before=before)
    assert result.months == (Month(OLD).label, Month(add_months(OLD, 1)).label)
    assert not exists(Month(OLD).table(EVENTS))


def test_issue20_deleting_a_month_without_prune_audit_is_found() -> None:
    imported_history()
    oldest = Month(OLD)
    with connection.cursor() as cursor:  # a database owner drops a month by hand
        for table in (SEALS, EVENTS):
            cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {oldest.table(table)}")
            cursor.execute(f"DROP TABLE {oldest.table(table)}")
    report = audit_verify()
    assert not report.ok
    assert (report.findings[0].kind, report.findings[0].seq) == ("missing", 4)


def test_issue20_prune_keeps_a_month_that_holds_an_event_without_its_seal() -> None:
    imported_history()
    old_month_events(OLD, 1)  # written after the backfill, never sealed
    result = audit_prune(actor=SYSTEM, before=Month(add_months(OLD, 2)).first)
    assert result.months == ()
    assert result.kept is not None
    assert (result.kept.month, result.kept.reason, result.kept.unsealed) == (
        Month(OLD).label,
        "unsealed",
        1,
    )
    out = io.StringIO()
    call_command("prune_audit", "--before", Month(add_months(OLD, 2)).first.isoformat(), stdout=out)
    assert f"Månaden {Month(OLD).label} och månaderna efter den behölls" in out.getvalue()
    assert "1 logghändelser utan sin försegling (kör verify_audit)" in out.getvalue()
    run = AuditEvent.objects.filter(action="audit.pruned").latest("id")
    assert run.detail["kept"] == {"month": Month(OLD).label, "reason": "unsealed"}
    assert exists(Month(OLD).table(EVENTS))


def test_issue20_pruning_the_newest_seals_does_not_give_their_numbers_again() -> None:
    """An imported month sealed last, then pruned, leaves the chain's newest seals gone: the next
    seal follows the boundary checkpoint, not the newest seal still there."""
    events(2)
    audit_seal()
    old_month_events(OLD, 3)
    audit_seal(backfill=True)  # seals 3–5
    ship_audit()
    result = audit_prune(actor=SYSTEM, before=Month(add_months(OLD, 1)).first)
    assert result.ranges == ((3, 5),)
    events(1, "next")  # the run's own audit event is sealed with it
    audit_seal(checkpoint=True)
    assert AuditSeal.objects.order_by("seq").values_list("seq", flat=True)[2] == 6
    report = audit_verify()
    assert report.ok, report.summary()


def test_issue20_a_forged_stretch_checkpoint_does_not_excuse_a_gap() -> None:
    imported_history()
    with connection.cursor() as cursor:
        oldest = Month(OLD)
        for table in (SEALS, EVENTS):
            cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {oldest.table(table)}")
            cursor.execute(f"DROP TABLE {oldest.table(table)}")
    AuditCheckpoint.objects.create(
        kind=AuditCheckpoint.Kind.PRUNE_BOUNDARY,
        seal_seq=7,
        from_seq=4,
        entry_hash=bytes(32),
        created_at=timezone.now(),
        key_id="forged",
        mac=bytes(32),
    )
    kinds = {f.kind for f in audit_verify().findings}
    assert {"missing", "checkpoint"} <= kinds


# --- what the partitioned keys no longer refuse, verify_audit finds -----------------------------


def test_issue20_drill_a_second_seal_with_a_number_in_use_is_found() -> None:
    made = events(3)
    audit_seal(checkpoint=True)
    seal = AuditSeal.objects.get(seq=2)
    AuditSeal.objects.create(
        seq=2,
        event_id=made[0].pk,
        occurred_at=made[0].occurred_at - dt.timedelta(days=40),  # another month's partition
        version=1,
        prev_hash=bytes(seal.prev_hash),
        entry_hash=bytes(seal.entry_hash),
        mac=bytes(seal.mac),
        key_id=seal.key_id,
        sealed_at=timezone.now(),
    )
    findings = audit_verify().findings
    assert any(f.kind == "inserted" and "appears twice" in f.message for f in findings)


def test_issue20_drill_a_seal_filed_under_another_month_is_found() -> None:
    """A seal moved to another month's partition (so that a prune of one month would take the
    event and leave the seal, or the reverse) leaves its event without a seal of its own."""
    made = events(3)
    audit_seal(checkpoint=True)
    seal = AuditSeal.objects.get(seq=2)
    triggers.uninstall(connection)
    AuditSeal.objects.filter(seq=2).delete()
    triggers.install(connection)
    AuditSeal.objects.create(
        seq=2,
        event_id=seal.event_id,
        occurred_at=seal.occurred_at - dt.timedelta(days=40),
        version=seal.version,
        prev_hash=bytes(seal.prev_hash),
        entry_hash=bytes(seal.entry_hash),
        mac=bytes(seal.mac),
        key_id=seal.key_id,
        sealed_at=seal.sealed_at,
    )
    with clock(timezone.now() + dt.timedelta(days=1)):  # past the sealing grace period
        findings = audit_verify().findings
    assert ("inserted", made[1].pk) in [(f.kind, f.event_id) for f in findings]


def test_issue20_drill_an_event_row_repeating_a_sealed_id_is_found() -> None:
    made = events(3)
    audit_seal(checkpoint=True)
    AuditEvent.objects.create(
        id=made[1].pk,
        occurred_at=made[1].occurred_at - dt.timedelta(days=40),
        action="patient.read",
        outcome="granted",
        actor_username="forger",
        source_system="x",
    )
    findings = audit_verify().findings
    assert [(f.kind, f.event_id) for f in findings] == [("inserted", made[1].pk)]


def keyed_seal(*, seq: int, event: AuditEvent, occurred_at: dt.datetime | None = None) -> None:
    """Append seal `seq` for `event` as an insider holding LYFTA_AUDIT_KEY would: the chain's
    hash and the seal's MAC are right, so only what the database no longer refuses can show it."""
    prev = bytes(AuditSeal.objects.get(seq=seq - 1).entry_hash)
    (row,) = fetch_events(AuditEvent.objects.filter(pk=event.pk, occurred_at=event.occurred_at))
    entry = chain_hash(prev, row)
    key = audit_key()
    AuditSeal.objects.create(
        seq=seq,
        event_id=event.pk,
        occurred_at=occurred_at or event.occurred_at,
        version=FORMAT_VERSION,
        prev_hash=prev,
        entry_hash=entry,
        mac=seal_mac(key, seq, entry),
        key_id=key_id(key),
        sealed_at=timezone.now(),
    )


def test_issue20_drill_a_second_seal_of_a_sealed_event_is_found() -> None:
    """Without the partitioned keys' time, UNIQUE (event_id) refused this; now (event_id,
    occurred_at) lets a second seal of one event in under another time. Even with the key (a
    valid hash and MAC) verify_audit finds it: the seal's copy of the time is not its event's."""
    made = events(3)
    audit_seal(checkpoint=True)
    keyed_seal(seq=4, event=made[1], occurred_at=made[1].occurred_at + dt.timedelta(days=40))
    assert AuditSeal.objects.filter(event_id=made[1].pk).count() == 2  # the database took it
    report = audit_verify()
    assert not report.ok
    assert [(f.kind, f.seq, f.event_id) for f in report.findings] == [("inserted", 4, made[1].pk)]
    assert "not under the event's time" in report.findings[0].message


def test_issue20_drill_a_seal_without_its_event_is_found() -> None:
    """The seal's foreign key to its event is gone on PostgreSQL: a seal naming an event that
    does not exist is no longer refused by the database, and verify_audit reports it missing."""
    made = events(2)
    audit_seal(checkpoint=True)
    ghost = AuditEvent(pk=made[-1].pk + 10_000, occurred_at=made[-1].occurred_at)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SEALS} (seq, event_id, occurred_at, version, prev_hash, entry_hash, "  # noqa: S608
            "mac, key_id, sealed_at) SELECT 3, %s, occurred_at, version, entry_hash, entry_hash, "
            f"mac, key_id, sealed_at FROM {SEALS} WHERE seq = 2",
            [ghost.pk],
        )
    findings = audit_verify().findings
    assert ("missing", 3, ghost.pk) in [(f.kind, f.seq, f.event_id) for f in findings]


# --- R65 on the partitioned tables --------------------------------------------------------------


def test_issue20_r65_update_delete_and_truncate_are_refused_on_the_tables_and_each_month() -> None:
    made = events(2)
    audit_seal()
    month = Month(this_month())
    # Table names from constants and a date; the id is an integer.
    statements = [
        f"UPDATE {EVENTS} SET action = 'x'",  # noqa: S608
        f"UPDATE {month.table(EVENTS)} SET action = 'x'",  # noqa: S608
        f"UPDATE {SEALS} SET key_id = 'x'",  # noqa: S608
        f"UPDATE {month.table(SEALS)} SET key_id = 'x'",  # noqa: S608
        f"DELETE FROM {EVENTS} WHERE id = {made[0].pk}",  # noqa: S608
        f"DELETE FROM {month.table(EVENTS)} WHERE id = {made[0].pk}",  # noqa: S608
        f"DELETE FROM {month.table(SEALS)}",  # noqa: S608
        f"TRUNCATE {EVENTS}",
        f"TRUNCATE {month.table(EVENTS)}",
        f"TRUNCATE {month.table(SEALS)}",
    ]
    for statement in statements:
        refused(statement)
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in made]).count() == 2
    # The guards come and go with the test harness's install and uninstall, partitions included.
    triggers.uninstall(connection)
    triggers.install(connection)
    refused(f"TRUNCATE {month.table(SEALS)}")
