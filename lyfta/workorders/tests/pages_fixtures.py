"""Fixtures of the work-order pages: the shop of the device flow, a workshop with spare parts, a
team with tekla in it, and a lift lent to unit A's patient (imported by the page tests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from conftest import County, Persona
from lyfta.inventory.models import Item, StockLocation, StockMovement
from lyfta.inventory.services import ledger
from lyfta.orders.models import Loan
from lyfta.orders.tests.conftest import Shop, grant, shop
from lyfta.organisations.models import Unit
from lyfta.patients.models import Patient
from lyfta.workorders import services
from lyfta.workorders.models import Team, WorkOrder

__all__ = ["Desk", "desk", "shop", "lend", "fault"]


@dataclass
class Desk:
    shop: Shop
    workshop: StockLocation
    team: Team
    lift: Item  # lent to shop.patient through unit A
    loan: Loan


def lend(shop: Shop, unit: Unit, item: Item, patient: Patient | None = None) -> Loan:
    patient = patient or shop.patient
    Item.objects.filter(pk=item.pk).update(
        status=Item.Status.ON_LOAN, holder=patient, location=None
    )
    item.refresh_from_db()
    return Loan.unscoped.create(
        patient=patient,
        article=item.article,
        item=item,
        unit=unit,
        payer=unit,
        billing_type="rent",
        started_on=timezone.localdate() - dt.timedelta(days=30),
    )


@pytest.fixture
def desk(shop: Shop, county: County, tekla: Persona, logan: Persona) -> Desk:
    workshop = StockLocation.objects.create(
        code="VERK", name="Verkstaden", kind=StockLocation.Kind.WORKSHOP, unit=county.centre
    )
    # Spare parts moved from the central warehouse to the workshop through the ledger.
    ledger(
        actor=logan.actor,
        kind=StockMovement.Kind.TRANSFER,
        article=shop.cushion,
        quantity=5,
        source=shop.central,
        target=workshop,
    )
    team = Team.objects.create(name="Team Väst", unit=county.centre, areas="652 661")
    team.members.add(tekla.user)
    lift = Item.objects.filter(article=shop.lift).order_by("pk").first()
    assert lift is not None
    loan = lend(shop, county.unit_a, lift)
    return Desk(shop, workshop, team, lift, loan)


def fault(desk: Desk, by: Persona, **fields: object) -> WorkOrder:
    """A fault report of unit A on the lent lift, as the holdings' form makes it."""
    values: dict[str, object] = {
        "kind": WorkOrder.Kind.REPAIR,
        "description": "Lyften går inte upp",
        "place": WorkOrder.Place.HOME,
    }
    values.update(fields)
    return services.work_order_create(
        actor=by.actor,
        grant=grant(by, desk.shop.patient),
        unit=by.assignment.unit,
        item=desk.lift,
        **values,  # type: ignore[arg-type]
    )
