"""A small world for the inspection pages' tests: the orders tests' shop, a lift lent to each of
two patients (Karlstad 652, Säffle 661) through the order flow, and an inspection plan for lifts
that schedules them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from conftest import Persona
from lyfta.catalogue.models import IsoClass
from lyfta.inventory.models import Item
from lyfta.orders import services as orders
from lyfta.orders.models import Loan
from lyfta.orders.services import DeliveryInput, LineInput
from lyfta.orders.tests.conftest import Shop, grant
from lyfta.patients.models import Patient
from lyfta.workorders import services
from lyfta.workorders.models import InspectionPlan, ItemInspection

LIFT_POINTS = ["Lyftbandet/lyftmotorn", "Nödsänkning", "Upphängning och fästen"]


@dataclass
class Desk:
    shop: Shop
    plan: InspectionPlan
    loan_karlstad: Loan  # shop.patient, postal code 65225
    loan_saffle: Loan  # shop.other, postal code 66130

    def schedule(self, loan: Loan) -> ItemInspection:
        return ItemInspection.objects.get(item=loan.item, plan=self.plan)

    def due_on(self, loan: Loan, day: dt.date) -> ItemInspection:
        ItemInspection.objects.filter(item=loan.item, plan=self.plan).update(next_due=day)
        return self.schedule(loan)


def lend(shop: Shop, prescriber: Persona, logistics: Persona, patient: Patient) -> Loan:
    order = orders.order_place(
        actor=prescriber.actor,
        grant=grant(prescriber, patient),
        lines=[LineInput(shop.lift)],
        delivery=DeliveryInput(),
    )
    orders.line_pick(actor=logistics.actor, line=order.lines.get())
    (loan,) = orders.order_deliver(actor=logistics.actor, order=order)
    return loan


def make_desk(shop: Shop, alice: Persona, logan: Persona, tekla: Persona) -> Desk:
    karlstad = lend(shop, alice, logan, shop.patient)
    saffle = lend(shop, alice, logan, shop.other)
    plan = services.plan_save(
        actor=tekla.actor,
        plan=None,
        name="Personlyftar – årlig besiktning",
        article=None,
        iso_class=IsoClass.objects.get(code="12 36"),
        interval_months=12,
        checklist=LIFT_POINTS,
    )
    assert Item.objects.filter(holder__isnull=False).count() == 2
    desk = Desk(shop, plan, karlstad, saffle)
    today = timezone.localdate()
    desk.due_on(karlstad, today)
    desk.due_on(saffle, today)
    return desk
