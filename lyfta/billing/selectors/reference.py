"""Reads of the economy desk's reference data (issue 14 points 1-3): customers with their cost
centres and units' periods, price lists with their prices, payer rules, and what the "Vem
betalar?" page needs of one loan. Nothing here names a patient: a loan is read through the
access layer's billing route (`rows.loan_for_billing`) as device, unit and period only (R34)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Prefetch
from django.http import Http404

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.roles import Cap
from lyfta.billing.models import (
    BillingRun,
    CostCentre,
    Customer,
    PayerRule,
    Price,
    PriceList,
    UnitCostCentre,
)
from lyfta.orders.models import Loan
from lyfta.organisations.models import CareProvider, Unit


def may_view(actor: Actor) -> bool:
    return can(actor, Cap.BILLING_VIEW)


def may_manage(actor: Actor) -> bool:
    return can(actor, Cap.BILLING_MANAGE)


def require_view(actor: Actor) -> None:
    if not may_view(actor):
        raise PermissionDenied


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def last_locked_day() -> dt.date | None:
    """The last day of the latest month billed in a locked run: days up to it are history."""
    month = BillingRun.objects.filter(status=BillingRun.Status.LOCKED).aggregate(m=Max("month"))[
        "m"
    ]
    return month_end(month) if month is not None else None


# --- Customers and cost centres -------------------------------------------------------------


def customers() -> list[Customer]:
    return list(
        Customer.objects.select_related("provider")
        .annotate(centres=Count("cost_centres"))
        .order_by("customer_number")
    )


def customer(customer_id: int) -> Customer:
    found = (
        Customer.objects.select_related("provider")
        .prefetch_related(
            Prefetch("cost_centres", queryset=CostCentre.objects.order_by("-default", "code"))
        )
        .filter(pk=customer_id)
        .first()
    )
    if found is None:
        raise Http404
    return found


@dataclass(frozen=True)
class UnitPeriods:
    unit: Unit
    periods: list[UnitCostCentre]


def unit_periods(customer: Customer) -> list[UnitPeriods]:
    """The customer's provider's units, each with its cost-centre periods (newest first)."""
    units = list(Unit.objects.filter(provider_id=customer.provider_id).order_by("name"))
    periods: dict[int, list[UnitCostCentre]] = {}
    for period in (
        UnitCostCentre.objects.filter(unit__in=units)
        .select_related("cost_centre")
        .order_by("unit_id", "-valid_from")
    ):
        periods.setdefault(period.unit_id, []).append(period)
    return [UnitPeriods(unit, periods.get(unit.pk, [])) for unit in units]


def unit_of_customer(customer: Customer, unit_id: int) -> Unit | None:
    return Unit.objects.filter(pk=unit_id, provider_id=customer.provider_id).first()


def centre_of_customer(customer: Customer, centre_id: int) -> CostCentre | None:
    return CostCentre.objects.filter(pk=centre_id, customer=customer).first()


def providers() -> list[CareProvider]:
    return list(CareProvider.objects.order_by("kind", "name"))


# --- Price lists ----------------------------------------------------------------------------


def price_lists() -> list[PriceList]:
    return list(PriceList.objects.annotate(n=Count("prices")).order_by("-valid_from"))


def price_list(list_id: int) -> PriceList:
    found = PriceList.objects.filter(pk=list_id).first()
    if found is None:
        raise Http404
    return found


def prices_of(price_list: PriceList) -> list[Price]:
    return list(Price.objects.filter(price_list=price_list).order_by("kind", "key"))


def price_list_on(day: dt.date) -> PriceList | None:
    return PriceList.objects.filter(valid_from__lte=day).order_by("-valid_from").first()


def next_price_list(price_list: PriceList) -> PriceList | None:
    return (
        PriceList.objects.filter(valid_from__gt=price_list.valid_from)
        .order_by("valid_from")
        .first()
    )


def price_list_billed(price_list: PriceList) -> bool:
    """Whether the list's first month or a later one was billed in a locked run."""
    first_month = price_list.valid_from.replace(day=1)
    return BillingRun.objects.filter(
        status=BillingRun.Status.LOCKED, month__gte=first_month
    ).exists()


# --- Payer rules ----------------------------------------------------------------------------


def payer_rules() -> list[PayerRule]:
    return list(
        PayerRule.objects.select_related("region").order_by(
            "region__name", "priority", "valid_from", "pk"
        )
    )


def payer_rule(rule_id: int) -> PayerRule:
    found = PayerRule.objects.select_related("region").filter(pk=rule_id).first()
    if found is None:
        raise Http404
    return found


def regions() -> list[CareProvider]:
    return list(CareProvider.objects.filter(kind=CareProvider.Kind.REGION).order_by("name"))


def product_areas() -> list[str]:
    """ISO codes used as product areas (the first level of the classification)."""
    from lyfta.catalogue.models import IsoClass

    return sorted(set(IsoClass.objects.filter(level=1).values_list("code", flat=True)) - {""})


# --- Who pays for a loan --------------------------------------------------------------------


def loan_for_payer(actor: Actor, loan_id: int) -> Loan:
    """One loan as the economy role sees it (device, unit, period; no patient fields)."""
    loan = rows.loan_for_billing(actor, loan_id)
    if loan is None:
        raise Http404
    return loan


def loan_by_item(actor: Actor, individual_number: str) -> Loan | None:
    """The latest loan of the device with that individual number, on the billing route."""
    return rows.loan_for_billing_by_item(actor, individual_number)


def housing_rows(actor: Actor, patient_id: int) -> list[tuple[dt.date, str, int]]:
    return list(
        rows.housing_for_billing(actor, patient_id).values_list(
            "valid_from", "housing", "municipality_id"
        )
    )


def price_groups() -> list[str]:
    from lyfta.catalogue.models import Article

    return sorted(
        set(Article.objects.exclude(price_group="").values_list("price_group", flat=True))
    )


def price_keys(price_list: PriceList) -> list[tuple[str, str]]:
    """The prices a list's edit form shows: the list's own, and an empty place for every price
    group's rent and inspection fee and every fee it lacks (sale and part prices are added by
    article number)."""
    keys = set(Price.objects.filter(price_list=price_list).values_list("kind", "key"))
    for group in price_groups():
        keys.add((Price.Kind.RENT, group))
        keys.add((Price.Kind.INSPECTION, group))
    for fee in Price.Fee.values:
        keys.add((Price.Kind.FEE, fee))
    order = {kind: index for index, kind in enumerate(Price.Kind.values)}
    fee_order = {fee: index for index, fee in enumerate(Price.Fee.values)}
    return sorted(keys, key=lambda k: (order.get(k[0], 99), fee_order.get(k[1], 0), k[1]))
