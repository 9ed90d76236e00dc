"""Writes of the quality desk's deviations (DOMAIN.md §3.5): reporting a deviation from the thing
it happened with (holdings, item card, work order, delivery, pick-up), taking the device out of
use at once, the quality role's investigation and decision, the reports out of an incident
(manufacturer and Läkemedelsverket, with their deadlines), and supplier complaints. Every change
is audited with its before and after values; a closed deviation never changes again.

Status machine (anything else is refused, no step is skipped):

    registered → investigating → decided → closed

Deadlines of the reports out (EU MDR art. 87, HSLF-FS 2021:52 ch. 5), counted in calendar days
from the day the centre learned of the event (the day the deviation was registered):
2 days for a serious public health threat, 10 days for a death or a serious deterioration of
health, otherwise 15 days.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis
from lyfta.audit.services import record
from lyfta.catalogue.models import Article, BillingType
from lyfta.inventory import locks
from lyfta.inventory import services as stock
from lyfta.inventory.models import Item
from lyfta.orders.models import Order, PickupOrder
from lyfta.patients.models import Patient
from lyfta.quality.models import Complaint, Deviation, IncidentReport
from lyfta.workorders.models import WorkOrder

S = Deviation.Status
NEXT: dict[str, str] = {
    S.REGISTERED: S.INVESTIGATING,
    S.INVESTIGATING: S.DECIDED,
    S.DECIDED: S.CLOSED,
}
# Severities that make an adverse event a reportable incident by themselves.
SERIOUS = (Deviation.Severity.SERIOUS, Deviation.Severity.DEATH)
THREAT_DAYS, SERIOUS_DAYS, OTHER_DAYS = 2, 10, 15
# Complaint windows from delivery (DOMAIN.md §3.5): rented devices 3 months, sold 12.
RENT_MONTHS, SALE_MONTHS = 3, 12
MAX_CREDIT = Decimal("10000000")


# --- Helpers --------------------------------------------------------------------------------


def _text(value: str, limit: int, label: str, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(_("%(field)s måste fyllas i.") % {"field": label})
    if len(value) > limit:
        raise ValidationError(
            _("%(field)s får vara högst %(limit)s tecken.") % {"field": label, "limit": limit}
        )
    return value


def _year_number(prefix: str) -> str:
    """The next number of a yearly series (AVV-2026-00001), race-safe: the counter row is locked
    in the caller's transaction (lyfta.inventory.locks)."""
    year = timezone.localdate().year
    return f"{prefix}-{year}-{locks.counter_next(f'{prefix}{year}'):05d}"


def _owner(deviation: Deviation) -> dict[str, Any]:
    return {
        "owner_provider_id": deviation.unit.provider_id,
        "owner_unit_id": deviation.unit_id,
    }


STATE_FIELDS = (
    "status",
    "kind",
    "severity",
    "is_incident",
    "serious_threat",
    "device_kept",
    "analysis",
    "measures",
    "decision",
    "decided_by_id",
    "closed_by_id",
    "quarantined_at",
)


def _state(deviation: Deviation) -> dict[str, Any]:
    state = {name: getattr(deviation, name) for name in STATE_FIELDS}
    state["quarantined_at"] = (
        deviation.quarantined_at.isoformat() if deviation.quarantined_at else None
    )
    return state


def _audit(
    action: str,
    actor: Actor,
    deviation: Deviation,
    before: dict[str, Any] | None,
    detail: dict[str, Any] | None = None,
) -> None:
    after = _state(deviation)
    changes = (
        {name: [before[name], after[name]] for name in after if before[name] != after[name]}
        if before is not None
        else None
    )
    record(
        action=action,
        actor=actor,
        target=deviation,
        patient_id=deviation.patient_id,
        legal_basis=LegalBasis.CASE,
        legal_basis_ref=f"deviation:{deviation.number}",
        changes=changes,
        detail=detail,
        **_owner(deviation),
    )


def _locked(deviation: Deviation) -> Deviation:
    return (
        Deviation.unscoped.select_for_update(of=("self",))
        .select_related("unit", "item__article", "article", "patient")
        .get(pk=deviation.pk)
    )


def _manager(actor: Actor) -> None:
    require(actor, Cap.QUALITY_MANAGE)
    if actor.user is None:
        raise PermissionDenied("a person's step")


def _open(deviation: Deviation) -> None:
    if deviation.status == S.CLOSED:
        raise ValidationError(_("Avvikelsen är avslutad och kan inte ändras."))


def _move(deviation: Deviation, to: str) -> None:
    if NEXT.get(deviation.status) != to:
        raise ValidationError(
            _("En avvikelse med status %(from)s kan inte få status %(to)s.")
            % {"from": S(deviation.status).label, "to": S(to).label}
        )
    deviation.status = to


def due_days(deviation: Deviation) -> int:
    """Days from learning of the event to the deadline of its reports out (MDR art. 87)."""
    if deviation.serious_threat:
        return THREAT_DAYS
    if deviation.severity in SERIOUS:
        return SERIOUS_DAYS
    return OTHER_DAYS


def is_reportable(kind: str, severity: str) -> bool:
    """An adverse event with serious injury or death is an incident to report out."""
    return kind == Deviation.Kind.ADVERSE_EVENT and severity in SERIOUS


# --- Reporting ---------------------------------------------------------------------------------


def deviation_report(
    *,
    actor: Actor,
    source: str,
    kind: str,
    severity: str,
    description: str,
    occurred_on: dt.date,
    consequence: str = "",
    immediate_action: str = "",
    wish: str = "",
    item: Item | None = None,
    article: Article | None = None,
    lot: str = "",
    patient: Patient | None = None,
    order: Order | None = None,
    pickup: PickupOrder | None = None,
    workorder: WorkOrder | None = None,
    quarantine: bool = False,
) -> Deviation:
    """Register a deviation for the actor's unit. The caller found the thing it is about (and its
    patient) through the access layer; the patient is never typed in. With `quarantine` the
    device is taken out of use at once (picking and delivery refuse it). An adverse event with
    serious injury or death becomes an incident with its reports out."""
    require(actor, Cap.DEVIATIONS_REPORT)
    if actor.unit is None or actor.user is None:
        raise PermissionDenied("a unit reports")
    if source not in Deviation.Source.values:
        raise ValidationError(_("Okänd källa för avvikelsen."))
    if kind not in Deviation.Kind.values:
        raise ValidationError(_("Välj en typ av avvikelse."))
    if severity not in Deviation.Severity.values:
        raise ValidationError(_("Välj en allvarlighetsgrad."))
    today = timezone.localdate()
    if occurred_on > today:
        raise ValidationError(_("Händelsen kan inte ha inträffat i framtiden."))
    description = _text(description, 4000, _("Vad hände"), required=True)
    consequence = _text(consequence, 2000, _("Konsekvens för patienten"))
    immediate_action = _text(immediate_action, 2000, _("Omedelbar åtgärd"))
    wish = _text(wish, 300, _("Önskemål"))
    lot = _text(lot, 60, _("Batch/lot"))
    if quarantine and item is None:
        raise ValidationError(_("Bara en individ med individnummer kan tas ur bruk."))
    article = article or (item.article if item is not None else None)
    with transaction.atomic():
        deviation = Deviation(
            number=_year_number("AVV"),
            kind=kind,
            severity=severity,
            status=S.REGISTERED,
            source=source,
            occurred_on=occurred_on,
            description=description,
            consequence=consequence,
            immediate_action=immediate_action,
            wish=wish,
            item=item,
            article=article,
            lot=lot or (item.batch if item is not None else ""),
            patient=patient,
            order=order,
            pickup=pickup,
            workorder=workorder,
            unit=actor.unit,
            reported_by=actor.user,
            reported_at=timezone.now(),
            is_incident=is_reportable(kind, severity),
        )
        deviation.full_clean(validate_unique=False, validate_constraints=False)
        deviation.save()
        deviation = _locked(deviation)
        _audit(Action.DEVIATION_REPORTED, actor, deviation, None, {"source": source, "kind": kind})
        if quarantine:
            _quarantine(actor, deviation)
        if deviation.is_incident:
            _reports_create(deviation)
    return deviation


def _quarantine(actor: Actor, deviation: Deviation) -> None:
    if deviation.item is None:
        raise ValidationError(_("Avvikelsen gäller ingen individ som kan tas ur bruk."))
    stock.item_out_of_use(
        actor=actor,
        item=deviation.item,
        reason=_("Avvikelse %(number)s") % {"number": deviation.number},
    )
    before = _state(deviation)
    deviation.quarantined_at = timezone.now()
    deviation.device_kept = True
    deviation.save(update_fields=["quarantined_at", "device_kept"])
    _audit(Action.DEVIATION_CHANGED, actor, deviation, before, {"step": "quarantine"})


def deviation_quarantine(*, actor: Actor, deviation: Deviation) -> Deviation:
    """Take the deviation's device out of use (the quality role, after registration)."""
    _manager(actor)
    with transaction.atomic():
        deviation = _locked(deviation)
        _open(deviation)
        # Taken out of use while the case is open to investigation; after the decision the
        # device's fate is the decision's (found by an attack: a block after it outlived the case).
        if deviation.status not in (S.REGISTERED, S.INVESTIGATING):
            raise ValidationError(
                _("Hjälpmedlet kan bara tas ur bruk innan avvikelsen är beslutad.")
            )
        if deviation.quarantined_at is None:
            _quarantine(actor, deviation)
    return deviation


def _reports_create(deviation: Deviation) -> list[IncidentReport]:
    """One report out per recipient, due by the MDR deadline from the day the centre learned."""
    learned = timezone.localtime(deviation.reported_at).date()
    due = learned + dt.timedelta(days=due_days(deviation))
    made = []
    for recipient in IncidentReport.Recipient.values:
        report, created = IncidentReport.unscoped.get_or_create(
            deviation=deviation, recipient=recipient, defaults={"due_on": due}
        )
        if not created and report.sent_on is None and report.due_on != due:
            report.due_on = due
            report.save(update_fields=["due_on"])
        made.append(report)
    return made


def deviation_mark_incident(
    *, actor: Actor, deviation: Deviation, serious_threat: bool
) -> Deviation:
    """The quality role marks a deviation as a reportable incident (or a serious public health
    threat): its reports out are created with their deadlines."""
    _manager(actor)
    with transaction.atomic():
        deviation = _locked(deviation)
        _open(deviation)
        before = _state(deviation)
        deviation.is_incident = True
        deviation.serious_threat = deviation.serious_threat or serious_threat
        deviation.save(update_fields=["is_incident", "serious_threat"])
        _reports_create(deviation)
        _audit(Action.DEVIATION_CHANGED, actor, deviation, before, {"step": "incident"})
    return deviation


# --- The quality role's investigation ---------------------------------------------------------


def deviation_investigate(*, actor: Actor, deviation: Deviation, analysis: str = "") -> Deviation:
    """Start the investigation (registered → investigating)."""
    _manager(actor)
    with transaction.atomic():
        deviation = _locked(deviation)
        _open(deviation)
        before = _state(deviation)
        _move(deviation, S.INVESTIGATING)
        deviation.analysis = _text(analysis, 8000, _("Utredning och analys")) or deviation.analysis
        deviation.save(update_fields=["status", "analysis"])
        _audit(Action.DEVIATION_CHANGED, actor, deviation, before, {"step": "investigate"})
    return deviation


def deviation_decide(
    *,
    actor: Actor,
    deviation: Deviation,
    analysis: str,
    measures: str,
    decision: str,
    device_fine: bool = False,
) -> Deviation:
    """Decide (investigating → decided) with the analysis, the measures and the decision; when the
    device was found fine its quarantine is lifted."""
    _manager(actor)
    with transaction.atomic():
        deviation = _locked(deviation)
        _open(deviation)
        before = _state(deviation)
        _move(deviation, S.DECIDED)
        deviation.analysis = _text(analysis, 8000, _("Utredning och analys"), required=True)
        deviation.measures = _text(measures, 4000, _("Åtgärder"), required=True)
        deviation.decision = _text(decision, 4000, _("Beslut"), required=True)
        deviation.decided_by = actor.user
        deviation.decided_at = timezone.now()
        deviation.save(
            update_fields=["status", "analysis", "measures", "decision", "decided_by", "decided_at"]
        )
        if device_fine and deviation.item is not None and deviation.quarantined_at is not None:
            stock.item_back_in_use(
                actor=actor,
                item=deviation.item,
                reason=_("Avvikelse %(number)s: produkten bedömd felfri")
                % {"number": deviation.number},
            )
            deviation.device_kept = False
            deviation.save(update_fields=["device_kept"])
        _audit(Action.DEVIATION_CHANGED, actor, deviation, before, {"step": "decide"})
    return deviation


def deviation_close(*, actor: Actor, deviation: Deviation) -> Deviation:
    """Close a decided deviation (decided → closed). An incident closes only when its reports
    out are marked sent."""
    _manager(actor)
    with transaction.atomic():
        deviation = _locked(deviation)
        _open(deviation)
        before = _state(deviation)
        _move(deviation, S.CLOSED)
        unsent = IncidentReport.unscoped.filter(deviation=deviation, sent_on__isnull=True)
        if unsent.exists():
            raise ValidationError(
                _(
                    "Markera anmälningarna till tillverkaren och Läkemedelsverket "
                    "som skickade först."
                )
            )
        deviation.closed_by = actor.user
        deviation.closed_at = timezone.now()
        deviation.save(update_fields=["status", "closed_by", "closed_at"])
        _audit(Action.DEVIATION_CHANGED, actor, deviation, before, {"step": "close"})
    return deviation


def deviation_identity_open(*, actor: Actor, deviation: Deviation, reason: str) -> Deviation:
    """Record why the case needs the patient's identity (the quality role sees a pseudonym until
    then): the reason is kept on the deviation and in the audit trail."""
    _manager(actor)
    reason = _text(reason, 300, _("Skäl"), required=True)
    if len(reason) < 10:
        raise ValidationError(_("Beskriv skälet med minst tio tecken."))
    with transaction.atomic():
        deviation = _locked(deviation)
        _open(deviation)
        if deviation.patient_id is None:
            raise ValidationError(_("Avvikelsen gäller ingen patient."))
        deviation.identity_reason = reason
        deviation.save(update_fields=["identity_reason"])
        record(
            action=Action.DEVIATION_IDENTITY_OPENED,
            actor=actor,
            target=deviation,
            patient_id=deviation.patient_id,
            legal_basis=LegalBasis.CASE,
            legal_basis_ref=f"deviation:{deviation.number}",
            detail={"reason": reason},
            **_owner(deviation),
        )
    return deviation


# --- Reports out ---------------------------------------------------------------------------------


def _report_locked(report: IncidentReport) -> IncidentReport:
    return (
        IncidentReport.unscoped.select_for_update(of=("self",))
        .select_related("deviation__unit")
        .get(pk=report.pk)
    )


def _report_audit(
    action: str, actor: Actor, report: IncidentReport, changes: dict[str, Any]
) -> None:
    deviation = report.deviation
    record(
        action=action,
        actor=actor,
        target=report,
        patient_id=deviation.patient_id,
        legal_basis=LegalBasis.CASE,
        legal_basis_ref=f"deviation:{deviation.number}",
        changes=changes,
        detail={"recipient": report.recipient},
        **_owner(deviation),
    )


def report_produced(*, actor: Actor, report: IncidentReport, form: str) -> IncidentReport:
    """Record that the report out was produced (a PDF or the structured export)."""
    _manager(actor)
    with transaction.atomic():
        report = _report_locked(report)
        before = report.produced_at.isoformat() if report.produced_at else None
        report.produced_at = timezone.now()
        report.produced_by = actor.user
        report.save(update_fields=["produced_at", "produced_by"])
        _report_audit(
            Action.INCIDENT_REPORT_PRODUCED,
            actor,
            report,
            {"produced_at": [before, report.produced_at.isoformat()], "form": [None, form]},
        )
    return report


def report_mark_sent(
    *, actor: Actor, report: IncidentReport, sent_on: dt.date, reference: str
) -> IncidentReport:
    """The centre says the report out was sent (Lyfta does not send it): the day and the
    recipient's reference."""
    _manager(actor)
    reference = _text(reference, 60, _("Mottagarens referens"))
    with transaction.atomic():
        report = _report_locked(report)
        if report.deviation.status == S.CLOSED:
            raise ValidationError(_("Avvikelsen är avslutad och kan inte ändras."))
        learned = timezone.localtime(report.deviation.reported_at).date()
        if sent_on > timezone.localdate():
            raise ValidationError(_("Dagen då anmälan skickades kan inte ligga i framtiden."))
        if sent_on < learned:
            raise ValidationError(_("Anmälan kan inte ha skickats före avvikelsen registrerades."))
        before = [report.sent_on.isoformat() if report.sent_on else None, report.reference]
        report.sent_on = sent_on
        report.reference = reference
        report.save(update_fields=["sent_on", "reference"])
        _report_audit(
            Action.INCIDENT_REPORT_SENT,
            actor,
            report,
            {"sent_on": [before[0], sent_on.isoformat()], "reference": [before[1], reference]},
        )
    return report


# --- Supplier complaints ---------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def complaint_window(billing_type: str, delivered_on: dt.date | None) -> dt.date | None:
    """The last day of the complaint window: 3 months from delivery for a rented device, 12 for a
    sold one (DOMAIN.md §3.5)."""
    if delivered_on is None:
        return None
    months = RENT_MONTHS if billing_type == BillingType.RENT else SALE_MONTHS
    return add_months(delivered_on, months)


def _complaint_state(complaint: Complaint) -> dict[str, Any]:
    return {
        "status": complaint.status,
        "sent_on": complaint.sent_on.isoformat() if complaint.sent_on else None,
        "supplier_reference": complaint.supplier_reference,
        "answer": complaint.answer,
        "answered_on": complaint.answered_on.isoformat() if complaint.answered_on else None,
        "outcome": complaint.outcome,
        "credit_amount": str(complaint.credit_amount)
        if complaint.credit_amount is not None
        else None,
    }


def _complaint_audit(
    action: str, actor: Actor, complaint: Complaint, before: dict[str, Any] | None
) -> None:
    after = _complaint_state(complaint)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]} if before else None
    record(
        action=action,
        actor=actor,
        target=complaint,
        changes=changes,
        detail={"deviation": complaint.deviation.number if complaint.deviation else ""},
    )


def complaint_create(
    *,
    actor: Actor,
    article: Article,
    description: str,
    delivered_on: dt.date | None,
    deviation: Deviation | None = None,
    item: Item | None = None,
    lot: str = "",
) -> Complaint:
    """Register a complaint to the article's supplier, from a deviation or on its own. The
    window runs from `delivered_on` (the caller takes it from the loan or the delivery)."""
    _manager(actor)
    if article.supplier_id is None:
        raise ValidationError(_("Artikeln har ingen leverantör att reklamera till."))
    if item is not None and item.article_id != article.pk:
        raise ValidationError(_("Individen är inte av den valda artikeln."))
    if delivered_on is not None and delivered_on > timezone.localdate():
        raise ValidationError(_("Leveransdagen kan inte ligga i framtiden."))
    description = _text(description, 4000, _("Beskrivning"), required=True)
    lot = _text(lot, 60, _("Batch/lot")) or (item.batch if item is not None else "")
    with transaction.atomic():
        if deviation is not None:
            _open(_locked(deviation))
        complaint = Complaint(
            number=_year_number("REK"),
            deviation=deviation,
            supplier_id=article.supplier_id,
            article=article,
            item=item,
            lot=lot,
            billing_type=article.billing_type,
            delivered_on=delivered_on,
            window_ends_on=complaint_window(article.billing_type, delivered_on),
            description=description,
            created_by=actor.user,
            created_at=timezone.now(),
        )
        complaint.full_clean(validate_unique=False, validate_constraints=False)
        complaint.save()
        _complaint_audit(Action.COMPLAINT_CREATED, actor, complaint, None)
    return complaint


def _credit(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as error:
        raise ValidationError(_("Ange krediteringen i kronor.")) from error
    if not amount.is_finite() or amount < 0 or amount >= MAX_CREDIT:
        raise ValidationError(_("Krediteringen ska vara ett belopp från 0 kronor."))
    return amount


def complaint_update(
    *,
    actor: Actor,
    complaint: Complaint,
    sent_on: dt.date | None,
    supplier_reference: str,
    answer: str,
    answered_on: dt.date | None,
    outcome: str,
    credit_amount: object = None,
) -> Complaint:
    """Record the complaint's progress: sent (day and the supplier's reference), answered (the
    answer and its day), closed with an outcome (and any credit, for billing to use). A closed
    complaint never changes."""
    _manager(actor)
    supplier_reference = _text(supplier_reference, 60, _("Leverantörens referens"))
    answer = _text(answer, 4000, _("Leverantörens svar"))
    if outcome and outcome not in Complaint.Outcome.values:
        raise ValidationError(_("Välj ett utfall."))
    credit = _credit(credit_amount)
    today = timezone.localdate()
    with transaction.atomic():
        complaint = Complaint.unscoped.select_for_update().get(pk=complaint.pk)
        if complaint.status == Complaint.Status.CLOSED:
            raise ValidationError(_("Reklamationen är avslutad och kan inte ändras."))
        created = timezone.localtime(complaint.created_at).date()
        for day in (sent_on, answered_on):
            if day is not None and not created <= day <= today:
                raise ValidationError(_("Datumen ska ligga mellan registreringen och i dag."))
        if answered_on is not None and (sent_on is None or answered_on < sent_on):
            raise ValidationError(_("Ett svar kan inte komma före reklamationen skickades."))
        if (answer or answered_on) and sent_on is None:
            raise ValidationError(_("Ange när reklamationen skickades innan svaret."))
        if outcome and not (answer and answered_on):
            raise ValidationError(_("Ange leverantörens svar och svarsdatum innan utfallet."))
        if credit is not None and outcome != Complaint.Outcome.CREDITED:
            raise ValidationError(_("Ett krediterat belopp hör till utfallet Krediterad."))
        if outcome == Complaint.Outcome.CREDITED and credit is None:
            raise ValidationError(_("Ange det krediterade beloppet."))
        before = _complaint_state(complaint)
        complaint.sent_on = sent_on
        complaint.supplier_reference = supplier_reference
        complaint.answer = answer
        complaint.answered_on = answered_on
        complaint.outcome = outcome
        complaint.credit_amount = credit
        if outcome:
            complaint.status = Complaint.Status.CLOSED
            complaint.closed_at = timezone.now()
        elif answered_on is not None:
            complaint.status = Complaint.Status.ANSWERED
        elif sent_on is not None:
            complaint.status = Complaint.Status.SENT
        else:
            complaint.status = Complaint.Status.REGISTERED
        complaint.full_clean(validate_unique=False, validate_constraints=False)
        complaint.save()
        _complaint_audit(Action.COMPLAINT_CHANGED, actor, complaint, before)
    return complaint
