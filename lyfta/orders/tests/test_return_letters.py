"""Letters asking for devices back (issue 16 point 6): when a short-term loan ends, when a
follow-up finds the need gone, and to the estate when the patient has died, as PDFs. Addressed
to the patient or 'Dödsboet efter …'; a protected address is never printed; each letter is
recorded. A death proposes a pick-up of every device at once, which the prescriber confirms."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.orders import services
from lyfta.orders.models import Loan, OrderLine, PickupLine
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, grant
from lyfta.patients.models import Patient, ProtectedStaff

pytestmark = pytest.mark.django_db

PDFTOTEXT = shutil.which("pdftotext")


def _lent(alice: Persona, logan: Persona, shop: Shop, *lines: LineInput) -> list[Loan]:
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=list(lines),
        delivery=DeliveryInput(),
    )
    for line in OrderLine.unscoped.filter(order=order):
        services.line_pick(actor=logan.actor, line=line)
    return services.order_deliver(actor=logan.actor, order=order)


def _text(pdf: bytes) -> str:
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed")
    done = subprocess.run(  # noqa: S603 - a fixed tool on our own bytes
        [PDFTOTEXT, "-", "-"], input=pdf, capture_output=True, check=True
    )
    return " ".join(done.stdout.decode().split())


def _letter(client: Client, patient: Patient, **query: str | int) -> bytes:
    url = reverse("orders:return_letter", args=[patient.pk])
    response = client.get(url, query)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    return response.content


def test_r16_6_a_letter_when_the_short_term_loan_ends_is_addressed_and_recorded(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    lift, bed = _lent(alice, logan, shop, LineInput(shop.lift), LineInput(shop.bed))
    Loan.unscoped.filter(pk=lift.pk).update(expected_end=timezone.localdate())
    as_alice = signed_in(client, alice)
    holdings = as_alice.get(reverse("orders:holdings", args=[shop.patient.pk])).content.decode()
    assert f"skal=korttid&amp;lan={lift.pk}" in holdings
    text = _text(_letter(as_alice, shop.patient, skal="korttid", lan=lift.pk))
    assert "Aina Apel" in text and "Storgatan 1" in text and "65225 Karlstad" in text
    assert "Korttidslånet" in text and shop.lift.name in text and shop.bed.name not in text
    event = AuditEvent.objects.get(action=Action.RETURN_LETTER_PRINTED)
    assert event.patient_id == shop.patient.pk
    assert event.detail == {"reason": "korttid", "loans": [lift.pk]}
    # The need gone: every open loan of the provider.
    text = _text(_letter(as_alice, shop.patient, skal="behov"))
    assert shop.lift.name in text and shop.bed.name in text and "inte längre behöver" in text


def test_r16_6_a_protected_address_is_never_printed(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    _lent(alice, logan, shop, LineInput(shop.lift))
    Patient.objects.filter(pk=shop.patient.pk).update(protection="protected")
    # Named staff may open a protected patient at all (R54).
    ProtectedStaff.objects.create(patient=shop.patient, user=alice.user, named_by=alice.user)
    text = _text(_letter(signed_in(client, alice), shop.patient, skal="behov"))
    assert "Skyddad adress – kontakta enheten" in text
    assert "Storgatan" not in text and "65225" not in text


def test_r16_6_the_estate_gets_the_letter_and_a_pickup_of_everything_is_proposed(
    client: Client, shop: Shop, alice: Persona, logan: Persona
) -> None:
    lift, bed = _lent(alice, logan, shop, LineInput(shop.lift), LineInput(shop.bed))
    as_alice = signed_in(client, alice)
    holdings_url = reverse("orders:holdings", args=[shop.patient.pk])
    # Alive: no letter to an estate, no proposal.
    refused = as_alice.get(
        reverse("orders:return_letter", args=[shop.patient.pk]), {"skal": "dodsbo"}
    )
    assert refused.status_code == 302
    assert "Bekräfta hämtning av alla" not in as_alice.get(holdings_url).content.decode()
    Patient.objects.filter(pk=shop.patient.pk).update(
        deceased_date=timezone.localdate() - dt.timedelta(days=1)
    )
    html = as_alice.get(holdings_url).content.decode()
    assert "Bekräfta hämtning av alla" in html and "alla 2 hjälpmedel" in html
    # The pick-up form comes with every device chosen; nothing is registered until confirmed.
    form = as_alice.get(reverse("orders:pickup_new", args=[shop.patient.pk])).content.decode()
    assert form.count("checked") == 2
    assert not PickupLine.unscoped.exists()
    done = as_alice.post(
        reverse("orders:pickup_new", args=[shop.patient.pk]), {"loans": [lift.pk, bed.pk]}
    )
    assert done.status_code == 302
    assert PickupLine.unscoped.count() == 2
    assert "Bekräfta hämtning av alla" not in as_alice.get(holdings_url).content.decode()
    text = _text(_letter(as_alice, shop.patient, skal="dodsbo"))
    assert "Dödsboet efter Aina Apel" in text and "Vi beklagar sorgen" in text


def test_r16_6_bad_input_and_other_units_get_no_letter(
    client: Client, shop: Shop, alice: Persona, charlie: Persona, logan: Persona, tekla: Persona
) -> None:
    (lift,) = _lent(alice, logan, shop, LineInput(shop.lift))
    url = reverse("orders:return_letter", args=[shop.patient.pk])
    as_alice = signed_in(client, alice)
    assert as_alice.get(url, {"skal": "nonsens"}).status_code == 302
    assert as_alice.get(url, {"skal": "behov", "lan": "abc"}).status_code == 302
    assert as_alice.get(url, {"skal": "behov", "lan": "999999"}).status_code == 404
    assert not AuditEvent.objects.filter(action=Action.RETURN_LETTER_PRINTED).exists()
    assert signed_in(Client(), charlie).get(url, {"skal": "behov"}).status_code == 404
    assert signed_in(Client(), tekla).get(url, {"skal": "behov"}).status_code == 403
