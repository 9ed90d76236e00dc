"""The technicians' desk's services (issue 13, build points 1–3 and 5; DOMAIN.md §3.4): the
warranty check, spare parts out of the workshop through the ledger, special adaptation's estimate
and the paying unit's approval, the report before done, messages to the one who asked, the
inspection record (a failed one takes the item out of use and opens a repair), attachments
checked by content and size, and the audit event of every step (R57, R61)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from conftest import County, Persona
from lyfta.access.actor import Actor
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.core.tests.images import GPS_IFD, jpeg, png
from lyfta.core.uploads import without_metadata
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, StockLevel, StockMovement
from lyfta.messages.models import Message
from lyfta.orders import services as orders
from lyfta.orders.models import OrderLine
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import grant
from lyfta.workorders import services
from lyfta.workorders.models import Attachment, Inspection, ItemInspection, WorkOrder, WorkOrderPart
from lyfta.workorders.services import PointResult
from lyfta.workorders.tests.conftest import (
    CHECKLIST,
    WORKSHOP_STOCK,
    Desk,
    adaptation_for,
    repair_for,
)

pytestmark = pytest.mark.django_db

S = WorkOrder.Status
K = WorkOrder.Kind
D = dt.date

JPEG = jpeg()
PNG = png()
PDF = b"%PDF-1.4\n" + b"\x03" * 64


def workshop_level(desk: Desk) -> int:
    return StockLevel.objects.get(article=desk.part, location=desk.workshop).quantity


def events_of(order: WorkOrder, action: str | None = None) -> list[AuditEvent]:
    found = AuditEvent.objects.filter(
        resource_type="workorders.workorder", resource_id=str(order.pk)
    )
    if action is not None:
        found = found.filter(action=action)
    return list(found.order_by("pk"))


def messages_to(persona: Persona) -> list[Message]:
    """The desk's messages to `persona`: not the delivery notes of the devices set up for it."""
    found = Message.objects.filter(recipient=persona.user).exclude(subject__startswith="Levererad:")
    return list(found.order_by("pk"))


def started(desk: Desk, alice: Persona, tekla: Persona) -> WorkOrder:
    order = repair_for(desk, alice)
    return services.work_order_start(actor=tekla.actor, order=order)


def report(tekla: Persona, order: WorkOrder, actions: str = "Bytt laddare") -> WorkOrder:
    return services.work_order_report(
        actor=tekla.actor,
        order=order,
        findings="Laddaren trasig",
        actions=actions,
        minutes_spent=45,
        billable=False,
    )


def inspection_of(desk: Desk, tekla: Persona, item: Item, *, at_home: bool) -> WorkOrder:
    return services.work_order_create(
        actor=tekla.actor,
        kind=K.INSPECTION,
        description="Årlig besiktning",
        place=WorkOrder.Place.HOME if at_home else WorkOrder.Place.WORKSHOP,
        unit=desk.county.unit_a if at_home else desk.county.centre,
        item=item,
        patient=desk.shop.patient if at_home else None,
        origin=WorkOrder.Origin.INSPECTION_PLAN,
        plan=desk.plan,
    )


def results(**outcome: str) -> list[PointResult]:
    """Every point of the protocol passed, except those named (by their index: p0, p1, …)."""
    return [
        PointResult(point, outcome.get(f"p{n}", "pass"), "") for n, point in enumerate(CHECKLIST)
    ]


# --- Warranty ---------------------------------------------------------------------------------


def test_warranty_runs_from_acquisition_for_the_articles_warranty_months(desk: Desk) -> None:
    item = desk.lift
    assert item.article.warranty_months == 24
    Item.objects.filter(pk=item.pk).update(acquired_on=D(2024, 3, 15))
    item.refresh_from_db()
    assert services.under_warranty(item, D(2026, 3, 15)) is True  # the last day
    assert services.under_warranty(item, D(2026, 3, 16)) is False
    assert services.under_warranty(None, D(2026, 3, 15)) is False
    # Acquired on 31 August: the warranty of 6 months ends on the last day of February.
    Item.objects.filter(pk=item.pk).update(acquired_on=D(2023, 8, 31))
    item.article.warranty_months = 6
    item.article.save()
    item.refresh_from_db()
    assert services.under_warranty(item, D(2024, 2, 29)) is True
    assert services.under_warranty(item, D(2024, 3, 1)) is False


def test_a_fault_report_within_the_warranty_is_a_warranty_case(desk: Desk, alice: Persona) -> None:
    # The lift was received today: well within its 24 months.
    assert repair_for(desk, alice).warranty is True
    today = timezone.localdate()
    Item.objects.filter(pk=desk.lift.pk).update(acquired_on=today - dt.timedelta(days=800))
    desk.lift.refresh_from_db()
    assert repair_for(desk, alice).warranty is False


# --- Spare parts --------------------------------------------------------------------------------


def test_a_part_leaves_the_workshop_through_the_ledger_with_the_report_line(
    desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = started(desk, alice, tekla)
    part = services.work_order_use_part(
        actor=tekla.actor, order=order, article=desk.part, quantity=2, location=desk.workshop
    )
    assert workshop_level(desk) == WORKSHOP_STOCK - 2
    movement = StockMovement.unscoped.get(pk=part.movement_id)
    assert movement.kind == StockMovement.Kind.REPAIR_PART
    assert (movement.from_location_id, movement.to_location_id) == (desk.workshop.pk, None)
    assert (movement.article_id, movement.quantity) == (desk.part.pk, 2)
    assert movement.reference == f"workorder:{order.number}"
    assert movement.patient_id == desk.shop.patient.pk
    assert movement.actor_id == tekla.user.pk
    assert (part.used_by_id, part.used_at) == (tekla.user.pk, movement.occurred_at)
    assert stock.ledger_balance(desk.part, desk.workshop) == stock.books_at(
        desk.part, desk.workshop
    )
    (used,) = events_of(order, Action.WORKORDER_PART_USED)
    assert used.detail == {"article": "900001", "quantity": 2, "place": "VERKSTAD"}
    assert used.patient_id == desk.shop.patient.pk


def test_the_ledger_row_is_undone_when_the_part_row_fails(
    desk: Desk, alice: Persona, tekla: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction: a failure after the ledger row leaves neither row nor stock change."""
    order = started(desk, alice, tekla)
    ledger_before = StockMovement.unscoped.count()

    def broken(**_fields: Any) -> WorkOrderPart:
        raise RuntimeError("disk full")

    monkeypatch.setattr(WorkOrderPart.unscoped, "create", broken)
    with pytest.raises(RuntimeError):
        services.work_order_use_part(
            actor=tekla.actor, order=order, article=desk.part, quantity=1, location=desk.workshop
        )
    assert StockMovement.unscoped.count() == ledger_before
    assert workshop_level(desk) == WORKSHOP_STOCK


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("tracked", "Individmärkta artiklar används inte som reservdelar."),
        ("central", "Reservdelar tas ur verkstadens lager."),
        (
            "too_many",
            f"Det finns inte {WORKSHOP_STOCK + 1} st av 900001 Laddare till taklyft i Verkstaden.",
        ),
        ("none", "Antalet ska vara mellan 1 och 100."),
        ("not_started", "Reservdelar används när arbetet pågår."),
    ],
)
def test_a_part_use_is_refused_without_writing_anything(
    desk: Desk, alice: Persona, tekla: Persona, what: str, message: str
) -> None:
    order = repair_for(desk, alice) if what == "not_started" else started(desk, alice, tekla)
    article = desk.shop.lift if what == "tracked" else desk.part
    place = desk.shop.central if what == "central" else desk.workshop
    quantity = {"too_many": WORKSHOP_STOCK + 1, "none": 0}.get(what, 1)
    ledger_before = StockMovement.unscoped.count()
    central_before = StockLevel.objects.get(article=desk.part, location=desk.shop.central).quantity
    with pytest.raises(ValidationError) as refused:
        services.work_order_use_part(
            actor=tekla.actor, order=order, article=article, quantity=quantity, location=place
        )
    assert message in " ".join(refused.value.messages)
    assert StockMovement.unscoped.count() == ledger_before
    assert not WorkOrderPart.unscoped.filter(work_order=order).exists()
    assert workshop_level(desk) == WORKSHOP_STOCK
    assert (
        StockLevel.objects.get(article=desk.part, location=desk.shop.central).quantity
        == central_before
    )
    assert events_of(order, Action.WORKORDER_PART_USED) == []


def test_the_whole_workshop_stock_can_be_used_but_not_one_more(
    desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = started(desk, alice, tekla)
    services.work_order_use_part(
        actor=tekla.actor,
        order=order,
        article=desk.part,
        quantity=WORKSHOP_STOCK,
        location=desk.workshop,
    )
    assert workshop_level(desk) == 0
    with pytest.raises(ValidationError):
        services.work_order_use_part(
            actor=tekla.actor, order=order, article=desk.part, quantity=1, location=desk.workshop
        )
    assert workshop_level(desk) == 0
    assert WorkOrderPart.unscoped.filter(work_order=order).count() == 1


def test_only_a_technician_uses_parts(desk: Desk, alice: Persona, tekla: Persona) -> None:
    order = started(desk, alice, tekla)
    with pytest.raises(PermissionDenied):
        services.work_order_use_part(
            actor=alice.actor, order=order, article=desk.part, quantity=1, location=desk.workshop
        )
    assert workshop_level(desk) == WORKSHOP_STOCK


# --- Special adaptation ---------------------------------------------------------------------


def estimate(tekla: Persona, order: WorkOrder, **fields: Any) -> WorkOrder:
    values: dict[str, Any] = {
        "instruction": "Förläng bygeln 10 cm enligt ritning.",
        "risk_analysis": "Klämrisk vid bygeln bedömd låg.",
        "cost_estimate": Decimal("4500"),
        **fields,
    }
    return services.work_order_estimate(actor=tekla.actor, order=order, **values)


def test_a_special_adaptation_starts_only_after_the_paying_unit_approves(
    desk: Desk, alice: Persona, bob: Persona, tekla: Persona
) -> None:
    order = adaptation_for(desk, alice)
    with pytest.raises(ValidationError, match="godkänt kostnadsförslaget"):
        services.work_order_start(actor=tekla.actor, order=order)
    assert WorkOrder.unscoped.get(pk=order.pk).status == S.REGISTERED
    order = estimate(tekla, order)
    assert order.status == S.WAITING_APPROVAL
    assert order.cost_estimate == Decimal("4500.00")
    # Both of unit A's prescribers are asked to approve.
    for persona in (alice, bob):
        assert any(order.number in m.subject for m in messages_to(persona))
    with pytest.raises(ValidationError):
        services.work_order_start(actor=tekla.actor, order=order)
    approved = services.work_order_approve(actor=bob.actor, order=order)
    assert approved.approved_by == bob.user and approved.approved_at is not None
    assert approved.status == S.REGISTERED
    (event,) = events_of(order, Action.WORKORDER_APPROVED)
    assert event.changes["status"] == [S.WAITING_APPROVAL, S.REGISTERED]
    assert event.changes["approved_by_id"] == [None, bob.user.pk]
    assert services.work_order_start(actor=tekla.actor, order=order).status == S.IN_PROGRESS


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"instruction": "  "}, "Instruktionen måste fyllas i."),
        ({"risk_analysis": ""}, "Riskanalysen måste fyllas i."),
        ({"cost_estimate": None}, "Ange ett kostnadsförslag i kronor."),
        ({"cost_estimate": Decimal("-1")}, "Ange ett kostnadsförslag i kronor."),
    ],
)
def test_an_estimate_needs_instruction_risk_analysis_and_cost(
    desk: Desk, alice: Persona, tekla: Persona, fields: dict[str, Any], message: str
) -> None:
    order = adaptation_for(desk, alice)
    with pytest.raises(ValidationError) as refused:
        estimate(tekla, order, **fields)
    assert refused.value.messages == [message]
    stored = WorkOrder.unscoped.get(pk=order.pk)
    assert (stored.status, stored.instruction, stored.cost_estimate) == (S.REGISTERED, "", None)


def test_an_estimate_belongs_to_a_special_adaptation(
    desk: Desk, alice: Persona, tekla: Persona
) -> None:
    with pytest.raises(ValidationError, match="hör till specialanpassningar"):
        estimate(tekla, repair_for(desk, alice))


@pytest.mark.parametrize("who", ["charlie", "tekla", "logan"])
def test_only_the_work_orders_unit_approves(
    request: pytest.FixtureRequest, desk: Desk, alice: Persona, tekla: Persona, who: str
) -> None:
    """Another unit's prescriber may approve (the capability) but not this unit's cost; the
    technician and logistics may not approve at all."""
    order = estimate(tekla, adaptation_for(desk, alice))
    stranger: Persona = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        services.work_order_approve(actor=stranger.actor, order=order)
    stored = WorkOrder.unscoped.get(pk=order.pk)
    assert (stored.status, stored.approved_at) == (S.WAITING_APPROVAL, None)
    assert events_of(order, Action.WORKORDER_APPROVED) == []


def test_a_done_special_adaptation_leaves_the_ce_note_on_the_item(
    desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = estimate(tekla, adaptation_for(desk, alice))
    services.work_order_approve(actor=alice.actor, order=order)
    services.work_order_start(actor=tekla.actor, order=order)
    assert Item.objects.get(pk=desk.lift.pk).adaptation_note == ""
    services.work_order_done(actor=tekla.actor, order=report(tekla, order))
    note = Item.objects.get(pk=desk.lift.pk).adaptation_note
    assert order.number in note
    assert "CE-märkning omfattar inte längre" in note


# --- Done, messages, delays -----------------------------------------------------------------


def test_done_requires_the_report_of_what_was_done(
    desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = started(desk, alice, tekla)
    report(tekla, order, actions="")
    with pytest.raises(ValidationError, match="vad som gjordes"):
        services.work_order_done(actor=tekla.actor, order=order)
    assert WorkOrder.unscoped.get(pk=order.pk).status == S.IN_PROGRESS
    done = services.work_order_done(actor=tekla.actor, order=report(tekla, order))
    assert done.status == S.DONE and done.done_at is not None


def test_the_one_who_asked_hears_of_done_waiting_and_cancelling(
    desk: Desk, alice: Persona, bob: Persona, tekla: Persona
) -> None:
    order = started(desk, alice, tekla)
    assert messages_to(alice) == []
    services.work_order_wait_for_parts(actor=tekla.actor, order=order, note="Laddare beställd")
    (waiting,) = messages_to(alice)
    assert order.number in waiting.subject and "Laddare beställd" in waiting.body
    assert waiting.link == f"/teknik/arbetsorder/{order.pk}/"
    services.work_order_start(actor=tekla.actor, order=order)
    services.work_order_done(actor=tekla.actor, order=report(tekla, order))
    done = messages_to(alice)[-1]
    assert "är utförd" in done.subject and order.number in done.subject
    # Only the one who asked is told, not her colleague.
    assert messages_to(bob) == []
    # Cancelled by the technicians: she is told, with the reason.
    other = repair_for(desk, alice)
    services.work_order_cancel(actor=tekla.actor, order=other, reason="Dubblettanmälan")
    cancelled = messages_to(alice)[-1]
    assert "makulerad" in cancelled.subject and "Dubblettanmälan" in cancelled.body


def test_a_requester_cancelling_herself_gets_no_message(
    desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = repair_for(desk, alice)
    services.work_order_cancel(actor=alice.actor, order=order, reason="Felanmält")
    stored = WorkOrder.unscoped.get(pk=order.pk)
    assert (stored.status, stored.cancel_reason) == (S.CANCELLED, "Felanmält")
    assert messages_to(alice) == []
    # Once work has started, the unit asks the technicians instead.
    begun = started(desk, alice, tekla)
    with pytest.raises(ValidationError, match="Arbetet har påbörjats"):
        services.work_order_cancel(actor=alice.actor, order=begun, reason="Ångrat")
    assert WorkOrder.unscoped.get(pk=begun.pk).status == S.IN_PROGRESS


def test_another_unit_cannot_cancel(desk: Desk, alice: Persona, charlie: Persona) -> None:
    order = repair_for(desk, alice)
    with pytest.raises(PermissionDenied):
        services.work_order_cancel(actor=charlie.actor, order=order, reason="Fel")
    assert WorkOrder.unscoped.get(pk=order.pk).status == S.REGISTERED


def test_an_overdue_work_order_is_announced_once(desk: Desk, alice: Persona) -> None:
    order = repair_for(desk, alice)
    system = Actor.system("workorders-overdue")
    assert services.overdue_notify(actor=system, today=order.done_due) == 0
    assert messages_to(alice) == []
    late = order.done_due + dt.timedelta(days=1)
    assert services.overdue_notify(actor=system, today=late) == 1
    (message,) = messages_to(alice)
    assert order.number in message.subject and "försenad" in message.subject
    assert order.done_due.isoformat() in message.body
    assert services.overdue_notify(actor=system, today=late + dt.timedelta(days=3)) == 0
    assert len(messages_to(alice)) == 1
    assert WorkOrder.unscoped.get(pk=order.pk).delay_notified is True


# --- Inspections ----------------------------------------------------------------------------


def test_a_passed_inspection_is_next_due_one_interval_on(desk: Desk, tekla: Persona) -> None:
    order = inspection_of(desk, tekla, desk.lift, at_home=True)
    inspection = services.inspection_record(
        actor=tekla.actor,
        order=order,
        results=results(),
        condition="Gott skick",
        performed_on=D(2026, 11, 30),
    )
    assert inspection.result == Inspection.Result.PASSED
    assert inspection.next_due == D(2027, 11, 30)  # 12 months on
    assert inspection.serial_number == desk.lift.serial_number
    assert [p["result"] for p in inspection.points] == ["pass"] * len(CHECKLIST)
    schedule = ItemInspection.objects.get(item=desk.lift, plan=desk.plan)
    assert (schedule.next_due, schedule.last_done, schedule.reminded_on) == (
        D(2027, 11, 30),
        D(2026, 11, 30),
        None,
    )
    stored = WorkOrder.unscoped.get(pk=order.pk)
    assert stored.status == S.DONE
    assert Item.objects.get(pk=desk.lift.pk).out_of_use_since is None
    (event,) = events_of(order, Action.INSPECTION_RECORDED)
    assert event.detail["result"] == "passed" and event.detail["next_due"] == "2027-11-30"
    assert event.patient_id == desk.shop.patient.pk


def test_a_leap_day_inspection_is_next_due_at_the_end_of_february(
    desk: Desk, tekla: Persona
) -> None:
    order = inspection_of(desk, tekla, desk.spare_lift, at_home=False)
    inspection = services.inspection_record(
        actor=tekla.actor, order=order, results=results(), performed_on=D(2024, 2, 29)
    )
    assert inspection.next_due == D(2025, 2, 28)


def test_a_failed_inspection_takes_the_item_out_of_use_until_repaired(
    desk: Desk, alice: Persona, tekla: Persona, logan: Persona
) -> None:
    spare = desk.spare_lift
    assert stock.available(desk.shop.lift, desk.shop.central) == 1
    order = inspection_of(desk, tekla, spare, at_home=False)
    today = timezone.localdate()
    inspection = services.inspection_record(
        actor=tekla.actor, order=order, results=results(p1="fail"), performed_on=today
    )
    assert inspection.result == Inspection.Result.FAILED
    spare.refresh_from_db()
    assert spare.out_of_use_since == today
    assert order.number in spare.out_of_use_reason
    out = AuditEvent.objects.filter(action=Action.ITEM_OUT_OF_USE, resource_id=str(spare.pk))
    assert out.count() == 1
    # An urgent repair is open on the item, and the next inspection is due when it is done.
    repair = WorkOrder.unscoped.get(item=spare, kind=K.REPAIR)
    assert (repair.status, repair.priority, repair.origin) == (
        S.REGISTERED,
        WorkOrder.Priority.URGENT,
        WorkOrder.Origin.INSPECTION_PLAN,
    )
    assert "Nödsänkning" in repair.description
    assert inspection.next_due == repair.done_due
    # Picking refuses it: nothing is available, and an order for a lift is backordered.
    assert stock.available(desk.shop.lift, desk.shop.central) == 0
    with pytest.raises(stock.OutOfStock):
        stock.reserve_item(desk.shop.lift, desk.shop.central)
    placed = orders.order_place(
        actor=alice.actor,
        grant=grant(alice, desk.shop.other),
        lines=[LineInput(desk.shop.lift)],
        delivery=DeliveryInput(),
    )
    line = OrderLine.unscoped.get(order=placed)
    assert (line.status, line.item_id) == (OrderLine.Status.BACKORDERED, None)
    assert Item.objects.get(pk=spare.pk).status == Item.Status.IN_STOCK
    # The repair's done puts it back in use.
    services.work_order_start(actor=tekla.actor, order=repair)
    services.work_order_done(actor=tekla.actor, order=report(tekla, repair, "Bytt nödsänkning"))
    repaired = Item.objects.get(pk=spare.pk)
    assert (repaired.out_of_use_since, repaired.out_of_use_reason) == (None, "")
    back = AuditEvent.objects.filter(action=Action.ITEM_BACK_IN_USE, resource_id=str(spare.pk))
    assert back.get().detail == {"workorder": repair.number}
    assert stock.available(desk.shop.lift, desk.shop.central) == 1


def test_an_inspection_needs_every_point_and_is_recorded_once(desk: Desk, tekla: Persona) -> None:
    order = inspection_of(desk, tekla, desk.lift, at_home=True)
    partial = results()[:-1]
    with pytest.raises(ValidationError) as refused:
        services.inspection_record(actor=tekla.actor, order=order, results=partial)
    assert CHECKLIST[-1] in " ".join(refused.value.messages)
    unknown = [PointResult(r.point, "maybe") for r in results()]
    with pytest.raises(ValidationError):
        services.inspection_record(actor=tekla.actor, order=order, results=unknown)
    assert not Inspection.unscoped.filter(work_order=order).exists()
    assert WorkOrder.unscoped.get(pk=order.pk).status == S.REGISTERED
    services.inspection_record(actor=tekla.actor, order=order, results=results())
    with pytest.raises(ValidationError, match="redan registrerad"):
        services.inspection_record(actor=tekla.actor, order=order, results=results(p0="fail"))
    assert Inspection.unscoped.filter(work_order=order).count() == 1
    assert Item.objects.get(pk=desk.lift.pk).out_of_use_since is None


def test_an_inspection_cannot_be_dated_in_the_future_nor_recorded_on_a_repair(
    desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = inspection_of(desk, tekla, desk.lift, at_home=True)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="framtiden"):
        services.inspection_record(
            actor=tekla.actor, order=order, results=results(), performed_on=tomorrow
        )
    with pytest.raises(ValidationError, match="ingen besiktning"):
        services.inspection_record(
            actor=tekla.actor, order=repair_for(desk, alice), results=results()
        )


# --- Attachments ----------------------------------------------------------------------------


@pytest.fixture
def attachments(tmp_path: Path, settings: Any) -> Path:
    folder = tmp_path / "bilagor"
    settings.LYFTA_ATTACHMENT_DIR = str(folder)
    return folder


@pytest.mark.parametrize(
    ("data", "content_type", "kind"),
    [
        (JPEG, "image/jpeg", Attachment.Kind.PHOTO),
        (PNG, "image/png", Attachment.Kind.PHOTO),
        (PDF, "application/pdf", Attachment.Kind.DOCUMENT),
    ],
)
def test_an_attachment_is_recognised_by_its_content_and_stored_under_the_folder(
    desk: Desk,
    alice: Persona,
    attachments: Path,
    data: bytes,
    content_type: str,
    kind: str,
) -> None:
    order = repair_for(desk, alice)
    # The name says text; the bytes decide.
    added = services.attachment_add(
        actor=alice.actor, order=order, name="../../etc/bild.txt", data=data
    )
    # A photo is kept re-encoded without its metadata; a PDF as it came.
    if kind == Attachment.Kind.PHOTO:
        data = without_metadata(data, content_type)
    assert (added.content_type, added.kind, added.size) == (content_type, kind, len(data))
    # ... and the name ends as the content is: never as the uploader wrote it.
    assert added.name == "bild." + {"image/jpeg": "jpg", "image/png": "png"}.get(
        content_type, "pdf"
    )
    stored = attachments / added.stored_as
    assert stored.read_bytes() == data
    assert services.attachment_bytes(added) == data
    assert [p.name for p in attachments.iterdir()] == [added.stored_as]
    (event,) = events_of(order, Action.WORKORDER_ATTACHMENT_ADDED)
    assert event.detail == {"attachment": added.pk, "type": content_type, "size": len(data)}
    assert event.patient_id == desk.shop.patient.pk


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a" + b"\x00" * 32, "Bifoga ett foto (JPEG eller PNG) eller ett PDF-dokument."),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "Bifoga ett foto"),
        (b"", "Filen är tom."),
        (PDF + b"\x00" * (10 * 1024 * 1024), "Filen är större än 10 MB."),
    ],
)
def test_other_empty_and_oversized_files_are_refused(
    desk: Desk, alice: Persona, attachments: Path, data: bytes, message: str
) -> None:
    order = repair_for(desk, alice)
    with pytest.raises(ValidationError) as refused:
        services.attachment_add(actor=alice.actor, order=order, name="fil", data=data)
    assert message in " ".join(refused.value.messages)
    assert not Attachment.unscoped.filter(work_order=order).exists()
    assert not attachments.exists() or list(attachments.iterdir()) == []


def test_exactly_10_mb_is_accepted(desk: Desk, alice: Persona, attachments: Path) -> None:
    data = PDF + b"\x00" * (10 * 1024 * 1024 - len(PDF))
    added = services.attachment_add(
        actor=alice.actor, order=repair_for(desk, alice), name="a.pdf", data=data
    )
    assert added.size == 10 * 1024 * 1024


def test_the_file_is_removed_when_the_transaction_fails(
    desk: Desk, alice: Persona, tekla: Persona, attachments: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = repair_for(desk, alice)

    def broken(**_fields: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(services, "record", broken)
    with pytest.raises(RuntimeError):
        services.attachment_add(actor=tekla.actor, order=order, name="a.png", data=PNG)
    monkeypatch.undo()
    assert not Attachment.unscoped.filter(work_order=order).exists()
    assert list(attachments.iterdir()) == []
    # A closed work order takes no attachment either: refused, and no file left behind.
    services.work_order_cancel(actor=tekla.actor, order=order, reason="Dubblett")
    with pytest.raises(ValidationError, match="avslutad"):
        services.attachment_add(actor=tekla.actor, order=order, name="a.png", data=PNG)
    assert list(attachments.iterdir()) == []


def test_another_unit_cannot_attach(
    desk: Desk, alice: Persona, charlie: Persona, attachments: Path
) -> None:
    order = repair_for(desk, alice)
    with pytest.raises(PermissionDenied):
        services.attachment_add(actor=charlie.actor, order=order, name="a.png", data=PNG)
    assert not attachments.exists() or list(attachments.iterdir()) == []


# --- Every step is audited with its patient and owner (R57, R61) ----------------------------


def test_r61_every_step_records_its_event_with_patient_owner_and_changes(
    desk: Desk, county: County, alice: Persona, tekla: Persona, attachments: Path
) -> None:
    order = repair_for(desk, alice)
    today = timezone.localdate()
    steps: list[tuple[str, Any]] = [
        (
            Action.WORKORDER_CHANGED,
            lambda o: services.work_order_plan(
                actor=tekla.actor,
                order=o,
                assignee=tekla.user,
                team=desk.team,
                planned_on=today + dt.timedelta(days=2),
            ),
        ),
        (Action.WORKORDER_CHANGED, lambda o: services.work_order_start(actor=tekla.actor, order=o)),
        (
            Action.WORKORDER_PART_USED,
            lambda o: services.work_order_use_part(
                actor=tekla.actor, order=o, article=desk.part, quantity=1, location=desk.workshop
            ),
        ),
        (
            Action.WORKORDER_ATTACHMENT_ADDED,
            lambda o: services.attachment_add(actor=tekla.actor, order=o, name="f.jpg", data=JPEG),
        ),
        (
            Action.WORKORDER_CHANGED,
            lambda o: services.work_order_wait_for_parts(actor=tekla.actor, order=o, note="Bygel"),
        ),
        (Action.WORKORDER_CHANGED, lambda o: services.work_order_start(actor=tekla.actor, order=o)),
        (Action.WORKORDER_REPORTED, lambda o: report(tekla, o)),
        (Action.WORKORDER_CHANGED, lambda o: services.work_order_done(actor=tekla.actor, order=o)),
        (
            Action.WORKORDER_CHANGED,
            lambda o: services.work_order_reopen(actor=tekla.actor, order=o),
        ),
        (Action.WORKORDER_CHANGED, lambda o: services.work_order_done(actor=tekla.actor, order=o)),
        (Action.WORKORDER_CHANGED, lambda o: services.work_order_close(actor=tekla.actor, order=o)),
    ]
    for action, step in steps:
        before = WorkOrder.unscoped.get(pk=order.pk)
        mark = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
        step(before)
        after = WorkOrder.unscoped.get(pk=order.pk)
        (event,) = AuditEvent.objects.filter(
            pk__gt=mark, resource_type="workorders.workorder", resource_id=str(order.pk)
        )
        assert event.action == action
        assert event.actor_id == tekla.user.pk
        assert event.patient_id == desk.shop.patient.pk
        assert (event.owner_provider_id, event.owner_unit_id) == (
            county.municipality.pk,
            county.unit_a.pk,
        )
        assert (event.legal_basis, event.legal_basis_ref) == ("case", f"workorder:{order.number}")
        if after.status != before.status:
            assert event.changes["status"] == [before.status, after.status]
    final = WorkOrder.unscoped.get(pk=order.pk)
    assert final.status == S.CLOSED and final.closed_at is not None
    created = events_of(order, Action.WORKORDER_CREATED)[0]
    assert (created.patient_id, created.actor_id, created.owner_unit_id) == (
        desk.shop.patient.pk,
        alice.user.pk,
        county.unit_a.pk,
    )
    assert created.detail == {"kind": K.REPAIR, "origin": WorkOrder.Origin.PRESCRIBER}
    # A closed work order refuses every further step.
    for step in (
        lambda: services.work_order_reopen(actor=tekla.actor, order=order),
        lambda: services.work_order_cancel(actor=tekla.actor, order=order, reason="Sent"),
        lambda: report(tekla, order, "Ändrat i efterhand"),
        lambda: services.work_order_plan(
            actor=tekla.actor, order=order, assignee=None, team=None, planned_on=None
        ),
    ):
        with pytest.raises(ValidationError):
            step()
    assert WorkOrder.unscoped.get(pk=order.pk).actions == "Bytt laddare"


def test_reopen_is_for_done_work_only(desk: Desk, alice: Persona, tekla: Persona) -> None:
    """Found by the state machine: "reopen" from registered or waiting for parts started the
    work without the start's checks (a special adaptation without its approval)."""
    adaptation = adaptation_for(desk, alice)
    services.work_order_wait_for_parts(actor=tekla.actor, order=adaptation, note="Bygel")
    for order in (adaptation, repair_for(desk, alice)):
        before = WorkOrder.unscoped.get(pk=order.pk).status
        with pytest.raises(ValidationError, match="kan inte få status Pågår"):
            services.work_order_reopen(actor=tekla.actor, order=order)
        stored = WorkOrder.unscoped.get(pk=order.pk)
        assert (stored.status, stored.started_at) == (before, None)


def test_a_due_inspection_becomes_a_work_order_and_the_unit_is_told_once(
    desk: Desk, county: County, alice: Persona, bob: Persona
) -> None:
    due = timezone.localdate() + dt.timedelta(days=20)
    ItemInspection.objects.filter(item=desk.lift, plan=desk.plan).update(next_due=due)
    system = Actor.system("inspections-due")
    (order,) = services.inspections_due(actor=system)
    assert (order.kind, order.item_id, order.patient_id, order.plan_id) == (
        K.INSPECTION,
        desk.lift.pk,
        desk.shop.patient.pk,
        desk.plan.pk,
    )
    assert (order.place, order.unit_id, order.done_due) == (
        WorkOrder.Place.HOME,
        county.unit_a.pk,
        due,
    )
    assert order.start_due <= order.done_due
    for persona in (alice, bob):
        (message,) = messages_to(persona)
        assert due.isoformat() in message.subject
    (reminded,) = events_of(order, Action.INSPECTION_REMINDED)
    assert (reminded.patient_id, reminded.owner_unit_id) == (desk.shop.patient.pk, county.unit_a.pk)
    assert ItemInspection.objects.get(item=desk.lift, plan=desk.plan).reminded_on is not None
    # The next run finds nothing new to do.
    assert services.inspections_due(actor=system) == []
    assert len(messages_to(alice)) == 1


def test_the_queues_indexes_cover_exactly_the_open_statuses() -> None:
    from lyfta.workorders.models import OPEN_STATUS

    assert OPEN_STATUS.children == [("status__in", list(OPEN_STATUS.children[0][1]))]  # type: ignore[index]
    assert set(OPEN_STATUS.children[0][1]) == set(WorkOrder.OPEN)  # type: ignore[index]


def test_choice_labels_follow_the_language_and_never_fail() -> None:
    from django.utils.translation import override

    order = WorkOrder(kind="repair", status="waiting_parts", place="home")
    assert order.get_kind_display() == "Reparation"
    assert order.get_status_display() == "Väntar på reservdelar"
    with override("en"):
        assert order.get_kind_display() == "Repair"
    assert WorkOrder(kind="unknown").get_kind_display() == "unknown"


def test_spare_parts_are_received_straight_into_the_workshop(desk: Desk, logan: Persona) -> None:
    """Spare parts from a supplier go to the workshop's stock through goods receipt (the ledger
    row and the level); a tracked article does not."""
    before = StockLevel.objects.get(location=desk.workshop, article=desk.part).quantity
    stock.goods_receive(
        actor=logan.actor, location=desk.workshop, article=desk.part, quantity=4, reference="x"
    )
    assert StockLevel.objects.get(location=desk.workshop, article=desk.part).quantity == before + 4
    assert StockMovement.unscoped.filter(
        kind=StockMovement.Kind.RECEIPT, to_location=desk.workshop, article=desk.part
    ).exists()
    with pytest.raises(ValidationError, match="bara reservdelar"):
        stock.goods_receive(
            actor=logan.actor,
            location=desk.workshop,
            article=desk.shop.lift,
            quantity=1,
            items=[stock.ReceivedItem("SN-W1", "")],
        )


def test_a_photo_attachment_is_kept_without_its_gps_position_and_other_metadata(
    desk: Desk, alice: Persona, attachments: Path
) -> None:
    import io

    from PIL import Image

    order = repair_for(desk, alice)
    phone = jpeg((8, 6), gps=True, orientation=6)
    assert Image.open(io.BytesIO(phone)).getexif().get_ifd(GPS_IFD)
    added = services.attachment_add(actor=alice.actor, order=order, name="a.jpg", data=phone)
    kept = services.attachment_bytes(added)
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG" and not image.getexif()
    assert not {"exif", "xmp", "comment"} & set(image.info)
    assert b"Hemliga" not in kept and b"adobe:ns:meta" not in kept
    assert image.size == (6, 8)  # the orientation is applied to the pixels
    assert added.size == len(kept)
    text = services.attachment_add(
        actor=alice.actor, order=order, name="b.png", data=png(text="Hemliga vägen 7")
    )
    assert b"Hemliga" not in services.attachment_bytes(text)
    # What Pillow cannot open is refused with the usual message, and nothing is kept.
    with pytest.raises(ValidationError, match="Bifoga ett foto"):
        services.attachment_add(
            actor=alice.actor, order=order, name="c.jpg", data=b"\xff\xd8\xff\xe0" + b"\0" * 64
        )
    assert sorted(p.name for p in attachments.iterdir()) == sorted(
        [added.stored_as, text.stored_as]
    )
