"""The work-order status machine and its parts under random sequences of real service calls on
the real database (issue 13, "Done when" point 2; DOMAIN.md §3.4).

A Hypothesis state machine takes a repair and a special adaptation of unit A's patient's lift
through every step the technicians' desk has (plan, start, wait for parts, estimate, approve,
report, use a part, done, reopen, close, cancel, attach a file), by the technician, the asking
prescriber or a prescriber of another unit, with good and bad arguments (more parts than the
workshop holds, a tracked article, the central store, empty texts); now and then the workshop is
restocked from the central store through the ledger. After every step:

- a step that succeeded moved the status only along `services.TRANSITIONS` and wrote exactly one
  audit event about the work order, whose before/after changes carry the status change;
- a refused step changed nothing: the row is as it was, no audit event about the work order, no
  ledger row, no part row;
- no stock level is negative and the ledger equals the books for the spare part in the workshop
  and the central store; every part row has its own ledger row (repair_part, out of the workshop,
  referenced to the work order, naming the patient);
- a closed or cancelled work order never changes again;
- a special adaptation is never started without the paying unit's approval.

Each example runs inside a savepoint of the test's transaction that is rolled back when it ends,
so every example starts from the same small world (as lyfta/inventory/tests/test_invariants.py)."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from conftest import Persona
from lyfta.audit.models import AuditEvent
from lyfta.core.tests.images import png
from lyfta.inventory import services as stock
from lyfta.inventory.models import StockLevel, StockMovement
from lyfta.workorders import services
from lyfta.workorders.models import Attachment, WorkOrder, WorkOrderPart
from lyfta.workorders.tests.conftest import Desk, adaptation_for, move_to_workshop, repair_for

pytestmark = pytest.mark.django_db

S = WorkOrder.Status
K = WorkOrder.Kind

STEPS = (
    "plan",
    "start",
    "wait_for_parts",
    "estimate",
    "approve",
    "report",
    "use_part",
    "use_part",  # the point of the machine: drawn twice as often
    "done",
    "reopen",
    "close",
    "cancel",
    "attach",
    "restock",
)
# The steps that can move a work order on from each status: drawn three times as often as the
# others, so that examples reach done, closed and approved work rather than refusals only.
USEFUL: dict[str, tuple[str, ...]] = {
    S.REGISTERED: ("plan", "start", "estimate", "wait_for_parts"),
    S.PLANNED: ("start", "estimate", "wait_for_parts"),
    S.IN_PROGRESS: ("use_part", "report", "report", "done", "done", "wait_for_parts"),
    S.WAITING_PARTS: ("start", "plan", "restock"),
    S.WAITING_APPROVAL: ("approve", "approve", "plan"),
    S.DONE: ("close", "reopen", "report"),
    S.CLOSED: (),
    S.CANCELLED: (),
}
# Mostly the technician; now and then the asking prescriber or one of another unit. Approval is
# the paying unit's (alice's), now and then tried by someone else.
WHO = ("tekla",) * 6 + ("alice", "charlie")
APPROVER = ("alice",) * 3 + ("charlie", "tekla")


def mostly(good: object, *bad: object) -> st.SearchStrategy[Any]:
    """`good` four times in five, else one of `bad`."""
    return st.sampled_from([good] * 4 * max(1, len(bad)) + list(bad))


PNG = png()


def snapshot(order_id: int) -> dict[str, Any]:
    """The work order's row, its parts and attachments: what a refused step must leave alone."""
    row: dict[str, Any] = dict(WorkOrder.unscoped.filter(pk=order_id).values().get())
    row["parts"] = list(
        WorkOrderPart.unscoped.filter(work_order_id=order_id).values_list("pk", flat=True)
    )
    row["attachments"] = list(
        Attachment.unscoped.filter(work_order_id=order_id).values_list("pk", flat=True)
    )
    return row


def events_of(order_id: int, after: int) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            pk__gt=after, resource_type="workorders.workorder", resource_id=str(order_id)
        ).order_by("pk")
    )


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


class WorkOrderMachine(RuleBasedStateMachine):
    """Random walks through two work orders' lives, checked after every step."""

    desk: Desk
    people: dict[str, Persona]
    attachment_dir: Path

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        try:
            alice = self.people["alice"]
            self.orders = [repair_for(self.desk, alice).pk, adaptation_for(self.desk, alice).pk]
            self.final: dict[int, dict[str, Any]] = {}
            self.steps_done = dict.fromkeys(self.orders, 1)  # the registration's event
            self.today = timezone.localdate()
        except BaseException:
            self.teardown()
            raise

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- The steps ---------------------------------------------------------------------------

    def _call(self, step: str, order: WorkOrder, who: str, data: st.DataObject) -> None:
        actor = self.people[who].actor
        draw = data.draw
        desk = self.desk
        if step == "plan":
            services.work_order_plan(
                actor=actor,
                order=order,
                assignee=draw(mostly(self.people["tekla"].user, None), label="assignee"),
                team=draw(mostly(desk.team, None), label="team"),
                planned_on=draw(
                    st.sampled_from([0, 3, 20, 0, 3, 20, None, -1]).map(
                        lambda d: None if d is None else self.today + dt.timedelta(days=d)
                    ),
                    label="planned_on",
                ),
            )
        elif step == "start":
            services.work_order_start(actor=actor, order=order)
        elif step == "wait_for_parts":
            note = draw(mostly("Laddare beställd", "", "x" * 201), label="note")
            services.work_order_wait_for_parts(actor=actor, order=order, note=note)
        elif step == "estimate":
            services.work_order_estimate(
                actor=actor,
                order=order,
                instruction=draw(mostly("Förläng bygeln 10 cm", ""), label="instruction"),
                risk_analysis=draw(mostly("Klämrisk bedömd låg", " "), label="risk"),
                cost_estimate=draw(
                    mostly(Decimal("4500"), Decimal("0"), Decimal("-1")), label="cost"
                ),
            )
        elif step == "approve":
            services.work_order_approve(actor=actor, order=order)
        elif step == "report":
            services.work_order_report(
                actor=actor,
                order=order,
                findings=draw(mostly("Trasig laddare", ""), label="findings"),
                actions=draw(mostly("Bytt laddare", ""), label="actions"),
                minutes_spent=draw(mostly(45, 0, 6001, -5), label="minutes"),
                billable=draw(st.booleans(), label="billable"),
            )
        elif step == "use_part":
            article = draw(mostly(desk.part, desk.shop.lift), label="article")
            place = draw(mostly(desk.workshop, desk.shop.central), label="place")
            # Mostly what the workshop may have, sometimes more than it holds, or none.
            quantity = draw(
                st.one_of(st.integers(min_value=1, max_value=3), st.integers(0, 12)),
                label="quantity",
            )
            services.work_order_use_part(
                actor=actor, order=order, article=article, quantity=quantity, location=place
            )
        elif step == "done":
            services.work_order_done(actor=actor, order=order)
        elif step == "reopen":
            services.work_order_reopen(actor=actor, order=order)
        elif step == "close":
            services.work_order_close(actor=actor, order=order)
        elif step == "cancel":
            reason = draw(mostly("Fel anmält", ""), label="reason")
            services.work_order_cancel(actor=actor, order=order, reason=reason)
        elif step == "attach":
            blob = draw(mostly(PNG, b"GIF89a" + b"\x00" * 8), label="bytes")
            services.attachment_add(actor=actor, order=order, name="fel.png", data=blob)
        else:  # pragma: no cover - STEPS lists them all
            raise AssertionError(step)

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(self.orders), label="order")
        status = WorkOrder.unscoped.values_list("status", flat=True).get(pk=order_id)
        step = data.draw(st.sampled_from(USEFUL[status] * 3 + STEPS), label="step")
        if step == "restock":
            self.restock(data.draw(st.integers(min_value=1, max_value=4), label="quantity"))
            return
        who = data.draw(st.sampled_from(APPROVER if step == "approve" else WHO), label="who")
        before = snapshot(order_id)
        event_mark = last_event_id()
        ledger_before = StockMovement.unscoped.count()
        order = WorkOrder.unscoped.get(pk=order_id)
        try:
            self._call(step, order, who, data)
        except (ValidationError, PermissionDenied) as refused:
            if isinstance(refused, ValidationError):
                message = " ".join(refused.messages)
                # A Swedish sentence for the user, not a code.
                assert message[:1].isupper(), f"{step}: not a message: {message!r}"
            after = snapshot(order_id)
            assert after == before, f"refused {step} by {who} changed the work order"
            assert events_of(order_id, event_mark) == [], f"refused {step} was audited"
            assert StockMovement.unscoped.count() == ledger_before, f"refused {step}: ledger row"
            return
        after = snapshot(order_id)
        assert before["status"] not in WorkOrder.FINAL, (
            f"{step} by {who} changed a {before['status']} work order"
        )
        if after["status"] != before["status"]:
            assert after["status"] in services.TRANSITIONS[before["status"]], (
                f"{step}: {before['status']} → {after['status']} is not a transition"
            )
        written = events_of(order_id, event_mark)
        assert len(written) == 1, f"{step} wrote {len(written)} events about the work order"
        event = written[0]
        if after["status"] != before["status"]:
            assert event.changes.get("status") == [before["status"], after["status"]], (
                f"{step}: the event's changes {event.changes} miss the status change"
            )
        else:
            assert "status" not in (event.changes or {})
        assert event.patient_id == self.desk.shop.patient.pk
        assert event.owner_unit_id == self.desk.county.unit_a.pk
        if step != "use_part":
            assert StockMovement.unscoped.count() == ledger_before, f"{step} moved stock"
        self.steps_done[order_id] += 1
        if after["status"] in WorkOrder.FINAL:
            self.final.setdefault(order_id, after)

    def restock(self, quantity: int) -> None:
        """The workshop is refilled from the central store (refused when it has too few)."""
        ledger_before = StockMovement.unscoped.count()
        try:
            with transaction.atomic():
                move_to_workshop(
                    self.people["logan"],
                    self.desk.shop.central,
                    self.desk.workshop,
                    self.desk.part,
                    quantity,
                )
        except stock.OutOfStock:
            assert StockMovement.unscoped.count() == ledger_before

    # --- After every step --------------------------------------------------------------------

    @invariant()
    def stock_is_never_negative(self) -> None:
        wrong = StockLevel.objects.filter(Q(quantity__lt=0) | Q(reserved__lt=0))
        assert not wrong.exists(), list(wrong.values("article", "location", "quantity"))

    @invariant()
    def the_ledger_equals_the_books(self) -> None:
        desk = self.desk
        for place in (desk.workshop, desk.shop.central):
            balance = stock.ledger_balance(desk.part, place)
            booked = stock.books_at(desk.part, place)
            level = StockLevel.objects.get(article=desk.part, location=place).quantity
            assert balance == booked == level, f"{place}: ledger {balance}, books {booked}"
        # Each part row is its own ledger row out of the workshop, to no place, on the order.
        parts = WorkOrderPart.unscoped.select_related("movement", "work_order")
        for part in parts:
            movement = part.movement
            assert movement.kind == StockMovement.Kind.REPAIR_PART
            assert movement.from_location_id == desk.workshop.pk
            assert movement.to_location_id is None
            assert (movement.article_id, movement.quantity) == (part.article_id, part.quantity)
            assert movement.reference == f"workorder:{part.work_order.number}"
            assert movement.patient_id == part.work_order.patient_id
        used = parts.aggregate(n=Sum("quantity"))["n"] or 0
        out = (
            StockMovement.unscoped.filter(kind=StockMovement.Kind.REPAIR_PART).aggregate(
                n=Sum("quantity")
            )["n"]
            or 0
        )
        assert used == out, f"parts {used}, repair_part movements {out}"

    @invariant()
    def a_closed_or_cancelled_order_never_changes(self) -> None:
        for order_id, frozen in self.final.items():
            assert snapshot(order_id) == frozen, f"work order {order_id} changed after {frozen}"

    @invariant()
    def a_special_adaptation_starts_only_when_approved(self) -> None:
        started = WorkOrder.unscoped.filter(
            kind=K.SPECIAL_ADAPTATION, approved_at__isnull=True
        ).filter(Q(status__in=[S.IN_PROGRESS, S.DONE, S.CLOSED]) | Q(started_at__isnull=False))
        assert not started.exists(), list(started.values("number", "status"))

    @invariant()
    def every_change_is_in_the_audit_trail(self) -> None:
        for order_id, steps in self.steps_done.items():
            recorded = AuditEvent.objects.filter(
                resource_type="workorders.workorder", resource_id=str(order_id)
            ).count()
            assert recorded == steps, f"work order {order_id}: {recorded} events, {steps} steps"


def test_work_order_machine(
    desk: Desk,
    alice: Persona,
    charlie: Persona,
    tekla: Persona,
    logan: Persona,
    tmp_path: Path,
    settings: Any,
) -> None:
    """Issue 13, "Done when" point 2: every transition audited, parts never negative, the ledger
    equals stock, a closed order never changes."""
    settings.LYFTA_ATTACHMENT_DIR = str(tmp_path / "attachments")

    class Machine(WorkOrderMachine):
        pass

    Machine.desk = desk
    Machine.people = {"alice": alice, "charlie": charlie, "tekla": tekla, "logan": logan}
    run_state_machine_as_test(
        Machine,
        settings=hypothesis.settings(
            max_examples=int(os.environ.get("LYFTA_HYPOTHESIS_EXAMPLES", "20")),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
