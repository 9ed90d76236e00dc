"""What an attack on the economy desk of the demo found, each fixed and kept fixed: a protected
patient's number tied to billed lines (and so to a payer, a move and a home municipality), a
number echoed back by an invalid search or kept in a URL, a search that told whether a number is
a patient's, months billed before they began and locked before they ended, a protected patient's
housing on "Vem betalar?", a housing from before birth, and a zero debit line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from conftest import County, Persona, signed_in
from lyfta.audit.models import AuditEvent
from lyfta.billing.models import BillingLine, BillingRun, Housing
from lyfta.billing.services.corrections import correct_line
from lyfta.billing.services.run import RunRefused, approve_run, compute_run, start_run
from lyfta.billing.tests.run_world import World, build_world
from lyfta.patients.models import Block, Patient

pytestmark = pytest.mark.django_db

D = dt.date
JAN, FEB = D(2025, 1, 1), D(2025, 2, 1)


@pytest.fixture
def world(county: County) -> World:
    return build_world(county)


@pytest.fixture
def economy(client: Client, billie: Persona) -> Client:
    return signed_in(client, billie)


def _locked(billie: Persona, month: dt.date) -> BillingRun:
    run = start_run(actor=billie.actor, month=month)
    compute_run(run.pk)
    run.refresh_from_db()
    return approve_run(actor=billie.actor, run=run)


def _luhn(nine: str) -> str:
    total = 0
    for index, char in enumerate(nine):
        digit = int(char) * (2 if index % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return nine + str((10 - total % 10) % 10)


_SERIAL = iter(range(100, 999))


def _patient(world: World) -> Patient:
    """A patient with a valid personnummer (the search checks the number first)."""
    patient = world.patient()
    patient.identifier = "19" + _luhn(f"500101{next(_SERIAL):03d}")
    patient.save()
    return patient


def _billed(world: World, billie: Persona, **changes: str) -> Patient:
    patient = _patient(world)
    for field, value in changes.items():
        setattr(patient, field, value)
    patient.save()
    world.move(patient, D(2020, 1, 1), Housing.ORDINARY)
    world.move(patient, D(2025, 1, 15), Housing.SPECIAL)
    world.loan(patient, started_on=D(2024, 11, 1))
    _locked(billie, JAN)
    assert BillingLine.unscoped.filter(patient=patient).exists()
    return patient


def _search(economy: Client, number: str, **extra: str) -> tuple[int, str]:
    response = economy.post(reverse("billing:lines"), {"personnummer": number, **extra})
    return response.status_code, response.content.decode()


def test_r54_a_protected_patients_number_finds_no_billed_lines_and_answers_as_an_unknown_one(
    world: World, billie: Persona, economy: Client
) -> None:
    patient = _billed(world, billie, protection=Patient.Protection.PROTECTED_REGISTRATION)
    status, page = _search(economy, patient.identifier)
    assert status == 200
    assert "Inga debiterade rader för det numret." in page
    assert "T0" not in page and "Hyra" not in page  # no line, no device, no payer
    unknown_status, unknown = _search(economy, "194001019803")
    assert unknown_status == 200 and "Inga debiterade rader för det numret." in unknown
    event = AuditEvent.objects.filter(action="billing.lines_searched").order_by("-pk").first()
    withheld = (
        AuditEvent.objects.filter(action="billing.lines_searched", patient_id=patient.pk)
        .order_by("pk")
        .first()
    )
    assert event is not None and withheld is not None
    assert withheld.detail["withheld"] == "protected" and withheld.detail["found"] is False


def test_r48_a_blocked_patients_number_finds_no_billed_lines(
    world: World, billie: Persona, economy: Client, alice: Persona
) -> None:
    patient = _billed(world, billie)
    Block.objects.create(
        patient=patient,
        scope="internal",
        owner_provider=world.county.municipality,
        owner_unit=world.county.unit_a,
        requested_at=D(2025, 3, 1),
        requested_by="Patienten",
        registered_by=alice.user,
    )
    _status, page = _search(economy, patient.identifier)
    assert "Inga debiterade rader för det numret." in page and "Hyra" not in page


def test_r34_an_invalid_search_never_echoes_the_number(
    world: World, billie: Persona, economy: Client
) -> None:
    patient = _billed(world, billie)
    for extra in ({"kund": "999999"}, {"kund": "abc"}, {"individ": "x" * 30}):
        status, page = _search(economy, patient.identifier, **extra)
        assert status == 400
        assert patient.identifier not in page and patient.identifier[2:] not in page
    status, page = _search(economy, patient.identifier + "1")
    assert status == 400 and patient.identifier + "1" not in page


def test_r34_a_number_in_the_url_is_dropped_before_the_page(world: World, economy: Client) -> None:
    response = economy.get(
        reverse("billing:lines"), {"personnummer": "194001019803", "individ": "x"}
    )
    assert response.status_code == 302
    assert "194001019803" not in response["Location"] and "individ=x" in response["Location"]


def test_a_search_with_a_known_number_and_no_lines_answers_as_an_unknown_number(
    world: World, economy: Client
) -> None:
    patient = _patient(world)
    _status, known = _search(economy, patient.identifier)
    _status, unknown = _search(economy, "194001019803")
    marker = "Inga debiterade rader för det numret."
    assert marker in known and marker in unknown


def test_a_month_is_run_once_it_has_begun_and_locked_once_it_is_over(
    world: World, billie: Persona
) -> None:
    from django.utils import timezone

    today = timezone.localdate()
    this_month = today.replace(day=1)
    next_month = (this_month + dt.timedelta(days=32)).replace(day=1)
    with pytest.raises(RunRefused, match="har inte börjat"):
        start_run(actor=billie.actor, month=next_month)
    current = start_run(actor=billie.actor, month=this_month)
    compute_run(current.pk)
    current.refresh_from_db()
    with pytest.raises(RunRefused, match="inte slut"):
        approve_run(actor=billie.actor, run=current)
    current.refresh_from_db()
    assert current.status == BillingRun.Status.PREVIEW


def test_a_month_far_ahead_gets_a_swedish_message_on_the_page(economy: Client) -> None:
    response = economy.post(reverse("billing:runs"), {"month": "2199-12"}, follow=True)
    assert "har inte börjat" in response.content.decode()
    assert not BillingRun.objects.exists()


def test_who_pays_does_not_show_a_protected_patients_housing(
    world: World, billie: Persona, economy: Client
) -> None:
    patient = _billed(world, billie, protection=Patient.Protection.CONFIDENTIALITY)
    from lyfta.orders.models import Loan

    loan = Loan.unscoped.get(patient=patient)
    page = economy.get(reverse("billing:who_pays"), {"lan": str(loan.pk), "manad": "2025-01"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "boendet visas inte" in text
    assert "Särskilt boende, " not in text and "Ordinärt boende, " not in text


def test_housing_cannot_begin_before_the_patient_was_born(world: World) -> None:
    from lyfta.access.actor import Actor
    from lyfta.billing.services.reference import housing_register

    patient = world.patient()
    with pytest.raises(ValidationError, match="födelsedag"):
        housing_register(
            actor=Actor.system("test"),
            grant=None,
            patient_id=patient.pk,
            housing=Housing.SPECIAL,
            municipality=world.county.municipality,
            valid_from=D(1900, 1, 1),
        )


def test_a_customer_number_is_letters_digits_and_separators(economy: Client, world: World) -> None:
    customer = world.municipality_customer
    url = reverse("billing:customer_edit", args=[customer.pk])
    response = economy.post(
        url,
        {
            "customer_number": "1' OR '1'='1",
            "invoice_street": "Kommunvägen 1",
            "invoice_postal_code": "652 00",
            "invoice_city": "Testköping",
            "active": "on",
        },
    )
    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.customer_number == "K200"


def test_a_zero_new_amount_credits_only(world: World, billie: Persona) -> None:
    world.loan(world.patient(), started_on=D(2024, 11, 1))
    january = _locked(billie, JAN)
    february = start_run(actor=billie.actor, month=FEB)
    compute_run(february.pk)
    line = BillingLine.unscoped.filter(run=january).first()
    assert line is not None
    correct_line(actor=billie.actor, line_id=line.pk, reason="Fel", new_amount=Decimal("-0"))
    made = list(BillingLine.unscoped.filter(corrects=line).values_list("kind", flat=True))
    assert made == ["credit"]
