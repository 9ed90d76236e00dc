"""Who pays for a loan on a given day, and why (issue 14 point 3).

The derivation is pure: `PayerBook` holds the rules, customers, cost centres and units' cost-centre
periods (loaded once per run with `PayerBook.load`), and `segments` splits a span of days into the
runs of days with one payer, given what is known of the loan (`LoanFacts`) and the patient's
housing periods. A move or a change of housing therefore changes the payer from that day, and
every decision says in words which rule decided and on what ("betalare enligt regel 3: ordinärt
boende, ansvarsklass 2"). With no matching rule the prescribing unit pays (as before rules).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from lyfta.billing.models import (
    CostCentre,
    Customer,
    Housing,
    PayerRule,
    UnitCostCentre,
)

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class LoanFacts:
    """What the derivation needs to know of a loan (readable from one row of a streamed query)."""

    loan_id: int
    patient_id: int
    unit_id: int  # the prescribing unit
    unit_provider_id: int
    unit_kind: str
    responsibility_class: int | None
    cost_class: str
    iso_code: str  # the article's ISO 9999 code, "12 22 03"
    short_term: bool
    born: dt.date | None


@dataclass(frozen=True)
class HousingPeriod:
    valid_from: dt.date
    housing: str
    municipality_id: int


@dataclass(frozen=True)
class PayerDecision:
    customer_id: int
    cost_centre_id: int | None
    rule_id: int | None
    explanation: str


@dataclass(frozen=True)
class Segment:
    start: dt.date
    until: dt.date  # inclusive
    decision: PayerDecision

    @property
    def days(self) -> int:
        return (self.until - self.start).days + 1


def _age(born: dt.date | None, on: dt.date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _housing_label(value: str) -> str:
    for member in Housing:
        if member.value == value:
            return str(member.label).lower()
    return value


def describe(rule: PayerRule) -> str:
    """The rule's conditions in words: "ordinärt boende, ansvarsklass 2"."""
    parts: list[str] = []
    if rule.housing:
        parts.append(_housing_label(rule.housing))
    if rule.responsibility_class is not None:
        parts.append(_("ansvarsklass %(n)s") % {"n": rule.responsibility_class})
    if rule.cost_class:
        parts.append(_("kostnadsansvar %(c)s") % {"c": rule.cost_class})
    if rule.product_area:
        parts.append(_("ISO %(code)s") % {"code": rule.product_area})
    if rule.habilitation is not None:
        parts.append(_("habilitering") if rule.habilitation else _("ej habilitering"))
    if rule.age_from is not None or rule.age_until is not None:
        low = rule.age_from if rule.age_from is not None else 0
        if rule.age_until is None:
            parts.append(_("%(low)s år eller äldre") % {"low": low})
        else:
            parts.append(_("%(low)s–%(high)s år") % {"low": low, "high": rule.age_until})
    if rule.short_term is not None:
        parts.append(_("korttidslån") if rule.short_term else _("ej korttidslån"))
    return ", ".join(parts) or _("alla lån")


@dataclass
class PayerBook:
    """Everything a derivation reads besides the loan and the patient's housing."""

    rules: Sequence[PayerRule]
    customer_of_provider: dict[int, int]  # provider id → customer id
    default_cost_centre: dict[int, int]  # customer id → its default cost centre id
    region_customer_id: int | None
    # unit id → [(valid_from, valid_until or None, cost centre id)] sorted by valid_from
    unit_periods: dict[int, list[tuple[dt.date, dt.date | None, int]]] = field(default_factory=dict)

    @classmethod
    def load(cls, *, region_id: int | None = None) -> PayerBook:
        """Read the rules, customers and cost centres (a few hundred rows at most)."""
        rules = list(PayerRule.objects.order_by("priority", "valid_from", "pk"))
        if region_id is not None:
            rules = [rule for rule in rules if rule.region_id == region_id]
        customers = dict(Customer.objects.values_list("provider_id", "pk"))
        defaults = dict(CostCentre.objects.filter(default=True).values_list("customer_id", "pk"))
        region = region_id
        if region is None and rules:
            region = rules[0].region_id
        periods: dict[int, list[tuple[dt.date, dt.date | None, int]]] = {}
        for unit_id, start, until, centre in UnitCostCentre.objects.order_by(
            "unit_id", "valid_from"
        ).values_list("unit_id", "valid_from", "valid_until", "cost_centre_id"):
            periods.setdefault(unit_id, []).append((start, until, centre))
        return cls(
            rules=rules,
            customer_of_provider=customers,
            default_cost_centre=defaults,
            region_customer_id=customers.get(region) if region is not None else None,
            unit_periods=periods,
        )

    # --- one day ----------------------------------------------------------------------------

    def unit_cost_centre(self, unit_id: int, day: dt.date) -> int | None:
        for start, until, centre in reversed(self.unit_periods.get(unit_id, [])):
            if start <= day and (until is None or day <= until):
                return centre
        return None

    def _matches(
        self, rule: PayerRule, facts: LoanFacts, housing: HousingPeriod | None, day: dt.date
    ) -> bool:
        if rule.valid_from > day or (rule.valid_until is not None and day > rule.valid_until):
            return False
        if rule.housing and (housing is None or housing.housing != rule.housing):
            return False
        if (
            rule.responsibility_class is not None
            and facts.responsibility_class != rule.responsibility_class
        ):
            return False
        if rule.cost_class and facts.cost_class != rule.cost_class:
            return False
        if rule.product_area and not facts.iso_code.startswith(rule.product_area):
            return False
        if rule.habilitation is not None and (facts.unit_kind == "habilitation") != (
            rule.habilitation
        ):
            return False
        if rule.age_from is not None or rule.age_until is not None:
            age = _age(facts.born, day)
            if age is None:
                return False
            if rule.age_from is not None and age < rule.age_from:
                return False
            if rule.age_until is not None and age > rule.age_until:
                return False
        return rule.short_term is None or facts.short_term == rule.short_term

    def decide(
        self, facts: LoanFacts, housing: HousingPeriod | None, day: dt.date
    ) -> PayerDecision:
        """The payer of the loan on `day`, with the reason in words."""
        for number, rule in enumerate(self.rules, start=1):
            if not self._matches(rule, facts, housing, day):
                continue
            reason = _("betalare enligt regel %(n)s: %(conditions)s") % {
                "n": rule.priority or number,
                "conditions": describe(rule),
            }
            decision = self._payer(rule.payer, facts, housing, day, rule.pk, reason)
            if decision is not None:
                return decision
        fallback = self._payer(
            PayerRule.Payer.PRESCRIBING_UNIT,
            facts,
            housing,
            day,
            None,
            _("betalare: förskrivande enhet (ingen regel gäller)"),
        )
        if fallback is None:
            raise LookupError(_("Förskrivande enhetens vårdgivare är inte kund."))
        return fallback

    def _payer(
        self,
        payer: str,
        facts: LoanFacts,
        housing: HousingPeriod | None,
        day: dt.date,
        rule_id: int | None,
        reason: str,
    ) -> PayerDecision | None:
        if payer == PayerRule.Payer.PRESCRIBING_UNIT:
            customer = self.customer_of_provider.get(facts.unit_provider_id)
            if customer is None:
                return None
            centre = self.unit_cost_centre(facts.unit_id, day)
            if centre is None:
                centre = self.default_cost_centre.get(customer)
            return PayerDecision(customer, centre, rule_id, reason)
        if payer == PayerRule.Payer.HOME_MUNICIPALITY:
            if housing is None:
                return None
            customer = self.customer_of_provider.get(housing.municipality_id)
            if customer is None:
                return None
            centre = None
            if housing.municipality_id == facts.unit_provider_id:
                centre = self.unit_cost_centre(facts.unit_id, day)
            if centre is None:
                centre = self.default_cost_centre.get(customer)
            return PayerDecision(customer, centre, rule_id, reason)
        if payer == PayerRule.Payer.REGION:
            customer = self.region_customer_id
            if customer is None:
                return None
            centre = None
            if self.customer_of_provider.get(facts.unit_provider_id) == customer:
                centre = self.unit_cost_centre(facts.unit_id, day)
            if centre is None:
                centre = self.default_cost_centre.get(customer)
            return PayerDecision(customer, centre, rule_id, reason)
        return None

    # --- a span of days ---------------------------------------------------------------------

    def _change_days(
        self, facts: LoanFacts, housing: Sequence[HousingPeriod], start: dt.date, until: dt.date
    ) -> list[dt.date]:
        """The days in (start, until] on which something the decision reads may change."""
        days: set[dt.date] = {period.valid_from for period in housing}
        for rule in self.rules:
            days.add(rule.valid_from)
            if rule.valid_until is not None:
                days.add(rule.valid_until + ONE_DAY)
        for period_start, period_until, _centre in self.unit_periods.get(facts.unit_id, []):
            days.add(period_start)
            if period_until is not None:
                days.add(period_until + ONE_DAY)
        if facts.born is not None:
            for year in range(start.year, until.year + 1):
                try:
                    days.add(facts.born.replace(year=year))
                except ValueError:  # born 29 February: a year older on 1 March
                    days.add(dt.date(year, 3, 1))
        return sorted(day for day in days if start < day <= until)

    def segments(
        self,
        facts: LoanFacts,
        housing: Sequence[HousingPeriod],
        start: dt.date,
        until: dt.date,
    ) -> list[Segment]:
        """The days from `start` to `until` (inclusive) in runs with one payer each.
        `housing` is the patient's housing periods, sorted by `valid_from`."""
        if until < start:
            return []
        starts = [period.valid_from for period in housing]

        def housing_on(day: dt.date) -> HousingPeriod | None:
            index = bisect_right(starts, day)
            return housing[index - 1] if index else None

        out: list[Segment] = []
        edges = [start, *self._change_days(facts, housing, start, until)]
        for index, day in enumerate(edges):
            last = edges[index + 1] - ONE_DAY if index + 1 < len(edges) else until
            decision = self.decide(facts, housing_on(day), day)
            if out and out[-1].decision == decision:
                out[-1] = Segment(out[-1].start, last, decision)
            else:
                out.append(Segment(day, last, decision))
        return out


def housing_periods(rows: Iterable[tuple[dt.date, str, int]]) -> list[HousingPeriod]:
    """Housing periods from (valid_from, housing, municipality id) rows, sorted."""
    return sorted(
        (HousingPeriod(start, housing, municipality) for start, housing, municipality in rows),
        key=lambda period: period.valid_from,
    )
