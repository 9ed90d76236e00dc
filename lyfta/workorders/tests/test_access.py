"""Work orders through the one access layer (R93, issue 13's dependency "Access by
construction"): who sees which work orders (`rows.work_orders_for`), a patient's on the holdings
within the grant's data scope (`rows.patient_work_orders`, R39–R49), an item's on its card with
the patient only on a legal route (`rows.item_work_orders`), protected patients for named staff
only (R54), and no read of a work order outside the layer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conftest import County, Persona
from lyfta.access import rows
from lyfta.access.guard import UnscopedRead
from lyfta.orders.tests.conftest import grant
from lyfta.organisations.models import Unit
from lyfta.patients.models import Block, CareRelationship, Consent, Patient, ProtectedStaff
from lyfta.workorders import services
from lyfta.workorders.models import Attachment, Inspection, WorkOrder, WorkOrderPart
from lyfta.workorders.tests.conftest import Desk, lend, repair_for

pytestmark = pytest.mark.django_db

K = WorkOrder.Kind


def seen(persona: Persona) -> set[int]:
    return set(rows.work_orders_for(persona.actor).values_list("pk", flat=True))


def region_order(desk: Desk, charlie: Persona, logan: Persona) -> WorkOrder:
    """Unit B (the region) reports a fault on the bed it lent its patient."""
    loan = lend(charlie, logan, desk.shop.region_patient, desk.shop.bed)
    return services.work_order_create(
        actor=charlie.actor,
        kind=K.REPAIR,
        description="Sängen höjs inte.",
        place=WorkOrder.Place.HOME,
        unit=desk.county.unit_b,
        item=loan.item,
        grant=grant(charlie, desk.shop.region_patient),
    )


def centre_order(desk: Desk, logan: Persona) -> WorkOrder:
    """The centre's logistics send a stock lift to the workshop (no patient)."""
    return services.work_order_create(
        actor=logan.actor,
        kind=K.REPAIR,
        description="Transportskada vid inleverans.",
        place=WorkOrder.Place.WORKSHOP,
        unit=desk.county.centre,
        item=desk.spare_lift,
        origin=WorkOrder.Origin.CENTRE,
    )


def relate(unit: Unit, patient: Patient) -> None:
    CareRelationship.objects.create(
        unit=unit,
        patient=patient,
        origin=CareRelationship.Origin.REGISTERED,
        valid_from=timezone.localdate() - dt.timedelta(days=30),
    )


def consent(patient: Patient, unit: Unit, alice: Persona) -> Consent:
    return Consent.objects.create(
        patient=patient,
        grantee_unit=unit,
        valid_from=timezone.localdate() - dt.timedelta(days=1),
        valid_until=timezone.localdate() + dt.timedelta(days=30),
        status=Consent.Status.ACTIVE,
        registered_by=alice.user,
    )


def block(patient: Patient, county: County, charlie: Persona) -> Block:
    return Block.objects.create(
        patient=patient,
        scope=Block.Scope.EXTERNAL,
        owner_provider=county.region,
        requested_at=timezone.localdate(),
        requested_by="Patienten",
        registered_by=charlie.user,
        status=Block.Status.ACTIVE,
    )


# --- work_orders_for ------------------------------------------------------------------------


def test_r93_the_technicians_see_every_work_order_on_the_case(
    desk: Desk, alice: Persona, charlie: Persona, logan: Persona, tekla: Persona
) -> None:
    mine, theirs, centre = (
        repair_for(desk, alice),
        region_order(desk, charlie, logan),
        centre_order(desk, logan),
    )
    found = rows.work_orders_for(tekla.actor)
    assert found._route == "case"  # type: ignore[attr-defined]
    assert set(found.values_list("pk", flat=True)) == {mine.pk, theirs.pk, centre.pk}


def test_r93_a_prescriber_sees_her_units_work_orders_only(
    desk: Desk, alice: Persona, bob: Persona, charlie: Persona, logan: Persona
) -> None:
    mine, theirs = repair_for(desk, alice), region_order(desk, charlie, logan)
    centre_order(desk, logan)
    # Bob did not ask, but it is his unit's.
    assert seen(alice) == seen(bob) == {mine.pk}
    assert seen(charlie) == {theirs.pk}


def test_r93_logistics_sees_only_what_its_unit_asked_for(
    desk: Desk, alice: Persona, logan: Persona
) -> None:
    repair_for(desk, alice)
    assert seen(logan) == set()
    centre = centre_order(desk, logan)
    assert seen(logan) == {centre.pk}


def test_r93_billing_sees_no_work_order(
    desk: Desk, alice: Persona, logan: Persona, billie: Persona
) -> None:
    repair_for(desk, alice)
    centre_order(desk, logan)  # billie's own unit's
    assert seen(billie) == set()
    assert rows.work_orders_for(billie.actor)._route == "none"  # type: ignore[attr-defined]


def test_r93_r54_a_protected_patients_work_order_is_for_named_staff_only(
    desk: Desk, alice: Persona, bob: Persona, tekla: Persona
) -> None:
    patient = desk.shop.patient
    patient.protection = Patient.Protection.PROTECTED_REGISTRATION
    patient.save()
    ProtectedStaff.objects.create(patient=patient, user=alice.user, named_by=alice.user)
    order = repair_for(desk, alice)
    # R55: the address of a protected patient is not written onto the work order.
    assert order.confidential_address is True
    assert (order.street, order.postal_code, order.city, order.contact_phone) == ("", "", "", "")
    assert seen(alice) == {order.pk}
    assert seen(bob) == set()
    assert seen(tekla) == {order.pk}
    # A naming that has ended no longer counts.
    ProtectedStaff.objects.filter(user=alice.user).update(ended_at=timezone.now())
    assert seen(alice) == set()


# --- patient_work_orders: the holdings, within the data scope ---------------------------------


def test_r93_patient_work_orders_follow_consent_and_block(
    desk: Desk, county: County, alice: Persona, charlie: Persona, logan: Persona
) -> None:
    """The region's work order on its patient, who also has a relationship with alice's unit:
    hidden without consent (another provider), shown with one, hidden again under the region's
    block towards other providers; the region's own prescriber sees it throughout."""
    patient = desk.shop.region_patient
    theirs = region_order(desk, charlie, logan)
    relate(county.unit_a, patient)

    def holdings(persona: Persona) -> set[int]:
        found = rows.patient_work_orders(persona.actor, grant(persona, patient))
        return set(found.values_list("pk", flat=True))

    assert holdings(alice) == set()
    assert holdings(charlie) == {theirs.pk}
    consent(patient, county.unit_a, alice)
    assert holdings(alice) == {theirs.pk}
    block(patient, county, charlie)
    assert holdings(alice) == set()
    assert holdings(charlie) == {theirs.pk}


def test_r93_patient_work_orders_are_the_patients_only(
    desk: Desk, alice: Persona, tekla: Persona
) -> None:
    mine = repair_for(desk, alice)
    other = services.work_order_create(
        actor=tekla.actor,
        kind=K.TRIAL,
        description="Utprovning av säng",
        place=WorkOrder.Place.HOME,
        unit=desk.county.unit_a,
        article=desk.shop.bed,
        patient=desk.shop.other,
    )
    found = rows.patient_work_orders(alice.actor, grant(alice, desk.shop.patient))
    assert set(found.values_list("pk", flat=True)) == {mine.pk}
    found = rows.patient_work_orders(alice.actor, grant(alice, desk.shop.other))
    assert set(found.values_list("pk", flat=True)) == {other.pk}


# --- item_work_orders: the item card ----------------------------------------------------------


def test_r93_the_item_card_names_the_patient_only_on_a_legal_route(
    desk: Desk,
    county: County,
    alice: Persona,
    charlie: Persona,
    logan: Persona,
    tekla: Persona,
    billie: Persona,
) -> None:
    order = repair_for(desk, alice)

    def card(persona: Persona) -> list[tuple[int, bool, str]]:
        found = rows.item_work_orders(persona.actor, desk.lift, "test-session")
        return [(h.work_order.pk, h.patient_shown, h.basis) for h in found]

    assert card(alice) == [(order.pk, True, "relationship")]
    assert card(tekla) == [(order.pk, True, "case")]
    # The centre's stock staff see the work order on the device, not whose it is.
    assert card(logan) == [(order.pk, False, "")]
    # Another provider's prescriber without a route to the patient sees nothing of it; with a
    # relationship of her own she sees it only on consent (another provider's information).
    assert card(charlie) == []
    relate(county.unit_b, desk.shop.patient)
    assert card(charlie) == []
    consent(desk.shop.patient, county.unit_b, alice)
    assert card(charlie) == [(order.pk, True, "consent")]
    assert card(billie) == []


def test_r93_the_item_card_shows_work_without_a_patient_to_its_unit_and_the_centre(
    desk: Desk, alice: Persona, logan: Persona, tekla: Persona
) -> None:
    centre = centre_order(desk, logan)

    def card(persona: Persona) -> list[tuple[int, bool]]:
        found = rows.item_work_orders(persona.actor, desk.spare_lift, "test-session")
        return [(h.work_order.pk, h.patient_shown) for h in found]

    assert card(tekla) == card(logan) == [(centre.pk, False)]
    assert card(alice) == []


# --- No read outside the layer ----------------------------------------------------------------


@pytest.mark.parametrize("model", [WorkOrder, WorkOrderPart, Attachment, Inspection])
def test_r93_an_unscoped_read_of_work_orders_raises(
    desk: Desk, alice: Persona, model: type[WorkOrder]
) -> None:
    repair_for(desk, alice)
    everything = model.objects.all()
    with pytest.raises(UnscopedRead):
        list(everything)
    with pytest.raises(UnscopedRead):
        everything.count()
    with pytest.raises(UnscopedRead):
        model.objects.filter(pk__gt=0).exists()
    # The writers' manager reads them.
    assert model.unscoped.exists() is (model is WorkOrder)
