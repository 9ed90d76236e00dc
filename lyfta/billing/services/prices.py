"""Which price applies on a day (issue 14 point 2): the price list whose start date is the latest
on or before the day; a newer list takes over from its own start and never rewrites the days
before it."""

from __future__ import annotations

import calendar
import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from lyfta.billing.models import Price, PriceList

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """Rounded to öre, half up (as invoices are)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def days_in_month(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


@dataclass
class PriceBook:
    """Every price list with its prices, loaded once (a few thousand rows)."""

    lists: list[PriceList]
    prices: dict[int, dict[tuple[str, str], Decimal]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> PriceBook:
        lists = list(PriceList.objects.order_by("valid_from"))
        prices: dict[int, dict[tuple[str, str], Decimal]] = {pl.pk: {} for pl in lists}
        for list_id, kind, key, amount in Price.objects.values_list(
            "price_list_id", "kind", "key", "amount"
        ):
            prices[list_id][(kind, key)] = amount
        return cls(lists=lists, prices=prices)

    def list_on(self, day: dt.date) -> PriceList | None:
        """The price list in force on `day`, or None before the first."""
        index = bisect_right([pl.valid_from for pl in self.lists], day)
        return self.lists[index - 1] if index else None

    def price(self, kind: str, key: str, day: dt.date) -> Decimal | None:
        """The amount of (`kind`, `key`) in the list in force on `day`, or None."""
        price_list = self.list_on(day)
        if price_list is None:
            return None
        return self.prices[price_list.pk].get((kind, key))

    def change_days(self, start: dt.date, until: dt.date) -> list[dt.date]:
        """The days in (start, until] on which another price list takes over."""
        return [pl.valid_from for pl in self.lists if start < pl.valid_from <= until]


def fee_key(fee: Price.Fee | str) -> str:
    return str(fee.value if isinstance(fee, Price.Fee) else fee)
