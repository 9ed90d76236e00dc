"""Demo deviations for the quality desk: an adverse event (a mobile lift that tipped, reported
from the patient's holdings by the demo prescriber, the lift taken out of use, the reports out
created), a delivery error reported by the centre's logistics from the delivery, a near miss
reported by the technician from the item card, and a supplier complaint the quality officer
filed from the adverse event. Each through the services, on the loans the technicians' desk seed
lent out.

Idempotent: each deviation is skipped when one with its description is there already."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.accounts.models import Assignment, User
from lyfta.orders.models import Loan
from lyfta.quality.models import Complaint, Deviation
from lyfta.quality.services import deviations as services
from lyfta.workorders.seed import LOAN_NOTE

PRESCRIBER, LOGISTICS, TECHNICIAN, QUALITY = (
    "anna.forskrivare",
    "hanna.logistik",
    "gustav.tekniker",
    "sara.kvalitet",
)
TIPPED = (
    "Lyften tippade när patienten lyftes från sängen till rullstolen. Benen stod i utfällt läge."
)
WRONG = "Fel sängbotten levererades: smalare modell än den beställda."
NEAR = "Lyftbandet var nött vid fästet; upptäcktes vid besiktningen innan något hände."


def _actor(username: str) -> Actor | None:
    user = User.objects.filter(username=username).first()
    if user is None:
        return None
    assignment = Assignment.objects.filter(user=user, ended_at__isnull=True).order_by("pk").first()
    return Actor(user=user, assignment=assignment) if assignment is not None else None


def _loans() -> list[Loan]:
    return list(
        Loan.unscoped.filter(order_line__order__note=LOAN_NOTE, ended_on__isnull=True)
        .select_related("item__article", "article", "patient", "order_line__order")
        .order_by("pk")
    )


def seed(actor: Actor) -> None:
    """Three deviations and one complaint, once."""
    prescriber, logistics = _actor(PRESCRIBER), _actor(LOGISTICS)
    technician, quality = _actor(TECHNICIAN), _actor(QUALITY)
    if prescriber is None or logistics is None or technician is None or quality is None:
        return
    loans = _loans()
    lifts = [loan for loan in loans if loan.item and loan.article.iso_class.code == "12 36 03"]
    beds = [loan for loan in loans if loan.item and loan.article.iso_class.code == "18 12 10"]
    if not lifts or not beds:
        return
    today = timezone.localdate()
    if not Deviation.unscoped.filter(description=TIPPED).exists():
        lift = lifts[0]
        tipped = services.deviation_report(
            actor=prescriber,
            source=Deviation.Source.HOLDINGS,
            kind=Deviation.Kind.ADVERSE_EVENT,
            severity=Deviation.Severity.SERIOUS,
            description=TIPPED,
            consequence="Patienten föll och bröt handleden; vårdades på sjukhus.",
            immediate_action="Lyften togs ur bruk och ställdes undan. Ersättningslyft beställd.",
            occurred_on=today - dt.timedelta(days=2),
            wish="Utred om benens spärr kan lossna av sig själv.",
            item=lift.item,
            patient=lift.patient,
            quarantine=True,
        )
        services.deviation_investigate(
            actor=quality, deviation=tipped, analysis="Lyften hämtad till verkstaden för utredning."
        )
        if tipped.article and not Complaint.unscoped.filter(deviation=tipped).exists():
            services.complaint_create(
                actor=quality,
                deviation=tipped,
                article=tipped.article,
                item=tipped.item,
                description="Benens spärr lossnade under lyft; lyften tippade.",
                delivered_on=lift.started_on,
            )
    if not Deviation.unscoped.filter(description=WRONG).exists():
        bed = beds[0]
        services.deviation_report(
            actor=logistics,
            source=Deviation.Source.DELIVERY,
            kind=Deviation.Kind.DELIVERY_ERROR,
            severity=Deviation.Severity.NONE,
            description=WRONG,
            immediate_action="Rätt sängbotten körs ut i morgon.",
            occurred_on=bed.started_on,
            item=bed.item,
            patient=bed.patient,
            order=bed.order_line.order if bed.order_line else None,
        )
    if not Deviation.unscoped.filter(description=NEAR).exists():
        lift = lifts[-1]
        services.deviation_report(
            actor=technician,
            source=Deviation.Source.ITEM,
            kind=Deviation.Kind.NEAR_MISS,
            severity=Deviation.Severity.NONE,
            description=NEAR,
            immediate_action="Lyftbandet byttes på plats.",
            occurred_on=today,
            item=lift.item,
            patient=lift.patient,
        )
