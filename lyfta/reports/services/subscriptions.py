"""Scheduled reports (issue 17 point 5): a user orders a figure with its filters weekly or
monthly; when due, the background worker computes it as the user would see it now and delivers
it to the user's inbox in Lyfta (and by e-mail where one is configured) with a link to the page,
which checks access again when opened. A report is delivered only while the user's account and
the assignment it was ordered in are in force and still see statistics; otherwise it is ended."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import override

from lyfta.access.actor import Actor
from lyfta.access.statistics import may_see_statistics
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.core.replica import reading_replica
from lyfta.reports.figures import FIGURES
from lyfta.reports.models import PersonCount, Subscription

log = logging.getLogger("lyfta.reports")
# The filters a subscription keeps (the period is set anew at each delivery).
KEPT = ("grupp", "huvudman", "enhet", "omrade", "iso", "artikel", "leverantor", "slag")


def _month_add(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def next_delivery(frequency: str, after: dt.date) -> dt.date:
    """The next day a report is due after `after`: the next Monday (weekly) or the first of
    the next month (monthly)."""
    if frequency == Subscription.Frequency.WEEKLY:
        return after + dt.timedelta(days=7 - after.weekday())
    return _month_add(after.replace(day=1), 1)


def report_period(frequency: str, on: dt.date) -> tuple[dt.date, dt.date]:
    """The months a report delivered on `on` covers: a monthly report the twelve months up to
    the month just ended; a weekly one the twelve months up to the month under way."""
    last = (
        on.replace(day=1)
        if frequency == Subscription.Frequency.WEEKLY
        else _month_add(on.replace(day=1), -1)
    )
    return _month_add(last, -11), last


@transaction.atomic
def subscription_create(
    *, actor: Actor, figure: str, params: dict[str, str], frequency: str
) -> Subscription:
    """Order `figure` with `params` (the page's filters) every week or month."""
    if actor.user is None or actor.assignment is None or not may_see_statistics(actor):
        raise PermissionDenied
    if figure not in FIGURES or frequency not in Subscription.Frequency.values:
        raise ValueError(figure)
    kept = {k: str(v)[:40] for k, v in params.items() if k in KEPT and v not in ("", None)}
    today = timezone.localdate()
    subscription = Subscription(
        user=actor.user,
        assignment=actor.assignment,
        figure=figure,
        filters=kept,
        frequency=frequency,
        next_on=next_delivery(frequency, today),
        created_at=timezone.now(),
    )
    subscription.full_clean()
    subscription.save()
    record(
        action=Action.REPORT_SUBSCRIBED,
        actor=actor,
        target=subscription,
        detail={"figure": figure, "frequency": frequency, "filters": kept},
    )
    return subscription


@transaction.atomic
def subscription_end(*, actor: Actor, subscription_id: int) -> Subscription | None:
    """End one of the actor's own subscriptions (None when it is not theirs or already ended)."""
    found = (
        Subscription.objects.select_for_update()
        .filter(pk=subscription_id, user=actor.user, ended_at__isnull=True)
        .first()
    )
    if found is None:
        return None
    found.ended_at = timezone.now()
    found.save(update_fields=["ended_at"])
    record(action=Action.REPORT_SUBSCRIPTION_ENDED, actor=actor, target=found)
    return found


def _still_allowed(subscription: Subscription, today: dt.date) -> Actor | None:
    user, assignment = subscription.user, subscription.assignment
    if not user.account_valid_on(today):
        return None
    if assignment.user_id != user.pk or not (
        assignment.valid_from <= today <= assignment.valid_until
        and assignment.ended_at is None
        and assignment.suspended_at is None
    ):
        return None
    owner = Actor(user=user, assignment=assignment)
    return owner if may_see_statistics(owner) else None


def report_link(subscription: Subscription, first: dt.date, last: dt.date) -> str:
    params: dict[str, Any] = {**subscription.filters, "fran": f"{first:%Y-%m}",
                              "till": f"{last:%Y-%m}"}  # fmt: skip
    return f"{reverse('reports:figure', args=[subscription.figure])}?{urlencode(params)}"


def subscription_deliver(*, subscription_id: int, today: dt.date | None = None) -> bool:
    """Produce and deliver one due report (the background worker's task). False when it was
    not due or its owner may no longer see statistics (then it is ended, and recorded)."""
    from lyfta.messages.services import messages_send
    from lyfta.reports import selectors

    today = today or timezone.localdate()
    with transaction.atomic():
        found = (
            Subscription.objects.select_for_update()
            .select_related("user", "assignment")
            .filter(pk=subscription_id, ended_at__isnull=True, next_on__lte=today)
            .first()
        )
        if found is None:
            return False
        owner = _still_allowed(found, today)
        system = Actor.system("scheduled-reports")
        if owner is None:
            found.ended_at = timezone.now()
            found.save(update_fields=["ended_at"])
            record(
                action=Action.REPORT_SUBSCRIPTION_ENDED, actor=system, target=found,
                detail={"reason": "no_longer_allowed"},
            )  # fmt: skip
            return False
        figure = FIGURES[found.figure]
        first, last = report_period(found.frequency, today)
        filters = selectors.Filters(
            first=first,
            last=last,
            group=found.filters.get("grupp", ""),
            area=found.filters.get("omrade", ""),
            iso=found.filters.get("iso", ""),
            kind=found.filters.get("slag", "") or PersonCount.Kind.ON_LOAN,
            **_ids(found.filters, owner),
        )
        link = report_link(found, first, last)
        with override(settings.LANGUAGE_CODE):
            subject = _("Rapport: %(figure)s, %(first)s–%(last)s") % {
                "figure": figure.title,
                "first": f"{first:%Y-%m}",
                "last": f"{last:%Y-%m}",
            }
            body = _summary(owner, figure, filters)
        messages_send(recipients=[found.user], kind="notice", subject=subject, body=body,
                      link=link)  # fmt: skip
        found.last_sent_at = timezone.now()
        found.next_on = next_delivery(found.frequency, today)
        found.save(update_fields=["last_sent_at", "next_on"])
        record(
            action=Action.REPORT_DELIVERED, actor=system, target=found,
            detail={"figure": found.figure, "first": f"{first:%Y-%m}", "last": f"{last:%Y-%m}"},
        )  # fmt: skip
        email = found.user.email
    if email:
        try:
            send_mail(subject, f"{body}\n\n{settings.LYFTA_BASE_URL}{link}",
                      None, [email], fail_silently=False)  # fmt: skip
        except Exception:  # the inbox has it; a mail server's trouble must not undo that
            log.exception("report %s: e-mail not sent", subscription_id)
    return True


def _ids(filters: dict[str, str], owner: Actor) -> dict[str, Any]:
    from lyfta.access.statistics import statistics_scope
    from lyfta.catalogue.models import Article

    out: dict[str, Any] = {}
    scope = statistics_scope(owner)
    for key, name in (("huvudman", "provider"), ("enhet", "unit"), ("leverantor", "supplier")):
        value = filters.get(key, "")
        out[name] = int(value) if value.isdigit() else None
    if out["provider"] is not None and not scope.allows(out["provider"]):
        out["provider"] = -1  # outside the scope now: nothing is shown
    if out["unit"] is not None:
        from lyfta.organisations.models import Unit

        provider = Unit.objects.filter(pk=out["unit"]).values_list("provider_id", flat=True).first()
        if not scope.allows(provider):
            out["unit"] = -1
    number = filters.get("artikel", "")
    out["article_number"] = number
    out["article"] = (
        Article.objects.filter(article_number=number).values_list("pk", flat=True).first()
        if number
        else None
    )
    return out


def _summary(owner: Actor, figure: Any, filters: Any) -> str:
    """The report's text: the figure's totals (aggregates only, never a patient)."""
    from lyfta.reports import selectors

    lines = [str(figure.title), str(figure.definition), ""]
    if figure.kind == "facts":
        # The summary tables from a replica where there is one (decision 0022); a lagging one
        # is said in the report, as on the page.
        with reading_replica(*selectors.REPLICA_TABLES) as read:
            table = selectors.figure_table(owner, figure, filters)
        if read is not None and read.lagging:
            lines.append(read.notice)
        if figure.stock:
            # A stock is counted on a day, not summed over the period.
            month = formats.date_format(filters.last, "F Y")
            lines.append(_("Räknat vid slutet av %(month)s.") % {"month": month})
        for label, value, kind in zip(table.columns, table.total.values, table.kinds, strict=True):
            lines.append(f"{label}: {format_value(value, kind)}")
    else:
        lines.append(_("Öppna länken för att se tabellen."))
    return "\n".join(lines)


def format_value(value: float | int | None, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "int":
        return formats.number_format(int(value), force_grouping=True)
    if kind == "pct":
        return f"{formats.number_format(value, decimal_pos=1)} %"
    if kind == "money":
        return f"{formats.number_format(value, decimal_pos=2, force_grouping=True)} kr"
    return formats.number_format(value, decimal_pos=1)
