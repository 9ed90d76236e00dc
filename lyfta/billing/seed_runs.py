"""The demo's locked run for last month (issue 14 point 7): computed from the demo's loans, fees,
work and losses with the seeded price list and payer rules, and approved and locked by the
economy demo user (karin.ekonomi) through the services, as she would from the page.

Call after the customers, price list and payer rules are seeded (lyfta.billing.seed):
`seed_locked_run(actor)`. Idempotent: a month already locked is left as it is."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.accounts.models import Assignment, User
from lyfta.billing.models import BillingRun, Customer, PriceList
from lyfta.billing.services.run import approve_run, compute_run, month_start, start_run

ECONOMIST = "karin.ekonomi"


def _economist(username: str) -> Actor | None:
    user = User.objects.filter(username=username).first()
    if user is None:
        return None
    assignment = (
        Assignment.objects.filter(user=user, ended_at__isnull=True, role="billing")
        .order_by("pk")
        .first()
    )
    return Actor(user=user, assignment=assignment) if assignment is not None else None


def seed_locked_run(
    actor: Actor | None = None, *, today: dt.date | None = None, username: str = ECONOMIST
) -> BillingRun | None:
    """Compute last month's run and lock it as the economy demo user. `actor` (the seeding
    system actor) is not the approver: an approval names a person. Returns the locked run, or
    None when there is nothing to bill with (no customers or no price list) or no such user."""
    del actor
    from lyfta.inventory.models import Counter

    if Counter.objects.filter(name__startswith="scale:").exists():
        return None  # bench data (bench/scale.py): the billing bench runs its own months
    economist = _economist(username)
    if economist is None or not Customer.objects.exists() or not PriceList.objects.exists():
        return None
    today = today or timezone.localdate()
    month = month_start(month_start(today) - dt.timedelta(days=1))
    locked = BillingRun.objects.filter(month=month, status=BillingRun.Status.LOCKED).first()
    if locked is not None:
        return locked
    _history(month)
    run = start_run(actor=economist, month=month)
    compute_run(run.pk)
    run.refresh_from_db()
    return approve_run(actor=economist, run=run)


def _history(month: dt.date) -> None:
    """Give the demo's loans a history to bill: the seeding delivers them today, so each open
    loan delivered this month is moved back to a day of `month` (the 3rd, 6th, 9th …), with its
    order's delivery time; an item acquired later than that is acquired the day before. The
    stock ledger is append-only, so its delivery rows keep the day the seeding ran. The demo is
    synthetic: this only makes last month billable."""
    from lyfta.inventory.models import Item
    from lyfta.orders.models import Loan, Order
    from lyfta.workorders.seed import LOAN_NOTE

    first_this_month = month_start(timezone.localdate())
    recent = Loan.unscoped.filter(
        started_on__gte=first_this_month, order_line__order__note=LOAN_NOTE
    ).order_by("pk")
    tz = timezone.get_current_timezone()
    for index, loan in enumerate(recent.select_related("item", "order_line")):
        day = month + dt.timedelta(days=min(2 + 3 * index, 27))
        when = dt.datetime.combine(day, dt.time(10, 0), tz)
        Loan.unscoped.filter(pk=loan.pk).update(started_on=day)
        if loan.order_line is not None:
            Order.unscoped.filter(pk=loan.order_line.order_id).update(delivered_at=when)
        if loan.item is not None and loan.item.acquired_on >= day:
            Item.objects.filter(pk=loan.item.pk).update(acquired_on=day - dt.timedelta(days=1))


def seed(actor: Actor) -> None:
    """The demo seeding's hook (lyfta.home.management.commands.seed_demo)."""
    seed_locked_run(actor)
