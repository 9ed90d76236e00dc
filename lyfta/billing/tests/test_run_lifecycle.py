"""A run's life (issue 14 point 4): started and computed by the background task, previewed,
recomputed or discarded, approved and locked by the economy role; a locked run never changes
(database triggers, SQLite and PostgreSQL), recomputes identically (`verify_billing`), and is
corrected by credit and debit lines in a later month's run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import DatabaseError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import County, Persona
from lyfta.audit.models import AuditEvent
from lyfta.billing.models import BillingLine, BillingRun, Housing
from lyfta.billing.services.corrections import correct_line
from lyfta.billing.services.run import (
    RunRefused,
    approve_run,
    compute_run,
    discard_run,
    recompute_run,
    start_run,
    stored_digest,
)
from lyfta.billing.tests.run_world import World, build_world

D = dt.date
JAN, FEB = D(2025, 1, 1), D(2025, 2, 1)


@pytest.fixture
def world(county: County) -> World:
    w = build_world(county)
    for n in range(6):
        patient = w.patient()
        w.move(patient, D(2020, 1, 1), Housing.ORDINARY)
        if n % 2:
            w.move(patient, D(2025, 1, 10 + n), Housing.SPECIAL)
        w.loan(
            patient, started_on=D(2024, 12, 1 + n), rent_stop_on=D(2025, 2, 10) if n == 3 else None
        )
    return w


def run_month(billie: Persona, month: dt.date) -> BillingRun:
    run = start_run(actor=billie.actor, month=month)
    compute_run(run.pk)
    run.refresh_from_db()
    return run


def locked_month(billie: Persona, month: dt.date) -> BillingRun:
    return approve_run(actor=billie.actor, run=run_month(billie, month))


def test_a_run_is_computed_into_a_preview_with_progress_total_and_digest(
    world: World,
    billie: Persona,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        run = start_run(actor=billie.actor, month=D(2025, 1, 15))
    assert run.status == BillingRun.Status.QUEUED and run.month == JAN
    assert len(callbacks) == 1  # the task is enqueued when the start is committed
    compute_run(run.pk)
    run.refresh_from_db()
    assert run.status == BillingRun.Status.PREVIEW
    assert run.progress_done == run.progress_total == 6
    assert run.line_count == BillingLine.unscoped.filter(run=run).count() == 9
    assert run.total == sum(line.amount for line in BillingLine.unscoped.filter(run=run))
    assert run.digest == stored_digest(run.pk)
    assert AuditEvent.objects.filter(action="billing.run_started", actor_id=billie.user.pk).exists()
    assert AuditEvent.objects.filter(action="billing.run_computed").exists()


def test_the_task_computes_the_run(world: World, billie: Persona, settings: Any) -> None:
    from lyfta.billing.tasks import compute_billing_run

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    run = BillingRun.objects.create(month=JAN, status="queued", created_by=billie.user)
    compute_billing_run.enqueue(run.pk)
    run.refresh_from_db()
    assert run.status == BillingRun.Status.PREVIEW and run.line_count == 9


def test_recompute_replaces_its_own_lines_and_keeps_the_same_digest(
    world: World, billie: Persona
) -> None:
    run = run_month(billie, JAN)
    before = set(BillingLine.unscoped.filter(run=run).values_list("pk", flat=True))
    recompute_run(actor=billie.actor, run=run)
    compute_run(run.pk)
    after = BillingRun.objects.get(pk=run.pk)
    assert after.line_count == 9 and after.digest == run.digest
    assert not before & set(BillingLine.unscoped.filter(run=run).values_list("pk", flat=True))


def test_discard_removes_a_preview_and_is_audited(world: World, billie: Persona) -> None:
    run = run_month(billie, JAN)
    discard_run(actor=billie.actor, run=run)
    assert not BillingRun.objects.filter(pk=run.pk).exists()
    assert not BillingLine.unscoped.filter(run_id=run.pk).exists()
    assert AuditEvent.objects.filter(action="billing.run_discarded").exists()


def test_only_the_economy_role_runs_and_approves(
    world: World, billie: Persona, alice: Persona
) -> None:
    with pytest.raises(PermissionDenied):
        start_run(actor=alice.actor, month=JAN)
    run = run_month(billie, JAN)
    with pytest.raises(PermissionDenied):
        approve_run(actor=alice.actor, run=run)


def test_approve_locks_once_a_month_and_a_locked_month_is_not_run_again(
    world: World,
    billie: Persona,
) -> None:
    run = locked_month(billie, JAN)
    assert run.status == BillingRun.Status.LOCKED
    assert run.approved_by == billie.user and run.approved_at is not None
    assert AuditEvent.objects.filter(action="billing.run_locked", actor_id=billie.user.pk).exists()
    with pytest.raises(RunRefused, match="redan godkänd och låst"):
        start_run(actor=billie.actor, month=JAN)
    with pytest.raises(RunRefused):
        discard_run(actor=billie.actor, run=run)
    with pytest.raises(RunRefused):
        recompute_run(actor=billie.actor, run=run)


def test_two_previews_of_a_month_only_one_is_locked(world: World, billie: Persona) -> None:
    first = run_month(billie, JAN)
    second = run_month(billie, JAN)
    approve_run(actor=billie.actor, run=first)
    with pytest.raises(RunRefused):
        approve_run(actor=billie.actor, run=second)


# --- Locked means locked: the triggers -------------------------------------------------------


def _refused(action: Any) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        action()


def test_r_nothing_in_a_locked_run_can_be_updated_or_deleted(world: World, billie: Persona) -> None:
    run = locked_month(billie, JAN)
    line = BillingLine.unscoped.filter(run=run).first()
    assert line is not None
    lines = BillingLine.unscoped.filter(run=run)
    _refused(lambda: lines.filter(pk=line.pk).update(amount=Decimal("1.00")))
    _refused(lambda: lines.filter(pk=line.pk).delete())
    _refused(lambda: lines.update(text="x"))
    _refused(
        lambda: BillingLine.unscoped.create(
            **{
                **{
                    f: getattr(line, f)
                    for f in ("kind", "customer_id", "period_from", "period_until")
                },
                "run": run,
                "unit_price": Decimal(1),
                "amount": Decimal(1),
                "text": "smuggled",
            }
        )
    )
    _refused(lambda: BillingRun.objects.filter(pk=run.pk).update(total=Decimal(0)))
    _refused(lambda: BillingRun.objects.filter(pk=run.pk).update(status="preview"))
    _refused(lambda: BillingRun.objects.filter(pk=run.pk).delete())
    # A line of an open run may not be moved into the locked one either.
    preview = run_month(billie, FEB)
    other = BillingLine.unscoped.filter(run=preview).first()
    assert other is not None
    _refused(lambda: BillingLine.unscoped.filter(pk=other.pk).update(run=run))
    # Nothing changed.
    run.refresh_from_db()
    assert run.status == BillingRun.Status.LOCKED and stored_digest(run.pk) == run.digest
    # While an open run's lines may be rewritten (recompute does).
    BillingLine.unscoped.filter(pk=other.pk).update(text="ändrad")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field=st.sampled_from(
        ["amount", "unit_price", "quantity", "text", "explanation", "customer", "period_until"]
    ),
    index=st.integers(min_value=0, max_value=8),
)
def test_r_any_change_to_any_locked_line_is_refused(
    world: World,
    billie: Persona,
    field: str,
    index: int,
) -> None:
    run = BillingRun.objects.filter(status="locked").first() or locked_month(billie, JAN)
    line = BillingLine.unscoped.filter(run=run).order_by("pk")[index]
    value = {
        "amount": Decimal("0.01"),
        "unit_price": Decimal("0.01"),
        "quantity": Decimal("9"),
        "text": "ändrad",
        "explanation": "ändrad",
        "customer": world.region_customer
        if line.customer_id != world.region_customer.pk
        else world.municipality_customer,
        "period_until": line.period_from,
    }[field]
    _refused(lambda: BillingLine.unscoped.filter(pk=line.pk).update(**{field: value}))
    _refused(lambda: BillingLine.unscoped.filter(pk=line.pk).delete())


# --- Reproducible ----------------------------------------------------------------------------


def test_r_a_locked_run_recomputes_identically_and_a_changed_fact_is_reported(
    world: World,
    billie: Persona,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = locked_month(billie, JAN)
    call_command("verify_billing", str(run.pk))
    assert "Samma" in capsys.readouterr().out
    # A fact changed behind the run's back (a rent stop moved): verify finds the loan.
    from lyfta.orders.models import Loan

    loan = Loan.unscoped.order_by("pk").first()
    assert loan is not None
    Loan.unscoped.filter(pk=loan.pk).update(rent_stop_on=D(2025, 1, 5))
    with pytest.raises(SystemExit) as exit_status:
        call_command("verify_billing", str(run.pk))
    assert exit_status.value.code == 1
    out = capsys.readouterr().out
    assert "SKILLNAD" in out and f"lån={loan.pk}" in out
    assert AuditEvent.objects.filter(action="billing.run_verified").count() == 2


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    starts=st.lists(st.integers(min_value=-60, max_value=30), min_size=1, max_size=5),
    moves=st.lists(st.integers(min_value=-10, max_value=30), min_size=0, max_size=5),
)
def test_r_any_locked_run_recomputes_identically(
    county: County,
    billie: Persona,
    starts: list[int],
    moves: list[int],
) -> None:
    with transaction.atomic():
        w = build_world(county)
        for n, start in enumerate(starts):
            patient = w.patient()
            w.move(patient, D(2020, 1, 1), Housing.ORDINARY)
            if n < len(moves):
                w.move(patient, JAN + dt.timedelta(days=moves[n]), Housing.SPECIAL)
            w.loan(patient, started_on=JAN + dt.timedelta(days=start))
        run = locked_month(billie, JAN)
        from lyfta.billing.services.run import verify_run

        result = verify_run(run)
        assert result.same and result.recomputed_digest == run.digest
        transaction.set_rollback(True)


# --- Corrections -------------------------------------------------------------------------------


def test_r_a_credit_and_its_original_net_to_zero_and_a_debit_carries_the_new_amount(
    world: World,
    billie: Persona,
) -> None:
    jan = locked_month(billie, JAN)
    feb = run_month(billie, FEB)
    line = BillingLine.unscoped.filter(run=jan).order_by("pk").first()
    assert line is not None
    made = correct_line(
        actor=billie.actor, line_id=line.pk, reason="Fel prisgrupp", new_amount=Decimal("99.90")
    )
    assert made.run.pk == feb.pk
    assert made.credit.corrects_id == line.pk == made.debit.corrects_id  # type: ignore[union-attr]
    assert made.credit.amount + line.amount == 0
    assert made.credit.customer_id == line.customer_id and made.credit.loan_id == line.loan_id
    assert made.debit is not None and made.debit.amount == Decimal("99.90")
    assert "Fel prisgrupp" in made.credit.explanation
    feb.refresh_from_db()
    assert feb.total == sum(x.amount for x in BillingLine.unscoped.filter(run=feb))
    event = AuditEvent.objects.get(action="billing.corrected")
    assert event.actor_id == billie.user.pk and event.detail["reason"] == "Fel prisgrupp"
    # The correction survives the open run's recompute; the locked run is untouched.
    recompute_run(actor=billie.actor, run=feb)
    compute_run(feb.pk)
    assert BillingLine.unscoped.filter(run=feb, corrects=line).count() == 2
    assert stored_digest(jan.pk) == jan.digest
    with pytest.raises(RunRefused, match="redan krediterad"):
        correct_line(actor=billie.actor, line_id=line.pk, reason="igen", new_amount=None)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    index=st.integers(min_value=0, max_value=8),
    debit=st.one_of(st.none(), st.decimals(min_value=0, max_value=99999, places=2)),
)
def test_r_every_credit_nets_its_original_to_zero(
    world: World,
    billie: Persona,
    index: int,
    debit: Decimal | None,
) -> None:
    with transaction.atomic():
        jan = BillingRun.objects.filter(status="locked").first() or locked_month(billie, JAN)
        if not BillingRun.objects.filter(month=FEB, status="preview").exists():
            run_month(billie, FEB)
        line = BillingLine.unscoped.filter(run=jan).order_by("pk")[index]
        made = correct_line(actor=billie.actor, line_id=line.pk, reason="Prov", new_amount=debit)
        assert line.amount + made.credit.amount == 0
        if debit is not None and debit != 0:
            assert made.debit is not None and made.debit.amount == debit
        else:  # no new amount, or zero: a credit only (a 0 kr debit line says nothing)
            assert made.debit is None
        transaction.set_rollback(True)


def test_a_correction_needs_a_later_open_run_and_a_reason(world: World, billie: Persona) -> None:
    jan = locked_month(billie, JAN)
    line = BillingLine.unscoped.filter(run=jan).first()
    assert line is not None
    with pytest.raises(RunRefused, match="ingen öppen körning"):
        correct_line(actor=billie.actor, line_id=line.pk, reason="Fel", new_amount=None)
    run_month(billie, FEB)
    with pytest.raises(RunRefused, match="skälet"):
        correct_line(actor=billie.actor, line_id=line.pk, reason="   ", new_amount=None)


def test_the_demo_seed_locks_last_month_as_the_economy_user(world: World, billie: Persona) -> None:
    from lyfta.billing.seed_runs import seed_locked_run

    run = seed_locked_run(None, today=D(2025, 2, 15), username="billie")
    assert run is not None and run.month == JAN and run.status == BillingRun.Status.LOCKED
    assert run.approved_by == billie.user and run.line_count == 9
    again = seed_locked_run(None, today=D(2025, 2, 20), username="billie")
    assert again is not None and again.pk == run.pk
    assert seed_locked_run(None, today=D(2025, 2, 20), username="nobody") is None
