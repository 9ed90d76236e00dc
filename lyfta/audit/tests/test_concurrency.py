"""Many writers and a sealer at once (PostgreSQL): every event sealed exactly once, chain intact,
and no writer waits for another's audit write."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from lyfta.access.actor import Actor
from lyfta.audit.models import AuditEvent, AuditSeal
from lyfta.audit.sealing import audit_seal
from lyfta.audit.services import record
from lyfta.audit.verify import audit_verify

WRITERS = 8
EVENTS_EACH = 150


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r66_eight_concurrent_writers_are_each_sealed_exactly_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row-level concurrency); SQLite has one writer at a time")
    start = threading.Barrier(WRITERS + 1)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(EVENTS_EACH):
                record(
                    action="unit.updated",
                    actor=Actor.system(f"writer{n}"),
                    resource_type="test",
                    resource_id=f"{n}-{i}",
                )
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    def sealer() -> None:
        try:
            start.wait()
            while not done.is_set():
                audit_seal(batch_size=200)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    seal_thread = threading.Thread(target=sealer)
    for thread in [*threads, seal_thread]:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    seal_thread.join()
    assert not errors, errors
    audit_seal()
    total = WRITERS * EVENTS_EACH
    assert AuditEvent.objects.count() == total
    assert AuditSeal.objects.count() == total
    assert AuditSeal.objects.values("event_id").distinct().count() == total
    seqs = list(AuditSeal.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, total + 1))
    report = audit_verify()
    assert report.ok, report.summary()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r66_two_sealers_at_once_never_seal_an_event_twice() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    for i in range(2000):
        record(action="unit.updated", actor=Actor.system("bulk"), resource_id=str(i))
    errors: list[BaseException] = []

    def sealer() -> None:
        try:
            audit_seal(batch_size=100)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sealer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert AuditSeal.objects.count() == 2000
    assert audit_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r66_parallel_verification_finds_what_a_single_process_finds() -> None:
    """Stretches verified by separate processes are joined without losing a finding, also at the
    seam between two stretches."""
    if connection.vendor != "postgresql":
        pytest.skip("parallel verification runs on PostgreSQL")
    from lyfta.audit import triggers

    for i in range(400):
        record(action="unit.updated", actor=Actor.system("bulk"), resource_id=str(i))
    audit_seal(checkpoint=True)
    assert audit_verify(workers=3, chunk_size=50).ok
    triggers.uninstall(connection)
    seam = AuditSeal.objects.get(seq=135)  # the second stretch starts at seal 135
    AuditSeal.objects.filter(seq=135).delete()
    changed = AuditSeal.objects.get(seq=300).event_id
    AuditEvent.objects.filter(pk=changed).update(action="auth.login")
    triggers.install(connection)
    single = audit_verify(workers=1)
    parallel = audit_verify(workers=3, chunk_size=50)
    assert [(f.kind, f.seq) for f in parallel.findings] == [
        (f.kind, f.seq) for f in single.findings
    ]
    assert ("missing", seam.seq) in [(f.kind, f.seq) for f in parallel.findings]
    assert ("changed", 300) in [(f.kind, f.seq) for f in parallel.findings]
