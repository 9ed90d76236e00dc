"""Log review (R63, R70, R75–R82): searching the log of one's own care provider, targeted checks
as saved queries, random sample checks with verdicts, review schedules, and patient log extracts.

A reviewer sees the events of their own provider: those its users made and those that touched
its data, whoever made them (R43). Every search, every opened entry and every extract is itself
recorded (R70, R82)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from lyfta.access.actor import Actor
from lyfta.access.patients import other_reviewers, other_reviewers_text
from lyfta.access.policies import require
from lyfta.access.prepared import Prepared
from lyfta.access.roles import Cap, Role
from lyfta.accounts.models import User
from lyfta.audit import daily
from lyfta.audit.actions import Action
from lyfta.audit.daily import ACCESS_ACTIONS
from lyfta.audit.models import (
    EMERGENCY,
    NEED_OR_NO_RELATIONSHIP,
    AuditDayCount,
    AuditEvent,
    AuditSeal,
    LogExtractRequest,
    Outcome,
    ReviewCheck,
    ReviewItem,
    ReviewSchedule,
    Verdict,
)
from lyfta.audit.services import record
from lyfta.core.dates import add_months
from lyfta.core.replica import reading_primary, reading_replica
from lyfta.core.workdays import is_working_day, weekday_holidays
from lyfta.messages.models import Message
from lyfta.messages.services import messages_send
from lyfta.organisations.models import CareProvider, Unit
from lyfta.patients.models import Patient, display_identifier

SEARCH_LIMIT = 500
# The log's tables, which the searches, the targeted checks, the R43 report and the extracts read
# from a replica where there is one (lyfta.core.replica, decision 0022). Checks, verdicts,
# schedules and extract requests are what the reviewer writes: read from the primary.
REPLICA_TABLES = (AuditEvent, AuditDayCount, AuditSeal)
SAVE_LIMIT = 200  # entries of one saved check: a reviewer's afternoon, not a dump


def _provider(actor: Actor) -> CareProvider:
    require(actor, Cap.AUDIT_REVIEW)
    if actor.provider is None:
        raise PermissionDenied("a reviewer reviews for a care provider")
    return actor.provider


def scope(actor: Actor) -> QuerySet[AuditEvent]:
    """The events a reviewer may read: made by their provider's users, or touching its data."""
    provider = _provider(actor)
    return AuditEvent.objects.filter(
        Q(actor_provider_id=provider.pk) | Q(owner_provider_id=provider.pk)
    )


def _window(period_from: dt.date, period_until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if period_until < period_from:
        raise ValidationError(_("Periodens slut kan inte vara före dess början."))
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(period_from, dt.time.min, tz),
        dt.datetime.combine(period_until + dt.timedelta(days=1), dt.time.min, tz),
    )


# --- Nobody judges himself (R92) ------------------------------------------------------------


@dataclass(frozen=True)
class Handover:
    """A reviewer's own events left out of what he is asked to judge, and who takes them instead:
    the provider's other log reviewers, else the system administrators, who appoint one (R92)."""

    reviewer: str
    count: int
    to: list[User]
    role: str

    @property
    def text(self) -> str:
        left_out = ngettext(
            "%(count)d logghändelse av %(reviewer)s ingår inte: ingen bedömer sina egna händelser.",
            "%(count)d logghändelser av %(reviewer)s ingår inte: ingen bedömer sina egna "
            "händelser.",
            self.count,
        ) % {"count": self.count, "reviewer": self.reviewer}
        return f"{left_out} {other_reviewers_text(self.to, self.role)}"

    def detail(self) -> dict[str, Any]:
        return {
            "own_left_out": self.count,
            "own_to": [user.pk for user in self.to],
            "own_to_role": self.role,
        }


def _without_own(
    actor: Actor, events: QuerySet[AuditEvent]
) -> tuple[QuerySet[AuditEvent], Handover | None]:
    """`events` without the reviewer's own, and a handover naming who takes them (None when
    there were none)."""
    provider = _provider(actor)
    user = actor.user
    assert user is not None  # noqa: S101 - _provider() admits only a reviewer in a unit
    count = events.filter(actor_id=user.pk).count()
    if not count:
        return events, None
    to, role = other_reviewers(provider.pk, user.pk)
    return events.exclude(actor_id=user.pk), Handover(user.display_name, count, to, role)


def check_handover(check: ReviewCheck) -> Handover | None:
    """What a stored check says about its reviewer's own events that it left out (R92)."""
    count = int(check.criteria.get("own_left_out") or 0)
    if not count:
        return None
    ids = [pk for pk in check.criteria.get("own_to") or [] if isinstance(pk, int)]
    to = list(User.objects.filter(pk__in=ids).order_by("last_name", "first_name", "pk"))
    role = str(check.criteria.get("own_to_role") or "")
    return Handover(check.reviewer.display_name, count, to, role)


def _hand_over(actor: Actor, handover: Handover, period: SearchParams, check_id: int) -> None:
    """Tell whoever takes a reviewer's own events that they wait for him (in the transaction)."""
    user = actor.user
    assert user is not None  # noqa: S101
    if handover.role == Role.LOG_REVIEWER:
        query = {
            "user": user.username,
            "period_from": period.period_from.isoformat(),
            "period_until": period.period_until.isoformat(),
        }
        if period.unit is not None:
            query["unit"] = str(period.unit.pk)
        subject = _("Logghändelser av %(name)s att granska") % {"name": user.display_name}
        body = ngettext(
            "Kontroll %(check)d lämnade %(count)d logghändelse av %(name)s utanför, eftersom "
            "ingen bedömer sina egna händelser. Granska den i stället.",
            "Kontroll %(check)d lämnade %(count)d logghändelser av %(name)s utanför, eftersom "
            "ingen bedömer sina egna händelser. Granska dem i stället.",
            handover.count,
        ) % {"check": check_id, "count": handover.count, "name": user.display_name}
        link = f"{reverse('review:search')}?{urlencode(query)}"
    else:
        subject = _("Ingen annan loggranskare för %(name)s") % {"name": user.display_name}
        body = ngettext(
            "Kontroll %(check)d lämnade %(count)d logghändelse av %(name)s utanför, eftersom "
            "ingen bedömer sina egna händelser, och vårdgivaren har ingen annan loggranskare. "
            "Utse en som granskar den.",
            "Kontroll %(check)d lämnade %(count)d logghändelser av %(name)s utanför, eftersom "
            "ingen bedömer sina egna händelser, och vårdgivaren har ingen annan loggranskare. "
            "Utse en som granskar dem.",
            handover.count,
        ) % {"check": check_id, "count": handover.count, "name": user.display_name}
        link = ""
    messages_send(
        recipients=handover.to, kind=Message.Kind.NOTICE, subject=subject, body=body, link=link
    )


# --- Search (R77) and single entries (R70) --------------------------------------------------


@dataclass(frozen=True)
class SearchParams:
    period_from: dt.date
    period_until: dt.date
    patient: Patient | None = None
    user: User | None = None
    unit: Unit | None = None
    action: str = ""
    outcome: str = ""

    def audit_detail(self) -> dict[str, Any]:
        return {
            "from": self.period_from,
            "until": self.period_until,
            "patient": self.patient.pk if self.patient else None,
            "user": self.user.pk if self.user else None,
            "unit": self.unit.pk if self.unit else None,
            "action": self.action,
            "outcome": self.outcome,
        }


def _filtered(actor: Actor, params: SearchParams) -> QuerySet[AuditEvent]:
    start, end = _window(params.period_from, params.period_until)
    events = scope(actor).filter(occurred_at__gte=start, occurred_at__lt=end)
    if params.patient is not None:
        events = events.filter(patient_id=params.patient.pk)
    if params.user is not None:
        events = events.filter(actor_id=params.user.pk)
    if params.unit is not None:
        events = events.filter(actor_unit_id=params.unit.pk)
    if params.action:
        events = events.filter(action=params.action)
    if params.outcome:
        events = events.filter(outcome=params.outcome)
    return events


@dataclass(frozen=True)
class EventRow:
    """An event as the search's table shows it: read as a tuple of these columns, no model
    object and no JSON field decoded (issue 19 point 5)."""

    pk: int
    occurred_at: dt.datetime
    actor_username: str
    actor_name: str
    actor_unit_name: str
    action: str
    patient_id: int | None
    legal_basis: str
    outcome: str

    action_label = AuditEvent.action_label
    legal_basis_label = AuditEvent.legal_basis_label

    def get_outcome_display(self) -> str:
        return str(dict(Outcome.choices).get(self.outcome, self.outcome))


_EVENT_ROW = tuple(f.name for f in dataclasses.fields(EventRow))
# The optional criteria of a search, each a column equal to an argument (`_filtered`'s order).
_CRITERIA = ("patient_id", "actor_id", "actor_unit_id", "action", "outcome")
_SEARCHES: dict[tuple[str, ...], Prepared] = {}


def _search_rows(actor: Actor, params: SearchParams) -> list[tuple[Any, ...]]:
    """`_filtered`'s newest SEARCH_LIMIT events as tuples of `_EVENT_ROW`, compiled once for
    each combination of criteria given."""
    provider = _provider(actor)
    start, end = _window(params.period_from, params.period_until)
    given = {
        "patient_id": params.patient.pk if params.patient is not None else None,
        "actor_id": params.user.pk if params.user is not None else None,
        "actor_unit_id": params.unit.pk if params.unit is not None else None,
        "action": params.action or None,
        "outcome": params.outcome or None,
    }
    names = tuple(name for name in _CRITERIA if given[name] is not None)
    if names not in _SEARCHES:

        def build(provider_id: int, start: Any, end: Any, *values: Any) -> QuerySet[Any, Any]:
            events = AuditEvent.objects.filter(
                Q(actor_provider_id=provider_id) | Q(owner_provider_id=provider_id),
                occurred_at__gte=start,
                occurred_at__lt=end,
                **dict(zip(names, values, strict=True)),
            )
            return events.order_by("-occurred_at", "-id").values_list(*_EVENT_ROW)[:SEARCH_LIMIT]

        _SEARCHES[names] = Prepared(build)
    return _SEARCHES[names].rows(provider.pk, start, end, *(given[name] for name in names))


def review_search(*, actor: Actor, params: SearchParams) -> list[EventRow]:
    """All accesses by one user or to one patient over any period, or any combination (R77),
    as the search's table shows them. The search itself is recorded with its parameters, never
    its results (R60, R70)."""
    events = [EventRow(*values) for values in _search_rows(actor, params)]
    _record_search(actor, params, len(events))
    return events


def review_search_events(*, actor: Actor, params: SearchParams) -> list[AuditEvent]:
    """`review_search` as whole events (the FHIR export), recorded alike."""
    events = list(_filtered(actor, params).order_by("-occurred_at", "-id")[:SEARCH_LIMIT])
    _record_search(actor, params, len(events))
    return _unnamed_outside(_provider(actor), events)


def _record_search(actor: Actor, params: SearchParams, shown: int) -> None:
    record(
        action=Action.AUDIT_SEARCHED,
        actor=actor,
        patient_id=params.patient.pk if params.patient else None,
        detail={**params.audit_detail(), "shown": shown},
    )


def review_entry(*, actor: Actor, event_id: int) -> AuditEvent:
    """One entry of the log, if the reviewer's provider is concerned by it (else a 404)."""
    event = scope(actor).filter(pk=event_id).first()
    if event is None:
        raise Http404
    record(
        action=Action.AUDIT_ENTRY_VIEWED,
        actor=actor,
        patient_id=event.patient_id,
        resource_type="audit.auditevent",
        resource_id=event.pk,
    )
    return _unnamed_outside(_provider(actor), [event])[0]


# --- Targeted checks (R76) ------------------------------------------------------------------


def _need_or_no_relationship(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    return events.filter(NEED_OR_NO_RELATIONSHIP)


def _emergency(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    return events.filter(EMERGENCY)


def _protected(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    protected = Patient.objects.exclude(protection="").values("pk")
    return events.filter(Q(patient_id__in=protected) | Q(detail__reason="protected_identity"))


def _own_record(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    pairs = Patient.objects.filter(
        identifier__in=User.objects.exclude(personnummer=None).values("personnummer")
    ).values_list("pk", "identifier")
    people = dict(User.objects.exclude(personnummer=None).values_list("personnummer", "pk"))
    condition = Q(pk__in=[])
    for patient_id, identifier in pairs:
        condition |= Q(patient_id=patient_id, actor_id=people[identifier])
    return events.filter(condition)


def _same_surname(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    # Relatives and namesakes: the patient's surname equals the user's (R76).
    read = events.filter(patient_id__isnull=False, actor_id__isnull=False)
    pairs = read.values_list("patient_id", "actor_id").distinct()[:5000]
    patient_ids = {p for p, _ in pairs}
    actor_ids = {a for _, a in pairs}
    surnames = dict(Patient.objects.filter(pk__in=patient_ids).values_list("pk", "last_name"))
    users = dict(User.objects.filter(pk__in=actor_ids).values_list("pk", "last_name"))
    matches = [
        (p, a)
        for p, a in pairs
        if surnames.get(p or 0)
        and surnames.get(p or 0, "").casefold() == (users.get(a or 0) or "").casefold()
    ]
    condition = Q(pk__in=[])
    for patient_id, actor_id in matches:
        condition |= Q(patient_id=patient_id, actor_id=actor_id)
    return read.filter(condition)


def _cross_provider(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    return events.filter(action=Action.PATIENT_CROSS_PROVIDER_READ)


def off_hours(moment: dt.datetime) -> bool:
    """Outside 07–18 on a working day, or on a weekend or holiday (R76)."""
    local = timezone.localtime(moment)
    return not is_working_day(local.date()) or not 7 <= local.hour < 18


# No audit event predates Lyfta (imports of older logs included).
OLDEST_LOG_YEAR = 2000


def _off_hours(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """Patient accesses outside 07–18 local time on working days (the same rule as `off_hours`),
    decided by the database over every event in the period, however many there are."""
    local = timezone.get_current_timezone()
    # Every weekday holiday the log can hold (some ten a year): a short list for the database.
    holidays = weekday_holidays(OLDEST_LOG_YEAR, timezone.localdate().year + 1)
    return (
        events.filter(patient_id__isnull=False)
        .annotate(
            local_hour=ExtractHour("occurred_at", tzinfo=local),
            local_weekday=ExtractIsoWeekDay("occurred_at", tzinfo=local),
            local_day=TruncDate("occurred_at", tzinfo=local),
        )
        .filter(
            Q(local_hour__lt=7)
            | Q(local_hour__gte=18)
            | Q(local_weekday__gte=6)
            | Q(local_day__in=holidays)
        )
    )


def _unusual_volume(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """Users who opened markedly more patients per day than in their own preceding 90 days."""
    reads = events.filter(action=Action.PATIENT_READ, actor_id__isnull=False)
    first = reads.order_by("occurred_at").values_list("occurred_at", flat=True).first()
    if first is None:
        return events.none()
    per_user_day = (
        reads.annotate(day=TruncDate("occurred_at"))
        .values("actor_id", "day")
        .annotate(n=Count("id"))
    )
    history = (
        AuditEvent.objects.filter(
            action=Action.PATIENT_READ,
            occurred_at__lt=first,
            occurred_at__gte=first - dt.timedelta(days=90),
        )
        .values("actor_id")
        .annotate(n=Count("id"), days=Count(TruncDate("occurred_at"), distinct=True))
    )
    usual = {row["actor_id"]: row["n"] / max(row["days"], 1) for row in history}
    flagged = Q(pk__in=[])
    for row in per_user_day:
        baseline = usual.get(row["actor_id"], 0.0)
        if row["n"] >= max(10, 3 * baseline):
            flagged |= Q(actor_id=row["actor_id"], occurred_at__date=row["day"])
    return reads.filter(flagged)


@dataclass(frozen=True)
class TargetedCheck:
    name: str
    label: Any
    select: Callable[[QuerySet[AuditEvent]], QuerySet[AuditEvent]]


TARGETED = {
    targeted.name: targeted
    for targeted in (
        TargetedCheck(
            "need",
            gettext_lazy("Åtkomst med annat behov eller utan vårdrelation"),
            _need_or_no_relationship,
        ),
        TargetedCheck("emergency", gettext_lazy("Nödåtkomst"), _emergency),
        TargetedCheck("protected", gettext_lazy("Patienter med skyddad identitet"), _protected),
        TargetedCheck("own_record", gettext_lazy("Egen journal (eget personnummer)"), _own_record),
        TargetedCheck(
            "same_surname", gettext_lazy("Samma efternamn som användaren"), _same_surname
        ),
        TargetedCheck("cross_provider", gettext_lazy("Åtkomst mellan vårdgivare"), _cross_provider),
        TargetedCheck("off_hours", gettext_lazy("Utanför kontorstid (07–18 vardagar)"), _off_hours),
        TargetedCheck(
            "volume",
            gettext_lazy("Ovanligt många patienter jämfört med egen historik"),
            _unusual_volume,
        ),
    )
}


def targeted_check(
    *,
    actor: Actor,
    name: str,
    period_from: dt.date,
    period_until: dt.date,
    unit: Unit | None = None,
) -> list[AuditEvent]:
    """Run one saved targeted check over the reviewer's provider (and unit) for a period."""
    events, _handover = targeted_review(
        actor=actor, name=name, period_from=period_from, period_until=period_until, unit=unit
    )
    return events


def targeted_review(
    *,
    actor: Actor,
    name: str,
    period_from: dt.date,
    period_until: dt.date,
    unit: Unit | None = None,
) -> tuple[list[AuditEvent], Handover | None]:
    """A targeted check's entries for the reviewer to judge, without his own, and who takes his
    own instead (R92)."""
    targeted = TARGETED.get(name)
    if targeted is None:
        raise Http404
    params = SearchParams(period_from, period_until, unit=unit)
    selected, handover = _without_own(actor, targeted.select(_filtered(actor, params)))
    events = list(selected.order_by("-occurred_at")[:SEARCH_LIMIT])
    record(
        action=Action.AUDIT_SEARCHED,
        actor=actor,
        detail={
            **params.audit_detail(),
            "targeted": name,
            "shown": len(events),
            **(handover.detail() if handover else {}),
        },
    )
    return events, handover


def reason_labels() -> dict[str, str]:
    """Why an entry is in a check, as the check's page says it."""
    return {
        "user": _("Minst en per användare"),
        "random": _("Slumpvis"),
        "search": _("Sökning vid misstanke"),
        **{name: str(t.label) for name, t in TARGETED.items()},
    }


# --- Sample checks (R75, R78) ---------------------------------------------------------------

# A system RNG: nobody, not even with the source and the log, can predict which entries a sample
# will hold (R75).
_random = secrets.SystemRandom()


def sample_draw(
    *, actor: Actor, unit: Unit, period_from: dt.date, period_until: dt.date, size: int = 25
) -> ReviewCheck:
    """Draw a sample of one unit's accesses in a period: entries that meet each targeted criterion
    (a few of each, chosen at random), at least one random entry per user who accessed patients,
    and random entries over the rest, up to `size` (R75). Stored as an open check (R78)."""
    provider = _provider(actor)
    if unit.provider_id != provider.pk:
        raise Http404
    if not 5 <= size <= 200:
        raise ValidationError(_("Ett stickprov har 5–200 logghändelser."))
    period = SearchParams(period_from, period_until, unit=unit)
    # The reviewer's own accesses go to another reviewer (R92).
    accesses, handover = _without_own(
        actor, _filtered(actor, period).filter(action__in=ACCESS_ACTIONS)
    )
    chosen: dict[int, str] = {}
    for name, targeted in TARGETED.items():
        ids = list(targeted.select(accesses).values_list("pk", flat=True)[:2000])
        for pk in _random.sample(ids, min(len(ids), max(1, size // 10))):
            chosen.setdefault(pk, name)
    by_user: dict[int | None, list[int]] = {}
    for pk, user_id in accesses.exclude(actor_id=None).values_list("pk", "actor_id")[:50000]:
        by_user.setdefault(user_id, []).append(pk)
    for ids in by_user.values():
        if len(chosen) >= size:
            break
        chosen.setdefault(_random.choice(ids), "user")
    rest = [pk for pk in accesses.values_list("pk", flat=True)[:50000] if pk not in chosen]
    for pk in _random.sample(rest, min(len(rest), max(0, size - len(chosen)))):
        chosen[pk] = "random"
    if len(chosen) > size:
        kept = _random.sample(sorted(chosen), size)
        chosen = {pk: chosen[pk] for pk in kept}
    assert actor.user is not None  # noqa: S101 - _provider() admits only a reviewer in a unit
    with transaction.atomic():
        check = ReviewCheck.objects.create(
            provider=provider,
            unit=unit,
            kind=ReviewCheck.Kind.SAMPLE,
            criteria={
                "size": size,
                "criteria": sorted(TARGETED),
                "drawn": len(chosen),
                **(handover.detail() if handover else {}),
            },
            period_from=period_from,
            period_until=period_until,
            reviewer=actor.user,
            created_at=timezone.now(),
        )
        ReviewItem.objects.bulk_create(
            [ReviewItem(review=check, event_id=pk, reason=reason) for pk, reason in chosen.items()]
        )
        record(
            action=Action.REVIEW_STARTED,
            actor=actor,
            target=check,
            detail={
                "unit": unit.pk,
                "from": period_from,
                "until": period_until,
                "drawn": len(chosen),
                **(handover.detail() if handover else {}),
            },
        )
        if handover:
            _hand_over(actor, handover, period, check.pk)
    return check


def review_check(*, actor: Actor, check_id: int) -> ReviewCheck:
    check = (
        ReviewCheck.objects.filter(pk=check_id, provider=_provider(actor))
        .select_related("unit")
        .first()
    )
    if check is None:
        raise Http404
    return check


def review_items(*, actor: Actor, check: ReviewCheck) -> list[tuple[ReviewItem, AuditEvent | None]]:
    """The check's entries with their events; opening a check is a read of the log (R70)."""
    items = list(check.items.all())
    events = AuditEvent.objects.in_bulk([item.event_id for item in items])
    record(
        action=Action.AUDIT_SEARCHED,
        actor=actor,
        target=check,
        detail={"check": check.pk, "shown": len(items)},
    )
    return [(item, events.get(item.event_id)) for item in items]


def review_verdict(*, actor: Actor, item: ReviewItem, verdict: str, follow_up: str = "") -> None:
    """The reviewer's verdict on one entry, and what follows from it (R78)."""
    check = review_check(actor=actor, check_id=item.review_id)
    if check.closed_at is not None:
        raise ValidationError(_("Kontrollen är avslutad."))
    event = AuditEvent.objects.filter(pk=item.event_id).values_list("actor_id", "patient_id")
    actor_id, patient_id = event.first() or (None, None)
    if actor.user is not None and actor_id == actor.user.pk:
        # Nobody judges his own event (R92): refused and recorded (R38), whatever was posted.
        from lyfta.patients.services import refuse

        raise refuse(
            actor=actor,
            step="review_verdict",
            reason="own_event",
            patient_id=patient_id,
            target=item,
            user_message=_(
                "Du kan inte bedöma din egen logghändelse. En annan loggranskare bedömer den."
            ),
        )
    if verdict not in Verdict.values:
        raise ValidationError(_("Välj befogad, inte befogad eller oklar."))
    if verdict != Verdict.JUSTIFIED and not follow_up.strip():
        raise ValidationError(
            _("Skriv vad som ska följas upp när åtkomsten inte är befogad eller oklar.")
        )
    with transaction.atomic():
        ReviewItem.objects.filter(pk=item.pk).update(
            verdict=verdict,
            follow_up=follow_up.strip()[:300],
            decided_by=actor.user,
            decided_at=timezone.now(),
        )
        record(
            action=Action.REVIEW_VERDICT,
            actor=actor,
            target=item,
            changes={"verdict": [item.verdict or None, verdict]},
            detail={"event": item.event_id, "check": check.pk},
        )


def review_close(*, actor: Actor, check: ReviewCheck, conclusion: str) -> ReviewCheck:
    """Close a check once every entry has a verdict; its record is kept with the logs (R78)."""
    if check.items.filter(verdict="").exists():
        raise ValidationError(
            _("Alla logghändelser behöver en bedömning innan kontrollen avslutas.")
        )
    if not conclusion.strip():
        raise ValidationError(_("Skriv en slutsats."))
    with transaction.atomic():
        ReviewCheck.objects.filter(pk=check.pk, closed_at__isnull=True).update(
            closed_at=timezone.now(), conclusion=conclusion.strip()
        )
        record(
            action=Action.REVIEW_CLOSED,
            actor=actor,
            target=check,
            detail={
                "items": check.items.count(),
                "unjustified": check.items.filter(verdict=Verdict.UNJUSTIFIED).count(),
            },
        )
    check.refresh_from_db()
    return check


def check_save(*, actor: Actor, params: SearchParams, targeted: str = "") -> ReviewCheck:
    """Keep a search on suspicion (R77) or a targeted check's result (R76) as a check whose
    entries get verdicts like a sample's (R78). The query runs again here: the entries are what
    the criteria select, never a list the browser sends."""
    provider = _provider(actor)
    events = _filtered(actor, params)
    if targeted:
        found = TARGETED.get(targeted)
        if found is None:
            raise Http404
        events = found.select(events)
    # The reviewer's own events go to another reviewer (R92).
    events, handover = _without_own(actor, events)
    ids = list(events.order_by("-occurred_at", "-id").values_list("pk", flat=True)[:SAVE_LIMIT])
    if not ids:
        if handover:
            raise ValidationError(handover.text)
        raise ValidationError(_("Sökningen gav inga logghändelser att granska."))
    assert actor.user is not None  # noqa: S101
    kind = ReviewCheck.Kind.TARGETED if targeted else ReviewCheck.Kind.SUSPICION
    criteria = {
        **params.audit_detail(),
        "targeted": targeted,
        "drawn": len(ids),
        **(handover.detail() if handover else {}),
    }
    with transaction.atomic():
        saved = ReviewCheck.objects.create(
            provider=provider,
            unit=params.unit,
            kind=kind,
            criteria=json_safe(criteria),
            period_from=params.period_from,
            period_until=params.period_until,
            reviewer=actor.user,
            created_at=timezone.now(),
        )
        reason = targeted or "search"
        ReviewItem.objects.bulk_create(
            [ReviewItem(review=saved, event_id=pk, reason=reason) for pk in ids]
        )
        record(
            action=Action.REVIEW_STARTED,
            actor=actor,
            target=saved,
            detail=criteria,
        )
        if handover:
            _hand_over(actor, handover, params, saved.pk)
    return saved


def json_safe(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in data.items()}


def patient_labels(*, actor: Actor, events: list[AuditEvent] | list[EventRow]) -> dict[int, str]:
    """How the review pages name the patients of `events`: name and number, except a protected
    patient's, who is shown by internal id only (R53). A patient with no link to the reviewer's
    provider is not named at all, as if the event had none: the reviewer's own searches and
    refusals never tell him who a number belongs to (M4 of the attack run)."""
    ids = linked_patients(_provider(actor), {e.patient_id for e in events if e.patient_id})
    labels = {}
    found = Patient.objects.filter(pk__in=ids).values_list(
        "pk", "protection", "last_name", "first_name", "identifier"
    )
    for pk, protection, last_name, first_name, identifier in found:
        labels[pk] = (
            _("Skyddad identitet (nr %(id)s)") % {"id": pk}
            if protection
            else f"{last_name}, {first_name} ({display_identifier(identifier)})"
        )
    return labels


# --- Schedules (R79) -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRow:
    unit: Unit
    interval_days: int
    last_closed: dt.date | None
    due: dt.date
    overdue: bool


def schedules(*, actor: Actor) -> list[ScheduleRow]:
    """Each unit of the provider with its interval, last closed sample check and due date."""
    provider = _provider(actor)
    today = timezone.localdate()
    configured = {
        s.unit_id: s.interval_days for s in ReviewSchedule.objects.filter(unit__provider=provider)
    }
    last = dict(
        ReviewCheck.objects.filter(
            provider=provider, kind=ReviewCheck.Kind.SAMPLE, closed_at__isnull=False
        )
        .values("unit_id")
        .annotate(last=Max("closed_at"))
        .values_list("unit_id", "last")
    )
    rows = []
    for unit in Unit.objects.filter(provider=provider, active=True).order_by("name"):
        interval = configured.get(unit.pk, 90)
        closed = timezone.localtime(last[unit.pk]).date() if unit.pk in last else None
        due = (closed or unit.created_at.date()) + dt.timedelta(days=interval)
        rows.append(ScheduleRow(unit, interval, closed, due, due < today))
    return rows


def schedule_set(*, actor: Actor, unit: Unit, interval_days: int) -> ReviewSchedule:
    provider = _provider(actor)
    if unit.provider_id != provider.pk:
        raise Http404
    if not 7 <= interval_days <= 366:
        raise ValidationError(_("Intervallet ska vara 7–366 dagar."))
    assert actor.user is not None  # noqa: S101
    before = ReviewSchedule.objects.filter(unit=unit).values_list("interval_days", flat=True)
    with transaction.atomic():
        previous = before.first()
        schedule, _created = ReviewSchedule.objects.update_or_create(
            unit=unit,
            defaults={
                "interval_days": interval_days,
                "updated_by": actor.user,
                "updated_at": timezone.now(),
            },
        )
        record(
            action=Action.REVIEW_SCHEDULE_SET,
            actor=actor,
            target=schedule,
            changes={"interval_days": [previous, interval_days]},
            detail={"unit": unit.pk},
        )
    return schedule


# --- Patient log extracts (R80–R82) ----------------------------------------------------------


def extract_register(
    *,
    actor: Actor,
    patient: Patient,
    kind: str,
    requested_at: dt.date,
    requester: str,
    period_from: dt.date,
    period_until: dt.date,
    secrecy_reviewed: bool = False,
) -> LogExtractRequest:
    """Register a request; the answer is due one month after it was received (GDPR Art. 12(3))."""
    provider = _provider(actor)
    if kind not in LogExtractRequest.Kind.values:
        raise ValidationError(_("Välj typ av begäran."))
    if period_until < period_from:
        raise ValidationError(_("Periodens slut kan inte vara före dess början."))
    if requested_at > timezone.localdate():
        raise ValidationError(_("Datumet för begäran kan inte ligga i framtiden."))
    _require_linked(actor, provider, patient, "audit.logextractrequest", "extract_register")
    assert actor.user is not None  # noqa: S101
    with transaction.atomic():
        request = LogExtractRequest.objects.create(
            provider=provider,
            patient=patient,
            kind=kind,
            requested_at=requested_at,
            due_at=add_months(requested_at, 1),
            requester=requester.strip()[:200] or _("Patienten"),
            period_from=period_from,
            period_until=period_until,
            secrecy_reviewed=secrecy_reviewed and kind == LogExtractRequest.Kind.OFFICIAL_DOCUMENT,
            received_by=actor.user,
        )
        record(
            action=Action.EXTRACT_REQUESTED,
            actor=actor,
            target=request,
            patient_id=patient.pk,
            detail={"kind": kind, "requested_at": requested_at, "due_at": request.due_at},
        )
    return request


NO_SUCH_PATIENT = gettext_lazy("Det finns ingen patient med det numret hos er vårdgivare.")

# What the log review itself writes. It reads the log; it is never a link between a provider and
# a patient, nor is anything done in a log reviewer's assignment or anything refused.
_REVIEW_ACTIONS = frozenset(
    {
        Action.AUDIT_SEARCHED,
        Action.AUDIT_ENTRY_VIEWED,
        Action.AUDIT_EXPORTED,
        Action.AUDIT_CROSS_PROVIDER_REPORT,
        Action.AUDIT_PROOF_ISSUED,
        Action.REVIEW_STARTED,
        Action.REVIEW_VERDICT,
        Action.REVIEW_CLOSED,
        Action.EXTRACT_REQUESTED,
        Action.EXTRACT_PRODUCED,
        Action.EXTRACT_DELIVERED,
    }
)


def linked_patients(provider: CareProvider, patient_ids: set[int]) -> set[int]:
    """Those of `patient_ids` who are the provider's patients: cared for at one of its units at
    some time (orders make the relationship), or named in its log by its own work: an access or
    a registration by its staff, or another provider's user reading data it documented (R42),
    granted. The log review's own events never count, nor refusals (H1 of the attack run: a
    reviewer's search, or his refused extract, made another provider's patient "his")."""
    from lyfta.patients.models import CareRelationship

    if not patient_ids:
        return set()
    # An access decision: the primary's rows, however far a replica that the page reads lags.
    with reading_primary():
        linked = set(
            CareRelationship.objects.filter(patient_id__in=patient_ids, unit__provider=provider)
            .order_by()
            .values_list("patient_id", flat=True)
        )
        rest = patient_ids - linked
        if rest:
            in_log = (
                AuditEvent.objects.filter(
                    Q(actor_provider_id=provider.pk) | Q(owner_provider_id=provider.pk),
                    patient_id__in=rest,
                    outcome=Outcome.GRANTED,
                )
                .exclude(action__in=_REVIEW_ACTIONS)
                .exclude(actor_role=Role.LOG_REVIEWER)
                .order_by()
                .values_list("patient_id", flat=True)
                .distinct()
            )
            linked |= {pk for pk in in_log if pk is not None}
    return linked


def patient_known_to(provider: CareProvider, patient: Patient) -> bool:
    """Whether the patient is one of the provider's (`linked_patients`)."""
    return bool(linked_patients(provider, {patient.pk}))


def _unnamed_outside(provider: CareProvider, events: list[AuditEvent]) -> list[AuditEvent]:
    """`events` as the review shows them whole (an entry, the FHIR export): a patient with no
    link to the provider is left out of each, in memory only (the log is never changed)."""
    linked = linked_patients(provider, {e.patient_id for e in events if e.patient_id})
    for event in events:
        if event.patient_id is None or event.patient_id in linked:
            continue
        if event.resource_type == "patients.patient":
            event.resource_id = ""
        event.patient_id = None
        event.detail = {k: v for k, v in (event.detail or {}).items() if k != "patient"}
    return events


def review_patient(*, actor: Actor, identifier: str) -> Patient:
    """The patient a reviewer names by number for a search: one of his provider's, else the same
    answer whether the number is in Lyfta or not (M4 of the attack run). A refusal of a patient
    who is in Lyfta is recorded (R38)."""
    provider = _provider(actor)
    patient = Patient.objects.filter(identifier=identifier).first()
    if patient is None:
        raise ValidationError(NO_SUCH_PATIENT)
    _require_linked(actor, provider, patient, "audit.auditevent", "review_search")
    return patient


def _require_linked(
    actor: Actor, provider: CareProvider, patient: Patient, resource_type: str, step: str
) -> None:
    """Refuse a patient who is not the provider's with the same answer as a number nobody has:
    a reviewer learns of no patient outside his provider's care or log (R33); the attempt is
    recorded (R38)."""
    if patient_known_to(provider, patient):
        return
    record(
        action=Action.ACCESS_DENIED,
        actor=actor,
        outcome=Outcome.DENIED,
        patient_id=patient.pk,
        resource_type=resource_type,
        detail={"step": step, "reason": "not_the_providers_patient"},
    )
    raise ValidationError(NO_SUCH_PATIENT)


def extract_requests(*, actor: Actor) -> QuerySet[LogExtractRequest]:
    return LogExtractRequest.objects.filter(provider=_provider(actor)).select_related("patient")


def extract_request(*, actor: Actor, request_id: int) -> LogExtractRequest:
    found = extract_requests(actor=actor).filter(pk=request_id).first()
    if found is None:
        raise Http404
    return found


@dataclass(frozen=True)
class ExtractRow:
    when: dt.datetime
    unit: str
    provider: str
    kind: str
    staff: str


def _extract_events(
    provider_id: int, patient_id: int, start: dt.datetime, end: dt.datetime
) -> QuerySet[AuditEvent, tuple[Any, ...]]:
    return (
        AuditEvent.objects.filter(
            # The provider's answer (R42, R43): its own users' events, and other providers'
            # users' accesses to data it documented; never another provider's own work.
            Q(actor_provider_id=provider_id) | Q(owner_provider_id=provider_id),
            patient_id=patient_id,
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .exclude(outcome=Outcome.DENIED)
        .order_by("occurred_at", "id")
        # Plain tuples of the fields the extract shows: no model objects, no JSON decoding.
        .values_list(
            "occurred_at",
            "actor_unit_id",
            "actor_unit_name",
            "actor_provider_id",
            "action",
            "actor_name",
            "actor_username",
        )
    )


_EXTRACT_EVENTS = Prepared(_extract_events)  # compiled once (issue 19 point 5)


def extract_rows(request: LogExtractRequest) -> list[ExtractRow]:
    """The provider's answer to its patient (R80): every access to the data it is responsible
    for and every registration about the patient in the period, by its own users and by other
    providers' users reading its data (R42, R43), but never another provider's own work (H1 of
    the attack run): each such event that names the patient, not only the reads (orders,
    deliveries, pick-ups, losses, corrections, consents, blocks...), in plain
    Swedish, with unit and provider in plain names; refused attempts are no access and are left
    out. Staff names only for an official-document request after a secrecy review at a provider
    that shows them (R81)."""
    start, end = _window(request.period_from, request.period_until)
    # From a replica only if it holds every commit of the period: an extract is never missing
    # the last minutes of its period, and says nothing about freshness (decision 0022).
    with reading_replica(*REPLICA_TABLES, complete_until=end):
        rows_in = _EXTRACT_EVENTS.rows(request.provider_id, request.patient_id, start, end)
    units = dict(
        Unit.objects.filter(pk__in={row[1] for row in rows_in if row[1]}).values_list("pk", "name")
    )
    providers = dict(
        CareProvider.objects.filter(pk__in={row[3] for row in rows_in if row[3]}).values_list(
            "pk", "name"
        )
    )
    names = (
        request.kind == LogExtractRequest.Kind.OFFICIAL_DOCUMENT
        and request.secrecy_reviewed
        and request.provider.extract_staff_names
    )
    return [
        ExtractRow(
            when=timezone.localtime(occurred_at),
            unit=units.get(unit_id or 0, unit_name or _("System")),
            provider=providers.get(provider_id or 0, ""),
            kind=PLAIN_KIND.get(action) or AuditEvent(action=action).action_label,
            staff=(actor_name or actor_username) if names else "",
        )
        for occurred_at, unit_id, unit_name, provider_id, action, actor_name, actor_username in (
            rows_in
        )
    ]


# What each access or registration means to a patient, in plain Swedish (R80). Every action
# recorded with a patient id has its words here (a test reads the code to check).
PLAIN_KIND: dict[str, Any] = {
    Action.PAYER_SHOWN: gettext_lazy("Såg vem som betalar för ett hjälpmedel du lånar"),
    Action.HOUSING_REGISTERED: gettext_lazy("Registrerade din boendeform"),
    Action.PATIENT_READ: gettext_lazy("Läste dina uppgifter"),
    Action.PATIENT_LISTED: gettext_lazy("Du syntes i en sökträfflista"),
    Action.DEVIATION_IDENTITY_OPENED: gettext_lazy(
        "Såg vem du är i utredningen av en avvikelse med ett hjälpmedel"
    ),
    Action.PATIENT_CROSS_PROVIDER_READ: gettext_lazy(
        "Läste uppgifter som en annan vårdgivare har registrerat"
    ),
    Action.PATIENT_SEARCH_OUTSIDE: gettext_lazy("Sökte på ditt personnummer"),
    Action.BILLING_LINES_SEARCHED: gettext_lazy(
        "Sökte fram debiteringen av dina hjälpmedel (ekonomi, utan namn)"
    ),
    Action.NEED_DOCUMENTED: gettext_lazy("Öppnade dina uppgifter med angivet behov i arbetet"),
    Action.EMERGENCY_STARTED: gettext_lazy("Öppnade dina uppgifter i en nödsituation"),
    Action.EMERGENCY_PATIENT_NAMED: gettext_lazy(
        "Såg ditt namn inför en nödåtkomst till dina uppgifter"
    ),
    Action.PATIENT_CORRECTED: gettext_lazy("Rättade dina uppgifter"),
    Action.PATIENT_CREATED: gettext_lazy("Registrerade dig som patient"),
    Action.RELATIONSHIP_CREATED: gettext_lazy("Registrerade en vårdrelation med dig"),
    Action.CONSENT_REGISTERED: gettext_lazy("Registrerade ditt samtycke"),
    Action.BLOCK_REGISTERED: gettext_lazy("Registrerade din spärr"),
    Action.BLOCK_TEMPORARILY_LIFTED: gettext_lazy("Hävde din spärr tillfälligt"),
    Action.BLOCK_PROVIDERS_REVEALED: gettext_lazy("Fick veta var spärrade uppgifter finns"),
    Action.RELATIONSHIP_ENDED: gettext_lazy("Avslutade en vårdrelation med dig"),
    Action.CONSENT_ENDED: gettext_lazy("Avslutade ditt samtycke"),
    Action.CONSENT_CANCELLED: gettext_lazy("Makulerade ditt samtycke"),
    Action.BLOCK_REFUSED: gettext_lazy("Avslog din begäran om spärr"),
    Action.BLOCK_LIFTED: gettext_lazy("Hävde din spärr"),
    Action.BLOCK_CANCELLED: gettext_lazy("Makulerade din spärr"),
    Action.EMERGENCY_ENDED: gettext_lazy("Avslutade en nödåtkomst till dina uppgifter"),
    Action.EMERGENCY_REVIEWED: gettext_lazy("Granskade en nödåtkomst till dina uppgifter"),
    Action.EMERGENCY_ESCALATED: gettext_lazy(
        "Skickade en ogranskad nödåtkomst till dina uppgifter vidare för granskning"
    ),
    Action.PROTECTION_CHANGED: gettext_lazy("Ändrade skyddet av dina personuppgifter"),
    Action.REGISTER_EVENT_APPLIED: gettext_lazy(
        "Förde in en uppgift om dig från folkbokföringen (dödsfall, adress eller skydd)"
    ),
    Action.REGISTER_EVENT_REPEATED: gettext_lazy(
        "Tog emot en uppgift om dig från folkbokföringen som redan var införd"
    ),
    Action.PROTECTED_STAFF_NAMED: gettext_lazy(
        "Gav en medarbetare tillgång till dina skyddade uppgifter"
    ),
    Action.PROTECTED_STAFF_REMOVED: gettext_lazy(
        "Tog bort en medarbetares tillgång till dina skyddade uppgifter"
    ),
    Action.ORDER_PLACED: gettext_lazy("Beställde hjälpmedel till dig"),
    Action.ORDER_VIEWED: gettext_lazy("Läste en beställning av hjälpmedel till dig"),
    Action.ORDER_CANCELLED: gettext_lazy("Makulerade en beställning av hjälpmedel till dig"),
    Action.ORDER_LINE_CANCELLED: gettext_lazy(
        "Makulerade ett hjälpmedel i en beställning till dig"
    ),
    Action.ORDER_PICKED: gettext_lazy("Plockade fram ett hjälpmedel som du har beställt"),
    Action.BACKORDER_FILLED: gettext_lazy(
        "Reserverade ett hjälpmedel till dig som inte fanns i lager vid beställningen"
    ),
    Action.ORDER_DELIVERED: gettext_lazy("Registrerade att hjälpmedel levererades till dig"),
    Action.ORDER_DELIVERY_FAILED: gettext_lazy(
        "Registrerade att en leverans av hjälpmedel till dig inte kunde lämnas"
    ),
    Action.LOAN_STARTED: gettext_lazy("Registrerade att du lånar ett hjälpmedel"),
    Action.HOLDINGS_VIEWED: gettext_lazy("Läste vilka hjälpmedel du har"),
    Action.PICKUP_REGISTERED: gettext_lazy("Beställde hämtning av hjälpmedel hos dig"),
    Action.PICKUP_COLLECTED: gettext_lazy("Registrerade att hjälpmedel hämtades hos dig"),
    Action.PICKUP_RECEIVED: gettext_lazy("Tog emot ett hjälpmedel som du har lämnat tillbaka"),
    Action.PICKUP_CANCELLED: gettext_lazy("Makulerade en hämtning av hjälpmedel hos dig"),
    Action.PICKUP_VIEWED: gettext_lazy("Läste en hämtorder om hjälpmedel hos dig"),
    Action.PICKUP_PROPOSED: gettext_lazy(
        "Föreslog att hjälpmedel hämtas och meddelade enheten som lånat ut dem"
    ),
    Action.LOSS_REPORTED: gettext_lazy("Registrerade att ett hjälpmedel du lånat har förkommit"),
    Action.LOSS_FOUND: gettext_lazy("Registrerade att ett förkommet hjälpmedel har återfunnits"),
    Action.WORKORDER_CREATED: gettext_lazy("Registrerade en arbetsorder på ditt hjälpmedel"),
    Action.WORKORDER_CHANGED: gettext_lazy("Ändrade en arbetsorder på ditt hjälpmedel"),
    Action.WORKORDER_VIEWED: gettext_lazy("Läste en arbetsorder på ditt hjälpmedel"),
    Action.WORKORDER_REPORTED: gettext_lazy("Skrev en teknikerrapport om ditt hjälpmedel"),
    Action.WORKORDER_APPROVED: gettext_lazy(
        "Godkände kostnaden för en anpassning av ditt hjälpmedel"
    ),
    Action.WORKORDER_PART_USED: gettext_lazy("Använde en reservdel till ditt hjälpmedel"),
    Action.WORKORDER_ATTACHMENT_ADDED: gettext_lazy(
        "Bifogade ett foto eller dokument om ditt hjälpmedel"
    ),
    Action.WORKORDER_ATTACHMENT_VIEWED: gettext_lazy(
        "Läste ett foto eller dokument om ditt hjälpmedel"
    ),
    Action.WORKORDER_LETTER_PRINTED: gettext_lazy("Skrev ut en kallelse till besiktning till dig"),
    Action.INSPECTION_RECORDED: gettext_lazy("Registrerade en besiktning av ditt hjälpmedel"),
    Action.INSPECTION_REMINDED: gettext_lazy(
        "Påminde din enhet om en besiktning av ditt hjälpmedel"
    ),
    Action.CONDITION_RECORDED: gettext_lazy(
        "Registrerade skicket på ett hjälpmedel som hämtats hos dig"
    ),
    Action.CONDITION_PHOTO_VIEWED: gettext_lazy(
        "Såg ett foto av ett hjälpmedel som hämtats hos dig"
    ),
    Action.RESERVATION_CREATED: gettext_lazy("Reserverade ett hjälpmedel åt dig"),
    Action.RESERVATION_CANCELLED: gettext_lazy("Avbröt en reservation av ett hjälpmedel åt dig"),
    Action.RESERVATION_EXPIRED: gettext_lazy("En reservation av ett hjälpmedel åt dig gick ut"),
    Action.RESERVATION_USED: gettext_lazy("Lämnade ut ett hjälpmedel som reserverats åt dig"),
    Action.RETURN_LETTER_PRINTED: gettext_lazy(
        "Skrev ut ett brev till dig om att lämna tillbaka hjälpmedel"
    ),
    Action.AUDIT_SEARCHED: gettext_lazy("Sökte i loggen efter händelser om dig"),
    Action.AUDIT_ENTRY_VIEWED: gettext_lazy("Läste en logghändelse om dig"),
    Action.EXTRACT_REQUESTED: gettext_lazy("Registrerade en begäran om loggutdrag om dig"),
    Action.EXTRACT_PRODUCED: gettext_lazy("Tog fram ett loggutdrag om dig"),
    Action.EXTRACT_DELIVERED: gettext_lazy("Registrerade att ett loggutdrag om dig lämnades ut"),
}


def extract_produce(*, actor: Actor, request: LogExtractRequest, fmt: str) -> tuple[bytes, str]:
    """The extract as a PDF or CSV; producing it is recorded and stamps the request (R82)."""
    if fmt not in {"pdf", "csv"}:
        raise Http404
    rows = extract_rows(request)
    from lyfta.logreview import extract_render

    assert actor.user is not None  # noqa: S101
    content = (
        extract_render.pdf(request, rows, produced_by=actor.user.display_name)
        if fmt == "pdf"
        else extract_render.csv_bytes(request, rows)
    )
    with transaction.atomic():
        LogExtractRequest.objects.filter(pk=request.pk).update(
            produced_at=timezone.now(), produced_by=actor.user
        )
        record(
            action=Action.EXTRACT_PRODUCED,
            actor=actor,
            target=request,
            patient_id=request.patient_id,
            detail={"format": fmt, "rows": len(rows), "names": any(r.staff for r in rows)},
        )
    return content, "application/pdf" if fmt == "pdf" else "text/csv; charset=utf-8"


def extract_delivered(*, actor: Actor, request: LogExtractRequest, delivered_at: dt.date) -> None:
    if request.produced_at is None:
        raise ValidationError(_("Ta fram utdraget innan det markeras som lämnat."))
    if delivered_at > timezone.localdate():
        raise ValidationError(_("Datumet då utdraget lämnades kan inte ligga i framtiden."))
    if delivered_at < request.requested_at:
        raise ValidationError(_("Utdraget kan inte ha lämnats före begäran."))
    with transaction.atomic():
        LogExtractRequest.objects.filter(pk=request.pk).update(delivered_at=delivered_at)
        record(
            action=Action.EXTRACT_DELIVERED,
            actor=actor,
            target=request,
            patient_id=request.patient_id,
            detail={"delivered_at": delivered_at, "late": delivered_at > request.due_at},
        )


# --- The chart on the review pages ------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    accesses: int
    flagged: int


def accesses_per_day(
    *, actor: Actor, unit: Unit | None, period_from: dt.date, period_until: dt.date
) -> list[DayCount]:
    """Accesses per day for a unit (or the whole provider) and how many the targeted checks
    "need", "emergency", "protected" and "cross_provider" flag (an access flagged by several
    counts once), over the sealed log.

    Read from the per-day summary kept by the sealer (daily.py: at most one row a day), plus the
    one flag that cannot be summarised when sealed: accesses to patients who have protected
    identity now (it is registered and lifted after the fact). Those are counted here from the
    protected patients' own index entries in the period (audit_patient_time), never from the
    provider's whole log: a reviewer's page costs the same at national size as at a small one."""
    provider = _provider(actor)
    start, end = _window(period_from, period_until)
    summary = AuditDayCount.objects.filter(
        provider_id=provider.pk,
        unit_id=unit.pk if unit is not None else daily.ALL_UNITS,
        day__gte=period_from,
        day__lte=period_until,
    ).values_list("day", "accesses", "flagged")
    totals: dict[dt.date, int] = {}
    flagged: dict[dt.date, int] = {}
    for day, accesses, flags in summary:
        totals[day] = accesses
        flagged[day] = flags
    protected = list(Patient.objects.exclude(protection="").order_by().values_list("pk", flat=True))
    if protected:
        events = _filtered(actor, SearchParams(period_from, period_until, unit=unit)).filter(
            action__in=ACCESS_ACTIONS,
            patient_id__in=protected,
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        extra = (
            events.filter(
                Exists(
                    AuditSeal.objects.filter(
                        event_id=OuterRef("id"), occurred_at=OuterRef("occurred_at")
                    )
                )
            )
            .annotate(day=TruncDate("occurred_at", tzinfo=daily.local_zone()))
            .values("day")
            .annotate(n=Count("id"), counted=Count("id", filter=daily.INTRINSIC))
            .order_by()
            .values_list("day", "n", "counted")
        )
        for day, n, counted in extra:
            # Those the summary already counts as flagged by the event itself count once.
            flagged[day] = flagged.get(day, 0) + n - counted
    days = []
    day = period_from
    while day <= period_until:
        days.append(DayCount(day, totals.get(day, 0), flagged.get(day, 0)))
        day += dt.timedelta(days=1)
    return days
