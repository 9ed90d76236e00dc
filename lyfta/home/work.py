"""The start page's work queues and the menu's counts (issue 16).

Each queue is what one role has to do next, a few rows at most, each a link to the page where the
work is done; a queue shows only when its page is one the actor may open (`may_open`), so a start
page never leads to a 403. Every query is bounded (a few rows, or a count capped at `CAP`), and
patient-linked rows come from `lyfta.access.rows` builders; a queue that names patients records
each one listed (R57)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.patients import in_scope
from lyfta.access.policies import can
from lyfta.access.roles import Cap
from lyfta.core.money import kronor
from lyfta.home.navigation import may_open

LIMIT = 8  # rows a queue shows; "and more" links to the whole list
CAP = 99  # a menu count above this reads "99+"
SOON = dt.timedelta(days=14)  # follow-ups and short-term loans this close are due


@dataclass(frozen=True)
class WorkRow:
    text: str
    url: str
    when: dt.date | None = None
    late: bool = False


@dataclass(frozen=True)
class Queue:
    key: str  # the section's id on the page
    title: str
    rows: list[WorkRow] = field(default_factory=list)
    more: bool = False
    url: str = ""  # the whole list
    empty: str = ""
    note: str = ""


def _head(queryset: QuerySet[Any]) -> tuple[list[Any], bool]:
    found = list(queryset[: LIMIT + 1])
    return found[:LIMIT], len(found) > LIMIT


def _capped(queryset: QuerySet[Any]) -> int:
    return queryset.values("pk")[: CAP + 1].count()


def _listed(actor: Actor, shown: list[tuple[int | None, str, Any]]) -> None:
    """One PATIENT_LISTED per patient row the start page names (R57), written together: each is
    of the actor's unit's care relationships (`_in_care`)."""
    from lyfta.audit.actions import Action
    from lyfta.audit.models import LegalBasis
    from lyfta.audit.services import record_many

    record_many(
        [
            {
                "action": Action.PATIENT_LISTED,
                "actor": actor,
                "patient_id": patient_id,
                "legal_basis": LegalBasis.RELATIONSHIP,
                "legal_basis_ref": ref,
                "owner_provider_id": unit.provider_id,
                "owner_unit_id": unit.pk,
                "detail": {"list": "start"},
            }
            for patient_id, ref, unit in shown
            if patient_id is not None
        ]
    )


# --- Everyone: messages ------------------------------------------------------------------------


def _unread(actor: Actor) -> QuerySet[Any]:
    from lyfta.messages.models import Message

    return Message.objects.filter(recipient=actor.user, read_at__isnull=True)


def unread_messages(actor: Actor) -> Queue:
    found, more = _head(_unread(actor).order_by("-created_at", "-pk"))
    inbox = reverse("messages:inbox")
    return Queue(
        "unread",
        _("Olästa meddelanden"),
        [
            WorkRow(m.subject, f"{inbox}#meddelande-{m.pk}", timezone.localdate(m.created_at))
            for m in found
        ],
        more,
        inbox,
        _("Inga olästa meddelanden."),
    )


# --- The prescriber's unit ---------------------------------------------------------------------


def _patient_name(patient: Any) -> str:
    return f"{patient.first_name} {patient.last_name}"


def _in_care(actor: Actor) -> QuerySet[Any]:
    """The patients the actor's unit has a care relationship with in force (R33; a protected
    one only for the named staff, R55): the start page names only them, and lists a follow-up or
    a loan only of them (the link opens their page)."""
    from lyfta.access.patients import patients_in_scope

    return patients_in_scope(actor)


def unit_orders(actor: Actor, today: dt.date) -> Queue:
    from lyfta.orders.models import Order

    query = (
        rows.orders_for(actor)
        .filter(status__in=Order.OPEN, failed_delivery=False)
        .select_related("patient", "store", "unit")
        .order_by("expected_on", "pk")
    )
    found, more = _head(query)
    # The unit's own orders, all of them; the patient named only on a care relationship in force.
    ids = {o.patient_id for o in found if o.patient_id is not None}
    named = set(_in_care(actor).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    _listed(
        actor, [(o.patient_id, f"order:{o.number}", o.unit) for o in found if o.patient_id in named]
    )

    def whom(o: Any) -> str:
        if o.patient_id in named:
            return f"{_patient_name(o.patient)} – "
        return f"{o.store.name} – " if o.store else ""

    return Queue(
        "unit-orders",
        _("Enhetens pågående beställningar"),
        [
            WorkRow(
                f"{o.number} – {whom(o)}{o.get_status_display().lower()}",
                reverse("orders:order", args=[o.pk]),
                o.expected_on,
                o.expected_on < today,
            )
            for o in found
        ],
        more,
        reverse("orders:orders"),
        _("Inga pågående beställningar."),
    )


def failed_deliveries(actor: Actor) -> Queue:
    from lyfta.orders.selectors import failed_deliveries as failed

    centre = can(actor, Cap.ORDERS_HANDLE)
    found, more = _head(failed(actor=actor).select_related("unit"))
    detail = "logistics:order" if centre else "orders:order"
    return Queue(
        "failed-deliveries",
        _("Bomkörningar att boka om"),
        [
            WorkRow(f"{o.number} – {o.unit.name}", reverse(detail, args=[o.pk]), o.expected_on)
            for o in found
        ],
        more,
        reverse("logistics:picklist" if centre else "orders:orders"),
        _("Inga bomkörningar."),
    )


def follow_ups(actor: Actor, today: dt.date) -> Queue:
    """Follow-ups of the unit's prescriptions due within two weeks, and those of the last month
    (a follow-up has no "done" mark yet: older ones drop off)."""
    query = (
        rows.unit_follow_ups(actor)
        .filter(follow_up_on__gte=today - dt.timedelta(days=30), follow_up_on__lte=today + SOON)
        .filter(in_scope(actor))
        .select_related("patient", "unit")
        .order_by("follow_up_on", "pk")
    )
    found, more = _head(query)
    _listed(actor, [(p.patient_id, f"prescription:{p.pk}", p.unit) for p in found])
    return Queue(
        "follow-ups",
        _("Uppföljningar"),
        [
            WorkRow(
                _patient_name(p.patient),
                reverse("orders:holdings", args=[p.patient_id]),
                p.follow_up_on,
                p.follow_up_on < today,
            )
            for p in found
        ],
        more,
        empty=_("Inga uppföljningar de närmaste två veckorna."),
    )


def loans_ending(actor: Actor, today: dt.date) -> Queue:
    query = (
        rows.unit_open_loans(actor)
        .filter(expected_end__isnull=False, expected_end__lte=today + SOON)
        .filter(in_scope(actor))
        .select_related("patient", "article", "unit")
        .order_by("expected_end", "pk")
    )
    found, more = _head(query)
    _listed(actor, [(loan.patient_id, f"loan:{loan.pk}", loan.unit) for loan in found])
    return Queue(
        "loans-ending",
        _("Korttidslån som går ut"),
        [
            WorkRow(
                f"{_patient_name(loan.patient)} – {loan.article.name}",
                reverse("orders:holdings", args=[loan.patient_id]),
                loan.expected_end,
                loan.expected_end is not None and loan.expected_end < today,
            )
            for loan in found
        ],
        more,
        empty=_("Inga korttidslån går ut de närmaste två veckorna."),
    )


def own_emergencies(actor: Actor) -> Queue:
    """The actor's emergency accesses still open: to be ended, with what was done, when the
    emergency is over (R50). The patient is not named here: the link opens the patient."""
    from lyfta.patients.models import EmergencyAccess

    found, more = _head(
        EmergencyAccess.objects.filter(
            user=actor.user, ended_at__isnull=True, expires_at__gt=timezone.now()
        ).order_by("started_at", "pk")
    )
    return Queue(
        "own-emergencies",
        _("Dina öppna nödåtkomster"),
        [
            WorkRow(
                _("Öppnad %(start)s, gäller till %(end)s: avsluta när du är klar")
                % {
                    "start": timezone.localtime(e.started_at).strftime("%H:%M"),
                    "end": timezone.localtime(e.expires_at).strftime("%H:%M"),
                },
                reverse("patients:detail", args=[e.patient_id]),
            )
            for e in found
        ],
        more,
        empty=_("Inga öppna nödåtkomster."),
    )


# --- The centre: logistics ---------------------------------------------------------------------


def picks(actor: Actor, today: dt.date) -> Queue:
    from lyfta.orders.selectors import picks_due

    found, more = _head(picks_due(actor=actor, day=today).select_related("unit"))
    return Queue(
        "picks",
        _("Att plocka i dag och försenat"),
        [
            WorkRow(
                f"{o.number} – {o.unit.name}",
                reverse("logistics:order", args=[o.pk]),
                o.expected_on,
                o.expected_on < today,
            )
            for o in found
        ],
        more,
        f"{reverse('logistics:picklist')}?dag={today.isoformat()}",
        _("Inget att plocka i dag."),
    )


def returns(actor: Actor) -> Queue:
    from lyfta.orders.models import PickupLine

    found, more = _head(
        rows.pickup_lines_for(actor)
        .filter(status=PickupLine.Status.COLLECTED)
        .select_related("pickup", "loan__article")
        .order_by("pickup__collected_at", "pk")
    )
    url = reverse("logistics:returns")
    return Queue(
        "returns",
        _("Returer att ta emot"),
        [WorkRow(f"{line.pickup.number} – {line.loan.article.name}", url) for line in found],
        more,
        url,
        _("Inga returer att ta emot."),
    )


def reconditioning(actor: Actor) -> Queue:
    from lyfta.inventory.models import Item

    found, more = _head(
        Item.objects.filter(status=Item.Status.RECONDITIONING)
        .select_related("article")
        .order_by("pk")
    )
    url = reverse("logistics:reconditioning")
    return Queue(
        "reconditioning",
        _("Rekonditionering"),
        [WorkRow(f"{item.individual_number} – {item.article.name}", url) for item in found],
        more,
        url,
        _("Inget väntar på rekonditionering."),
    )


# --- The technicians ---------------------------------------------------------------------------


def _open_work_orders(actor: Actor) -> QuerySet[Any]:
    from lyfta.workorders.models import WorkOrder

    return rows.work_orders_for(actor).filter(status__in=WorkOrder.OPEN)


def work_orders(actor: Actor, today: dt.date) -> Queue:
    from lyfta.workorders.models import WorkOrder, assigned_head

    found = assigned_head(_open_work_orders(actor).select_related("article"), actor.user, LIMIT + 1)
    listed: list[WorkOrder] = found[:LIMIT]
    more = len(found) > LIMIT
    return Queue(
        "work-orders",
        _("Din och ditt teams kö"),
        [
            WorkRow(
                f"{o.number} – {o.get_kind_display()}, {o.article.name if o.article else ''}",
                reverse("workorders:detail", args=[o.pk]),
                o.done_due,
                o.done_due < today,
            )
            for o in listed
        ],
        more,
        reverse("workorders:queue"),
        _("Inga öppna arbetsordrar i din kö."),
    )


# --- The quality desk ----------------------------------------------------------------------------


def new_deviations(actor: Actor) -> Queue:
    """Deviations registered and not yet taken up by the quality role, oldest first."""
    from lyfta.quality.selectors.deviations import new_deviations as registered

    found, more = _head(registered(actor))
    return Queue(
        "new-deviations",
        _("Nya avvikelser"),
        [
            WorkRow(
                f"{d.number} – {d.kind_label}{', ' + d.article.name if d.article else ''}",
                reverse("quality:deviation", args=[d.pk]),
                timezone.localtime(d.reported_at).date(),
            )
            for d in found
        ],
        more,
        reverse("quality:deviations") + "?status=registered",
        _("Inga nya avvikelser."),
    )


def incident_reports_due(actor: Actor, today: dt.date) -> Queue:
    """Reports out to the manufacturer and Läkemedelsverket not yet sent, overdue or due within
    a few days (MDR art. 87 deadlines), most urgent first."""
    from lyfta.quality.selectors.deviations import reports_due

    found, more = _head(reports_due(actor, today))
    return Queue(
        "incident-reports",
        _("Anmälningar att skicka"),
        [
            WorkRow(
                f"{r.deviation.number} – {r.recipient_label}",
                reverse("quality:deviation", args=[r.deviation_id]) + "#reports",
                r.due_on,
                r.due_on < today,
            )
            for r in found
        ],
        more,
        reverse("quality:deviations") + "?status=investigating",
        _("Inga anmälningar som ska skickas snart."),
    )


# --- The log reviewer --------------------------------------------------------------------------


def review_overdue(actor: Actor) -> Queue:
    from lyfta.logreview.review import schedules

    overdue = [row for row in schedules(actor=actor) if row.overdue]
    url = reverse("review:overview")
    return Queue(
        "review-overdue",
        _("Försenad loggranskning"),
        [
            WorkRow(_("%(unit)s: stickprovskontroll") % {"unit": row.unit.name}, url, row.due, True)
            for row in overdue[:LIMIT]
        ],
        len(overdue) > LIMIT,
        url,
        _("Ingen enhet har försenad loggranskning."),
    )


def emergency_reviews(actor: Actor) -> Queue:
    from lyfta.patients.selectors import emergency_queue_head

    found, total = emergency_queue_head(actor=actor, limit=LIMIT)
    url = reverse("patients:emergency_queue")
    return Queue(
        "emergencies-waiting",
        _("Nödåtkomster att granska"),
        [
            WorkRow(
                f"{e.user.display_name} – {e.assignment.unit.name}",
                url,
                timezone.localdate(e.started_at),
            )
            for e in found
        ],
        total > LIMIT,
        url,
        _("Inga nödåtkomster väntar på bedömning."),
        note=ngettext(
            "%(n)s nödåtkomst väntar på bedömning.",
            "%(n)s nödåtkomster väntar på bedömning.",
            total,
        )
        % {"n": total}
        if total
        else "",
    )


# --- Economy and the user administrator --------------------------------------------------------


def month_run(today: dt.date) -> Queue:
    """The economy desk's month: last month's run (not started, waiting for approval, or
    locked) and any other preview waiting to be approved."""
    from lyfta.billing.models import BillingRun

    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    runs = list(
        BillingRun.objects.exclude(status=BillingRun.Status.FAILED)
        .filter(month__gte=last_month - dt.timedelta(days=366))
        .order_by("-month", "-pk")[: LIMIT * 3]
    )
    rows: list[WorkRow] = []
    mine = [run for run in runs if run.month == last_month]
    locked = next((run for run in mine if run.locked), None)
    label = date_format(last_month, "F Y")
    if locked is not None:
        rows.append(
            WorkRow(
                _("%(month)s: godkänd och låst, %(lines)s rader, %(total)s")
                % {"month": label, "lines": locked.line_count, "total": kronor(locked.total)},
                reverse("billing:run", args=[locked.pk]),
                last_month,
            )
        )
    elif mine:
        rows.append(
            WorkRow(
                _("%(month)s: %(status)s, inte godkänd än")
                % {"month": label, "status": mine[0].status_label.lower()},
                reverse("billing:run", args=[mine[0].pk]),
                last_month,
                late=True,
            )
        )
    else:
        rows.append(
            WorkRow(
                _("%(month)s: ingen körning startad") % {"month": label},
                reverse("billing:runs"),
                last_month,
                late=True,
            )
        )
    for run in runs:
        if run.month != last_month and not run.locked and len(rows) < LIMIT:
            rows.append(
                WorkRow(
                    _("%(month)s: %(status)s, inte godkänd än")
                    % {"month": date_format(run.month, "F Y"), "status": run.status_label.lower()},
                    reverse("billing:run", args=[run.pk]),
                    run.month,
                )
            )
    return Queue("month-run", _("Månadens debitering"), rows, False, reverse("billing:runs"))


def _pending_requests(actor: Actor) -> QuerySet[Any]:
    from lyfta.access.users import privilege_requests_visible_to
    from lyfta.accounts.models import PrivilegeRequest

    return (
        privilege_requests_visible_to(actor)
        .filter(status=PrivilegeRequest.Status.PENDING, expires_at__gt=timezone.now())
        .exclude(requested_by=actor.user)
        .exclude(subject=actor.user)
    )


def privilege_requests(actor: Actor) -> Queue:
    found, more = _head(_pending_requests(actor).select_related("subject").order_by("requested_at"))
    url = reverse("accounts:admin_privilege_requests")
    return Queue(
        "privilege-requests",
        _("Begäranden att godkänna"),
        [
            WorkRow(
                f"{r.subject.display_name if r.subject else r.client_name} – "
                f"{r.get_kind_display()}",
                url,
                timezone.localdate(r.requested_at),
            )
            for r in found
        ],
        more,
        url,
        _("Inga begäranden väntar."),
    )


def assignments_ending(actor: Actor, today: dt.date) -> Queue:
    from lyfta.access.users import users_visible_to
    from lyfta.accounts.models import Assignment

    found, more = _head(
        Assignment.objects.filter(
            user__in=users_visible_to(actor).values("pk"),
            ended_at__isnull=True,
            valid_until__gte=today,
            valid_until__lte=today + dt.timedelta(days=30),
        )
        .select_related("user", "unit")
        .order_by("valid_until", "pk")
    )
    return Queue(
        "assignments-ending",
        _("Uppdrag som går ut inom 30 dagar"),
        [
            WorkRow(
                f"{a.user.display_name} – {a.get_role_display()}, {a.unit.name}",
                reverse("accounts:admin_user", args=[a.user_id]),
                a.valid_until,
            )
            for a in found
        ],
        more,
        reverse("accounts:admin_users"),
        _("Inga uppdrag går ut de närmaste 30 dagarna."),
    )


# --- The quality desk: safety campaigns (issue 15 point 4) ----------------------------------


def open_campaigns(actor: Actor) -> Queue:
    """The open safety campaigns, oldest first, each with how far it has come."""
    from lyfta.quality.selectors.campaigns import open_campaigns_queue

    found = open_campaigns_queue(actor, LIMIT + 1)
    return Queue(
        "campaigns",
        _("Pågående säkerhetskampanjer"),
        [
            WorkRow(
                _("%(number)s %(title)s: %(percent)s %% klart (%(done)s av %(total)s)")
                % {
                    "number": row.campaign.number,
                    "title": row.campaign.title,
                    "percent": row.percent,
                    "done": row.done,
                    "total": row.total,
                },
                reverse("quality:campaign", args=[row.campaign.number]),
                row.campaign.notice_date,
            )
            for row in found[:LIMIT]
        ],
        len(found) > LIMIT,
        reverse("quality:campaigns"),
        _("Inga pågående säkerhetskampanjer."),
    )


# --- The start page and the menu ---------------------------------------------------------------


def start_queues(actor: Actor) -> list[Queue]:
    """The actor's work queues, most pressing kind first."""
    if actor.assignment is None or actor.user is None:
        return []
    today = timezone.localdate()
    queues: list[Queue] = []
    centre = can(actor, Cap.ORDERS_HANDLE)
    if may_open(actor, "logistics:picklist"):
        queues.append(picks(actor, today))
    if may_open(actor, "orders:orders"):
        queues.append(failed_deliveries(actor))
    if may_open(actor, "logistics:returns") and centre:
        queues.append(returns(actor))
    if may_open(actor, "logistics:reconditioning") and centre:
        queues.append(reconditioning(actor))
    if may_open(actor, "workorders:queue"):
        queues.append(work_orders(actor, today))
    if may_open(actor, "orders:orders") and not centre:
        queues.append(unit_orders(actor, today))
        if can(actor, Cap.ORDERS_PRESCRIBE):
            queues.append(follow_ups(actor, today))
        queues.append(loans_ending(actor, today))
    if can(actor, Cap.PATIENTS_EMERGENCY) and may_open(actor, "patients:search"):
        queues.append(own_emergencies(actor))
    if may_open(actor, "quality:complaints"):
        queues.append(incident_reports_due(actor, today))
        queues.append(new_deviations(actor))
    if may_open(actor, "review:overview"):
        queues.append(review_overdue(actor))
    if may_open(actor, "patients:emergency_queue"):
        queues.append(emergency_reviews(actor))
    if can(actor, Cap.QUALITY_MANAGE) and may_open(actor, "quality:campaigns"):
        queues.append(open_campaigns(actor))
    if can(actor, Cap.BILLING_VIEW):
        queues.append(month_run(today))
    if may_open(actor, "accounts:admin_privilege_requests"):
        queues.append(privilege_requests(actor))
    if may_open(actor, "accounts:admin_users"):
        queues.append(assignments_ending(actor, today))
    queues.append(unread_messages(actor))
    return queues


def menu_counts(actor: Actor) -> dict[str, int]:
    """What waits behind a menu entry (unread, due), a capped count each: one small query per
    entry the actor has."""
    if actor.assignment is None or actor.user is None:
        return {}
    counts = {"messages:inbox": _capped(_unread(actor))}
    today = timezone.localdate()
    if may_open(actor, "logistics:picklist"):
        from lyfta.orders.selectors import picks_due

        counts["logistics:picklist"] = _capped(picks_due(actor=actor, day=today))
    if may_open(actor, "workorders:queue"):
        from lyfta.workorders.models import assigned_count

        due = _open_work_orders(actor).filter(done_due__lte=today)
        counts["workorders:queue"] = min(assigned_count(due, actor.user), CAP + 1)
    if may_open(actor, "orders:orders") and not can(actor, Cap.ORDERS_HANDLE):
        from lyfta.orders.selectors import failed_deliveries as failed

        counts["orders:orders"] = _capped(failed(actor=actor))
    if may_open(actor, "patients:emergency_queue"):
        from lyfta.patients.selectors import emergency_queue_head

        counts["patients:emergency_queue"] = emergency_queue_head(actor=actor, limit=0)[1]
    if may_open(actor, "accounts:admin_privilege_requests"):
        counts["accounts:admin_privilege_requests"] = _capped(_pending_requests(actor))
    return {name: count for name, count in counts.items() if count}
