"""The monthly billing run (issue 14 point 4): what a span of days costs, line by line.

`compute_range(start, until)` streams the billing lines of any span of days; a month's run is
the span from its first to its last day. The rules, in words:

- **Rent** (billing type rent) for every day from the later of the loan's start and the span's
  start through the earliest of the rent stop day (`rent_stop_on`, three working days after the
  pick-up order, DOMAIN.md §3.6), the loan's end and the span's end; both ends count. A loan
  registered by mistake (end reason "cancelled") is never billed. The days are split per payer
  (`PayerBook.segments`: a move changes the payer from that day), per calendar month and per price
  list, so that **no line crosses a month or a price list**: billing two months together gives
  exactly the lines of billing them one by one.
  - *per day* (the price list's rent rule): monthly rent × quantity × days ÷ days in the month,
    rounded to öre per line.
  - *per month* ("per påbörjad månad"): every calendar month with at least one rent day costs the
    full monthly rent once, billed to the payer of the month's first rent day at the price in
    force that day (a move later in the month moves the next month's rent, not this one's).
  The monthly rent is the price list's rent for the article's price group, else the article's own
  monthly rent; with neither, nothing is billed and the unbilled report shows the loan.
- **Sales** (sale, sale with return): the price list's sale price for the article number (else
  the article's price) × quantity, on the delivery day (the loan's start), to that day's payer.
- **Fees** on delivered orders, on the delivery day, to the order's payer unit: the delivery fee
  where the price list has one, the urgent fee where the order is marked for it; and one
  failed-delivery fee per failed delivery attempt whose decision says fee, on the planned day.
- **Work outside the rent**: work orders marked billable (`WorkOrder.billable`) and done in the
  span: the time at the price list's hourly rate and each part at the list's part price for its
  article number, to the work order's unit. Work orders not marked billable cost nothing.
- **Losses charged by decision**: a loss report whose decision charges the unit, with a residual
  value, on the day it was reported, to the loan's prescribing unit — unless the device was found
  again before the run. A charge to the patient is not invoiced to a customer (the centre does not
  invoice patients from Lyfta) and is left out.

The engine streams: loans are read in key order by pages of `CHUNK` over `Loan.unscoped`
(values only), the patients' housing of one page in one query, and lines are written with
`bulk_create` in batches; memory holds one page and one batch. Everything it reads is recorded
fact (loans, orders, work orders, loss reports, housing, price lists, payer rules), so a locked
run recomputes to the same lines (`verify_billing`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.billing.models import (
    BillingLine,
    BillingRun,
    Customer,
    PatientHousing,
    Price,
    RentRule,
)
from lyfta.billing.selectors import invoices
from lyfta.billing.services.payers import (
    HousingPeriod,
    LoanFacts,
    PayerBook,
    PayerDecision,
    Segment,
)
from lyfta.billing.services.prices import PriceBook, days_in_month, money

ONE_DAY = dt.timedelta(days=1)
CHUNK = 5000
BATCH = 2000
ZERO = Decimal("0.00")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Draft:
    """One computed line before it is written (and the canonical form its digest is made of)."""

    kind: str
    customer_id: int
    cost_centre_id: int | None
    unit_id: int | None
    patient_id: int | None
    loan_id: int | None
    item_id: int | None
    article_id: int | None
    order_id: int | None
    work_order_id: int | None
    rule_id: int | None
    period_from: dt.date
    period_until: dt.date
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    text: str
    explanation: str

    def canonical(self) -> str:
        # Amounts are quantized to öre (str gives "310.00"), dates print as ISO.
        return "\x1f".join(["" if value is None else str(value) for value in _values(self)])

    def model(self, run_id: int) -> BillingLine:
        return BillingLine(run_id=run_id, **self.__dict__)


DRAFT_FIELDS = tuple(Draft.__dataclass_fields__)
_values = attrgetter(*DRAFT_FIELDS)


def draft_of(line: BillingLine | dict[str, Any]) -> Draft:
    """The canonical draft of a stored line (a model or a `values()` row)."""
    get = line.get if isinstance(line, dict) else (lambda name: getattr(line, name))
    values: dict[str, Any] = {name: get(name) for name in DRAFT_FIELDS}
    for name in ("quantity", "unit_price", "amount"):
        values[name] = Decimal(values[name]).quantize(Decimal("0.01"))
    return Draft(**values)


class Digest:
    """An order-free digest of a multiset of lines: sha-256 of the count and the sum (mod 2²⁵⁶)
    of each line's sha-256. Lines may be written and read back in any order."""

    MOD = 1 << 256

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, draft: Draft) -> None:
        self.count += 1
        line_hash = hashlib.sha256(draft.canonical().encode()).digest()
        self.total = (self.total + int.from_bytes(line_hash, "big")) % self.MOD

    def hexdigest(self) -> str:
        body = f"{self.count}:{self.total:064x}".encode()
        return hashlib.sha256(body).hexdigest()


# --- What the engine reads once ----------------------------------------------------------------


@dataclass(frozen=True)
class ArticleInfo:
    number: str
    price_group: str
    monthly_rent: Decimal | None
    price: Decimal | None
    cost_class: str
    responsibility_class: int | None
    iso_code: str
    name: str


@dataclass
class Books:
    payers: PayerBook
    prices: PriceBook
    articles: dict[int, ArticleInfo]
    units: dict[int, tuple[int, str]]  # unit id → (provider id, kind)
    uses_age: bool

    @classmethod
    def load(cls) -> Books:
        from lyfta.catalogue.models import Article
        from lyfta.organisations.models import Unit

        payers = PayerBook.load()
        articles = {
            row[0]: ArticleInfo(
                number=row[1],
                price_group=row[2] or "",
                monthly_rent=row[3],
                price=row[4],
                cost_class=row[5] or "",
                responsibility_class=row[6],
                iso_code=row[7] or "",
                name=row[8],
            )
            for row in Article.objects.values_list(
                "pk",
                "article_number",
                "price_group",
                "monthly_rent",
                "price",
                "cost_class",
                "responsibility_class",
                "iso_class__code",
                "name",
            ).iterator(chunk_size=CHUNK)
        }
        units = {
            pk: (provider, kind)
            for pk, provider, kind in Unit.objects.values_list("pk", "provider_id", "kind")
        }
        uses_age = any(r.age_from is not None or r.age_until is not None for r in payers.rules)
        return cls(payers, PriceBook.load(), articles, units, uses_age)

    def unit_decision(self, unit_id: int, day: dt.date) -> PayerDecision | None:
        """The unit as payer (fees, work, losses): its provider's customer and its cost centre."""
        provider = self.units.get(unit_id, (None, ""))[0]
        customer = self.payers.customer_of_provider.get(provider) if provider else None
        if customer is None:
            return None
        centre = self.payers.unit_cost_centre(unit_id, day)
        if centre is None:
            centre = self.payers.default_cost_centre.get(customer)
        return PayerDecision(customer, centre, None, _("betalare: beställande enhet"))


def born_of(identifier: str) -> dt.date | None:
    """The birth date in a personnummer, samordningsnummer or reservnummer (12 digits)."""
    try:
        year, month, day = int(identifier[:4]), int(identifier[4:6]), int(identifier[6:8])
        if day > 60:
            day -= 60
        return dt.date(year, month, day)
    except (ValueError, IndexError):
        return None


# --- The spans --------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=days_in_month(day))


def _cuts(start: dt.date, until: dt.date, prices: PriceBook) -> list[tuple[dt.date, dt.date]]:
    """[start, until] cut at every month start and every price list's start."""
    edges = {start}
    day = month_start(start)
    while True:
        day = month_end(day) + ONE_DAY
        if day > until:
            break
        edges.add(day)
    edges.update(prices.change_days(start, until))
    ordered = sorted(edges)
    return [
        (edge, ordered[i + 1] - ONE_DAY if i + 1 < len(ordered) else until)
        for i, edge in enumerate(ordered)
    ]


def _fmt(day: dt.date) -> str:
    return day.isoformat()


class Engine:
    """Computes lines for a span of days. One engine per run (it memoises payer segments)."""

    def __init__(self, books: Books, start: dt.date, until: dt.date) -> None:
        self.books = books
        self.start = start
        self.until = until
        self._segments: dict[tuple[Any, ...], list[Segment]] = {}
        self._cuts: dict[tuple[dt.date, dt.date], list[Piece]] = {}
        self._rents: dict[tuple[int, int | None], tuple[Decimal | None, str]] = {}
        self.text: dict[str, str] = {}

    def _texts(self) -> None:
        """The words of the lines, translated once per run (not once per line)."""
        self.text = {
            "group": _("prisgrupp %(group)s"),
            "article_rent": _("artikelns månadshyra"),
            "month": _("Hyra %(month)s (påbörjad månad)"),
            "days": _("Hyra %(from)s–%(until)s (%(days)s av %(month_days)s dagar)"),
        }

    def cuts(self, first: dt.date, last: dt.date) -> list[Piece]:
        """[first, last] cut per month and price list, each piece with its list and rule."""
        key = (first, last)
        found = self._cuts.get(key)
        if found is None:
            found = []
            for a, b in _cuts(first, last, self.books.prices):
                price_list = self.books.prices.list_on(a)
                rule = price_list.rent_rule if price_list is not None else RentRule.PER_DAY
                found.append(
                    Piece(a, b, price_list.pk if price_list else None, rule, days_in_month(a))
                )
            self._cuts[key] = found
        return found

    # --- rent ---------------------------------------------------------------------------------

    def segments(
        self, facts: LoanFacts, housing: tuple[HousingPeriod, ...], a: dt.date, b: dt.date
    ) -> list[Segment]:
        key = (
            facts.unit_id,
            facts.responsibility_class,
            facts.cost_class,
            facts.iso_code,
            facts.short_term,
            facts.born,
            housing,
            a,
            b,
        )
        found = self._segments.get(key)
        if found is None:
            if len(self._segments) > 200_000:
                self._segments.clear()
            found = self.books.payers.segments(facts, housing, a, b)
            self._segments[key] = found
        return found

    def monthly_rent(
        self, article_id: int, info: ArticleInfo, day: dt.date, list_id: int | None
    ) -> tuple[Decimal | None, str]:
        key = (article_id, list_id)
        found = self._rents.get(key)
        if found is None:
            price = None
            if info.price_group:
                price = self.books.prices.price(Price.Kind.RENT, info.price_group, day)
            if price is not None:
                found = (price, self.text["group"] % {"group": info.price_group})
            else:
                found = (info.monthly_rent, self.text["article_rent"])
            self._rents[key] = found
        return found

    def rent_lines(
        self, loan: LoanRow, facts: LoanFacts, housing: tuple[HousingPeriod, ...]
    ) -> Iterator[Draft]:
        info = self.books.articles[loan.article_id]
        first = max(loan.started_on, self.start)
        stops = [d for d in (loan.rent_stop_on, loan.ended_on) if d is not None]
        last = min([*stops, self.until])
        if last < first:
            return
        segs = self.segments(facts, housing, first, last)
        for piece in self.cuts(first, last):
            piece_from, piece_until = piece.start, piece.until
            if piece.rule == RentRule.PER_MONTH:
                # The month's rent once, at its first rent day, to that day's payer.
                if piece_from != first and piece_from.day != 1:
                    continue
                seg = next(s for s in segs if s.start <= piece_from <= s.until)
                rent, source = self.monthly_rent(loan.article_id, info, piece_from, piece.list_id)
                if rent is None:
                    continue
                amount = money(rent * loan.quantity)
                period_until = min(month_end(piece_from), last)
                text = self.text["month"] % {"month": piece_from.strftime("%Y-%m")}
                yield self._rent(
                    loan, info, seg.decision, piece_from, period_until, rent, amount, text, source
                )
                continue
            rent, source = self.monthly_rent(loan.article_id, info, piece_from, piece.list_id)
            if rent is None:
                continue
            for seg in segs:
                a = max(seg.start, piece_from)
                b = min(seg.until, piece_until)
                if b < a:
                    continue
                days = (b - a).days + 1
                amount = money(rent * loan.quantity * days / piece.month_days)
                text = self.text["days"] % {
                    "from": _fmt(a),
                    "until": _fmt(b),
                    "days": days,
                    "month_days": piece.month_days,
                }
                yield self._rent(loan, info, seg.decision, a, b, rent, amount, text, source)

    def _rent(
        self,
        loan: LoanRow,
        info: ArticleInfo,
        decision: PayerDecision,
        a: dt.date,
        b: dt.date,
        rent: Decimal,
        amount: Decimal,
        text: str,
        source: str,
    ) -> Draft:
        return _loan_line(
            BillingLine.Kind.RENT, loan, decision, a, b, rent, amount,
            f"{info.number} {text}", f"{decision.explanation}; {source}",
        )  # fmt: skip

    def sale_line(
        self, loan: LoanRow, facts: LoanFacts, housing: tuple[HousingPeriod, ...]
    ) -> Draft | None:
        day = loan.started_on
        if not (self.start <= day <= self.until):
            return None
        info = self.books.articles[loan.article_id]
        price = self.books.prices.price(Price.Kind.SALE, info.number, day)
        source = _("prislistans försäljningspris")
        if price is None:
            price, source = info.price, _("artikelns pris")
        if price is None:
            return None
        decision = self.segments(facts, housing, day, day)[0].decision
        text = _("%(number)s Försäljning, levererad %(day)s") % {
            "number": info.number,
            "day": _fmt(day),
        }
        return _loan_line(
            BillingLine.Kind.SALE, loan, decision, day, day, price,
            money(price * loan.quantity), text, f"{decision.explanation}; {source}",
        )  # fmt: skip

    # --- the loans, streamed -------------------------------------------------------------------

    def loans(self, progress: Progress | None = None) -> Iterator[Draft]:
        from lyfta.catalogue.models import BillingType
        from lyfta.orders.models import Loan

        base = (
            Loan.unscoped.filter(started_on__lte=self.until)
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=self.start))
            .exclude(end_reason=Loan.End.CANCELLED)
        )
        fields = [
            "pk",
            "patient_id",
            "article_id",
            "item_id",
            "unit_id",
            "quantity",
            "billing_type",
            "started_on",
            "expected_end",
            "rent_stop_on",
            "ended_on",
        ]
        if self.books.uses_age:
            fields.append("patient__identifier")
        last_pk = 0
        done = 0
        self._any_housing = PatientHousing.unscoped.exists()
        while True:
            rows = list(base.filter(pk__gt=last_pk).order_by("pk").values_list(*fields)[:CHUNK])
            if not rows:
                break
            first_pk, last_pk = last_pk, rows[-1][0]
            housing = self._housing(first_pk, last_pk) if self._any_housing else {}
            for row in rows:
                loan = LoanRow(*row[:11])
                provider, unit_kind = self.books.units[loan.unit_id]
                info = self.books.articles[loan.article_id]
                facts = LoanFacts(
                    loan_id=loan.pk,
                    patient_id=loan.patient_id,
                    unit_id=loan.unit_id,
                    unit_provider_id=provider,
                    unit_kind=unit_kind,
                    responsibility_class=info.responsibility_class,
                    cost_class=info.cost_class,
                    iso_code=info.iso_code,
                    short_term=loan.expected_end is not None,
                    born=born_of(row[11]) if self.books.uses_age else None,
                )
                periods = housing.get(loan.patient_id, ())
                try:
                    if loan.billing_type == BillingType.RENT:
                        yield from self.rent_lines(loan, facts, periods)
                    elif loan.billing_type in (BillingType.SALE, BillingType.SALE_RETURN):
                        sale = self.sale_line(loan, facts, periods)
                        if sale is not None:
                            yield sale
                except LookupError:
                    # No customer to bill (the unbilled report lists these loans).
                    continue
            done += len(rows)
            if progress is not None:
                progress(done)

    def _housing(self, after: int, through: int) -> dict[int, tuple[HousingPeriod, ...]]:
        """The housing periods of the patients of the loans after `after` through `through`
        (a subquery on the page's key range, not a list of thousands of ids)."""
        from lyfta.orders.models import Loan

        patients = Loan.unscoped.filter(pk__gt=after, pk__lte=through).values("patient_id")
        out: dict[int, list[HousingPeriod]] = {}
        for patient, start, housing, municipality in (
            PatientHousing.unscoped.filter(patient_id__in=patients)
            .order_by("patient_id", "valid_from")
            .values_list("patient_id", "valid_from", "housing", "municipality_id")
        ):
            out.setdefault(patient, []).append(HousingPeriod(start, housing, municipality))
        return {patient: tuple(periods) for patient, periods in out.items()}

    # --- fees, work, losses --------------------------------------------------------------------

    def _fee(
        self,
        fee: str,
        label: str,
        decision: PayerDecision,
        day: dt.date,
        *,
        unit_id: int,
        patient_id: int | None,
        order_id: int,
        number: str,
    ) -> Draft | None:
        amount = self.books.prices.price(Price.Kind.FEE, fee, day)
        if amount is None:
            return None
        return Draft(
            kind=BillingLine.Kind.FEE,
            customer_id=decision.customer_id,
            cost_centre_id=decision.cost_centre_id,
            unit_id=unit_id,
            patient_id=patient_id,
            loan_id=None,
            item_id=None,
            article_id=None,
            order_id=order_id,
            work_order_id=None,
            rule_id=None,
            period_from=day,
            period_until=day,
            quantity=Decimal("1.00"),
            unit_price=amount,
            amount=amount,
            text=(f"{label}, {_('order')} {number} {_fmt(day)}")[:200],
            explanation=decision.explanation[:300],
        )

    def fees(self) -> Iterator[Draft]:
        from lyfta.orders.models import DeliveryAttempt, Order

        low, high = _day_bounds(self.start, self.until)
        delivered = (
            Order.unscoped.filter(
                status=Order.Status.DELIVERED, delivered_at__gte=low, delivered_at__lt=high
            )
            .order_by("pk")
            .values_list("pk", "number", "payer_id", "patient_id", "delivered_at", "urgent_fee")
        )
        for pk, number, payer, patient, delivered_at, urgent in delivered.iterator(
            chunk_size=CHUNK
        ):
            day = timezone.localtime(delivered_at).date()
            decision = self.books.unit_decision(payer, day)
            if decision is None:
                continue
            for fee, wanted, label in (
                (Price.Fee.DELIVERY, True, _("Leveransavgift")),
                (Price.Fee.URGENT, urgent, _("Akutavgift")),
            ):
                if wanted:
                    line = self._fee(
                        fee,
                        label,
                        decision,
                        day,
                        unit_id=payer,
                        patient_id=patient,
                        order_id=pk,
                        number=number,
                    )
                    if line is not None:
                        yield line
        attempts = (
            DeliveryAttempt.unscoped.filter(
                fee=True, planned_on__gte=self.start, planned_on__lte=self.until
            )
            .order_by("pk")
            .values_list(
                "order_id", "order__number", "order__payer_id", "order__patient_id", "planned_on"
            )
        )
        for order, number, payer, patient, day in attempts.iterator(chunk_size=CHUNK):
            decision = self.books.unit_decision(payer, day)
            if decision is None:
                continue
            line = self._fee(
                Price.Fee.FAILED_DELIVERY,
                _("Bomkörning"),
                decision,
                day,
                unit_id=payer,
                patient_id=patient,
                order_id=order,
                number=number,
            )
            if line is not None:
                yield line

    def work(self) -> Iterator[Draft]:
        from lyfta.workorders.models import WorkOrder, WorkOrderPart

        low, high = _day_bounds(self.start, self.until)
        done = WorkOrder.unscoped.filter(
            billable=True,
            status__in=[WorkOrder.Status.DONE, WorkOrder.Status.CLOSED],
            done_at__gte=low,
            done_at__lt=high,
        ).order_by("pk")
        for pk, number, unit, patient, item, article, minutes, done_at in done.values_list(
            "pk",
            "number",
            "unit_id",
            "patient_id",
            "item_id",
            "article_id",
            "minutes_spent",
            "done_at",
        ).iterator(chunk_size=CHUNK):
            day = timezone.localtime(done_at).date()
            decision = self.books.unit_decision(unit, day)
            price_list = self.books.prices.list_on(day)
            if decision is None or price_list is None:
                continue
            common: dict[str, Any] = {
                "customer_id": decision.customer_id,
                "cost_centre_id": decision.cost_centre_id,
                "unit_id": unit,
                "patient_id": patient,
                "loan_id": None,
                "item_id": item,
                "order_id": None,
                "work_order_id": pk,
                "rule_id": None,
                "period_from": day,
                "period_until": day,
                "explanation": decision.explanation[:300],
            }
            if minutes:
                hours = (Decimal(minutes) / 60).quantize(Decimal("0.01"))
                yield Draft(
                    kind=BillingLine.Kind.WORK,
                    article_id=article,
                    quantity=hours,
                    unit_price=price_list.hourly_rate,
                    amount=money(price_list.hourly_rate * minutes / 60),
                    text=(
                        _("Arbete utanför hyran, arbetsorder %(number)s, %(minutes)s min")
                        % {"number": number, "minutes": minutes}
                    )[:200],
                    **common,
                )
            for part_article, quantity in (
                WorkOrderPart.unscoped.filter(work_order_id=pk)
                .order_by("pk")
                .values_list("article_id", "quantity")
            ):
                info = self.books.articles[part_article]
                price = self.books.prices.price(Price.Kind.PART, info.number, day)
                if price is None:
                    continue
                yield Draft(
                    kind=BillingLine.Kind.PART,
                    article_id=part_article,
                    quantity=Decimal(quantity).quantize(Decimal("0.01")),
                    unit_price=price,
                    amount=money(price * quantity),
                    text=(
                        _("Reservdel %(article)s, arbetsorder %(number)s")
                        % {"article": info.number, "number": number}
                    )[:200],
                    **common,
                )

    def losses(self) -> Iterator[Draft]:
        from lyfta.orders.models import LossReport

        low, high = _day_bounds(self.start, self.until)
        reports = (
            LossReport.unscoped.filter(
                charge=LossReport.Charge.UNIT,
                residual_value__gt=0,
                found_at__isnull=True,
                reported_at__gte=low,
                reported_at__lt=high,
            )
            .order_by("pk")
            .values_list(
                "pk",
                "loan_id",
                "loan__unit_id",
                "loan__patient_id",
                "item_id",
                "loan__article_id",
                "reported_at",
                "residual_value",
            )
        )
        for _pk, loan, unit, patient, item, article, reported_at, value in reports.iterator(
            chunk_size=CHUNK
        ):
            day = timezone.localtime(reported_at).date()
            decision = self.books.unit_decision(unit, day)
            if decision is None:
                continue
            yield Draft(
                kind=BillingLine.Kind.LOSS,
                customer_id=decision.customer_id,
                cost_centre_id=decision.cost_centre_id,
                unit_id=unit,
                patient_id=patient,
                loan_id=loan,
                item_id=item,
                article_id=article,
                order_id=None,
                work_order_id=None,
                rule_id=None,
                period_from=day,
                period_until=day,
                quantity=Decimal("1.00"),
                unit_price=value,
                amount=money(value),
                text=(
                    _("Restvärde för förkommet hjälpmedel %(article)s")
                    % {"article": self.books.articles[article].number}
                )[:200],
                explanation=(
                    _("debiteras enheten enligt beslut vid förlustanmälan")
                    + "; "
                    + decision.explanation
                )[:300],
            )

    def all(self, progress: Progress | None = None) -> Iterator[Draft]:
        with translation.override("sv"):
            self._texts()
            yield from self.loans(progress)
            yield from self.fees()
            yield from self.work()
            yield from self.losses()


def _loan_line(
    kind: str, loan: LoanRow, decision: PayerDecision, a: dt.date, b: dt.date,
    unit_price: Decimal, amount: Decimal, text: str, explanation: str,
) -> Draft:  # fmt: skip
    """A line about one loan (its rent for days a–b, or its sale on day a = b)."""
    return Draft(
        kind=kind,
        customer_id=decision.customer_id,
        cost_centre_id=decision.cost_centre_id,
        unit_id=loan.unit_id,
        patient_id=loan.patient_id,
        loan_id=loan.pk,
        item_id=loan.item_id,
        article_id=loan.article_id,
        order_id=None,
        work_order_id=None,
        rule_id=decision.rule_id,
        period_from=a,
        period_until=b,
        quantity=Decimal(loan.quantity).quantize(Decimal("0.01")),
        unit_price=unit_price,
        amount=amount,
        text=text[:200],
        explanation=explanation[:300],
    )


@dataclass(frozen=True)
class Piece:
    """Days of one month under one price list."""

    start: dt.date
    until: dt.date
    list_id: int | None
    rule: str
    month_days: int


@dataclass(frozen=True)
class LoanRow:
    pk: int
    patient_id: int
    article_id: int
    item_id: int | None
    unit_id: int
    quantity: int
    billing_type: str
    started_on: dt.date
    expected_end: dt.date | None
    rent_stop_on: dt.date | None
    ended_on: dt.date | None


def _day_bounds(start: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The aware datetimes [start 00:00, until+1 00:00) in the local time zone."""
    zone = timezone.get_current_timezone()
    low = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    high = dt.datetime.combine(until + ONE_DAY, dt.time.min, tzinfo=zone)
    return low, high


def compute_range(
    start: dt.date,
    until: dt.date,
    *,
    books: Books | None = None,
    progress: Progress | None = None,
) -> Iterator[Draft]:
    """The lines of every day from `start` through `until` (any span; a month's run is one
    month). Lines never cross a month or a price list, so a span's lines are the union of its
    months' lines."""
    if until < start:
        return iter(())
    return Engine(books or Books.load(), start, until).all(progress)


def loan_count(start: dt.date, until: dt.date) -> int:
    from lyfta.orders.models import Loan

    return (
        Loan.unscoped.filter(started_on__lte=until)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=start))
        .exclude(end_reason=Loan.End.CANCELLED)
        .count()
    )


# --- Runs: start, compute, recompute, discard, approve and lock ------------------------------


class RunRefused(Exception):
    """A run operation that cannot be done, with the reason in Swedish."""


def start_run(*, actor: Actor, month: dt.date) -> BillingRun:
    """Queue a run for `month` (any day of it; stored as its first day) and enqueue its
    computation. A month already locked is never run again: corrections go in a later month."""
    require(actor, Cap.BILLING_MANAGE)
    if actor.user is None:
        raise RunRefused(_("En körning startas av en namngiven användare."))
    first = month_start(month)
    if first > month_start(timezone.localdate()):
        raise RunRefused(
            _(
                "%(month)s har inte börjat: en månad debiteras när den har börjat och låses "
                "när den är slut."
            )
            % {"month": first.strftime("%Y-%m")}
        )
    with transaction.atomic():
        if BillingRun.objects.filter(month=first, status=BillingRun.Status.LOCKED).exists():
            raise RunRefused(
                _(
                    "%(month)s är redan godkänd och låst. Rättelser görs som kredit- och "
                    "debetrader i en senare månads körning."
                )
                % {"month": first.strftime("%Y-%m")}
            )
        if BillingRun.objects.filter(
            month=first, status__in=[BillingRun.Status.QUEUED, BillingRun.Status.RUNNING]
        ).exists():
            raise RunRefused(
                _("En körning för %(month)s beräknas redan.") % {"month": first.strftime("%Y-%m")}
            )
        run = BillingRun.objects.create(
            month=first, status=BillingRun.Status.QUEUED, created_by=actor.user
        )
        record(
            action=Action.BILLING_RUN_STARTED,
            actor=actor,
            target=run,
            detail={"month": first.strftime("%Y-%m")},
        )
        _enqueue(run.pk)
    return run


def recompute_run(*, actor: Actor, run: BillingRun) -> BillingRun:
    """Queue a preview (or a failed run) to be computed again: it replaces its own computed lines
    (corrections placed in it stay)."""
    require(actor, Cap.BILLING_MANAGE)
    with transaction.atomic():
        locked = BillingRun.objects.select_for_update().get(pk=run.pk)
        if locked.status not in (BillingRun.Status.PREVIEW, BillingRun.Status.FAILED):
            raise RunRefused(_("Bara en förhandsgranskning kan räknas om."))
        if BillingRun.objects.filter(month=locked.month, status=BillingRun.Status.LOCKED).exists():
            raise RunRefused(_("Månaden är redan godkänd och låst i en annan körning."))
        BillingRun.objects.filter(pk=locked.pk).update(
            status=BillingRun.Status.QUEUED, progress_done=0, progress_total=0, error=""
        )
        record(
            action=Action.BILLING_RUN_STARTED,
            actor=actor,
            target=locked,
            detail={"month": locked.month.strftime("%Y-%m"), "recompute": True},
        )
        _enqueue(locked.pk)
    locked.refresh_from_db()
    return locked


def discard_run(*, actor: Actor, run: BillingRun) -> None:
    """Throw a preview away with its lines (a locked run never: the triggers refuse it too)."""
    require(actor, Cap.BILLING_MANAGE)
    with transaction.atomic():
        locked = BillingRun.objects.select_for_update().get(pk=run.pk)
        if locked.status not in (BillingRun.Status.PREVIEW, BillingRun.Status.FAILED):
            raise RunRefused(
                _("Bara en förhandsgranskning eller en misslyckad körning kan kastas.")
            )
        record(
            action=Action.BILLING_RUN_DISCARDED,
            actor=actor,
            target=locked,
            detail={"month": locked.month.strftime("%Y-%m"), "lines": locked.line_count},
        )
        _lines_delete(BillingLine.unscoped.filter(run_id=locked.pk))
        locked.delete()


def _lines_delete(lines: Any) -> int:
    """Delete a preview's lines with one DELETE. The ORM's delete() first loads every line (a
    line may be corrected by another, so it collects them): 10M lines at national size took
    1.7 GB and minutes. A preview's lines are never corrected (only locked ones are), and the
    foreign key still refuses a delete that would orphan a correction."""
    return int(lines._raw_delete(lines.db))


def approve_run(*, actor: Actor, run: BillingRun) -> BillingRun:
    """Approve a preview: it is locked from now on (status, who, when); one locked run a month."""
    require(actor, Cap.BILLING_MANAGE)
    if actor.user is None:
        raise RunRefused(_("En körning godkänns av en namngiven användare."))
    if month_end(run.month) >= timezone.localdate():
        raise RunRefused(
            _("%(month)s är inte slut än: en månad godkänns och låses först när den är slut.")
            % {"month": run.month.strftime("%Y-%m")}
        )
    with transaction.atomic():
        locked = BillingRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != BillingRun.Status.PREVIEW:
            raise RunRefused(_("Bara en färdigberäknad förhandsgranskning kan godkännas."))
        if BillingRun.objects.filter(month=locked.month, status=BillingRun.Status.LOCKED).exists():
            raise RunRefused(_("Månaden är redan godkänd och låst i en annan körning."))
        now = timezone.now()
        # Who the run invoices, kept with it: written in the UPDATE that locks it (the triggers
        # refuse any later UPDATE of a locked run), so that its basis never changes afterwards.
        parties = invoice_parties(locked.pk)
        try:
            with transaction.atomic():
                BillingRun.objects.filter(pk=locked.pk).update(
                    status=BillingRun.Status.LOCKED,
                    approved_by=actor.user,
                    approved_at=now,
                    invoice_parties=parties,
                )
        except IntegrityError as error:
            raise RunRefused(_("Månaden är redan godkänd och låst i en annan körning.")) from error
        record(
            action=Action.BILLING_RUN_LOCKED,
            actor=actor,
            target=locked,
            changes={"status": [locked.status, BillingRun.Status.LOCKED]},
            detail={
                "month": locked.month.strftime("%Y-%m"),
                "lines": locked.line_count,
                "total": locked.total,
                "digest": locked.digest,
            },
        )
    locked.refresh_from_db()
    return locked


def invoice_parties(run_id: int) -> dict[str, Any]:
    """The seller and the invoice details of every customer with lines in the run, as they are
    now (`selectors.invoices.snapshot`): what the run's invoice basis carries once locked."""
    billed = BillingLine.unscoped.filter(run_id=run_id).values("customer_id").distinct()
    customers = Customer.objects.filter(pk__in=billed).select_related("provider").order_by("pk")
    return invoices.snapshot(customers)


# Sent (after the commit) for a run whose lines are to be computed, with `run_id`: the
# background task listens (lyfta.billing.apps), so this module does not import the task that
# imports it.
run_to_compute = Signal()


def _enqueue(run_id: int) -> None:
    transaction.on_commit(lambda: run_to_compute.send(sender=BillingRun, run_id=run_id))


def write_lines(run_id: int, drafts: Iterable[Draft]) -> tuple[int, Decimal, str]:
    """Write drafts in batches; the count, the total and the digest of what was written. On
    PostgreSQL each batch is one COPY (five times the speed of INSERT at national size); on
    SQLite `bulk_create`."""
    digest = Digest()
    total = Decimal(0)
    batch: list[Draft] = []
    write = _copy if connection.vendor == "postgresql" else _bulk_create
    for draft in drafts:
        digest.add(draft)
        total += draft.amount
        batch.append(draft)
        if len(batch) >= BATCH:
            write(run_id, batch)
            batch = []
    if batch:
        write(run_id, batch)
    return digest.count, total, digest.hexdigest()


def _bulk_create(run_id: int, batch: list[Draft]) -> None:
    BillingLine.unscoped.bulk_create([draft.model(run_id) for draft in batch])


# The columns COPY writes, from the model's own names (never from input).
_COPY_COLUMNS = [
    "run_id",
    *(str(getattr(BillingLine._meta.get_field(f), "column", f)) for f in DRAFT_FIELDS),
]
_COPY_SQL = f"COPY {BillingLine._meta.db_table} ({', '.join(_COPY_COLUMNS)}) FROM STDIN"


def _copy(run_id: int, batch: list[Draft]) -> None:
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(_COPY_SQL) as copy,
    ):
        for draft in batch:
            copy.write_row((run_id, *_values(draft)))


def compute_run(run_id: int) -> None:
    """The background task's body: compute the run's month into its lines, updating the progress
    as pages of loans are done. Lines are written page by page (the progress is visible to the
    polling page); on any failure the run is marked failed and its computed lines removed, so a
    failed run is never half a bill. Corrections already placed in the run stay."""
    run = BillingRun.objects.get(pk=run_id)
    if run.status == BillingRun.Status.LOCKED:
        return
    start, until = run.month, month_end(run.month)
    system = Actor.system("billing-run")
    try:
        books = Books.load()
        _lines_delete(BillingLine.unscoped.filter(run_id=run_id, corrects__isnull=True))
        total_loans = loan_count(start, until)
        price_list = books.prices.list_on(start)
        BillingRun.objects.filter(pk=run_id).update(
            status=BillingRun.Status.RUNNING,
            progress_done=0,
            progress_total=total_loans,
            price_list=price_list,
            error="",
        )

        def progress(done: int) -> None:
            BillingRun.objects.filter(pk=run_id).update(progress_done=min(done, total_loans))

        count, total, digest = write_lines(
            run_id, compute_range(start, until, books=books, progress=progress)
        )
        corrections = BillingLine.unscoped.filter(run_id=run_id, corrects__isnull=False)
        extra = corrections.aggregate(n=Count("pk"), s=Sum("amount"))
        with transaction.atomic():
            BillingRun.objects.filter(pk=run_id).update(
                status=BillingRun.Status.PREVIEW,
                progress_done=total_loans,
                line_count=count + (extra["n"] or 0),
                total=total + (extra["s"] or 0),
                digest=digest,
                computed_at=timezone.now(),
            )
            record(
                action=Action.BILLING_RUN_COMPUTED,
                actor=system,
                target=run,
                detail={
                    "month": start.strftime("%Y-%m"),
                    "lines": count,
                    "total": total,
                    "digest": digest,
                },
            )
    except Exception as error:  # the run must end in a state the page can show
        _lines_delete(BillingLine.unscoped.filter(run_id=run_id, corrects__isnull=True))
        BillingRun.objects.filter(pk=run_id).update(
            status=BillingRun.Status.FAILED, error=str(error)[:2000]
        )
        record(
            action=Action.BILLING_RUN_FAILED,
            actor=system,
            target=run,
            detail={"month": start.strftime("%Y-%m"), "error": type(error).__name__},
        )
        raise


def refresh_totals(run_id: int) -> None:
    """The run's line count and total after lines were added (corrections)."""
    agg = BillingLine.unscoped.filter(run_id=run_id).aggregate(n=Count("pk"), s=Sum("amount"))
    BillingRun.objects.filter(pk=run_id).update(line_count=agg["n"] or 0, total=agg["s"] or 0)


# --- Reproducibility --------------------------------------------------------------------------


@dataclass
class Verification:
    run: BillingRun
    stored_digest: str
    recomputed_digest: str
    missing: list[Draft]  # in the run, not recomputed
    extra: list[Draft]  # recomputed, not in the run

    @property
    def same(self) -> bool:
        return self.stored_digest == self.recomputed_digest and not self.missing and not self.extra


def stored_digest(run_id: int) -> str:
    """The digest of a run's computed lines as stored (corrections are not recomputable facts)."""
    digest = Digest()
    rows = (
        BillingLine.unscoped.filter(run_id=run_id, corrects__isnull=True)
        .order_by("pk")
        .values(*DRAFT_FIELDS)
    )
    for row in rows.iterator(chunk_size=CHUNK):
        digest.add(draft_of(row))
    return digest.hexdigest()


def verify_run(run: BillingRun, *, limit: int = 50) -> Verification:
    """Recompute `run`'s month from the recorded facts with the price lists and payer rules in
    force and compare it with the stored lines. The comparison is by digest; where they differ,
    the differing lines are found per loan (or order, work order) by a 64-bit hash per key."""
    start, until = run.month, month_end(run.month)
    digest = Digest()
    recomputed: dict[tuple[Any, ...], int] = {}
    for draft in compute_range(start, until):
        digest.add(draft)
        _fold(recomputed, draft)
    stored = Digest()
    kept: dict[tuple[Any, ...], int] = {}
    rows = (
        BillingLine.unscoped.filter(run_id=run.pk, corrects__isnull=True)
        .order_by("pk")
        .values(*DRAFT_FIELDS)
    )
    for row in rows.iterator(chunk_size=CHUNK):
        draft = draft_of(row)
        stored.add(draft)
        _fold(kept, draft)
    missing: list[Draft] = []
    extra: list[Draft] = []
    if stored.hexdigest() != digest.hexdigest():
        keys = {
            key for key in kept.keys() | recomputed.keys() if kept.get(key) != recomputed.get(key)
        }
        keys = set(sorted(keys, key=str)[:limit])
        stored_lines = {
            draft_of(row)
            for row in BillingLine.unscoped.filter(run_id=run.pk, corrects__isnull=True).values(
                *DRAFT_FIELDS
            )
            if _key(draft_of(row)) in keys
        }
        new_lines = {draft for draft in compute_range(start, until) if _key(draft) in keys}
        missing = sorted(stored_lines - new_lines, key=lambda d: d.canonical())
        extra = sorted(new_lines - stored_lines, key=lambda d: d.canonical())
    return Verification(run, stored.hexdigest(), digest.hexdigest(), missing, extra)


def _key(draft: Draft) -> tuple[Any, ...]:
    return (draft.kind, draft.loan_id, draft.order_id, draft.work_order_id)


def _fold(into: dict[tuple[Any, ...], int], draft: Draft) -> None:
    key = _key(draft)
    line_hash = int.from_bytes(hashlib.sha256(draft.canonical().encode()).digest()[:8], "big")
    into[key] = (into.get(key, 0) + line_hash) % (1 << 64)
