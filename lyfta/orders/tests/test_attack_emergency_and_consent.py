"""The attack run's findings on emergency access and consent, each under the requirement it broke:

- M1 (R54): a prescriber not on a protected patient's named-staff list opened an emergency access
  and saw her holdings and item cards. Nobody but the named staff opens her now, in an emergency
  neither; the attempt is denied, recorded and routed to targeted review.
- M2 (R50): the "read only" emergency access let its holder report a deviation from the holdings.
  Every write route taken on a patient grant is walked here with an emergency grant, and with the
  same data on a care relationship as the control that the data would have written.
- M3 (R39): a documented need plus a consent the user registered herself opened another
  provider's data. A consent counts beside a care relationship only, and is registered only on
  one.
- L4 (R50, DOMAIN.md §2): the logistician and the orderer opened emergency access. Only the roles
  that give care that must start at once (prescribers, unit managers) may."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.patients import Denial, PatientGrant, data_scope, grant_for
from lyfta.access.roles import Role
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.billing.models import PatientHousing
from lyfta.orders.models import Loan, LossReport, Order, OrderTemplate, PickupOrder
from lyfta.orders.tests.conftest import Shop, grant, lend
from lyfta.patients.models import (
    CareRelationship,
    Consent,
    DocumentedNeed,
    EmergencyAccess,
    Patient,
    ProtectedStaff,
)
from lyfta.quality.models import Deviation
from lyfta.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate

EMERGENCY = {
    "reason_code": "acute_care",
    "reason_text": "Medvetslös patient i hemmet",
    "patient_cannot_consent": "on",
    "password": TEST_PASSWORD,
}


def _open_emergency(client: Client, patient: Patient) -> Any:
    url = f"{reverse('patients:emergency')}?patient={patient.pk}"
    return client.post(url, {**EMERGENCY, "patient": patient.pk})


def _emergency_row(persona: Persona, patient: Patient, why: str) -> EmergencyAccess:
    """An emergency access in force, written as it stands (one opened before a rule changed)."""
    return EmergencyAccess.objects.create(
        user=persona.user,
        assignment=persona.assignment,
        patient=patient,
        reason_code="acute_care",
        reason_text=why,
        patient_cannot_consent=True,
        started_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(hours=2),
    )


def _count(model: type[Model]) -> int:
    """Every row of `model`: patient-linked ones through their `unscoped` manager (the test
    counts, it shows nothing)."""
    manager = getattr(model, "unscoped", None) or model._default_manager
    return int(manager.count())


def _refusals(persona: Persona) -> int:
    return AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=persona.user.pk).count()


@pytest.fixture
def annika(county: County) -> Persona:
    """A prescriber in unit A2: the same provider as unit A, no relationship with its patients."""
    return make_persona(county.unit_a2, Role.PRESCRIBER, "annika", first_name="Annika")


@pytest.fixture
def loan(shop: Shop, alice: Persona, logan: Persona) -> Loan:
    """Unit A's lift on loan to its patient."""
    return lend(alice, logan, shop.patient, shop)


# --- M1: protected identity (R54) ---------------------------------------------------------------


def _protected(patient: Patient, *, named: Persona) -> Patient:
    """The patient with protected identity, `named` the one person on her named-staff list."""
    patient.protection = Patient.Protection.PROTECTED_REGISTRATION
    patient.save(update_fields=["protection"])
    ProtectedStaff.objects.create(patient=patient, user=named.user, named_by=named.user)
    return patient


def test_r54_an_emergency_by_staff_not_named_is_refused_recorded_and_reviewed(
    client: Client, shop: Shop, loan: Loan, annika: Persona, alice: Persona
) -> None:
    patient = _protected(shop.patient, named=alice)
    signed_in(client, annika)
    response = _open_emergency(client, patient)
    assert response.status_code == 400
    assert not EmergencyAccess.objects.exists()
    refused = AuditEvent.objects.get(
        action=Action.ACCESS_DENIED, actor_id=annika.user.pk, patient_id=patient.pk
    )
    assert refused.detail == {
        "step": "emergency_open",
        "reason": "protected_identity",
        "review": True,
    }
    # Nothing opens: the holdings, the item card's holder, the fault report.
    assert loan.item is not None
    assert client.get(reverse("orders:holdings", args=[patient.pk])).status_code == 404
    card = client.get(reverse("stock:item", args=[loan.item.individual_number]))
    assert patient.last_name not in card.content.decode()
    fault = reverse("workorders:report_fault", args=[patient.pk, loan.pk])
    assert client.get(fault).status_code == 404


def test_r54_named_staff_still_open_a_protected_patient_in_an_emergency(
    client: Client, shop: Shop, loan: Loan, annika: Persona
) -> None:
    patient = _protected(shop.patient, named=annika)
    signed_in(client, annika)
    response = _open_emergency(client, patient)
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    found = grant_for(annika.actor, patient, "s")
    assert isinstance(found, PatientGrant) and found.basis == "emergency" and found.read_only


# --- M2: an emergency access writes nothing (R50) -----------------------------------------------


@dataclass(frozen=True)
class Write:
    """A POST about the patient: its URL, its data, and the rows it would add."""

    name: str
    url: Callable[[Patient, Loan], str]
    data: Callable[[Shop, Loan], dict[str, Any]]
    creates: type[Model]
    prepare: Callable[[Client, Shop], None] = lambda client, shop: None


def _cart(client: Client, shop: Shop) -> None:
    """An order is placed from the cart kept in the session."""
    client.post(
        reverse("orders:cart_add", args=[shop.patient.pk]),
        {"article": shop.bed.pk, "quantity": 1},
    )


def _deviation(_shop: Shop, _loan: Loan) -> dict[str, Any]:
    return {
        "kind": Deviation.Kind.NEAR_MISS,
        "description": "Lyftbygeln lossnade nästan",
        "severity": Deviation.Severity.NONE,
        "occurred_on": TODAY().isoformat(),
    }


WRITES = [
    Write(
        "relationship_add",
        lambda p, _l: reverse("patients:relationship_add", args=[p.pk]),
        lambda _s, _l: {"valid_from": TODAY().isoformat(), "reason": "Ska förskriva"},
        CareRelationship,
    ),
    Write(
        "consent_add",
        lambda p, _l: reverse("patients:consent_add", args=[p.pk]),
        lambda _s, _l: {"valid_from": TODAY().isoformat(), "valid_until": TODAY().isoformat()},
        Consent,
    ),
    Write(
        "order_new",
        lambda p, _l: reverse("orders:order_new", args=[p.pk]),
        lambda _s, _l: {"delivery": Order.Delivery.PATIENT},
        Order,
        _cart,
    ),
    Write(
        "template_save",
        lambda p, _l: reverse("orders:template_save", args=[p.pk]),
        lambda _s, _l: {"name": "Mall under nödåtkomst"},
        OrderTemplate,
        _cart,
    ),
    Write(
        "pickup_new",
        lambda p, _l: reverse("orders:pickup_new", args=[p.pk]),
        lambda _s, loan: {"loans": [str(loan.pk)]},
        PickupOrder,
    ),
    Write(
        "loss_new",
        lambda p, loan: reverse("orders:loss_new", args=[p.pk, loan.pk]),
        lambda _s, _l: {
            "lost_on": TODAY().isoformat(),
            "circumstances": "Försvann vid flytten",
            "charge": LossReport.Charge.NONE,
        },
        LossReport,
    ),
    Write(
        "report_fault",
        lambda p, loan: reverse("workorders:report_fault", args=[p.pk, loan.pk]),
        lambda _s, _l: {
            "kind": WorkOrder.Kind.REPAIR,
            "description": "Lyften går inte att sänka",
            "place": WorkOrder.Place.HOME,
            "priority": WorkOrder.Priority.NORMAL,
        },
        WorkOrder,
    ),
    Write(
        "deviation_from_holdings",
        lambda p, loan: reverse("quality:report_loan", args=[p.pk, loan.pk]),
        _deviation,
        Deviation,
    ),
    Write(
        "deviation_from_item_card",
        lambda _p, loan: reverse(
            "quality:report_item", args=[loan.item.individual_number if loan.item else ""]
        ),
        _deviation,
        Deviation,
    ),
    Write(
        "housing",
        lambda p, _l: reverse("billing:housing", args=[p.pk]),
        lambda s, _l: {
            "housing": "special",
            "municipality": s.patient.home_municipality_id or _a_municipality(),
            "valid_from": TODAY().isoformat(),
        },
        PatientHousing,
    ),
]


def _a_municipality() -> int:
    from lyfta.organisations.models import CareProvider

    found = CareProvider.objects.filter(kind=CareProvider.Kind.MUNICIPALITY).first()
    assert found is not None
    return found.pk


@pytest.mark.parametrize("write", WRITES, ids=[w.name for w in WRITES])
def test_r50_every_write_on_a_patient_is_refused_under_an_emergency_access(
    client: Client, county: County, shop: Shop, loan: Loan, annika: Persona, write: Write
) -> None:
    """Annika (unit A2, no relationship) opens an emergency access on unit A's patient and posts
    to each write route: nothing is added and the refusal is recorded. Then her unit registers a
    care relationship, and the same post writes: the data was good, only the route was wrong."""
    patient = shop.patient
    signed_in(client, annika)
    assert _open_emergency(client, patient).status_code == 302
    emergency_grant = grant_for(annika.actor, patient, "s")
    assert isinstance(emergency_grant, PatientGrant) and emergency_grant.read_only
    write.prepare(client, shop)
    before, refused = _count(write.creates), _refusals(annika)
    response = client.post(write.url(patient, loan), write.data(shop, loan))
    assert response.status_code in (302, 400, 403, 404)
    assert _count(write.creates) == before, "an emergency access wrote"
    assert _refusals(annika) > refused, "the refusal is recorded (R38)"
    followed = client.get(response["Location"]) if response.status_code == 302 else response
    if followed.status_code == 200:
        assert "Nödåtkomst ger bara läsbehörighet." in followed.content.decode()

    # The control: the same post on a care relationship of her unit writes.
    CareRelationship.objects.create(
        unit=county.unit_a2, patient=patient, origin="registered", valid_from=TODAY()
    )
    write.prepare(client, shop)
    before = _count(write.creates)
    client.post(write.url(patient, loan), write.data(shop, loan))
    assert _count(write.creates) > before, "the control did not write"


def test_r50_no_cart_and_no_letter_to_the_patient_under_an_emergency_access(
    client: Client, county: County, shop: Shop, loan: Loan, annika: Persona
) -> None:
    """The order page's cart and the return letter (a letter to the patient, printed as a PDF)
    are writes too: under an emergency access the cart stays empty, no letter is printed, and
    each refusal is recorded (attack run 2, F2 and F4)."""
    patient = shop.patient
    signed_in(client, annika)
    assert _open_emergency(client, patient).status_code == 302
    refused = _refusals(annika)
    _cart(client, shop)
    assert not client.session.get(f"lyfta_cart_{patient.pk}"), "the cart took a line"
    letter = client.get(
        reverse("orders:return_letter", args=[patient.pk]), {"skal": "behov", "lan": str(loan.pk)}
    )
    assert letter.status_code == 302 and letter["Content-Type"] != "application/pdf"
    assert "Nödåtkomst ger bara läsbehörighet." in client.get(letter["Location"]).content.decode()
    assert _refusals(annika) == refused + 2


def test_r50_the_api_and_the_page_share_the_deviation_refusal(
    shop: Shop, loan: Loan, annika: Persona
) -> None:
    """The API's deviation from a loan goes through the same selector as the page."""
    from lyfta.access.refusals import Refused
    from lyfta.quality.selectors import deviations as selectors

    _emergency_row(annika, shop.patient, "Akut i hemmet")
    with pytest.raises(Refused):
        selectors.loan_to_report(
            actor=annika.actor, patient_id=shop.patient.pk, loan_id=loan.pk, session_ref="s"
        )
    assert loan.item is not None
    with pytest.raises(Refused):
        selectors.item_to_report(
            actor=annika.actor, individual_number=loan.item.individual_number, session_ref="s"
        )


# --- M3: a documented need opens no other provider's data (R39) ---------------------------------


def test_r39_a_need_and_a_consent_do_not_open_another_providers_data(
    client: Client, county: County, shop: Shop, loan: Loan, charlie: Persona
) -> None:
    """Charlie (the region) documents a need for unit A's (the municipality's) patient; a consent
    to his unit, even one already there, opens none of the municipality's data: the holdings
    show the count of what is hidden, the item card no name."""
    patient = shop.patient
    signed_in(client, charlie)
    client.post(reverse("patients:search"), {"identifier": patient.identifier})
    client.post(
        reverse("patients:outside"),
        {"reason_code": "administration", "reason_text": "Administrerar ett ärende"},
    )
    # Registering a consent under the need is refused (R39, R40) ...
    response = client.post(
        reverse("patients:consent_add", args=[patient.pk]),
        {
            "valid_from": TODAY().isoformat(),
            "valid_until": (TODAY() + dt.timedelta(days=30)).isoformat(),
            "for_me_only": "on",
        },
        follow=True,
    )
    assert "Samtycke registreras av en enhet som har vårdrelation" in response.content.decode()
    assert not Consent.objects.exists()
    refused = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=charlie.user.pk)
    assert refused.filter(detail__step="consent_register").exists()
    # ... and one registered otherwise opens nothing beside the need.
    Consent.objects.create(
        patient=patient,
        grantee_unit=county.unit_b,
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
        registered_by=charlie.user,
    )
    holdings = client.get(reverse("orders:holdings", args=[patient.pk]))
    assert holdings.status_code == 200
    html = holdings.content.decode()
    assert loan.item is not None
    assert loan.item.individual_number not in html
    card = client.get(reverse("stock:item", args=[loan.item.individual_number]))
    assert patient.last_name not in card.content.decode()
    need_grant = next(
        g
        for g in (grant_for(charlie.actor, patient, s) for s in _sessions(charlie))
        if isinstance(g, PatientGrant)
    )
    assert need_grant.basis == "need"
    assert data_scope(charlie.actor, need_grant).cross_provider_basis == ""


def _sessions(persona: Persona) -> list[str]:
    return list(
        DocumentedNeed.objects.filter(user=persona.user).values_list("session_ref", flat=True)
    )


def test_r39_a_consent_beside_a_care_relationship_still_opens_other_providers_data(
    county: County, shop: Shop, loan: Loan, charlie: Persona
) -> None:
    CareRelationship.objects.create(
        unit=county.unit_b, patient=shop.patient, origin="registered", valid_from=TODAY()
    )
    consent = Consent.objects.create(
        patient=shop.patient,
        grantee_unit=county.unit_b,
        valid_from=TODAY(),
        valid_until=TODAY() + dt.timedelta(days=30),
        registered_by=charlie.user,
    )
    found = grant(charlie, shop.patient)
    scope = data_scope(charlie.actor, found)
    assert (scope.cross_provider_basis, scope.cross_provider_ref) == (
        "consent",
        f"consent:{consent.pk}",
    )


# --- L4: who may open an emergency access (R50, DOMAIN.md §2) -----------------------------------


@pytest.mark.parametrize(
    "role", [Role.LOGISTICS, Role.ORDERER, Role.TECHNICIAN, Role.CUSTOMER_SERVICE, Role.CONSULTANT]
)
def test_r50_roles_that_give_no_acute_care_open_no_emergency_access(
    client: Client, county: County, shop: Shop, role: str
) -> None:
    unit = county.centre if role != Role.ORDERER else county.unit_a2
    persona = make_persona(unit, role, f"who_{role}")
    signed_in(client, persona)
    response = _open_emergency(client, shop.patient)
    assert response.status_code == 403
    assert "Din roll kan inte öppna nödåtkomst" in response.content.decode()
    assert not EmergencyAccess.objects.exists()
    refused = AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=persona.user.pk)
    assert refused.filter(detail__capability="patients.emergency").exists()
    # The page without a care relationship offers no emergency access to the role either.
    client.post(reverse("patients:search"), {"identifier": shop.patient.identifier})
    outside = client.get(reverse("patients:outside"))
    assert reverse("patients:emergency") not in outside.content.decode()
    # An emergency access opened before the rule opens nothing.
    _emergency_row(persona, shop.patient, "Öppnad före regeln")
    assert isinstance(grant_for(persona.actor, shop.patient, "s"), Denial)


@pytest.mark.parametrize("role", [Role.PRESCRIBER, Role.UNIT_MANAGER])
def test_r50_prescribers_and_unit_managers_open_emergency_access(
    client: Client, county: County, shop: Shop, role: str
) -> None:
    persona = make_persona(county.unit_a2, role, f"who_{role}")
    signed_in(client, persona)
    assert _open_emergency(client, shop.patient).status_code == 302
    assert EmergencyAccess.objects.get().user == persona.user


def test_r50_an_emergency_access_belongs_to_the_assignment_it_was_opened_in(
    county: County, shop: Shop, annika: Persona
) -> None:
    """Opened as a prescriber in unit A2, it is no route in her other assignment in unit B (the
    region), whose log and reviewers it never reached."""
    from lyfta.accounts.tests.factories import AssignmentFactory

    _emergency_row(annika, shop.region_patient, "Akut i hemmet")
    assert isinstance(grant_for(annika.actor, shop.region_patient, "s"), PatientGrant)
    other = Persona(
        user=annika.user,
        assignment=AssignmentFactory(user=annika.user, unit=county.unit_a, role=Role.PRESCRIBER),
    )
    assert grant_for(other.actor, shop.region_patient, "s") == Denial("no_relationship")
