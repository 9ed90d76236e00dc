"""Issue 16 point 3 (deliveries) and the collection receipt of point 4: a failed delivery keeps
the order and gives it a new delivery day with the fee as a recorded decision; the driver's
delivery page records who received the devices with a signature drawn on the screen or "ej
signerat" with a reason; the loan agreement (låneförbindelse) as a PDF; the orderer is told when
a delivery is done."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.core.workdays import is_working_day, next_working_day
from lyfta.inventory.models import Item
from lyfta.messages.models import Message
from lyfta.orders import services, signature
from lyfta.orders.models import DeliveryAttempt, Loan, Order, OrderLine, PickupOrder, Receipt
from lyfta.orders.services import DeliveryInput, LineInput, PickupInput, ReceiptInput
from lyfta.orders.tests.conftest import Shop, grant
from lyfta.patients.models import Patient

pytestmark = pytest.mark.django_db

STROKES = [[100, 300, 200, 100, 300, 300, 400, 100], [500, 200, 600, 250, 700, 200, 800, 260]]
SIGNED = {"receiver_name": "Aina Apel", "relation": "patient", "signature": json.dumps(STROKES)}
UNSIGNED = {
    "receiver_name": "Olle Apel",
    "relation": "relative",
    "unsigned": "on",
    "unsigned_reason": "Patienten sover, sonen tog emot",
}


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


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


def a_weekend_day(after: dt.date) -> dt.date:
    day = after + dt.timedelta(days=1)
    while is_working_day(day):
        day += dt.timedelta(days=1)
    return day


@pytest.fixture
def as_logan(client: Client, logan: Persona) -> Client:
    return signed_in(client, logan)


# --- Failed delivery: a new day, the order kept ----------------------------------------------


def test_a_failed_delivery_records_each_attempt_and_the_fee_decision(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift), LineInput(shop.bed)))
    planned = order.expected_on
    first_day = next_working_day(timezone.localdate())
    second_day = next_working_day(first_day)

    services.order_delivery_failed(
        actor=logan.actor, order=order, reason="Fel portkod", new_day=first_day, fee=False
    )
    order.refresh_from_db()
    assert (order.expected_on, order.failed_delivery, order.failed_fee) == (first_day, True, False)
    services.order_delivery_failed(
        actor=logan.actor, order=order, reason="Ingen hemma", new_day=second_day
    )
    order.refresh_from_db()
    assert (order.expected_on, order.failed_fee, order.status) == (
        second_day,
        True,
        Order.Status.IN_TRANSIT,
    )
    attempts = list(DeliveryAttempt.unscoped.filter(order=order))
    assert [(a.planned_on, a.new_day, a.fee, a.reason) for a in attempts] == [
        (planned, first_day, False, "Fel portkod"),
        (first_day, second_day, True, "Ingen hemma"),
    ]
    assert all(a.recorded_by == logan.user for a in attempts)
    # Every line is still picked for the order: the devices came back on the van.
    assert set(order.lines.values_list("status", flat=True)) == {OrderLine.Status.PICKED}
    assert not Item.objects.filter(status=Item.Status.IN_STOCK, pk__in=order.lines.values("item"))
    first, second = events(Action.ORDER_DELIVERY_FAILED)
    assert first.changes == {"expected_on": [planned.isoformat(), first_day.isoformat()]}
    assert (first.detail["fee"], first.detail["attempt"]) == (False, 1)
    assert (second.detail["fee"], second.detail["attempt"]) == (True, 2)
    assert first.patient_id == shop.patient.pk
    no_fee, fee = Message.objects.filter(recipient=alice.user).order_by("pk")
    assert first_day.isoformat() in no_fee.subject and "Ingen avgift" in no_fee.body
    assert second_day.isoformat() in fee.subject and "avgift för bomkörning debiteras" in fee.body


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (lambda today: today - dt.timedelta(days=1), "har redan passerat"),
        (lambda today: a_weekend_day(today), "ingen arbetsdag"),
        (lambda today: today + dt.timedelta(days=200), "inom 60 dagar"),
    ],
)
def test_a_new_delivery_day_must_be_a_coming_working_day(
    shop: Shop, alice: Persona, logan: Persona, day: object, message: str
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift)))
    expected = order.expected_on
    chosen = day(timezone.localdate())  # type: ignore[operator]
    with pytest.raises(ValidationError, match=message):
        services.order_delivery_failed(
            actor=logan.actor, order=order, reason="Ingen hemma", new_day=chosen
        )
    order.refresh_from_db()
    assert (order.expected_on, order.failed_delivery) == (expected, False)
    assert not DeliveryAttempt.unscoped.exists() and not events(Action.ORDER_DELIVERY_FAILED)


def test_nothing_picked_cannot_fail_to_be_delivered(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    order = place(alice, shop.patient, LineInput(shop.lift))
    with pytest.raises(ValidationError, match="Inget är plockat"):
        services.order_delivery_failed(actor=logan.actor, order=order, reason="Ingen hemma")
    assert not DeliveryAttempt.unscoped.exists()


def test_cancelling_after_a_failed_delivery_is_its_own_step(
    shop: Shop, alice: Persona, logan: Persona
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift)))
    services.order_delivery_failed(actor=logan.actor, order=order, reason="Ingen hemma")
    order.refresh_from_db()
    assert order.status in Order.OPEN
    services.order_cancel(actor=alice.actor, order=order, reason="Behovet upphörde")
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    item = order.lines.get().item
    assert item is not None and item.status == Item.Status.IN_STOCK


def test_the_failed_delivery_form_asks_for_the_day_and_the_fee(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.bed)))
    html = as_logan.get(reverse("logistics:delivery", args=[order.pk])).content.decode()
    default = next_working_day(timezone.localdate()).isoformat()
    assert f'name="new_day" value="{default}"' in html
    assert 'name="fee" value="1"' in html and 'name="fee" value="0"' in html
    url = reverse("logistics:delivery_failed", args=[order.pk])
    weekend = a_weekend_day(timezone.localdate()).isoformat()
    bad = as_logan.post(
        url, {"reason": "Ingen hemma", "new_day": weekend, "fee": "1", "from": "delivery"}
    )
    assert bad.status_code == 400 and "ingen arbetsdag" in bad.content.decode()
    missing = as_logan.post(url, {"reason": "Ingen hemma", "new_day": "", "fee": ""})
    assert missing.status_code == 400
    assert "Välj en ny leveransdag." in missing.content.decode()
    assert not DeliveryAttempt.unscoped.exists()
    day = next_working_day(next_working_day(timezone.localdate()))
    ok = as_logan.post(url, {"reason": "Fel adress", "new_day": day.isoformat(), "fee": "0"})
    assert ok.status_code == 302
    order.refresh_from_db()
    assert (order.expected_on, order.failed_fee, order.status) == (
        day,
        False,
        Order.Status.IN_TRANSIT,
    )
    page = as_logan.get(reverse("logistics:order", args=[order.pk])).content.decode()
    assert "1 misslyckad leverans" in page and "Fel adress" in page and "Ingen avgift." in page


# --- The delivery receipt -------------------------------------------------------------------


def test_the_delivery_page_records_the_receiver_and_the_drawn_signature(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client, client: Client
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift)))
    page = as_logan.get(reverse("logistics:delivery", args=[order.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "data-signature-canvas" in html and "/static/lyfta/signature.js" in html
    assert "<script>" not in html and " style=" not in html  # the CSP stays strict
    assert as_logan.post(reverse("logistics:deliver", args=[order.pk]), SIGNED).status_code == 302
    receipt = Receipt.unscoped.get()
    assert (receipt.kind, receipt.order_id, receipt.name, receipt.relation) == (
        Receipt.Kind.DELIVERY,
        order.pk,
        "Aina Apel",
        "patient",
    )
    assert receipt.signature == STROKES and receipt.recorded_by == logan.user
    delivered = events(Action.ORDER_DELIVERED)[-1]
    assert (delivered.detail["receipt"], delivered.detail["signed"]) == (receipt.pk, True)
    # The orderer is told the delivery is done, and by whom it was received.
    told = Message.objects.get(recipient=alice.user, subject__startswith="Levererad")
    assert order.number in told.subject and "Aina Apel" in told.body
    assert "Signerat på plats." in told.body
    # Both order pages show the receipt with the signature drawn.
    for viewer, name in (
        (as_logan, "logistics:order"),
        (signed_in(Client(), alice), "orders:order"),
    ):
        shown = viewer.get(reverse(name, args=[order.pk])).content.decode()
        assert "Kvittens vid leverans" in shown and "Aina Apel" in shown
        assert '<svg class="signature"' in shown and "<polyline points=" in shown


def test_not_signed_needs_a_reason_and_garbage_is_refused(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift)))
    url = reverse("logistics:deliver", args=[order.pk])
    cases = [
        ({**SIGNED, "signature": ""}, "Mottagaren har inte signerat"),
        ({**UNSIGNED, "unsigned_reason": " "}, "Ange varför mottagaren inte signerade."),
        ({**SIGNED, "signature": "<svg onload=alert(1)>"}, "Signaturen kunde inte läsas"),
        ({**SIGNED, "signature": "[[10,10,12,12]]"}, "Signaturen är för kort"),
        ({**SIGNED, "signature": "[[10,10,2000,10]]"}, "Signaturen kunde inte läsas"),
        ({**SIGNED, "receiver_name": ""}, "Ange vem som tog emot."),
        ({**SIGNED, "relation": "chef"}, "Välj mottagarens relation"),
    ]
    for data, message in cases:
        response = as_logan.post(url, data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert not Receipt.unscoped.exists() and not Loan.unscoped.exists()
    assert as_logan.post(url, UNSIGNED).status_code == 302
    receipt = Receipt.unscoped.get()
    assert receipt.signature is None and receipt.unsigned_reason.startswith("Patienten sover")
    html = as_logan.get(reverse("logistics:order", args=[order.pk])).content.decode()
    assert "Ej signerat: Patienten sover" in html


def test_the_service_checks_the_receipt_too(shop: Shop, alice: Persona, logan: Persona) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift)))
    for receipt in (
        ReceiptInput("Aina", "patient"),
        ReceiptInput("Aina", "patient", [[1, 2, 3]], ""),
        ReceiptInput("Aina", "patient", STROKES, "och ett skäl"),
        ReceiptInput(" ", "patient", STROKES),
    ):
        with pytest.raises(ValidationError):
            services.order_deliver(actor=logan.actor, order=order, receipt=receipt)
    assert not Receipt.unscoped.exists() and not Loan.unscoped.exists()


def test_a_protected_patients_receiver_is_not_named_on_the_centres_pages(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift)))
    services.order_deliver(
        actor=logan.actor, order=order, receipt=ReceiptInput("Aina Apel", "patient", STROKES)
    )
    Patient.objects.filter(pk=shop.patient.pk).update(protection="protected")
    html = as_logan.get(reverse("logistics:order", args=[order.pk])).content.decode()
    assert "Kvittens vid leverans" in html and "Aina Apel" not in html


def test_the_signature_is_drawn_from_numbers_only() -> None:
    drawn = signature.svg(STROKES)
    assert drawn.count("<polyline") == 2 and "100,300 200,100" in drawn
    assert signature.svg(None) == ""
    with pytest.raises(ValidationError):
        signature.svg([["<script>", 1]])  # type: ignore[list-item]
    for raw in ("[" * 30000, "[[1e999, 1]]", "[[true, 1, 2, 3]]", "{}", "null", "x" * 50000):
        with pytest.raises(ValidationError):
            signature.parse(raw)


# --- The collection receipt -----------------------------------------------------------------


def test_a_collection_takes_the_same_receipt(
    shop: Shop, alice: Persona, logan: Persona, as_logan: Client
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift)))
    loans = services.order_deliver(actor=logan.actor, order=order)
    pickup = services.pickup_register(
        actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=loans)
    )
    html = as_logan.get(reverse("logistics:pickups"), {"dag": "2100-01-01"}).content.decode()
    assert "data-signature-canvas" in html
    url = reverse("logistics:pickup_collect", args=[pickup.pk])
    refused = as_logan.post(url, {"receiver_name": "Olle Apel", "relation": "relative"})
    assert refused.status_code == 400 and "Mottagaren har inte signerat" in refused.content.decode()
    assert PickupOrder.unscoped.get(pk=pickup.pk).status == PickupOrder.Status.REGISTERED
    assert as_logan.post(url, UNSIGNED).status_code == 302
    receipt = Receipt.unscoped.get(kind=Receipt.Kind.COLLECTION)
    assert (receipt.pickup_id, receipt.order_id, receipt.name) == (pickup.pk, None, "Olle Apel")
    collected = events(Action.PICKUP_COLLECTED)[-1]
    assert (collected.detail["receipt"], collected.detail["signed"]) == (receipt.pk, False)


# --- The loan agreement ---------------------------------------------------------------------


def pdf_text(content: bytes, tmp_path: object) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    source = tmp_path / "agreement.pdf"  # type: ignore[operator]
    source.write_bytes(content)
    return subprocess.run(  # noqa: S603 - a fixed tool on a file we wrote
        ["pdftotext", "-layout", str(source), "-"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_loan_agreement_lists_the_devices_terms_and_signature(
    shop: Shop, alice: Persona, logan: Persona, charlie: Persona, client: Client, tmp_path: object
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift)))
    url = reverse("orders:loan_agreement", args=[order.pk])
    # Before the delivery: printed to sign in ink, with what is to be delivered.
    before = signed_in(Client(), logan).get(url)
    assert before.status_code == 200 and before["Content-Type"] == "application/pdf"
    text = pdf_text(before.content, tmp_path)
    assert "Hjälpmedel som levereras" in text and "Låntagarens eller företrädarens" in text
    services.order_deliver(
        actor=logan.actor, order=order, receipt=ReceiptInput("Aina Apel", "patient", STROKES)
    )
    reads = len(events(Action.ORDER_VIEWED))
    response = signed_in(client, alice).get(url)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = pdf_text(response.content, tmp_path)
    item = order.lines.get().item
    assert item is not None
    assert "Låneförbindelse" in text and "Utlånade hjälpmedel" in text
    assert item.individual_number in text and shop.lift.name in text
    assert "till någon annan" in text
    assert "dödsbo" in text and shop.patient.last_name in text and "Aina Apel" in text
    assert "Låntagarens eller företrädarens" not in text  # signed on the screen instead
    # Recorded as a read of the patient.
    viewed = events(Action.ORDER_VIEWED)
    assert len(viewed) == reads + 1 and viewed[-1].patient_id == shop.patient.pk
    # Another unit's prescriber: the same 404 as a missing order.
    assert signed_in(Client(), charlie).get(url).status_code == 404
    # From the holdings: a link to the agreement of the loan.
    holdings = signed_in(Client(), alice).get(reverse("orders:holdings", args=[shop.patient.pk]))
    assert url in holdings.content.decode()


def test_the_loan_agreement_never_prints_a_protected_address(
    shop: Shop, alice: Persona, logan: Persona, tmp_path: object
) -> None:
    order = picked(logan, place(alice, shop.patient, LineInput(shop.lift)))
    Patient.objects.filter(pk=shop.patient.pk).update(
        protection="protected", street="Hemliga vägen 7"
    )
    url = reverse("orders:loan_agreement", args=[order.pk])
    text = pdf_text(signed_in(Client(), logan).get(url).content, tmp_path)
    assert "Hemliga vägen" not in text and "Skyddad adress" in text
    assert shop.patient.last_name not in text  # the centre does not see a protected name


def test_r34_r55_the_loan_agreement_shows_logistics_no_more_than_the_order_page(
    shop: Shop, alice: Persona, logan: Persona, tmp_path: object
) -> None:
    """The centre prints the agreement from the order it handles, and it shows no more of the
    patient than the centre's order pages do (R34: only the fields the work needs; R55): the
    name and number as the orders list has them and the address the order goes to, never the
    patient's registered address or phone beside it. The ordering unit's prescriber gets the
    same: one rule for the pages and the printout."""
    patient = shop.patient
    facts = {
        "name": str(patient),
        "number": patient.display_identifier,
        "street": patient.street,
        "postal town": f"{patient.postal_code} {patient.city}",
        "phone": patient.phone,
    }
    to_unit = picked(logan, place(alice, patient, LineInput(shop.lift), kind=Order.Delivery.UNIT))
    as_logan = signed_in(Client(), logan)
    pages = "".join(
        as_logan.get(url).content.decode()
        for url in (
            reverse("orders:orders"),
            reverse("orders:order", args=[to_unit.pk]),
            reverse("logistics:order", args=[to_unit.pk]),
            reverse("logistics:delivery", args=[to_unit.pk]),
        )
    )
    url = reverse("orders:loan_agreement", args=[to_unit.pk])
    text = pdf_text(as_logan.get(url).content, tmp_path)
    shown_more = [field for field, value in facts.items() if value in text and value not in pages]
    assert shown_more == []
    assert patient.street not in text and "Vårdvägen 1" not in text  # a unit is not the borrower
    assert facts["name"] in text and "Fylls i för hand" in text
    assert patient.street not in pdf_text(signed_in(Client(), alice).get(url).content, tmp_path)
    # Delivered to the patient's address, the agreement has it, as the order page does.
    to_home = picked(logan, place(alice, patient, LineInput(shop.bed)))
    home = as_logan.get(reverse("logistics:order", args=[to_home.pk])).content.decode()
    url = reverse("orders:loan_agreement", args=[to_home.pk])
    text = pdf_text(as_logan.get(url).content, tmp_path)
    assert patient.street in home and patient.street in text
    assert patient.phone not in text
