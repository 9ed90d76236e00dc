"""What the run pages read (issue 14 points 4 and 6): the runs, a run's totals per customer and
cost centre, its differences against the last locked run, the billed-lines search and the
unbilled-loans report. Lines and loans only through the access layer (lyfta.access.rows); the
economy role sees devices, units and amounts, never who holds them (R34)."""

from __future__ import annotations

import calendar
import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.policies import can, require
from lyfta.access.roles import Cap, Purpose
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.billing.models import BillingLine, BillingRun, Customer
from lyfta.core.paging import Keyset, keyset

DIFFERENCES_SHOWN = 100
LINES_SHOWN = 200


def may_view(actor: Actor) -> bool:
    return can(actor, Cap.BILLING_VIEW)


def may_manage(actor: Actor) -> bool:
    return can(actor, Cap.BILLING_MANAGE)


def runs_list(actor: Actor) -> QuerySet[BillingRun]:
    del actor
    return BillingRun.objects.select_related("created_by", "approved_by").order_by("-month", "-pk")


def run_of(actor: Actor, pk: int) -> BillingRun | None:
    del actor
    return (
        BillingRun.objects.select_related("created_by", "approved_by", "price_list")
        .filter(pk=pk)
        .first()
    )


def runs_after(actor: Actor, after: int, size: int) -> Keyset[BillingRun]:
    """The runs with an id above `after`, ascending: the API's pages (the economy role's)."""
    require(actor, Cap.BILLING_VIEW)
    return keyset(BillingRun.objects.all(), after, size)


def customers() -> QuerySet[Customer]:
    return Customer.objects.select_related("provider").order_by("customer_number")


@dataclass
class CentreTotal:
    code: str
    name: str
    lines: int
    amount: Decimal


@dataclass
class CustomerTotal:
    customer_id: int
    number: str
    name: str
    lines: int = 0
    amount: Decimal = Decimal(0)
    centres: list[CentreTotal] = field(default_factory=list)


def run_totals(actor: Actor, run: BillingRun) -> list[CustomerTotal]:
    """The run's totals per customer and, under each, per cost centre."""
    grouped = (
        rows.billing_lines_for(actor)
        .filter(run=run)
        .values(
            "customer_id",
            "customer__customer_number",
            "customer__provider__name",
            "cost_centre__code",
            "cost_centre__name",
        )
        .annotate(n=Count("pk"), s=Sum("amount"))
        .order_by("customer__customer_number", "cost_centre__code")
    )
    out: dict[int, CustomerTotal] = {}
    for row in grouped:
        total = out.setdefault(
            row["customer_id"],
            CustomerTotal(
                row["customer_id"],
                row["customer__customer_number"],
                row["customer__provider__name"],
            ),
        )
        amount = row["s"] or Decimal(0)
        total.lines += row["n"]
        total.amount += amount
        total.centres.append(
            CentreTotal(
                row["cost_centre__code"] or "",
                row["cost_centre__name"] or _("Inget kostnadsställe"),
                row["n"],
                amount,
            )
        )
    return list(out.values())


def previous_locked(run: BillingRun) -> BillingRun | None:
    """The last locked run of an earlier month: what the preview is compared with."""
    return (
        BillingRun.objects.filter(status=BillingRun.Status.LOCKED, month__lt=run.month)
        .order_by("-month")
        .first()
    )


@dataclass
class CustomerDifference:
    number: str
    name: str
    before: Decimal
    now: Decimal

    @property
    def change(self) -> Decimal:
        return self.now - self.before


@dataclass
class LoanDifference:
    loan_id: int
    article: str
    item: str
    before: Decimal
    now: Decimal
    reasons: list[str]

    @property
    def change(self) -> Decimal:
        return self.now - self.before


@dataclass
class Differences:
    previous: BillingRun | None
    customers: list[CustomerDifference]
    loans: list[LoanDifference]
    loans_changed: int


@dataclass
class _LoanMonth:
    amount: Decimal = Decimal(0)
    days: int = 0
    month_days: int = 0
    customers: set[int] = field(default_factory=set)
    prices: set[Decimal] = field(default_factory=set)
    explanations: list[str] = field(default_factory=list)
    article: str = ""
    item: str = ""


def _loan_months(actor: Actor, run: BillingRun) -> Iterator[tuple[int, _LoanMonth]]:
    """Per loan (in loan order) what the run bills for it: amount, days, payers, prices."""
    lines = (
        rows.billing_lines_for(actor)
        .filter(run=run, loan_id__isnull=False, corrects__isnull=True)
        .order_by("loan_id", "period_from", "pk")
        .values_list(
            "loan_id",
            "kind",
            "amount",
            "period_from",
            "period_until",
            "customer_id",
            "unit_price",
            "explanation",
            "article__article_number",
            "item__individual_number",
        )
    )
    current: tuple[int, _LoanMonth] | None = None
    for (
        loan,
        kind,
        amount,
        start,
        until,
        customer,
        price,
        explanation,
        article,
        item,
    ) in lines.iterator(chunk_size=5000):
        if current is None or current[0] != loan:
            if current is not None:
                yield current
            current = (loan, _LoanMonth(article=article or "", item=item or ""))
        month = current[1]
        month.amount += amount
        if kind == BillingLine.Kind.RENT:
            month.days += (until - start).days + 1
            month.month_days = calendar.monthrange(start.year, start.month)[1]
        month.customers.add(customer)
        month.prices.add(price)
        if explanation not in month.explanations:
            month.explanations.append(explanation)
    if current is not None:
        yield current


def _reasons(before: _LoanMonth | None, now: _LoanMonth | None) -> list[str]:
    if before is None:
        return [_("Nytt lån")]
    if now is None:
        return [_("Avslutat lån (ingen debitering denna månad)")]
    reasons: list[str] = []
    if before.customers != now.customers:
        reasons.append(_("Betalaren ändrad: %(why)s") % {"why": " / ".join(now.explanations)})
    if before.prices != now.prices:
        reasons.append(
            _("Priset ändrat: %(before)s → %(now)s kr")
            % {
                "before": ", ".join(f"{p:.2f}" for p in sorted(before.prices)),
                "now": ", ".join(f"{p:.2f}" for p in sorted(now.prices)),
            }
        )
    full_before = before.days == before.month_days
    full_now = now.days == now.month_days
    if (
        (before.days or now.days)
        and (full_before != full_now or not full_now)
        and (before.days * (now.month_days or 1) != now.days * (before.month_days or 1))
    ):
        reasons.append(
            _("Dagar ändrade: %(b)s av %(bm)s → %(n)s av %(nm)s")
            % {"b": before.days, "bm": before.month_days, "n": now.days, "nm": now.month_days}
        )
    if not reasons and before.amount != now.amount:
        reasons.append(_("Beloppet ändrat"))
    return reasons


def differences(actor: Actor, run: BillingRun, *, limit: int = DIFFERENCES_SHOWN) -> Differences:
    """The run against the last locked run: totals per customer, and per loan what changed and
    why (new loan, ended loan, payer changed with the rule's words, price changed, days changed).
    Both runs are streamed in loan order and merged, so memory holds one loan at a time."""
    previous = previous_locked(run)
    totals_now = {t.customer_id: t for t in run_totals(actor, run)}
    totals_before = {t.customer_id: t for t in run_totals(actor, previous)} if previous else {}
    customer_rows = [
        CustomerDifference(
            (totals_now.get(pk) or totals_before[pk]).number,
            (totals_now.get(pk) or totals_before[pk]).name,
            totals_before[pk].amount if pk in totals_before else Decimal(0),
            totals_now[pk].amount if pk in totals_now else Decimal(0),
        )
        for pk in sorted(
            totals_now.keys() | totals_before.keys(),
            key=lambda pk: (totals_now.get(pk) or totals_before[pk]).number,
        )
    ]
    if previous is None:
        return Differences(None, customer_rows, [], 0)
    shown: list[LoanDifference] = []
    changed = 0
    merged = heapq.merge(
        ((loan, 0, month) for loan, month in _loan_months(actor, previous)),
        ((loan, 1, month) for loan, month in _loan_months(actor, run)),
        key=lambda entry: (entry[0], entry[1]),
    )
    for loan, entries in groupby(merged, key=lambda entry: entry[0]):
        months: dict[int, _LoanMonth] = {side: month for _loan, side, month in entries}
        was, is_now = months.get(0), months.get(1)
        reasons = _reasons(was, is_now)
        if not reasons:
            continue
        changed += 1
        some = is_now or was
        if len(shown) < limit and some is not None:
            shown.append(
                LoanDifference(
                    loan,
                    some.article,
                    some.item,
                    was.amount if was else Decimal(0),
                    is_now.amount if is_now else Decimal(0),
                    reasons,
                )
            )
    return Differences(previous, customer_rows, shown, changed)


def run_lines(actor: Actor, run: BillingRun, *, corrections: bool = False) -> QuerySet[BillingLine]:
    lines = rows.billing_lines_for(actor).filter(run=run)
    if corrections:
        lines = lines.filter(corrects__isnull=False)
    return lines.select_related("customer", "cost_centre", "article", "item").order_by("pk")


# --- The billed-lines search ---------------------------------------------------------------


@dataclass
class LineSearch:
    lines: list[BillingLine]
    count: int
    patient_searched: bool
    patient_found: bool


def search_lines(
    actor: Actor,
    *,
    customer: Customer | None = None,
    individual_number: str = "",
    identifier: str = "",
    run: BillingRun | None = None,
) -> LineSearch:
    """Billed lines by customer, device (individual number) or patient (a normalised identifier).
    A search by patient is a patient read with the administration purpose: it is recorded before
    any line is returned, found or not, and the lines never carry the name or the number."""
    found = rows.billing_lines_for(actor)
    patient_searched = bool(identifier)
    patient_found = False
    if identifier:
        patient_id, withheld = rows.billing_patient_id(actor, identifier)
        record(
            action=Action.BILLING_LINES_SEARCHED,
            actor=actor,
            purpose=Purpose.ADMINISTRATION,
            resource_type="billing.billingline",
            patient_id=patient_id,
            detail={"found": patient_id is not None and not withheld, "withheld": withheld},
        )
        if patient_id is None or withheld:
            # Withheld, unknown, or no lines: one answer, so that the search does not tell
            # whether a number is a patient's (nor a protected or blocked one).
            return LineSearch([], 0, True, False)
        patient_found = True
        found = found.filter(patient_id=patient_id)
    if customer is not None:
        found = found.filter(customer=customer)
    if individual_number:
        found = found.filter(item__individual_number=individual_number)
    if run is not None:
        found = found.filter(run=run)
    if not (identifier or customer or individual_number or run):
        return LineSearch([], 0, False, False)
    found = found.select_related("run", "customer", "cost_centre", "article", "item", "unit")
    ordered = found.order_by("-run__month", "pk")
    return LineSearch(list(ordered[:LINES_SHOWN]), found.count(), patient_searched, patient_found)


# --- Unbilled loans ------------------------------------------------------------------------


@dataclass
class Unbilled:
    no_payer: list[Any]
    no_payer_count: int
    past_stop: list[Any]
    past_stop_count: int


def unbilled(actor: Actor, *, today: dt.date | None = None, limit: int = LINES_SHOWN) -> Unbilled:
    """Open loans no customer can be billed for (the prescribing unit's care provider is not a
    customer: with no rule pointing at a customer, the payer cannot be derived), and loans still
    open after their rent stopped (the device not collected)."""
    today = today or timezone.localdate()
    loans = rows.billing_unbilled_loans(actor).filter(ended_on__isnull=True)
    columns = (
        "pk",
        "started_on",
        "rent_stop_on",
        "billing_type",
        "article__article_number",
        "article__name",
        "item__individual_number",
        "unit__name",
        "unit__provider__name",
    )
    no_payer = loans.filter(unit__provider__customer__isnull=True)
    past = loans.filter(Q(rent_stop_on__lt=today))
    return Unbilled(
        list(no_payer.order_by("pk").values(*columns)[:limit]),
        no_payer.count(),
        [
            {**row, "days_past": (today - row["rent_stop_on"]).days}
            for row in past.order_by("rent_stop_on", "pk").values(*columns)[:limit]
        ],
        past.count(),
    )
