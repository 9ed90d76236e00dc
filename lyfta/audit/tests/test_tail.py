"""Tail protection (R67, R69): a database owner who deletes the newest events and their seals
leaves a chain that is still valid, so only what lies outside the database can show the cut: the
checkpoint file, which the scheduler keeps up with the sealed head even when no events arrive,
and the copy shipped to the log store, which the demo keeps in a local file by default."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.access.commands import run_once
from lyfta.audit import triggers
from lyfta.audit.models import AuditCheckpoint, AuditEvent, AuditSeal
from lyfta.audit.services import record
from lyfta.audit.verify import audit_verify
from lyfta.core.scheduler import Job, jobs

SYSTEM = Actor.system("test")
# The demo's defaults, written out so that the tests do not depend on the environment.
CHECKPOINT_INTERVAL = 60
SEAL_INTERVAL = 5


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


def job(name: str) -> Job:
    return next(j for j in jobs() if j.name == name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move the clock forward by some seconds (what an idle scheduler waits through)."""
    real_now = timezone.now
    shift = dt.timedelta(0)

    def now() -> dt.datetime:
        return real_now() + shift

    monkeypatch.setattr(timezone, "now", now)

    def advance(seconds: float) -> None:
        nonlocal shift
        shift += dt.timedelta(seconds=seconds)

    return advance


@pytest.fixture
def intervals(settings: Any) -> None:
    settings.LYFTA_AUDIT_CHECKPOINT_INTERVAL = CHECKPOINT_INTERVAL
    settings.LYFTA_AUDIT_SEAL_INTERVAL = SEAL_INTERVAL


def run(scheduled: Job) -> None:
    """Run a scheduled job as the scheduler does. The scheduler runs outside any transaction, so
    what waits for the commit (appending to the checkpoint file) happens as each job ends; inside
    the test's transaction that is done here."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        run_once(scheduled)


def tick() -> None:
    """One run of the scheduler's audit jobs, in its order: seal (and checkpoint), then ship."""
    run(job("seal_audit"))
    run(job("ship_audit"))


def sealed_with_uncovered_tail() -> None:
    """Seals 1–5 covered by a checkpoint, then seals 6–8 sealed before the next one was due."""
    make_events(5)
    tick()
    make_events(3)
    tick()
    assert AuditSeal.objects.count() == 8
    assert list(AuditCheckpoint.objects.values_list("seal_seq", flat=True)) == [5]


def cut_tail(first_seq: int) -> None:
    """A database owner removes the seals from `first_seq` on, their events and the checkpoints
    in the database (the triggers are dropped, as only an owner can)."""
    triggers.uninstall(connection)
    doomed = list(AuditSeal.objects.filter(seq__gte=first_seq).values_list("event_id", flat=True))
    AuditSeal.objects.filter(seq__gte=first_seq).delete()
    AuditEvent.objects.filter(pk__in=doomed).delete()
    AuditCheckpoint.objects.all().delete()
    triggers.install(connection)


def file_checkpoints(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [json.loads(line)["seal_seq"] for line in path.read_text().splitlines()]


# --- The scheduler checkpoints a moved head, also when no events arrive (R67) --------------------


@pytest.mark.django_db
def test_r67_an_idle_scheduler_tick_checkpoints_a_head_that_moved(
    intervals: None, clock: Callable[[float], None], _checkpoint_file: Path
) -> None:
    sealed_with_uncovered_tail()
    clock(CHECKPOINT_INTERVAL - SEAL_INTERVAL)
    tick()  # no new events
    assert list(AuditCheckpoint.objects.values_list("seal_seq", flat=True)) == [5, 8]
    assert file_checkpoints(_checkpoint_file) == [5, 8]


@pytest.mark.django_db
def test_r67_the_moved_head_is_checkpointed_within_the_checkpoint_interval(
    intervals: None, clock: Callable[[float], None]
) -> None:
    sealed_with_uncovered_tail()  # seals 6–8 are made now
    # The scheduler looks for due jobs every half second, so its runs come 5 to 5.5 s apart.
    waited = 0.0
    while AuditCheckpoint.objects.count() == 1 and waited < 3 * CHECKPOINT_INTERVAL:
        clock(SEAL_INTERVAL + 0.5)
        waited += SEAL_INTERVAL + 0.5
        tick()
    assert AuditCheckpoint.objects.count() == 2, "the moved head was never checkpointed"
    assert waited <= CHECKPOINT_INTERVAL
    assert AuditCheckpoint.objects.order_by("-id").first().seal_seq == 8  # type: ignore[union-attr]


@pytest.mark.django_db
def test_r67_an_idle_tick_with_an_unmoved_head_writes_no_checkpoint(
    intervals: None, clock: Callable[[float], None]
) -> None:
    make_events(4)
    tick()
    assert AuditCheckpoint.objects.count() == 1
    for _ in range(3):
        clock(2 * CHECKPOINT_INTERVAL)
        tick()
    assert AuditCheckpoint.objects.count() == 1


@pytest.mark.django_db
def test_r67_the_scheduler_checkpoints_a_moved_head_when_it_stops(
    intervals: None, _checkpoint_file: Path
) -> None:
    sealed_with_uncovered_tail()
    run(Job("seal_audit_on_shutdown", 0, "lyfta.audit.jobs:seal_on_shutdown"))
    assert file_checkpoints(_checkpoint_file) == [5, 8]


@pytest.mark.django_db
def test_r67_a_tail_cut_after_an_idle_tick_is_found_from_the_checkpoint_file(
    intervals: None,
    clock: Callable[[float], None],
    _checkpoint_file: Path,
    settings: Any,
) -> None:
    settings.LYFTA_AUDIT_SHIP_URL = ""  # the checkpoint file alone must show the cut
    sealed_with_uncovered_tail()
    clock(CHECKPOINT_INTERVAL)
    tick()
    cut_tail(6)
    report = audit_verify()
    assert not report.ok, "the cut tail was not detected"
    assert any(
        f.kind == "truncated" and "file" in f.message and "seal 8" in f.message
        for f in report.findings
    ), report.findings


# --- The shipped copy (R69) ----------------------------------------------------------------------


def test_r69_the_default_settings_ship_to_a_local_file_store(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LYFTA_", "DATABASE_URL"))}
    env.update(LYFTA_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="lyfta.settings")
    script = "from django.conf import settings; print(settings.LYFTA_AUDIT_SHIP_URL)"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    store = tmp_path / "var" / "audit-shipped"
    assert result.stdout.strip() == (store / "audit.jsonl").as_uri()
    assert store.is_dir()
    # An operator can still turn shipping off by setting it empty.
    env["LYFTA_AUDIT_SHIP_URL"] = ""
    off = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert off.stdout.strip() == ""


@pytest.mark.django_db
def test_r69_a_tail_cut_is_found_from_the_shipped_copy(
    intervals: None, _shipped_file: Path
) -> None:
    sealed_with_uncovered_tail()
    assert [json.loads(line)["seq"] for line in _shipped_file.read_text().splitlines()] == list(
        range(1, 9)
    )
    assert audit_verify().ok
    cut_tail(6)
    report = audit_verify()
    assert not report.ok, "the cut tail was not detected"
    finding = report.findings[0]
    assert finding.kind == "truncated" and finding.seq == 6
    assert "seals 6–8 (3 sealed events) are in the shipped copy" in finding.message
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit", stderr=err)
    assert raised.value.returncode == 1
    assert "the newest events were deleted" in err.getvalue()


@pytest.mark.django_db
def test_r69_a_tail_cut_and_sealed_over_again_differs_from_the_shipped_copy(
    intervals: None,
) -> None:
    sealed_with_uncovered_tail()
    cut_tail(6)
    make_events(4)
    tick()  # the sealer carries on from seal 5: seals 6–9 now hold other events
    assert AuditSeal.objects.order_by("-seq").values_list("seq", flat=True).first() == 9
    report = audit_verify()
    assert not report.ok, "the replaced tail was not detected"
    assert [(f.kind, f.seq) for f in report.findings] == [("shipped", 6)]
    assert "seals 6–8 in the database differ from the shipped copy" in report.findings[0].message


@pytest.mark.django_db
def test_r69_duplicate_and_torn_lines_in_the_shipped_copy_are_no_findings(
    _shipped_file: Path,
) -> None:
    make_events(3)
    tick()
    lines = _shipped_file.read_text()
    # Delivery is at least once, and a failed write can leave half a line.
    _shipped_file.write_text(lines + lines + lines[:40] + "\n")
    report = audit_verify()
    assert report.ok, report.summary()
    assert report.shipped == 6


# --- How much of the tail is uncovered (R67) ----------------------------------------------------


@pytest.mark.django_db
def test_r67_verify_reports_how_many_sealed_events_no_checkpoint_covers(intervals: None) -> None:
    sealed_with_uncovered_tail()
    report = audit_verify()
    assert report.ok, report.summary()
    assert (report.covered_seq, report.uncovered) == (5, 3)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert (
        "3 sealed events not covered by the newest checkpoint (seal 5), "
        "8 shipped seals compared with the shipped copy"
    ) in out.getvalue()
    assert len(out.getvalue().strip().splitlines()) == 1
