"""Append-only storage (R65), the hash chain and its tamper drills (R66), keyed checkpoints (R67),
retention cleanup (R73) and verification after it (R74)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation

from lyfta.access.actor import Actor
from lyfta.audit import partitions, triggers
from lyfta.audit.management.commands.prune_audit import report
from lyfta.audit.models import AuditCheckpoint, AuditEvent, AuditPrunePermit, AuditSeal
from lyfta.audit.retention import audit_prune, years_before
from lyfta.audit.sealing import EVENT_FIELDS, audit_seal, chain_hash
from lyfta.audit.services import record
from lyfta.audit.shipping import ship_audit
from lyfta.audit.verify import audit_verify

SYSTEM = Actor.system("test")


def make_events(n: int) -> list[AuditEvent]:
    return [
        record(
            action="unit.updated",
            actor=SYSTEM,
            resource_type="organisations.unit",
            resource_id=i,
            changes={"name": [f"old {i}", f"new {i}"]},
        )
        for i in range(1, n + 1)
    ]


@pytest.fixture
def sealed_chain(db: None) -> list[AuditEvent]:
    events = make_events(20)
    audit_seal(checkpoint=True)
    return events


@pytest.fixture
def attacker(db: None) -> Iterator[None]:
    """A database superuser who has dropped the append-only triggers (rolled back afterwards)."""
    triggers.uninstall(connection)
    yield
    triggers.install(connection)


def row(event_id: int) -> dict[str, Any]:
    return dict(AuditEvent.objects.values(*EVENT_FIELDS).get(pk=event_id))


def first_finding(**kwargs: Any) -> Any:
    report = audit_verify(**kwargs)
    assert not report.ok, "the tampering was not detected"
    return report.findings[0]


# --- R65: append-only ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_r65_orm_update_of_an_event_is_rejected_by_the_database(
    sealed_chain: list[AuditEvent],
) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=sealed_chain[0].pk).update(action="auth.login")
    assert AuditEvent.objects.get(pk=sealed_chain[0].pk).action == "unit.updated"


@pytest.mark.django_db
def test_r65_raw_sql_update_and_delete_are_rejected(sealed_chain: list[AuditEvent]) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET outcome = 'denied'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [sealed_chain[5].pk])
    assert AuditEvent.objects.count() == 20


@pytest.mark.django_db
@pytest.mark.parametrize("model", [AuditSeal, AuditCheckpoint])
def test_r65_seals_and_checkpoints_are_append_only(
    sealed_chain: list[AuditEvent], model: Any
) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        model.objects.all().update(key_id="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        model.objects.all().delete()


@pytest.mark.django_db
def test_r65_truncate_is_rejected_on_postgresql(sealed_chain: list[AuditEvent]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent CASCADE")


def test_r65_operations_guide_shows_insert_and_select_only_grants() -> None:
    text = (Path(__file__).resolve().parents[3] / "docs" / "operations.md").read_text()
    assert "GRANT SELECT, INSERT ON audit_auditevent" in text
    assert "REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditevent" in text


def test_r65_the_admin_offers_no_audit_pages() -> None:
    from lyfta.access.admin import admin_site

    assert not any(model._meta.app_label == "audit" for model in admin_site._registry)


# --- R66: the chain and the tamper drills -------------------------------------------------------


@pytest.mark.django_db
def test_r66_sealing_gives_a_gap_free_sequence_and_verifies(sealed_chain: list[AuditEvent]) -> None:
    seqs = list(AuditSeal.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 21))
    assert audit_seal().sealed == 0, "nothing is sealed twice"
    make_events(3)
    assert audit_seal().sealed == 3
    report = audit_verify()
    assert report.ok, report.summary()
    assert (report.events, report.first_seq, report.last_seq) == (23, 1, 23)


@pytest.mark.django_db
def test_r66_entry_hash_is_sha256_of_prev_hash_and_canonical_event(
    sealed_chain: list[AuditEvent],
) -> None:
    import hashlib

    from lyfta.audit.sealing import canonical

    seal = AuditSeal.objects.get(seq=2)
    previous = AuditSeal.objects.get(seq=1)
    expected = hashlib.sha256(bytes(previous.entry_hash) + canonical(row(seal.event_id))).digest()
    assert bytes(seal.prev_hash) == bytes(previous.entry_hash)
    assert bytes(seal.entry_hash) == expected
    parsed = json.loads(canonical(row(seal.event_id)))
    assert parsed["id"] == seal.event_id and parsed["occurred_at"].endswith("+00:00")


@pytest.mark.django_db
def test_r66_drill_changed_field_is_found_at_its_event(
    sealed_chain: list[AuditEvent], attacker: None
) -> None:
    AuditEvent.objects.filter(pk=sealed_chain[6].pk).update(actor_username="someone-else")
    finding = first_finding()
    assert (finding.kind, finding.event_id, finding.seq) == ("changed", sealed_chain[6].pk, 7)


@pytest.mark.django_db
def test_r66_drill_deleted_row_is_found(sealed_chain: list[AuditEvent], attacker: None) -> None:
    target = sealed_chain[6]
    AuditSeal.objects.filter(event_id=target.pk).delete()
    AuditEvent.objects.filter(pk=target.pk).delete()
    finding = first_finding()
    assert (finding.kind, finding.seq) == ("missing", 7)
    assert "deleted" in finding.message


@pytest.mark.django_db
def test_r66_drill_row_inserted_into_the_chain_is_found(
    sealed_chain: list[AuditEvent], attacker: None
) -> None:
    forged = AuditEvent.objects.create(
        occurred_at=sealed_chain[7].occurred_at,
        action="patient.read",
        outcome="granted",
        actor_username="forger",
        source_system="lyfta-web",
    )
    for seq in range(20, 7, -1):  # make room at seal 8
        AuditSeal.objects.filter(seq=seq).update(seq=seq + 1)
    prev = bytes(AuditSeal.objects.get(seq=7).entry_hash)
    entry = chain_hash(prev, row(forged.pk))
    AuditSeal.objects.create(
        seq=8,
        event=forged,
        occurred_at=forged.occurred_at,
        version=1,
        prev_hash=prev,
        entry_hash=entry,
        mac=bytes(32),
        key_id=AuditSeal.objects.get(seq=7).key_id,
        sealed_at=timezone.now(),
    )
    for seq in range(9, 22):  # the attacker recomputes the rest of the chain, without the key
        seal = AuditSeal.objects.get(seq=seq)
        new_entry = chain_hash(entry, row(seal.event_id))
        AuditSeal.objects.filter(seq=seq).update(prev_hash=entry, entry_hash=new_entry)
        entry = new_entry
    finding = first_finding()
    assert (finding.kind, finding.event_id, finding.seq) == ("unkeyed", forged.pk, 8)
    assert "inserted" in finding.message


@pytest.mark.django_db
def test_r66_drill_unsealed_row_slipped_under_the_chain_is_found(
    sealed_chain: list[AuditEvent], attacker: None
) -> None:
    AuditEvent.objects.create(
        id=sealed_chain[3].pk + 1000,
        occurred_at=timezone.now() - dt.timedelta(days=3),
        action="patient.read",
        outcome="granted",
        actor_username="forger",
        source_system="x",
    )
    slipped = AuditEvent.objects.create(
        id=0 if connection.vendor == "postgresql" else -1,
        occurred_at=timezone.now() - dt.timedelta(days=3),
        action="patient.read",
        outcome="granted",
        actor_username="forger",
        source_system="x",
    )
    finding = first_finding()
    assert (finding.kind, finding.event_id) == ("inserted", slipped.pk)
    # The regular sealer does not take it into the chain, not even in its hourly full scan.
    audit_seal(full=True)
    assert not AuditSeal.objects.filter(event_id=slipped.pk).exists()
    assert first_finding().event_id == slipped.pk


@pytest.mark.django_db
def test_r66_drill_backdated_row_sealed_by_a_backfill_is_vouched_for_only_then(
    sealed_chain: list[AuditEvent],
) -> None:
    """An operator's backfill may seal old events: its checkpoint vouches for exactly that range.
    A backdated row sealed any other way is reported as inserted later."""
    old = AuditEvent.objects.create(
        occurred_at=timezone.now() - dt.timedelta(days=300),
        action="patient.read",
        outcome="granted",
        actor_username="backfilled",
        source_system="import",
    )
    audit_seal(backfill=True)
    assert audit_verify().ok
    # The same, sealed without the backfill's checkpoint (an attacker holding a sealing process):
    triggers.uninstall(connection)
    AuditCheckpoint.objects.filter(kind="backfill").delete()
    triggers.install(connection)
    finding = first_finding()
    assert (finding.kind, finding.event_id) == ("inserted", old.pk)


@pytest.mark.django_db
def test_r66_drill_two_rows_swapped_are_found(
    sealed_chain: list[AuditEvent], attacker: None
) -> None:
    a, b = sealed_chain[4].pk, sealed_chain[5].pk
    row_a, row_b = row(a), row(b)
    AuditEvent.objects.filter(pk=a).update(**{k: v for k, v in row_b.items() if k != "id"})
    AuditEvent.objects.filter(pk=b).update(**{k: v for k, v in row_a.items() if k != "id"})
    finding = first_finding()
    assert (finding.kind, finding.seq) == ("reordered", 5)
    assert "swapped" in finding.message and str(a) in finding.message and str(b) in finding.message


@pytest.mark.django_db
def test_r66_drill_seals_swapped_are_found(sealed_chain: list[AuditEvent], attacker: None) -> None:
    a, b = sealed_chain[4].pk, sealed_chain[5].pk
    AuditSeal.objects.filter(seq=5).update(event_id=-5)
    AuditSeal.objects.filter(seq=6).update(event_id=a)
    AuditSeal.objects.filter(seq=5).update(event_id=b)
    finding = first_finding()
    assert (finding.kind, finding.seq) == ("reordered", 5)


# --- R67: keyed MACs and checkpoints ------------------------------------------------------------


@pytest.mark.django_db
def test_r67_drill_chain_recomputed_without_the_key_is_found_at_the_changed_event(
    sealed_chain: list[AuditEvent], attacker: None
) -> None:
    target = sealed_chain[8]
    AuditEvent.objects.filter(pk=target.pk).update(action="auth.logout")
    entry = bytes(AuditSeal.objects.get(seq=8).entry_hash)
    for seq in range(9, 21):
        seal = AuditSeal.objects.get(seq=seq)
        new_entry = chain_hash(entry, row(seal.event_id))
        AuditSeal.objects.filter(seq=seq).update(prev_hash=entry, entry_hash=new_entry)
        entry = new_entry
    report = audit_verify()
    kinds = {f.kind for f in report.findings}
    assert "changed" not in kinds, "the hashes alone were made consistent again"
    assert (report.findings[0].kind, report.findings[0].event_id) == ("unkeyed", target.pk)
    assert "checkpoint" in kinds, "the checkpoint of the old head no longer matches"


@pytest.mark.django_db
def test_r67_deleting_the_newest_events_is_found_from_the_checkpoint(
    sealed_chain: list[AuditEvent], attacker: None
) -> None:
    for event in sealed_chain[-3:]:
        AuditSeal.objects.filter(event_id=event.pk).delete()
        AuditEvent.objects.filter(pk=event.pk).delete()
    finding = first_finding()
    assert finding.kind == "truncated" and "seal 20" in finding.message


@pytest.mark.django_db(transaction=True)
def test_r67_checkpoints_go_to_a_file_outside_the_database(_checkpoint_file: Path) -> None:
    make_events(5)
    audit_seal(checkpoint=True)
    lines = [json.loads(line) for line in _checkpoint_file.read_text().splitlines()]
    assert lines[-1]["seal_seq"] == 5 and len(lines[-1]["mac"]) == 64
    # A database-only attacker removes the tail and even the stored checkpoints' trace...
    triggers.uninstall(connection)
    AuditCheckpoint.objects.all().delete()
    AuditSeal.objects.filter(seq__gte=4).delete()
    triggers.install(connection)
    report = audit_verify()
    assert any(f.kind == "truncated" and "file" in f.message for f in report.findings)


@pytest.mark.django_db
def test_r67_a_forged_checkpoint_is_found(sealed_chain: list[AuditEvent], attacker: None) -> None:
    AuditCheckpoint.objects.update(mac=bytes(32))
    assert first_finding().kind == "checkpoint"


@pytest.mark.django_db
def test_r67_the_key_is_never_stored_in_the_database(
    sealed_chain: list[AuditEvent], settings: Any
) -> None:
    key = settings.LYFTA_AUDIT_KEY.encode()
    for model in (AuditEvent, AuditSeal, AuditCheckpoint):
        for values in model.objects.values_list():
            blob = b"".join(
                bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in values
            )
            assert key not in blob


@pytest.mark.django_db
def test_r67_a_chain_verified_with_another_key_fails(
    sealed_chain: list[AuditEvent], settings: Any
) -> None:
    settings.LYFTA_AUDIT_KEY = "an entirely different key"
    assert first_finding().kind == "unkeyed"


@pytest.mark.django_db
def test_r67_a_retired_key_still_verifies_after_rotation(
    sealed_chain: list[AuditEvent], settings: Any
) -> None:
    old = settings.LYFTA_AUDIT_KEY
    settings.LYFTA_AUDIT_KEY = "the new key after rotation"
    settings.LYFTA_AUDIT_RETIRED_KEYS = [old]
    make_events(2)
    audit_seal(checkpoint=True)
    report = audit_verify()
    assert report.ok, report.summary()


@pytest.mark.django_db
def test_r66_verify_audit_command_exit_codes(sealed_chain: list[AuditEvent]) -> None:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("audit trail intact: 20 events")
    assert len(out.getvalue().strip().splitlines()) == 1
    triggers.uninstall(connection)
    AuditEvent.objects.filter(pk=sealed_chain[2].pk).update(purpose="care")
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit", stderr=err)
    assert raised.value.returncode == 1
    assert f"event {sealed_chain[2].pk} (seal 3)" in err.getvalue()
    triggers.install(connection)


@pytest.mark.django_db
def test_r66_late_committed_events_are_still_sealed(db: None) -> None:
    early = make_events(1)[0]
    # An event whose transaction committed after newer ones were sealed keeps its lower id.
    triggers.uninstall(connection)
    AuditSeal.objects.all().delete()
    triggers.install(connection)
    make_events(3)
    audit_seal()
    assert AuditSeal.objects.filter(event_id=early.pk).count() == 1
    assert audit_verify().ok


# --- R73, R74: retention cleanup ----------------------------------------------------------------


def old_events(n: int, years: int) -> None:
    when = timezone.now() - dt.timedelta(days=365 * years + 30)
    partitions.ensure_for(when, when + dt.timedelta(minutes=n))
    for i in range(n):
        AuditEvent.objects.create(
            occurred_at=when + dt.timedelta(minutes=i),
            action="unit.updated",
            outcome="granted",
            source_system="lyfta",
            resource_id=str(i),
        )


@pytest.mark.django_db
def test_r73_cleanup_refuses_anything_younger_than_five_years(db: None) -> None:
    too_recent = years_before(timezone.localdate(), 5) + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="5 år"):
        audit_prune(actor=SYSTEM, before=too_recent)
    with pytest.raises(CommandError, match="5 år"):
        call_command("prune_audit", "--before", too_recent.isoformat())


@pytest.mark.django_db
def test_r73_cleanup_deletes_only_old_events_and_records_its_run(db: None) -> None:
    old_events(5, years=7)
    make_events(4)
    audit_seal(backfill=True)
    ship_audit()  # cleanup deletes only what the log store already holds
    result = audit_prune(actor=SYSTEM, before=years_before(timezone.localdate(), 6))
    assert (result.deleted, result.boundary_seq) == (5, 5)
    assert AuditEvent.objects.filter(action="unit.updated").count() == 4
    run = AuditEvent.objects.get(action="audit.pruned")
    assert run.detail["deleted"] == 5 and run.actor_username == "system:test"
    assert AuditPrunePermit.objects.get().boundary_seq == 5


@pytest.mark.django_db
def test_r73_the_command_says_what_it_removed_in_swedish_and_in_english(db: None) -> None:
    """The operator's summary goes through gettext like every other text: Swedish by default,
    English when asked. (On PostgreSQL the months; test_issue20_partitions.py.)"""
    if partitions.is_partitioned():
        pytest.skip("month-wise on PostgreSQL: test_issue20_partitions.py")
    old_events(3, years=7)
    audit_seal(backfill=True)
    ship_audit()
    before = years_before(timezone.localdate(), 6)
    out = io.StringIO()
    call_command("prune_audit", "--before", before.isoformat(), stdout=out)
    assert "3 logghändelser gallrade; gränskontrollpunkt vid försegling 3." in out.getvalue()
    with translation.override("en"):
        again = report(audit_prune(actor=SYSTEM, before=before))
    assert again.startswith("0 audit events disposed of; boundary checkpoint at seal ")
    with pytest.raises(CommandError, match="inte uppdelade per månad"):
        call_command("add_audit_partitions")


@pytest.mark.django_db
def test_r73_the_database_refuses_deleting_young_events_even_with_a_permit(db: None) -> None:
    events = make_events(3)
    audit_seal()
    AuditPrunePermit.objects.create(
        boundary_seq=3,
        max_event_id=events[-1].pk,
        before=timezone.localdate(),
        created_at=timezone.now(),
        created_by="forger",
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditSeal.objects.filter(seq=1).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[0].pk])


@pytest.mark.django_db
def test_r73_old_events_cannot_be_deleted_without_a_permit(db: None) -> None:
    old_events(1, years=8)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()


@pytest.mark.django_db
def test_r74_the_chain_still_verifies_after_cleanup(db: None) -> None:
    old_events(6, years=7)
    make_events(4)
    audit_seal(checkpoint=True, backfill=True)
    ship_audit()  # the shipped copy keeps the pruned seals: they are not reported missing
    call_command(
        "prune_audit",
        "--before",
        years_before(timezone.localdate(), 6).isoformat(),
        stdout=io.StringIO(),
    )
    audit_seal()
    report = audit_verify()
    assert report.ok, report.summary()
    assert report.first_seq == 7
    # ...and tampering after the boundary is still caught.
    triggers.uninstall(connection)
    first_kept = AuditSeal.objects.get(seq=7).event_id
    AuditEvent.objects.filter(pk=first_kept).update(action="auth.login")
    triggers.install(connection)
    assert first_finding().event_id == first_kept


@pytest.mark.django_db
def test_r74_deleting_the_oldest_events_without_a_boundary_is_found(
    sealed_chain: list[AuditEvent], attacker: None
) -> None:
    for event in sealed_chain[:2]:
        AuditSeal.objects.filter(event_id=event.pk).delete()
        AuditEvent.objects.filter(pk=event.pk).delete()
    finding = first_finding()
    assert (finding.kind, finding.seq) == ("missing", 1)


@pytest.mark.django_db
def test_r73_cleanup_keeps_events_not_yet_shipped_to_the_log_store(
    db: None, settings: Any, tmp_path: Path
) -> None:
    settings.LYFTA_AUDIT_SHIP_URL = f"file://{tmp_path}/store.jsonl"
    old_events(6, years=7)
    audit_seal(backfill=True)
    ship_audit()  # seals 1–6 reach the store
    old_events(2, years=7)
    audit_seal(backfill=True)  # seals 7–8: not shipped yet
    result = audit_prune(actor=SYSTEM, before=years_before(timezone.localdate(), 6))
    if partitions.is_partitioned():
        # PostgreSQL removes whole months (decision 0023): the month with seals 7–8 stays whole.
        assert (result.deleted, result.months) == (0, ())
        assert result.kept is not None and result.kept.reason == "not_shipped"
    else:
        assert (result.deleted, result.boundary_seq) == (6, 6)
    assert AuditSeal.objects.filter(seq__in=[7, 8]).count() == 2


@pytest.mark.django_db
def test_r66_the_fast_reader_and_the_orm_see_the_same_event(db: None) -> None:
    """Sealing reads events with a raw cursor; what it hashes must equal what the ORM reads."""
    from lyfta.audit.sealing import canonical, fetch_events

    event = record(
        action="unit.updated",
        actor=SYSTEM,
        resource_id=1,
        changes={"namn": ["Åsa", "Örjan"], "n": [1, None]},
        detail={"x": [True]},
    )
    fast = fetch_events(AuditEvent.objects.filter(pk=event.pk))[0]
    orm = row(event.pk)
    assert fast["occurred_at"] == orm["occurred_at"].isoformat(timespec="microseconds")
    assert {k: v for k, v in fast.items() if k != "occurred_at"} == {
        k: v for k, v in orm.items() if k != "occurred_at"
    }
    assert canonical(fast) == canonical(orm)


@pytest.mark.parametrize(
    ("printed", "canonical_text"),
    [
        ("2026-01-02 03:04:05.006+00", "2026-01-02T03:04:05.006000+00:00"),
        ("2026-01-02 03:04:05+00", "2026-01-02T03:04:05.000000+00:00"),
        ("2026-01-02 03:04:05.123456", "2026-01-02T03:04:05.123456+00:00"),
        ("2026-01-02 03:04:05", "2026-01-02T03:04:05.000000+00:00"),
        ("2026-01-02 04:04:05.5+01", "2026-01-02T03:04:05.500000+00:00"),
    ],
)
def test_r66_database_timestamps_become_one_canonical_text(
    printed: str, canonical_text: str
) -> None:
    from lyfta.audit.sealing import iso_utc

    assert iso_utc(printed) == canonical_text


def test_r66_canonical_form_equals_the_standard_library_json() -> None:
    """External auditors can recompute the hash with nothing but Python's json module."""
    from lyfta.audit.sealing import canonical

    data = dict.fromkeys(EVENT_FIELDS)
    data.update(
        id=7,
        occurred_at=dt.datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=dt.UTC),
        action="patient.read",
        actor_name='Åke "Snabb" Öberg\tx\\y',
        changes={"b": [1, "ä"], "a": {"z": None}},
        detail={},
    )
    expected = json.dumps(
        {**data, "occurred_at": "2026-01-02T03:04:05.006000+00:00"},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert canonical(data) == expected


@pytest.mark.django_db
def test_r65_the_documented_application_role_cannot_change_the_audit_tables(
    sealed_chain: list[AuditEvent],
) -> None:
    """The grants of docs/operations.md, applied to a real PostgreSQL role: insert and select
    work, update, delete and truncate are refused by the database before any trigger."""
    if connection.vendor != "postgresql":
        pytest.skip("database roles and grants exist on PostgreSQL")
    import os

    role = f"lyfta_app_test_{os.getpid()}"
    tables = "audit_auditevent, audit_auditseal, audit_auditcheckpoint, audit_auditprunepermit"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT SELECT, INSERT ON {tables} TO {role}")
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        assert cursor.fetchone()[0] == 20
        for statement in (
            "UPDATE audit_auditevent SET action = 'x'",
            "DELETE FROM audit_auditevent",
            "TRUNCATE audit_auditevent",
        ):
            with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                cursor.execute(statement)
        cursor.execute("RESET ROLE")


# --- Issue 20 point 2: every seal keeps its event's time (the partition key on PostgreSQL) -------


@pytest.mark.django_db
def test_issue20_every_seal_keeps_its_events_time(sealed_chain: list[AuditEvent]) -> None:
    for event in sealed_chain:
        assert AuditSeal.objects.get(event_id=event.pk).occurred_at == event.occurred_at


@pytest.mark.django_db(transaction=True)
def test_issue20_sqlite_upgrade_gives_existing_seals_their_events_time() -> None:
    """On SQLite migration 0007 only adds the column: existing seals get their event's time, the
    append-only triggers are back afterwards, and the chain verifies. (PostgreSQL's conversion is
    tested in test_issue20_partitions.py.)"""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite upgrade path; PostgreSQL's is in test_issue20_partitions.py")
    from django.db.migrations.executor import MigrationExecutor

    sealed = make_events(5)
    audit_seal(checkpoint=True)
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0006_signin_failure_index")])
    executor.loader.build_graph()
    executor.migrate([("audit", "0007_audit_partitions")])
    for event in sealed:
        assert AuditSeal.objects.get(event_id=event.pk).occurred_at == event.occurred_at
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditSeal.objects.filter(seq=1).update(key_id="x")
    report = audit_verify()
    assert report.ok, report.summary()
