"""Reads of the quality desk's deviations (DOMAIN.md §3.5): the quality officer's list and a
deviation's page, the patient pseudonymised for the quality role (named only on a recorded
reason), the reports out with their contents, and supplier complaints. Every patient-linked row
comes from lyfta.access.rows; a refused id gets the same recorded 404 as a missing one (R38);
every patient a page names is recorded (R57).

Finding the thing a deviation is reported from (a loan of the holdings, an item, a work order,
an order, a pick-up) goes through the same selectors as that thing's own page."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.patients import PatientGrant
from lyfta.access.policies import can, require
from lyfta.access.refusals import denied, read_only_refusal, read_only_refused
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.models import LegalBasis
from lyfta.audit.services import record
from lyfta.core.paging import Keyset, Window, keyset, window
from lyfta.inventory.models import Item
from lyfta.orders import selectors as order_selectors
from lyfta.orders.models import Loan, Order, OrderLine, PickupLine, PickupOrder
from lyfta.organisations.models import Unit
from lyfta.patients import selectors as patient_selectors
from lyfta.patients.models import Patient
from lyfta.quality.models import Complaint, Deviation, IncidentReport

PAGE_SIZE = 25
SOON = dt.timedelta(days=3)  # a report out this close to its deadline is due soon
RELATED = ("unit__provider", "article__supplier", "article__iso_class", "item", "reported_by")


# --- The patient, pseudonymised ----------------------------------------------------------------


def pseudonym(deviation: Deviation) -> str:
    """ "Patient 7F3A": an HMAC of the patient id and the deviation id, so that the same patient
    gets a different name in each deviation and none can be traced back without the key."""
    if deviation.patient_id is None:
        return ""
    message = f"deviation:{deviation.pk}:patient:{deviation.patient_id}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return _("Patient %(code)s") % {"code": digest[:4].upper()}


def _born(patient: Patient) -> dt.date | None:
    digits = patient.identifier
    if len(digits) != 12 or not digits.isdigit():
        return None
    day = int(digits[6:8])
    if day > 60:  # a samordningsnummer adds 60 to the day of birth
        day -= 60
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), day)
    except ValueError:
        return None


def sex_of(patient: Patient) -> str:
    """From the personnummer's second-to-last digit (odd for men); unknown for a reserve number."""
    if patient.id_kind == Patient.IdKind.RESERVNUMMER or len(patient.identifier) != 12:
        return _("okänt kön")
    digit = patient.identifier[10]
    if not digit.isdigit():
        return _("okänt kön")
    return _("man") if int(digit) % 2 else _("kvinna")


def age_band(patient: Patient, on: dt.date) -> str:
    """Age in ten-year bands on the day (0–17 and 18–29 at the young end, 90+ at the old)."""
    born = _born(patient)
    if born is None:
        return _("okänd ålder")
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if age < 18:
        return _("0–17 år")
    if age < 30:
        return _("18–29 år")
    if age >= 90:
        return _("90 år eller äldre")
    low = age // 10 * 10
    return _("%(low)s–%(high)s år") % {"low": low, "high": low + 9}


@dataclass(frozen=True)
class PatientView:
    pseudonym: str
    sex: str
    age_band: str
    name: str = ""  # the identity, where the actor may see it
    identifier: str = ""
    may_ask: bool = False  # the quality role may state why the case needs identity


def patient_view(*, actor: Actor, deviation: Deviation, session_ref: str) -> PatientView | None:
    """The deviation's patient as the actor may see him: pseudonym, sex and age band for the
    quality role; the name on a recorded reason (or for the reporting unit on its legal route),
    each showing of it recorded (R57)."""
    patient = deviation.patient
    if patient is None:
        return None
    named = rows.deviation_patient(actor, deviation, session_ref)
    view = PatientView(
        pseudonym(deviation),
        sex_of(patient),
        age_band(patient, deviation.occurred_on),
        may_ask=can(actor, Cap.QUALITY_MANAGE) and not deviation.identity_reason,
    )
    if named.patient is None:
        return view
    record(
        action=Action.PATIENT_READ,
        actor=actor,
        patient_id=patient.pk,
        resource_type="quality.deviation",
        resource_id=deviation.pk,
        legal_basis=named.basis,
        legal_basis_ref=named.basis_ref,
        owner_provider_id=deviation.unit.provider_id,
        owner_unit_id=deviation.unit_id,
        detail={"deviation": deviation.number, "reason": deviation.identity_reason},
    )
    return PatientView(
        view.pseudonym,
        view.sex,
        view.age_band,
        name=str(patient),
        identifier=patient.display_identifier,
    )


# --- The list and one deviation ---------------------------------------------------------------


@dataclass
class DeviationList:
    page: Window[Deviation]
    open_count: int = 0
    rows: list[Deviation] = field(default_factory=list)


def deviation_list(
    *, actor: Actor, status: str, kind: str, severity: str, page: int
) -> DeviationList:
    """The deviations the actor may see (the quality role all, a unit its own), open ones first,
    newest first; filtered by status, kind and severity. The list names no patient."""
    require(actor, Cap.DEVIATIONS_REPORT)
    found = rows.deviations_for(actor)
    if status:
        found = found.filter(status=status)
    if kind:
        found = found.filter(kind=kind)
    if severity:
        found = found.filter(severity=severity)
    found = found.select_related(*RELATED).order_by("-reported_at", "-pk")
    paginated: Window[Deviation] = window(found, PAGE_SIZE, page)
    return DeviationList(page=paginated, rows=list(paginated.object_list))


def deviations_after(*, actor: Actor, after: int, size: int) -> Keyset[Deviation]:
    """The deviations the actor may see (as `deviation_list`) with an id above `after`,
    ascending: the API's pages. Like the list page, they name no patient."""
    require(actor, Cap.DEVIATIONS_REPORT)
    return keyset(rows.deviations_for(actor).select_related(*RELATED), after, size)


def deviation_to_change(*, actor: Actor, pk: int) -> Deviation:
    """A deviation the actor may see, for a step on it (the service audits it), or the 404."""
    require(actor, Cap.DEVIATIONS_REPORT)
    found = rows.deviations_for(actor).filter(pk=pk).select_related(*RELATED, "patient").first()
    if found is None:
        raise denied(actor, "quality.deviation", pk)
    return found


def deviation_for(*, actor: Actor, pk: int) -> Deviation:
    """A deviation the actor may see, its opening recorded, or the recorded 404."""
    deviation = deviation_to_change(actor=actor, pk=pk)
    record(
        action=Action.DEVIATION_VIEWED,
        actor=actor,
        target=deviation,
        legal_basis=LegalBasis.CASE,
        legal_basis_ref=f"deviation:{deviation.number}",
        owner_provider_id=deviation.unit.provider_id,
        owner_unit_id=deviation.unit_id,
    )
    return deviation


def label_for(*, actor: Actor, pk: int) -> Deviation:
    """A quarantined deviation's device, for its label (no patient on it), recorded."""
    deviation = deviation_to_change(actor=actor, pk=pk)
    if deviation.item is None or deviation.quarantined_at is None:
        raise denied(actor, "quality.deviation", pk)
    record(
        action=Action.DEVIATION_LABEL_PRINTED,
        actor=actor,
        target=deviation,
        detail={"item": deviation.item.individual_number},
    )
    return deviation


def reports_of(*, actor: Actor, deviation: Deviation) -> list[IncidentReport]:
    return list(
        rows.incident_reports_for(actor)
        .filter(deviation=deviation)
        .select_related("produced_by")
        .order_by("recipient")
    )


def report_for(*, actor: Actor, pk: int, recipient: str) -> IncidentReport:
    """A deviation's report out to `recipient`, for the quality role, or the recorded 404."""
    require(actor, Cap.QUALITY_MANAGE)
    report = (
        rows.incident_reports_for(actor)
        .filter(deviation__pk=pk, recipient=recipient)
        .select_related(
            "deviation__unit__provider",
            "deviation__article__supplier",
            "deviation__article__iso_class",
            "deviation__item",
            "deviation__patient",
        )
        .first()
    )
    if report is None:
        raise denied(actor, "quality.deviation", pk)
    return report


def complaints_of(*, actor: Actor, deviation: Deviation) -> list[Complaint]:
    return list(rows.complaints_for(actor).filter(deviation=deviation).select_related("supplier"))


# --- The report out's contents -----------------------------------------------------------------


def _centre() -> Unit | None:
    return Unit.objects.filter(kind=Unit.Kind.CENTRE).select_related("provider").first()


def report_content(actor: Actor, report: IncidentReport) -> dict[str, Any]:
    """What the recipient's form asks for, in the order it asks: the reporter and organisation,
    the device, the event, the patient as age band and sex only (never a name or a number), the
    actions taken and whether the device is kept for investigation."""
    deviation = report.deviation
    article, item, patient = deviation.article, deviation.item, deviation.patient
    centre = actor.unit or _centre()  # who produces the report: the quality officer's unit
    supplier = article.supplier if article is not None else None
    reports = {r.recipient: r for r in rows.incident_reports_for(actor).filter(deviation=deviation)}
    return {
        "form": report.recipient,
        "recipient": report.recipient_label,
        "reference": deviation.number,
        "due_on": report.due_on.isoformat(),
        "reporter": {
            "organisation": centre.provider.name if centre else "",
            "unit": centre.name if centre else "",
            "phone": centre.phone if centre else "",
            "reporting_unit": deviation.unit.name,
            "learned_on": timezone.localtime(deviation.reported_at).date().isoformat(),
        },
        "device": {
            "manufacturer": supplier.name if supplier else "",
            "article_number": article.article_number if article else "",
            "name": article.name if article else "",
            "model": article.supplier_article_number if article else "",
            "serial_number": item.serial_number if item else "",
            "individual_number": item.individual_number if item else "",
            "lot": deviation.lot,
            "udi": "",
            "iso_code": article.iso_class.code if article else "",
        },
        "event": {
            "kind": deviation.kind_label,
            "occurred_on": deviation.occurred_on.isoformat(),
            "description": deviation.description,
            "consequence": deviation.consequence,
            "severity": deviation.severity_label,
            "serious_threat": deviation.serious_threat,
        },
        "patient": {
            "age_band": age_band(patient, deviation.occurred_on) if patient else "",
            "sex": sex_of(patient) if patient else "",
        },
        "actions": {
            "immediate_action": deviation.immediate_action,
            "measures": deviation.measures,
            "device_out_of_use": deviation.quarantined_at is not None,
            "device_kept": deviation.device_kept,
            "also_reported_to": [
                r.recipient_label for key, r in reports.items() if key != report.recipient
            ],
        },
    }


# --- Where a deviation is reported from (the same access as the thing's own page) -----------


def order_to_report(*, actor: Actor, order_id: int) -> tuple[Order, list[OrderLine]]:
    """An order the actor may see (its own page's rule), with its lines, or the recorded 404."""
    if not (
        can(actor, Cap.ORDERS_HANDLE)
        or can(actor, Cap.ORDERS_PLACE)
        or can(actor, Cap.ORDERS_PRESCRIBE)
    ):
        raise denied(actor, "orders.order", order_id)
    order = rows.orders_for(actor).filter(pk=order_id).select_related("unit", "patient").first()
    if order is None:
        raise denied(actor, "orders.order", order_id)
    lines = list(rows.lines_of(actor, order).select_related("article", "item").order_by("pk"))
    return order, lines


def pickup_to_report(*, actor: Actor, pickup_id: int) -> tuple[PickupOrder, list[PickupLine]]:
    """A pick-up the actor may see (the centre's or the unit's own), with its lines."""
    pickup = rows.pickups_for(actor).filter(pk=pickup_id).select_related("unit", "patient").first()
    if pickup is None:
        raise denied(actor, "orders.pickuporder", pickup_id)
    lines = list(pickup.lines.select_related("loan__article", "loan__item").order_by("pk"))
    return pickup, lines


def item_to_report(*, actor: Actor, individual_number: str, session_ref: str) -> tuple[Item, Any]:
    """An item whose card the actor may open (the centre's stock staff every one, a care role one
    its own patients have had), and its open loan as the access layer gives it (or None)."""
    if not (can(actor, Cap.STOCK_VIEW) or can(actor, Cap.PATIENTS_VIEW)):
        raise denied(actor, "inventory.item", individual_number[:64])
    item = (
        Item.objects.filter(individual_number=individual_number[:20])
        .select_related("article")
        .first()
    )
    if item is None:
        raise denied(actor, "inventory.item", individual_number[:64])
    history = rows.item_history(actor, item, session_ref)
    if not can(actor, Cap.STOCK_VIEW) and not any(h.patient_shown for h in history):
        raise denied(actor, "inventory.item", individual_number[:64])
    current = next((h for h in reversed(history) if h.loan.ended_on is None), None)
    if rows.item_read_only(actor, history):
        # Seen on an emergency access: read only (R50), no deviation written from it.
        shown = next(h for h in (current, *reversed(history)) if h is not None and h.patient_shown)
        raise read_only_refused(
            actor,
            step="deviation_report",
            patient_id=shown.loan.patient_id,
            legal_basis=shown.basis,
            legal_basis_ref=shown.basis_ref,
            resource_type="inventory.item",
            resource_id=item.individual_number,
        )
    return item, current


def loan_to_report(
    *, actor: Actor, patient_id: int, loan_id: int, session_ref: str
) -> tuple[PatientGrant, Loan]:
    """A loan of the patient's holdings from the actor's provider, on a grant that lets the
    actor write about the patient: an emergency access gives read access only (R50), so no
    deviation is reported on one (a recorded refusal). The form's read of the patient is
    recorded (R57)."""
    grant = patient_selectors.grant_or_404(
        actor=actor, patient_id=patient_id, session_ref=session_ref
    )
    refusal = read_only_refusal(actor, grant, "deviation_report")
    if refusal is not None:
        raise refusal
    loan = order_selectors.loan_of(actor=actor, grant=grant, loan_id=loan_id)
    record(
        action=Action.PATIENT_READ,
        actor=actor,
        patient_id=grant.patient.pk,
        resource_type="quality.deviation_form",
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
    )
    return grant, loan


def delivered_on(*, actor: Actor, deviation: Deviation | None, item: Item | None) -> dt.date | None:
    """When the device was delivered, for a complaint's window: the order's delivery, else the
    item's latest loan (the quality role sees its units, not its patients)."""
    if deviation is not None and deviation.order_id is not None:
        order = rows.deviation_order(actor, deviation).first()
        if order is not None and order.delivered_at is not None:
            return timezone.localtime(order.delivered_at).date()
    if item is not None:
        history = rows.item_history(actor, item, "")
        if history:
            return history[-1].loan.started_on
    return None


# --- Supplier complaints -----------------------------------------------------------------------


def complaint_list(*, actor: Actor, status: str, page: int) -> Window[Complaint]:
    require(actor, Cap.QUALITY_MANAGE)
    found = rows.complaints_for(actor)
    if status:
        found = found.filter(status=status)
    found = found.select_related("supplier", "article", "item", "deviation").order_by(
        "-created_at", "-pk"
    )
    return window(found, PAGE_SIZE, page)


def complaint_for(*, actor: Actor, pk: int) -> Complaint:
    require(actor, Cap.QUALITY_MANAGE)
    found = (
        rows.complaints_for(actor)
        .filter(pk=pk)
        .select_related("supplier", "article", "item", "deviation", "created_by")
        .first()
    )
    if found is None:
        raise denied(actor, "quality.complaint", pk)
    return found


def window_text(complaint: Complaint, today: dt.date | None = None) -> str:
    """ "inom reklamationstiden (till 2026-03-01)" or "utanför, 12 dagar sedan"."""
    if complaint.window_ends_on is None:
        return _("leveransdag okänd")
    today = today or timezone.localdate()
    if today <= complaint.window_ends_on:
        return _("inom reklamationstiden (till %(day)s)") % {
            "day": complaint.window_ends_on.isoformat()
        }
    days = (today - complaint.window_ends_on).days
    return _("utanför, %(days)s dagar sedan") % {"days": days}


# --- The quality role's start page ------------------------------------------------------------


def new_deviations(actor: Actor) -> QuerySet[Deviation]:
    """Registered deviations not yet taken up, oldest first."""
    return (
        rows.deviations_for(actor)
        .filter(status=Deviation.Status.REGISTERED)
        .select_related("article")
        .order_by("reported_at", "pk")
    )


def reports_due(actor: Actor, today: dt.date) -> QuerySet[IncidentReport]:
    """Unsent reports out, overdue or due within a few days, most urgent first."""
    return (
        rows.incident_reports_for(actor)
        .filter(sent_on__isnull=True, due_on__lte=today + SOON)
        .exclude(Q(deviation__status=Deviation.Status.CLOSED))
        .select_related("deviation")
        .order_by("due_on", "pk")
    )
