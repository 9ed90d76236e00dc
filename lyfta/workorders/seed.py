"""Demo data of the technicians' desk: two teams of technicians (the demo technician
gustav.tekniker in Team Norr), inspection plans for lifts, slings, beds and electric wheelchairs
with their protocols, a few devices lent to patients of the demo prescriber's unit (placed,
picked and delivered through the order flow), their inspection schedules (some overdue, some due
this month), spare parts in the workshop, and work orders in every status, each step through the
services so that the audit trail tells the story.

Idempotent: every part is skipped when it is already there, so a second `seed_demo` changes
nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.access.patients import Denial, grant_for
from lyfta.accounts.models import Assignment, User
from lyfta.catalogue.models import Article, IsoClass
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item, StockLocation, StockMovement
from lyfta.orders import services as orders
from lyfta.orders.models import Loan, Order, OrderLine
from lyfta.organisations.models import Unit
from lyfta.patients.models import Block, Patient
from lyfta.workorders import services
from lyfta.workorders.models import InspectionPlan, ItemInspection, Team, WorkOrder

TEAMS = [
    ("Team Norr", "650 651 652 653 654 655 656 657 658 659 660"),
    ("Team Syd", "661 662 663 664 665 666 667 668 669 670 671 672 673 674 675"),
    ("Team Väst", "676 677 678 679 680 681 682 683 684 685 686 687 688 689"),
]
LIFT_POINTS = [
    "Lyftbandet/lyftmotorn",
    "Nödsänkning",
    "Nödstopp",
    "Laddare och batteri",
    "Upphängning och fästen",
    "Lyftbygel och krokar",
    "Hjul och bromsar",
    "Märkning och maxlast",
]
SLING_POINTS = [
    "Sömmar",
    "Väv och etikett",
    "Öglor/clips",
    "Storlek och märkning läsbar",
]
BED_POINTS = [
    "Höj- och sänkfunktion",
    "Ryggstöd och benstöd",
    "Manöverdosa och kabel",
    "Sänggrindar och låsning",
    "Hjul och bromsar",
    "Elsäkerhet (nätsladd, kontakt)",
]
POWER_CHAIR_POINTS = [
    "Batterier och laddare",
    "Bromsar och frikoppling",
    "Styrbox och reglage",
    "Däck och hjul",
    "Belysning och reflexer",
    "Säkerhetsbälte",
]
# (name, ISO class code, interval in months, protocol)
PLANS = [
    ("Mobila lyftar – årlig besiktning", "12 36 03", 12, LIFT_POINTS),
    ("Stålyftar – årlig besiktning", "12 36 04", 12, LIFT_POINTS),
    ("Taklyftar – årlig besiktning", "12 36 12", 12, LIFT_POINTS),
    ("Lyftselar – halvårskontroll", "12 36 21", 6, SLING_POINTS),
    ("Vårdsängar – årlig kontroll", "18 12 10", 12, BED_POINTS),
    ("Elrullstolar – årlig service", "12 23 06", 12, POWER_CHAIR_POINTS),
]
PRESCRIBER = "anna.forskrivare"
TECHNICIAN = "gustav.tekniker"
LOGISTICS = "hanna.logistik"
LOAN_NOTE = "Demo: teknikerns skrivbord"
SPARE_PARTS = 10


def _actor(username: str) -> Actor | None:
    user = User.objects.filter(username=username).first()
    if user is None:
        return None
    assignment = Assignment.objects.filter(user=user, ended_at__isnull=True).order_by("pk").first()
    return Actor(user=user, assignment=assignment) if assignment is not None else None


def _teams(technician: User | None) -> None:
    technician_unit = None
    if technician is not None:
        assignment = Assignment.objects.filter(user=technician).order_by("pk").first()
        technician_unit = assignment.unit if assignment else None
    centre = technician_unit or Unit.objects.filter(kind=Unit.Kind.CENTRE).order_by("pk").first()
    if centre is None:
        return
    for name, areas in TEAMS:
        team, _created = Team.objects.get_or_create(
            name=name, defaults={"unit": centre, "areas": areas}
        )
        member = technician is not None and team.members.filter(pk=technician.pk).exists()
        if name == "Team Norr" and technician is not None and not member:
            team.members.add(technician)


def _plans(actor: Actor) -> None:
    for name, code, months, points in PLANS:
        if InspectionPlan.objects.filter(name=name).exists():
            continue
        iso = IsoClass.objects.filter(code=code).first()
        if iso is None:
            continue
        services.plan_save(
            actor=actor,
            plan=None,
            name=name,
            article=None,
            iso_class=iso,
            interval_months=months,
            checklist=points,
        )


def _article(code: str, *, stock_only: bool = True) -> Article | None:
    found = Article.objects.filter(iso_class__code=code, in_assortment=True, tracked=True)
    if stock_only:
        found = found.exclude(delivery_class="order")
    return found.order_by("article_number").first()


def _patients(unit: Unit) -> list[Patient]:
    """The unit's patients who can be lent to: not protected, blocked or deceased."""
    blocked = Block.objects.values("patient_id")
    return list(
        Patient.objects.filter(
            relationships__unit=unit,
            protection="",
            deceased_date__isnull=True,
        )
        .exclude(pk__in=blocked)
        .exclude(street="")
        .distinct()
        .order_by("identifier")[:3]
    )


def _lend(prescriber: Actor, logistics: Actor) -> list[Loan]:
    """Lift and sling to one patient, a bed to another, a lift to a third: placed, picked and
    delivered as the centre does."""
    if Order.unscoped.filter(note=LOAN_NOTE).exists():
        return []
    unit = prescriber.unit
    if unit is None:
        return []
    patients = _patients(unit)
    lift, sling, bed = _article("12 36 03"), _article("12 36 21"), _article("18 12 10")
    if len(patients) < 3 or lift is None or sling is None or bed is None:
        return []
    plan = [(patients[0], [lift, sling]), (patients[1], [bed]), (patients[2], [lift, bed])]
    loans: list[Loan] = []
    for patient, articles in plan:
        grant = grant_for(prescriber, patient, "seed_demo")
        if isinstance(grant, Denial):
            continue
        order = orders.order_place(
            actor=prescriber,
            grant=grant,
            lines=[orders.LineInput(article) for article in articles],
            delivery=orders.DeliveryInput(note=LOAN_NOTE),
        )
        for line in OrderLine.unscoped.filter(order=order).order_by("pk"):
            if line.status == "reserved":
                orders.line_pick(actor=logistics, line=line)
        loans.extend(orders.order_deliver(actor=logistics, order=order))
    return loans


def _schedules(loans: list[Loan]) -> None:
    """Dates that make the due list interesting: the first lent item's plans due this month,
    the second's overdue, and a few items in stock overdue too."""
    today = timezone.localdate()
    this_month = max(today, today.replace(day=min(today.day + 5, 28)))
    lent = [loan.item_id for loan in loans if loan.item_id is not None]
    for index, item_id in enumerate(lent):
        due = this_month if index % 2 == 0 else today - dt.timedelta(days=10 + index)
        ItemInspection.objects.filter(item_id=item_id).update(next_due=due)
    stocked = ItemInspection.objects.filter(item__status=Item.Status.IN_STOCK).order_by("pk")[:4]
    ItemInspection.objects.filter(pk__in=[s.pk for s in stocked]).update(
        next_due=today - dt.timedelta(days=20)
    )


def _spare_parts(technician: Actor) -> Article | None:
    """Moves a few non-tracked parts from the central warehouse to the workshop (through the
    ledger), once."""
    workshop = StockLocation.objects.filter(code="VERKSTAD").first()
    central = StockLocation.objects.filter(kind=StockLocation.Kind.CENTRAL).order_by("pk").first()
    if workshop is None or central is None:
        return None
    part = (
        Article.objects.filter(tracked=False, in_assortment=True, iso_class__code="18 12 27")
        .order_by("article_number")
        .first()
    ) or Article.objects.filter(tracked=False).order_by("article_number").first()
    if part is None:
        return None
    if not StockMovement.unscoped.filter(
        article=part, to_location=workshop, kind=StockMovement.Kind.TRANSFER
    ).exists():
        try:
            stock.ledger(
                actor=technician,
                kind=StockMovement.Kind.TRANSFER,
                article=part,
                quantity=SPARE_PARTS,
                source=central,
                target=workshop,
                reference="demo",
                note="Reservdelar till verkstaden",
            )
        except stock.OutOfStock:
            return None
    return part


def _overdue(order: WorkOrder, days: int) -> None:
    past = timezone.localdate() - dt.timedelta(days=days)
    WorkOrder.unscoped.filter(pk=order.pk).update(start_due=past, done_due=past)


def _work_orders(
    system: Actor,
    technician: Actor,
    prescriber: Actor,
    loans: list[Loan],
    part: Article | None,
) -> None:
    if not loans or WorkOrder.unscoped.filter(~Q(origin=WorkOrder.Origin.INSPECTION_PLAN)).exists():
        return
    user = technician.user
    today = timezone.localdate()
    K, P = WorkOrder.Kind, WorkOrder.Place
    by_patient: dict[int, list[Loan]] = {}
    for loan in loans:
        by_patient.setdefault(loan.patient_id, []).append(loan)
    households = list(by_patient.values())
    first, second, third = (households + [[], [], []])[:3]

    def inspection(loan: Loan, due: dt.date) -> WorkOrder:
        plan = next(iter(services.plans_for(loan.article)), None)
        return services.work_order_create(
            actor=system,
            kind=K.INSPECTION,
            description=f"{plan.name if plan else 'Besiktning'}, senast {due.isoformat()}",
            place=P.HOME,
            unit=loan.unit,
            item=loan.item,
            patient=loan.patient,
            origin=WorkOrder.Origin.INSPECTION_PLAN,
            plan=plan,
            due=due,
        )

    # Planned for today, a home visit: the lift's yearly and the sling's half-yearly inspection
    # at one address, one visit in the day plan.
    for loan in first:
        order = inspection(loan, today + dt.timedelta(days=5))
        services.work_order_plan(
            actor=technician, order=order, assignee=user, team=None, planned_on=today
        )
    # Registered: the bed's inspection, due next month, not yet planned.
    for loan in second[:1]:
        inspection(loan, today + dt.timedelta(days=25))
    if not third:
        return
    lift = third[0]

    def repair(description: str, **extra: object) -> WorkOrder:
        return services.work_order_create(
            actor=technician,
            kind=extra.pop("kind", K.REPAIR),  # type: ignore[arg-type]
            description=description,
            place=extra.pop("place", P.HOME),  # type: ignore[arg-type]
            unit=lift.unit,
            item=lift.item,
            patient=lift.patient,
            origin=WorkOrder.Origin.TECHNICIAN,
        )

    # In progress, with a spare part from the workshop.
    busy = repair("Lyften går ryckigt vid sänkning.", place=P.WORKSHOP)
    services.work_order_start(actor=technician, order=busy)
    workshop = StockLocation.objects.filter(code="VERKSTAD").first()
    if part is not None and workshop is not None:
        services.work_order_use_part(
            actor=technician, order=busy, article=part, quantity=1, location=workshop
        )
    # Waiting for parts, and late.
    waiting = repair("Laddaren laddar inte.", place=P.WORKSHOP)
    services.work_order_start(actor=technician, order=waiting)
    services.work_order_wait_for_parts(
        actor=technician, order=waiting, note="Ny laddare beställd från leverantören"
    )
    _overdue(waiting, 3)
    # Waiting for approval: a special adaptation asked for by the prescriber, with an estimate.
    grant = grant_for(prescriber, lift.patient, "seed_demo")
    if not isinstance(grant, Denial) and len(third) > 1:
        bed = third[1]
        special = services.work_order_create(
            actor=prescriber,
            kind=K.SPECIAL_ADAPTATION,
            description="Sängen behöver förhöjda grindar och ett extra handtag på vänster sida.",
            place=P.HOME,
            unit=bed.unit,
            item=bed.item,
            grant=grant,
        )
        services.work_order_estimate(
            actor=technician,
            order=special,
            instruction="Montera förhöjningssats på båda grindarna; handtag enligt skiss.",
            risk_analysis="Klämrisk mellan grind och madrass bedömd; spalt under 6 cm.",
            cost_estimate=Decimal("3400.00"),
        )
    # Done: a repair reported and finished.
    done = repair("Hjulbroms på lyften tar dåligt.")
    services.work_order_start(actor=technician, order=done)
    services.work_order_report(
        actor=technician,
        order=done,
        findings="Bromsbelägg slitna.",
        actions="Bytt bromsbelägg på båda bakhjulen.",
        minutes_spent=45,
        billable=False,
    )
    services.work_order_done(actor=technician, order=done)
    # Closed: maintenance done and closed.
    closed = repair("Smörjning och funktionskontroll.", kind=K.MAINTENANCE)
    services.work_order_start(actor=technician, order=closed)
    services.work_order_report(
        actor=technician,
        order=closed,
        findings="Inga fel.",
        actions="Smort leder, kontrollerat funktioner.",
        minutes_spent=30,
        billable=False,
    )
    services.work_order_done(actor=technician, order=closed)
    services.work_order_close(actor=technician, order=closed)
    # Cancelled: reported twice.
    twice = repair("Lyften piper vid start.")
    services.work_order_cancel(actor=technician, order=twice, reason="Dubbelregistrerad")
    # Registered and late: nobody has started it.
    late = repair("Manöverdosans kabel är skadad.")
    _overdue(late, 2)


def seed(actor: Actor) -> None:
    technician, prescriber, logistics = _actor(TECHNICIAN), _actor(PRESCRIBER), _actor(LOGISTICS)
    _teams(technician.user if technician else None)
    if technician is None:
        return
    _plans(technician)
    if prescriber is None or logistics is None:
        return
    loans = _lend(prescriber, logistics)
    if loans:
        # The new loans' items are already scheduled (plans cover items in stock as well).
        for plan in InspectionPlan.objects.filter(active=True):
            services.schedule_plan(plan)
        _schedules(loans)
    part = _spare_parts(technician)
    _work_orders(actor, technician, prescriber, loans, part)
