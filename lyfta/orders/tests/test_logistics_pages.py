"""The centre's logistics pages: the pick list, an order to pick and deliver, pick-ups, returns and
reconditioning. Each page: allowed, forbidden, another object (404); each form: the happy path,
bad input (a Swedish message, nothing written) and the audit event of the write (R35, R55, R57)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.core.workdays import next_working_day
from lyfta.inventory.models import Item, StockMovement
from lyfta.messages.models import Message
from lyfta.orders import services
from lyfta.orders.models import Loan, Order, OrderLine, PickupLine, PickupOrder
from lyfta.orders.services import DeliveryInput, LineInput, PickupInput
from lyfta.orders.tests.conftest import Shop, grant
from lyfta.patients.models import Patient, ProtectedStaff

pytestmark = pytest.mark.django_db

PROTECTED_TEXT = "Skyddad adress – kontakta kundtjänst"
# A receipt as the driver's phone posts it: a name, a relation and a signature (two strokes).
SIGNATURE = "[[100,300,200,100,300,300,400,100],[500,200,600,250,700,200,800,260]]"
RECEIPT = {"receiver_name": "Aina Apel", "relation": "patient", "signature": SIGNATURE}


def events(action: str, **filters: object) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def place(persona: Persona, patient: Patient, *lines: LineInput, **delivery: object) -> Order:
    return services.order_place(
        actor=persona.actor,
        grant=grant(persona, patient),
        lines=list(lines),
        delivery=DeliveryInput(**delivery),  # type: ignore[arg-type]
    )


def picked(logan: Persona, order: Order) -> Order:
    for line in order.lines.filter(status=OrderLine.Status.RESERVED):
        services.line_pick(actor=logan.actor, line=line)
    order.refresh_from_db()
    return order


def delivered(alice: Persona, logan: Persona, shop: Shop, *lines: LineInput) -> list[Loan]:
    order = picked(logan, place(alice, shop.patient, *lines))
    return services.order_deliver(actor=logan.actor, order=order)


def page(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def as_logan(client: Client, logan: Persona) -> Client:
    return signed_in(client, logan)


# --- The pick list ---------------------------------------------------------------------------


def test_the_pick_list_shows_the_days_orders_and_records_itself(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    order = place(alice, shop.patient, LineInput(shop.bed), LineInput(shop.cushion, 2))
    response = as_logan.get(reverse("logistics:picklist"), {"dag": order.expected_on.isoformat()})
    assert response.status_code == 200
    html = page(response)
    assert order.number in html
    assert "Storgatan 1, 65225 Karlstad" in html
    assert shop.bed.name in html and shop.cushion.name in html
    assert order.lines.get(article=shop.bed).item.individual_number in html  # type: ignore[union-attr]
    assert "Framtagen av Logan Lager" in html
    printed = events(Action.PICKLIST_PRINTED)[-1]
    assert printed.actor_id == logan.user.pk
    assert printed.detail["orders"] == [order.number]
    assert events(Action.PATIENT_LISTED, patient_id=shop.patient.pk)


def test_the_pick_list_defaults_to_the_next_working_day_and_filters_by_area(
    shop: Shop, alice: Persona, as_logan: Client
) -> None:
    karlstad = place(alice, shop.patient, LineInput(shop.cushion))
    saffle = place(alice, shop.other, LineInput(shop.grips))
    response = as_logan.get(reverse("logistics:picklist"))
    assert response.status_code == 200
    assert response.context["day"] == next_working_day(timezone.localdate())
    day = max(karlstad.expected_on, saffle.expected_on).isoformat()
    html = page(as_logan.get(reverse("logistics:picklist"), {"dag": day, "omrade": "661"}))
    assert saffle.number in html and karlstad.number not in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"dag": "garbage"}, "Ange dagen som"),
        ({"dag": "2026-02-30"}, "Ange dagen som"),
        ({"omrade": "65"}, "postnumrets tre första siffror"),
        ({"omrade": "abc"}, "postnumrets tre första siffror"),
    ],
)
def test_bad_pick_list_input_is_a_400_with_a_swedish_message(
    shop: Shop, as_logan: Client, params: dict[str, str], message: str
) -> None:
    response = as_logan.get(reverse("logistics:picklist"), params)
    assert response.status_code == 400
    assert message in page(response)
    assert not events(Action.PICKLIST_PRINTED)


@pytest.mark.parametrize("persona", ["alice", "tekla", "billie"])
def test_the_pick_list_is_the_centres(
    client: Client, shop: Shop, persona: str, request: pytest.FixtureRequest
) -> None:
    who: Persona = request.getfixturevalue(persona)
    response = signed_in(client, who).get(reverse("logistics:picklist"))
    assert response.status_code == 403
    assert events(Action.ACCESS_DENIED, actor_id=who.user.pk)


def test_a_protected_patients_address_is_never_on_the_pick_list(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    approved = "Box 12, 651 01 Karlstad"
    Patient.objects.filter(pk=shop.patient.pk).update(
        protection="protected", approved_delivery_address=approved
    )
    shop.patient.refresh_from_db()
    ProtectedStaff.objects.create(patient=shop.patient, user=alice.user, named_by=alice.user)
    order = place(alice, shop.patient, LineInput(shop.bed))
    assert order.confidential_address
    for url in (
        f"{reverse('logistics:picklist')}?dag={order.expected_on.isoformat()}",
        reverse("logistics:order", args=[order.pk]),
    ):
        html = page(as_logan.get(url))
        assert order.number in html
        assert PROTECTED_TEXT in html
        assert "Storgatan" not in html
        assert "Box 12" not in html and approved not in html
        assert "Apel" not in html  # nor the protected patient's name


def test_a_patient_protected_after_ordering_keeps_the_address_off_the_list(
    shop: Shop, alice: Persona, as_logan: Client
) -> None:
    order = place(alice, shop.patient, LineInput(shop.bed))
    Patient.objects.filter(pk=shop.patient.pk).update(protection="protected")
    html = page(as_logan.get(reverse("logistics:picklist"), {"dag": order.expected_on.isoformat()}))
    assert order.number in html and PROTECTED_TEXT in html
    assert "Storgatan" not in html and "Apel" not in html


# --- One order -------------------------------------------------------------------------------


def test_the_order_page_is_the_centres_and_records_the_read(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.bed))
    url = reverse("logistics:order", args=[order.pk])
    response = signed_in(client, logan).get(url)
    assert response.status_code == 200
    assert shop.bed.name in page(response) and "Aina Apel" in page(response)
    viewed = events(Action.ORDER_VIEWED)[-1]
    assert (viewed.actor_id, viewed.patient_id) == (logan.user.pk, shop.patient.pk)
    assert client.get(reverse("logistics:order", args=[999999])).status_code == 404
    # The prescriber's own order: the centre's page is not hers.
    assert signed_in(Client(), alice).get(url).status_code == 403


def test_picking_a_scanned_individual_records_the_pick(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    order = place(alice, shop.patient, LineInput(shop.bed))
    line = order.lines.get()
    assert line.item is not None
    other = Item.objects.exclude(pk=line.item.pk).get(article=shop.bed)
    response = as_logan.post(
        reverse("logistics:line_pick", args=[order.pk, line.pk]),
        {"individual_number": other.individual_number},
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.status, line.item) == (OrderLine.Status.PICKED, other)
    pick = events(Action.ORDER_PICKED)[-1]
    assert pick.actor_id == logan.user.pk
    assert pick.detail["item"] == other.individual_number


@pytest.mark.parametrize(
    ("number", "message"),
    [("9999999", "Individ 9999999 är inte"), ("x" * 21, "som mest 20 tecken")],
)
def test_a_wrong_scan_is_refused_with_a_message_and_nothing_picked(
    shop: Shop, alice: Persona, as_logan: Client, number: str, message: str
) -> None:
    order = place(alice, shop.patient, LineInput(shop.bed))
    line = order.lines.get()
    response = as_logan.post(
        reverse("logistics:line_pick", args=[order.pk, line.pk]), {"individual_number": number}
    )
    assert response.status_code == 400
    assert message in page(response)
    line.refresh_from_db()
    assert line.status == OrderLine.Status.RESERVED
    assert not events(Action.ORDER_PICKED)


def test_an_item_already_taken_is_out_of_stock_with_a_message(
    shop: Shop, alice: Persona, as_logan: Client
) -> None:
    first = place(alice, shop.patient, LineInput(shop.bed))
    second = place(alice, shop.other, LineInput(shop.bed))
    taken = second.lines.get().item
    assert taken is not None
    response = as_logan.post(
        reverse("logistics:line_pick", args=[first.pk, first.lines.get().pk]),
        {"individual_number": taken.individual_number},
    )
    assert response.status_code == 400
    assert "redan plockad eller reserverad" in page(response)


def test_a_line_of_another_order_is_not_found(shop: Shop, alice: Persona, as_logan: Client) -> None:
    first = place(alice, shop.patient, LineInput(shop.bed))
    second = place(alice, shop.other, LineInput(shop.cushion))
    url = reverse("logistics:line_pick", args=[first.pk, second.lines.get().pk])
    assert as_logan.post(url).status_code == 404
    assert as_logan.get(reverse("logistics:order", args=[first.pk])).status_code == 200


def test_delivering_picked_lines_starts_the_loans(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift)))
    response = as_logan.post(reverse("logistics:deliver", args=[order.pk]), RECEIPT)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert Loan.unscoped.filter(patient=shop.patient, article=shop.lift).exists()
    assert events(Action.ORDER_DELIVERED)[-1].actor_id == logan.user.pk


def test_delivering_nothing_picked_is_refused(shop: Shop, alice: Persona, as_logan: Client) -> None:
    order = place(alice, shop.patient, LineInput(shop.lift))
    response = as_logan.post(reverse("logistics:deliver", args=[order.pk]), RECEIPT)
    assert response.status_code == 400
    assert "Inget är plockat på ordern ännu." in page(response)
    assert not Loan.unscoped.exists()
    assert not events(Action.ORDER_DELIVERED)


def test_a_failed_delivery_needs_a_reason_and_tells_the_prescriber(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.bed)))
    url = reverse("logistics:delivery_failed", args=[order.pk])
    response = as_logan.post(url, {"reason": "  "})
    assert response.status_code == 400
    assert "Ange ett skäl." in page(response)
    order.refresh_from_db()
    assert order.status == Order.Status.IN_TRANSIT
    day = next_working_day(timezone.localdate())
    answer = as_logan.post(url, {"reason": "Ingen hemma", "new_day": day.isoformat(), "fee": "1"})
    assert answer.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.failed_fee, order.expected_on) == (
        Order.Status.IN_TRANSIT,
        True,
        day,
    )
    failed = events(Action.ORDER_DELIVERY_FAILED)[-1]
    assert failed.detail["reason"] == "Ingen hemma"
    assert Message.objects.filter(recipient=alice.user, subject__contains=order.number).exists()


def test_cancelling_a_line_needs_a_reason_and_frees_the_item(
    shop: Shop, alice: Persona, as_logan: Client
) -> None:
    order = place(alice, shop.patient, LineInput(shop.bed), LineInput(shop.cushion))
    line = order.lines.get(article=shop.bed)
    url = reverse("logistics:line_cancel", args=[order.pk, line.pk])
    assert as_logan.post(url, {}).status_code == 400
    assert OrderLine.unscoped.get(pk=line.pk).status == OrderLine.Status.RESERVED
    assert as_logan.post(url, {"reason": "Fel modell"}).status_code == 302
    line.refresh_from_db()
    assert line.status == OrderLine.Status.CANCELLED
    assert line.item is not None and line.item.status == Item.Status.IN_STOCK
    assert events(Action.ORDER_LINE_CANCELLED)[-1].detail["reason"] == "Fel modell"
    # Cancelled already: a clear message, not an error page.
    response = as_logan.post(url, {"reason": "Igen"})
    assert response.status_code == 400
    assert "redan levererad eller makulerad" in page(response)


def test_an_id_beyond_any_integer_is_not_found(as_logan: Client, shop: Shop) -> None:
    assert as_logan.get("/logistik/order/99999999999999999999999999/").status_code == 404


# --- Pick-ups and returns --------------------------------------------------------------------


def _pickup(alice: Persona, logan: Persona, shop: Shop) -> PickupOrder:
    loans = delivered(alice, logan, shop, LineInput(shop.lift), LineInput(shop.bed))
    return services.pickup_register(
        actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=loans)
    )


def test_pickups_to_collect_are_listed_and_each_patient_recorded(
    client: Client, shop: Shop, alice: Persona, logan: Persona, tekla: Persona
) -> None:
    pickup = _pickup(alice, logan, shop)
    response = signed_in(client, logan).get(reverse("logistics:pickups"))
    assert response.status_code == 200
    html = page(response)
    assert pickup.number in html and "Storgatan 1" in html and shop.lift.name in html
    listed = events(Action.PATIENT_LISTED, patient_id=shop.patient.pk)[-1]
    assert listed.detail == {"list": "pickups"}
    assert signed_in(Client(), tekla).get(reverse("logistics:pickups")).status_code == 403
    bad = client.get(reverse("logistics:pickups"), {"dag": "igår"})
    assert bad.status_code == 400 and "Ange dagen som" in page(bad)


def test_a_protected_patients_pickup_address_is_not_shown(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    pickup = _pickup(alice, logan, shop)
    Patient.objects.filter(pk=shop.patient.pk).update(protection="protected")
    html = page(as_logan.get(reverse("logistics:pickups")))
    assert pickup.number in html and PROTECTED_TEXT in html
    assert "Storgatan" not in html and "Apel" not in html


def test_collecting_marks_missing_lines_with_their_reason(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    pickup = _pickup(alice, logan, shop)
    lift_line = pickup.lines.get(loan__article=shop.lift)
    url = reverse("logistics:pickup_collect", args=[pickup.pk])
    response = as_logan.post(url, {f"missing_{lift_line.pk}": "on"})
    assert response.status_code == 400
    assert "Ange varför hjälpmedlet saknades." in page(response)
    assert PickupOrder.unscoped.get(pk=pickup.pk).status == PickupOrder.Status.REGISTERED
    assert not events(Action.PICKUP_COLLECTED)
    response = as_logan.post(
        url,
        {f"missing_{lift_line.pk}": "on", f"reason_{lift_line.pk}": "Inte på plats", **RECEIPT},
    )
    assert response.status_code == 302
    lift_line.refresh_from_db()
    assert (lift_line.status, lift_line.cancel_reason) == (
        PickupLine.Status.MISSING,
        "Inte på plats",
    )
    assert pickup.lines.get(loan__article=shop.bed).status == PickupLine.Status.COLLECTED
    collected = events(Action.PICKUP_COLLECTED)[-1]
    assert collected.detail["missing"] == [lift_line.pk]
    # Collected already: refused with a message.
    again = as_logan.post(url, {})
    assert again.status_code == 400 and "redan hämtad" in page(again)
    assert as_logan.post(reverse("logistics:pickup_collect", args=[999999])).status_code == 404


def test_receiving_a_return_sends_the_item_to_reconditioning(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    pickup = _pickup(alice, logan, shop)
    services.pickup_collect(actor=logan.actor, pickup=pickup)
    line = pickup.lines.get(loan__article=shop.lift)
    as_logan = signed_in(client, logan)
    assert shop.lift.name in page(as_logan.get(reverse("logistics:returns")))
    url = reverse("logistics:return_receive", args=[line.pk])
    assert as_logan.post(url).status_code == 302
    item = line.loan.item
    assert item is not None
    item.refresh_from_db()
    assert (item.status, item.location) == (Item.Status.RECONDITIONING, shop.recon)
    assert events(Action.PICKUP_RECEIVED)[-1].patient_id == shop.patient.pk
    again = as_logan.post(url)
    assert again.status_code == 400
    assert "Raden är inte hämtad eller redan mottagen." in page(again)
    assert as_logan.post(reverse("logistics:return_receive", args=[999999])).status_code == 404


def test_returns_are_for_those_who_manage_stock(
    client: Client, shop: Shop, tekla: Persona, alice: Persona
) -> None:
    assert signed_in(client, tekla).get(reverse("logistics:returns")).status_code == 403
    assert (
        signed_in(Client(), alice).post(reverse("logistics:return_receive", args=[1])).status_code
        == 403
    )


# --- Reconditioning --------------------------------------------------------------------------


def _in_reconditioning(shop: Shop) -> Item:
    item = Item.objects.filter(article=shop.lift).first()
    assert item is not None
    Item.objects.filter(pk=item.pk).update(status=Item.Status.RECONDITIONING, location=shop.recon)
    item.refresh_from_db()
    return item


def test_a_reconditioned_item_goes_back_to_the_chosen_central_stock(
    shop: Shop, logan: Persona, as_logan: Client
) -> None:
    item = _in_reconditioning(shop)
    html = page(as_logan.get(reverse("logistics:reconditioning")))
    assert item.individual_number in html and "Tillbaka i lager" in html
    url = reverse("logistics:recondition_done", args=[item.pk])
    bad = as_logan.post(url, {"to": shop.buffer_a.pk})
    assert bad.status_code == 400 and "Välj ett lager i listan." in page(bad)
    assert as_logan.post(url, {"to": shop.central.pk}).status_code == 302
    item.refresh_from_db()
    assert (item.status, item.location) == (Item.Status.IN_STOCK, shop.central)
    assert events(Action.ITEM_RECONDITIONED)[-1].detail == {"to": shop.central.code}
    again = as_logan.post(url, {"to": shop.central.pk})
    assert again.status_code == 400
    assert "Individen är inte under rekonditionering." in page(again)


def test_scrapping_needs_a_reason(shop: Shop, as_logan: Client) -> None:
    item = _in_reconditioning(shop)
    url = reverse("logistics:scrap", args=[item.pk])
    assert as_logan.post(url, {"reason": ""}).status_code == 400
    assert Item.objects.get(pk=item.pk).status == Item.Status.RECONDITIONING
    assert as_logan.post(url, {"reason": "Sprucken ram"}).status_code == 302
    item.refresh_from_db()
    assert (item.status, item.scrap_reason) == (Item.Status.SCRAPPED, "Sprucken ram")
    assert events(Action.ITEM_SCRAPPED)[-1].detail == {"reason": "Sprucken ram"}
    assert StockMovement.unscoped.filter(item=item, kind=StockMovement.Kind.SCRAPPED).exists()
    assert as_logan.post(reverse("logistics:scrap", args=[999999])).status_code == 404


def test_a_technician_sees_the_queue_but_cannot_act(
    client: Client, shop: Shop, tekla: Persona
) -> None:
    item = _in_reconditioning(shop)
    as_tekla = signed_in(client, tekla)
    response = as_tekla.get(reverse("logistics:reconditioning"))
    assert response.status_code == 200
    assert item.individual_number in page(response) and "Skrota" not in page(response)
    url = reverse("logistics:scrap", args=[item.pk])
    assert as_tekla.post(url, {"reason": "Trasig"}).status_code == 403
    assert Item.objects.get(pk=item.pk).status == Item.Status.RECONDITIONING
