"""The invoice basis out (issue 14 point 5): one locked billing run's lines for one customer,
grouped by cost centre, with subtotals and the total, and who sells (the centre's region).

Lines are read only through `lyfta.access.rows.billing_lines_for` (R93): the economy role sees
a line's device, article, unit and period, never who holds the device. A run that is not locked
is a preview and has no invoice basis: asking for one answers "not found".

The parties (who sells, who buys and where the invoice goes) of a locked run are read from the
snapshot taken when it was locked (`BillingRun.invoice_parties`, `snapshot`), never from the
customer as it is now: a locked run's basis is the same document every time it is downloaded."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.billing.models import BillingLine, BillingRun, CostCentre, Customer
from lyfta.organisations.models import CareProvider, Unit

FORMATS = ("pdf", "xlsx", "csv", "ubl")


@dataclass(frozen=True)
class Line:
    """One line of the basis as it is shown: no patient field at all."""

    pk: int
    kind: str
    kind_label: str
    individual_number: str
    article_number: str
    article_name: str
    unit_name: str
    period_from: dt.date
    period_until: dt.date
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    text: str
    explanation: str
    corrects_id: int | None

    @property
    def days(self) -> int:
        return (self.period_until - self.period_from).days + 1


@dataclass
class Group:
    """A cost centre's lines and their subtotal ("" code: lines without a cost centre)."""

    code: str
    name: str
    lines: list[Line] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


@dataclass(frozen=True)
class Buyer:
    """A customer's invoice details as the invoice carries them."""

    pk: int
    customer_number: str
    name: str
    organisation_number: str
    peppol_id: str
    buyer_reference: str
    invoice_street: str
    invoice_postal_code: str
    invoice_city: str
    email: str

    @classmethod
    def of(cls, customer: Customer) -> Buyer:
        return cls(
            pk=customer.pk,
            customer_number=customer.customer_number,
            name=customer.provider.name,
            organisation_number=customer.provider.organisation_number,
            peppol_id=customer.peppol_id,
            buyer_reference=customer.buyer_reference,
            invoice_street=customer.invoice_street,
            invoice_postal_code=customer.invoice_postal_code,
            invoice_city=customer.invoice_city,
            email=customer.email,
        )


@dataclass(frozen=True)
class Seller:
    """The care provider that invoices (`pk` is the provider's)."""

    pk: int
    name: str
    organisation_number: str

    @classmethod
    def of(cls, provider: CareProvider) -> Seller:
        return cls(
            pk=provider.pk, name=provider.name, organisation_number=provider.organisation_number
        )


def snapshot(customers: Iterable[Customer]) -> dict[str, Any]:
    """The parties of a run as stored when it is locked: the seller (if there is a centre to
    invoice from) and each billed customer's invoice details by the customer's id."""
    provider = _seller_or_none()
    return {
        "seller": asdict(Seller.of(provider)) if provider is not None else None,
        "customers": {str(c.pk): asdict(Buyer.of(c)) for c in customers},
    }


def parties(run: BillingRun, customer: Customer) -> tuple[Buyer, Seller]:
    """The buyer and the seller of `customer`'s basis in the locked `run`: as they were when it
    was locked. Only a run locked before the snapshot was kept (migration 0003) has an empty
    `invoice_parties`; for that run alone today's customer and seller are used."""
    stored: dict[str, Any] = run.invoice_parties or {}
    if not stored:
        return Buyer.of(customer), Seller.of(seller())
    buyer = stored.get("customers", {}).get(str(customer.pk))
    if buyer is None:  # the snapshot holds every customer with lines, and a locked run gets none
        raise Http404(_("Kunden har inga rader i den här debiteringskörningen."))
    if not stored.get("seller"):  # locked when there was no centre: as `seller()` answers
        raise Http404(_("Det finns ingen hjälpmedelscentral att fakturera från."))
    return Buyer(**buyer), Seller(**stored["seller"])


@dataclass
class Basis:
    run: BillingRun
    customer: Buyer
    seller: Seller
    groups: list[Group]

    @property
    def lines(self) -> list[Line]:
        return [line for group in self.groups for line in group.lines]

    @property
    def total(self) -> Decimal:
        return sum((group.subtotal for group in self.groups), Decimal("0.00"))

    @property
    def month_first(self) -> dt.date:
        return self.run.month.replace(day=1)

    @property
    def month_last(self) -> dt.date:
        first = self.month_first
        return first.replace(day=calendar.monthrange(first.year, first.month)[1])

    @property
    def issue_date(self) -> dt.date:
        """The day the run was approved (so that every download of it is the same document)."""
        approved = self.run.approved_at
        return approved.date() if approved is not None else self.month_last

    @property
    def invoice_number(self) -> str:
        return f"{self.run.month:%Y%m}-{self.customer.customer_number}"

    def filename(self, suffix: str) -> str:
        return f"fakturaunderlag-{self.run.month:%Y-%m}-{self.customer.customer_number}.{suffix}"


def seller() -> CareProvider:
    """The care provider that owns the assistive-device centre (the region): the seller."""
    provider = _seller_or_none()
    if provider is None:
        raise Http404(_("Det finns ingen hjälpmedelscentral att fakturera från."))
    return provider


def _seller_or_none() -> CareProvider | None:
    centre = (
        Unit.objects.filter(kind=Unit.Kind.CENTRE).select_related("provider").order_by("pk").first()
    )
    if centre is not None:
        return centre.provider
    return CareProvider.objects.filter(kind=CareProvider.Kind.REGION).order_by("pk").first()


def locked_run(actor: Actor, run_id: int) -> BillingRun:
    """A locked run, or 404: a preview is not invoiced."""
    require(actor, Cap.BILLING_VIEW)
    run = BillingRun.objects.filter(pk=run_id, status=BillingRun.Status.LOCKED).first()
    if run is None:
        raise Http404(_("Det finns ingen godkänd och låst debiteringskörning med det numret."))
    return run


def basis(actor: Actor, run_id: int, customer_id: int) -> Basis:
    """The invoice basis of `customer_id` in the locked run `run_id`, or 404."""
    run = locked_run(actor, run_id)
    customer = Customer.objects.select_related("provider").filter(pk=customer_id).first()
    if customer is None:
        raise Http404(_("Kunden finns inte."))
    found = list(
        rows.billing_lines_for(actor)
        .filter(run=run, customer=customer)
        .select_related("cost_centre", "item", "article", "unit", "item__article")
        .order_by("cost_centre__code", "item__individual_number", "period_from", "pk")
    )
    if not found:
        raise Http404(_("Kunden har inga rader i den här debiteringskörningen."))
    groups: dict[int | None, Group] = {}
    for line in found:
        groups.setdefault(line.cost_centre_id, _group(line.cost_centre)).lines.append(_line(line))
    ordered = sorted(groups.values(), key=lambda g: (g.code == "", g.code))
    buyer, sold_by = parties(run, customer)
    return Basis(run=run, customer=buyer, seller=sold_by, groups=ordered)


def _group(centre: CostCentre | None) -> Group:
    if centre is None:
        return Group(code="", name=_("Utan kostnadsställe"))
    return Group(code=centre.code, name=centre.name)


def _line(line: BillingLine) -> Line:
    article = line.article or (line.item.article if line.item is not None else None)
    return Line(
        pk=line.pk,
        kind=line.kind,
        kind_label=line.kind_label,
        individual_number=line.item.individual_number if line.item is not None else "",
        article_number=article.article_number if article is not None else "",
        article_name=article.name if article is not None else "",
        unit_name=line.unit.name if line.unit is not None else "",
        period_from=line.period_from,
        period_until=line.period_until,
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount=line.amount,
        text=line.text,
        explanation=line.explanation,
        corrects_id=line.corrects_id,
    )


@dataclass(frozen=True)
class Row:
    """A customer's basis in a locked run, for the list of downloads."""

    run: BillingRun
    customer: Customer
    lines: int
    total: Decimal


def downloads(actor: Actor, run_id: int | None = None) -> list[Row]:
    """Every locked run × customer with lines (of one run if `run_id`), newest month first."""
    require(actor, Cap.BILLING_VIEW)
    runs = BillingRun.objects.filter(status=BillingRun.Status.LOCKED)
    if run_id is not None:
        runs = runs.filter(pk=run_id)
    by_pk = {run.pk: run for run in runs}
    if not by_pk:
        return []
    sums = (
        rows.billing_lines_for(actor)
        .filter(run_id__in=list(by_pk))
        .values("run_id", "customer_id")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by()
    )
    found = [(s["run_id"], s["customer_id"], s["n"], s["total"]) for s in sums]
    customers = Customer.objects.select_related("provider").in_bulk({c for _r, c, _n, _t in found})
    result = [
        Row(run=by_pk[r], customer=customers[c], lines=n, total=total or Decimal("0.00"))
        for r, c, n, total in found
    ]
    result.sort(
        key=lambda row: (-row.run.month.toordinal(), -row.run.pk, row.customer.customer_number)
    )
    return result
