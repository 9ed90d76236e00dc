"""The patient log extract lists the registrations about the patient's devices, not only the
reads (R80, R81; issue 12, finding 9): orders, deliveries, pick-ups and losses, with unit,
provider and a plain Swedish type of access."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conftest import County, Persona
from lyfta.audit.models import LogExtractRequest
from lyfta.logreview import review
from lyfta.orders import services
from lyfta.orders.models import OrderLine
from lyfta.orders.services import DeliveryInput, LineInput, PickupInput
from lyfta.orders.tests.conftest import Shop, grant

pytestmark = pytest.mark.django_db

ORDERED = "Beställde hjälpmedel till dig"
DELIVERED = "Registrerade att hjälpmedel levererades till dig"
PICKUP = "Beställde hämtning av hjälpmedel hos dig"
COLLECTED = "Registrerade att hjälpmedel hämtades hos dig"
LOST = "Registrerade att ett hjälpmedel du lånat har förkommit"


@pytest.fixture
def history(shop: Shop, alice: Persona, logan: Persona) -> None:
    """Alice orders a lift and a bed for the patient; the centre delivers them; she orders the
    bed picked up, which the centre collects, and reports the lift lost."""
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.lift), LineInput(shop.bed)],
        delivery=DeliveryInput(),
    )
    for line in order.lines.filter(status=OrderLine.Status.RESERVED):
        services.line_pick(actor=logan.actor, line=line)
    loans = services.order_deliver(actor=logan.actor, order=order)
    bed = next(loan for loan in loans if loan.article == shop.bed)
    lift = next(loan for loan in loans if loan.article == shop.lift)
    pickup = services.pickup_register(
        actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=[bed])
    )
    services.pickup_collect(actor=logan.actor, pickup=pickup)
    services.loss_report(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        loan=lift,
        lost_on=timezone.localdate(),
        circumstances="Kvar vid flytt",
    )


def extract(
    lena: Persona,
    shop: Shop,
    kind: str = LogExtractRequest.Kind.PATIENT_REQUEST,
    *,
    secrecy_reviewed: bool = False,
) -> list[review.ExtractRow]:
    today = timezone.localdate()
    request = review.extract_register(
        actor=lena.actor,
        patient=shop.patient,
        kind=kind,
        requested_at=today,
        requester="Patienten själv",
        period_from=today - dt.timedelta(days=1),
        period_until=today,
        secrecy_reviewed=secrecy_reviewed,
    )
    return review.extract_rows(request)


def test_r80_the_extract_lists_the_order_delivery_pickup_and_loss(
    county: County, shop: Shop, lena: Persona, history: None
) -> None:
    rows = extract(lena, shop)
    by_kind = {str(row.kind): row for row in rows}
    for kind in (ORDERED, DELIVERED, PICKUP, COLLECTED, LOST):
        assert kind in by_kind, kind
    kinds = [str(row.kind) for row in rows]
    assert kinds.index(ORDERED) < kinds.index(DELIVERED) < kinds.index(PICKUP)
    assert kinds.index(PICKUP) < kinds.index(COLLECTED)
    municipality = (county.unit_a.name, county.municipality.name)
    centre = (county.centre.name, county.region.name)
    assert (by_kind[ORDERED].unit, by_kind[ORDERED].provider) == municipality
    assert (by_kind[DELIVERED].unit, by_kind[DELIVERED].provider) == centre
    assert (by_kind[COLLECTED].unit, by_kind[COLLECTED].provider) == centre
    assert (by_kind[LOST].unit, by_kind[LOST].provider) == municipality
    assert all(row.when.date() == timezone.localdate() for row in rows)
    # Every row says in Swedish words what was done, never an action code.
    assert not [row.kind for row in rows if "." in str(row.kind) or "_" in str(row.kind)]
    assert all(row.staff == "" for row in rows)  # the default: unit and time only (R81)


def test_r81_staff_names_on_the_registrations_follow_the_providers_setting(
    county: County, shop: Shop, lena: Persona, history: None
) -> None:
    county.municipality.extract_staff_names = True
    county.municipality.save(update_fields=["extract_staff_names"])
    rows = extract(lena, shop, LogExtractRequest.Kind.OFFICIAL_DOCUMENT, secrecy_reviewed=True)
    staff = {str(row.kind): row.staff for row in rows}
    assert (staff[ORDERED], staff[DELIVERED], staff[LOST]) == (
        "Alice Ask",
        "Logan Lager",
        "Alice Ask",
    )
