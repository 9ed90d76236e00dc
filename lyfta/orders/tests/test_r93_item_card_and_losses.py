"""Regression tests for issue 12's findings 1, 2 and 9: the item card and the holdings page's
lost-devices list show only rows the actor has a legal route to (R39–R49, R93), and a refusal of a
patient- or provider-linked object is recorded (R38)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, Outcome
from lyfta.orders import services
from lyfta.orders.models import Loan, Order
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, grant, lend
from lyfta.organisations.models import Unit
from lyfta.patients.models import Block, CareRelationship, Consent, Patient

pytestmark = pytest.mark.django_db


def _relate(unit: Unit, patient: Patient) -> None:
    CareRelationship.objects.create(
        unit=unit,
        patient=patient,
        origin=CareRelationship.Origin.REGISTERED,
        valid_from=timezone.localdate() - dt.timedelta(days=30),
    )


def _block(patient: Patient, county: County, charlie: Persona) -> Block:
    return Block.objects.create(
        patient=patient,
        scope=Block.Scope.EXTERNAL,
        owner_provider=county.region,
        requested_at=timezone.localdate(),
        requested_by="Patienten",
        registered_by=charlie.user,
        status=Block.Status.ACTIVE,
    )


@pytest.fixture
def region_lift(
    shop: Shop, county: County, charlie: Persona, alice: Persona, logan: Persona
) -> Loan:
    """The region (charlie's unit B) lends a lift to its patient, who also has a relationship with
    alice's municipal unit A."""
    loan = lend(charlie, logan, shop.region_patient, shop)
    _relate(county.unit_a, shop.region_patient)
    return loan


def _card(client: Client, loan: Loan) -> tuple[int, str]:
    assert loan.item is not None
    response = client.get(reverse("stock:item", args=[loan.item.individual_number]))
    return response.status_code, response.content.decode()


def test_r93_item_card_hides_a_blocked_providers_loan(
    client: Client,
    shop: Shop,
    county: County,
    alice: Persona,
    charlie: Persona,
    region_lift: Loan,
) -> None:
    """Finding 1: with the region's block towards other providers in force, a municipal
    prescriber with her own relationship to the patient does not see the region's loan on the
    item card, even with a consent."""
    Consent.objects.create(
        patient=shop.region_patient,
        grantee_unit=county.unit_a,
        valid_from=timezone.localdate() - dt.timedelta(days=1),
        valid_until=timezone.localdate() + dt.timedelta(days=30),
        status=Consent.Status.ACTIVE,
        registered_by=alice.user,
    )
    _block(shop.region_patient, county, charlie)
    signed_in(client, alice)
    status, page = _card(client, region_lift)
    assert status == 404
    assert shop.region_patient.last_name not in page
    assert shop.region_patient.display_identifier not in page
    denial = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).order_by("-id").first()
    assert denial is not None and denial.outcome == Outcome.DENIED
    assert denial.actor_id == alice.user.pk


def test_r93_item_card_hides_another_providers_loan_without_consent(
    client: Client, shop: Shop, alice: Persona, region_lift: Loan
) -> None:
    """Finding 1, second variant: before any consent, the region's loan is not the municipal
    prescriber's to see."""
    signed_in(client, alice)
    status, page = _card(client, region_lift)
    assert status == 404
    assert shop.region_patient.last_name not in page


def test_r93_item_card_shows_the_loan_on_a_legal_route(
    client: Client, shop: Shop, county: County, alice: Persona, region_lift: Loan
) -> None:
    """With a consent and no block, the region's loan is on alice's legal route: shown, with the
    consent recorded as the basis of the listing."""
    consent = Consent.objects.create(
        patient=shop.region_patient,
        grantee_unit=county.unit_a,
        valid_from=timezone.localdate() - dt.timedelta(days=1),
        valid_until=timezone.localdate() + dt.timedelta(days=30),
        status=Consent.Status.ACTIVE,
        registered_by=alice.user,
    )
    signed_in(client, alice)
    status, page = _card(client, region_lift)
    assert status == 200
    assert shop.region_patient.display_identifier in page
    listed = AuditEvent.objects.filter(
        action=Action.PATIENT_LISTED, patient_id=shop.region_patient.pk
    ).latest("id")
    assert (listed.legal_basis, listed.legal_basis_ref) == ("consent", f"consent:{consent.pk}")


def test_r93_item_card_for_the_centre_names_no_patient(
    client: Client, shop: Shop, logan: Persona, region_lift: Loan
) -> None:
    """The centre's stock staff see where the device has been (the unit), not who had it."""
    signed_in(client, logan)
    status, page = _card(client, region_lift)
    assert status == 200
    assert shop.region_patient.last_name not in page
    assert region_lift.unit.name in page


def test_r93_holdings_lost_devices_follow_the_data_scope(
    client: Client,
    shop: Shop,
    county: County,
    alice: Persona,
    charlie: Persona,
    region_lift: Loan,
) -> None:
    """Finding 2: another provider's lost device under a block is not listed on the holdings page
    (and so offers no "Återfunnen" button)."""
    services.loss_report(
        actor=charlie.actor,
        grant=grant(charlie, shop.region_patient),
        loan=region_lift,
        lost_on=timezone.localdate(),
        circumstances="Borta efter flytt",
    )
    _block(shop.region_patient, county, charlie)
    signed_in(client, alice)
    page = client.get(reverse("orders:holdings", args=[shop.region_patient.pk])).content.decode()
    assert "Taklyft Orbit" not in page
    assert "Återfunnen" not in page
    # The region's own prescriber still sees it.
    client.logout()
    signed_in(client, charlie)
    page = client.get(reverse("orders:holdings", args=[shop.region_patient.pk])).content.decode()
    assert "Taklyft Orbit" in page


def test_r38_another_units_order_is_a_recorded_denial(
    client: Client, shop: Shop, alice: Persona, charlie: Persona
) -> None:
    """Finding 9: opening or cancelling another unit's order gives 404 and records the denial."""
    order = services.order_place(
        actor=charlie.actor,
        grant=grant(charlie, shop.region_patient),
        lines=[LineInput(shop.bed)],
        delivery=DeliveryInput(),
    )
    signed_in(client, alice)
    before = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=alice.user.pk).count()
    assert client.get(reverse("orders:order", args=[order.pk])).status_code == 404
    response = client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": "x"})
    assert response.status_code == 404
    denials = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=alice.user.pk)
    assert denials.count() == before + 2
    assert {e.resource_type for e in denials} == {"orders.order"}
    assert Order.unscoped.get(pk=order.pk).status != Order.Status.CANCELLED


@pytest.mark.parametrize("page", ["withdraw", "loss"])
def test_r57_forms_that_name_the_patient_record_the_read(
    client: Client, shop: Shop, alice: Persona, logan: Persona, page: str
) -> None:
    """Finding 9: the withdrawal page and the loss form show the patient's name: each GET is a
    recorded read with its legal basis."""
    loan = lend(alice, logan, shop.patient, shop)
    url = (
        reverse("orders:withdraw", args=[shop.patient.pk])
        if page == "withdraw"
        else reverse("orders:loss_new", args=[shop.patient.pk, loan.pk])
    )
    signed_in(client, alice)
    before = AuditEvent.objects.filter(action=Action.PATIENT_READ).count()
    response = client.get(url)
    assert response.status_code == 200
    assert shop.patient.last_name in response.content.decode()
    read = AuditEvent.objects.filter(action=Action.PATIENT_READ).latest("id")
    assert AuditEvent.objects.filter(action=Action.PATIENT_READ).count() == before + 1
    assert (read.patient_id, read.actor_id, read.legal_basis) == (
        shop.patient.pk,
        alice.user.pk,
        "relationship",
    )


def test_r38_any_refused_object_url_is_recorded(
    client: Client, shop: Shop, alice: Persona, charlie: Persona
) -> None:
    """Point 9: a 404 on a URL that names an object is recorded as a denial even where the view
    itself records nothing (here another unit's order template), once."""
    from lyfta.orders.models import OrderTemplate

    template = OrderTemplate.objects.create(
        unit=charlie.assignment.unit, name="Regionens mall", lines=[], created_by=charlie.user
    )
    signed_in(client, alice)
    url = reverse("orders:template_use", args=[shop.patient.pk, template.pk])
    assert client.post(url).status_code == 404
    denial = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).latest("id")
    assert (denial.actor_id, denial.outcome, denial.resource_type) == (
        alice.user.pk,
        Outcome.DENIED,
        "orders:template_use",
    )
    assert f"template_id={template.pk}" in denial.resource_id
    assert denial.patient_id == shop.patient.pk
    # A refusal the view records itself is not recorded twice.
    before = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).count()
    assert client.get(reverse("orders:order", args=[999999])).status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).count() == before + 1


def test_r38_a_csrf_failure_is_recorded(shop: Shop, alice: Persona) -> None:
    client = Client(enforce_csrf_checks=True)
    signed_in(client, alice)
    response = client.post(reverse("orders:withdraw", args=[shop.patient.pk]), {})
    assert response.status_code == 403
    denial = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).latest("id")
    assert (denial.actor_id, denial.resource_type, denial.detail["reason"]) == (
        alice.user.pk,
        "csrf",
        "csrf",
    )


def test_r54_a_units_orders_of_a_protected_patient_are_for_its_named_staff(
    client: Client, shop: Shop, county: County, alice: Persona, bob: Persona
) -> None:
    """Found by the attack on the demo: a colleague at the same unit, not named for a protected
    patient, listed, read and cancelled the patient's order. Now the order is not his to see."""
    from lyfta.patients.models import ProtectedStaff

    patient = shop.other
    Patient.objects.filter(pk=patient.pk).update(
        protection=Patient.Protection.PROTECTED_REGISTRATION
    )
    patient.refresh_from_db()
    ProtectedStaff.objects.create(patient=patient, user=alice.user, named_by=alice.user)
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, patient),
        lines=[LineInput(shop.bed)],
        delivery=DeliveryInput(kind=Order.Delivery.UNIT),
    )
    signed_in(client, bob)
    assert order.number not in client.get(reverse("orders:orders")).content.decode()
    assert client.get(reverse("orders:order", args=[order.pk])).status_code == 404
    response = client.post(reverse("orders:order_cancel", args=[order.pk]), {"reason": "x"})
    assert response.status_code == 404
    assert Order.unscoped.get(pk=order.pk).status != Order.Status.CANCELLED
    client.logout()
    signed_in(client, alice)
    assert order.number in client.get(reverse("orders:orders")).content.decode()
    assert client.get(reverse("orders:order", args=[order.pk])).status_code == 200


def test_r48_holdings_say_only_that_blocked_data_exists(
    client: Client,
    shop: Shop,
    county: County,
    alice: Persona,
    charlie: Persona,
    region_lift: Loan,
) -> None:
    """Found by the attack on the demo: under the region's block the holdings page counted the
    blocked devices and said a consent would show them. Now it says only that blocked data
    exists (R48), also when a consent is in force."""
    _block(shop.region_patient, county, charlie)
    Consent.objects.create(
        patient=shop.region_patient,
        grantee_unit=county.unit_a,
        valid_from=timezone.localdate() - dt.timedelta(days=1),
        valid_until=timezone.localdate() + dt.timedelta(days=30),
        status=Consent.Status.ACTIVE,
        registered_by=alice.user,
    )
    signed_in(client, alice)
    page = client.get(reverse("orders:holdings", args=[shop.region_patient.pk])).content.decode()
    assert 'id="blocked-loans"' in page
    assert 'id="hidden-loans"' not in page
    assert "Taklyft Orbit" not in page


def test_r38_a_refused_order_names_its_patient_in_the_log(
    client: Client, shop: Shop, alice: Persona, charlie: Persona
) -> None:
    """Found by the second attack pass: the refusal of another unit's order was recorded without
    the order's patient, so a reviewer searching the patient (or the targeted check of protected
    patients) did not see it."""
    order = services.order_place(
        actor=charlie.actor,
        grant=grant(charlie, shop.region_patient),
        lines=[LineInput(shop.bed)],
        delivery=DeliveryInput(),
    )
    signed_in(client, alice)
    assert client.get(reverse("orders:order", args=[order.pk])).status_code == 404
    denial = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).latest("id")
    assert (denial.patient_id, denial.owner_provider_id, denial.owner_unit_id) == (
        shop.region_patient.pk,
        charlie.assignment.unit.provider_id,
        charlie.assignment.unit_id,
    )
    # A missing id names nobody.
    assert client.get(reverse("orders:order", args=[order.pk + 1000])).status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).latest("id").patient_id is None
