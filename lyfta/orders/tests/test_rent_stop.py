"""Rent stops three Swedish working days after a pick-up order is registered, and the centre
collects within seven (DOMAIN.md §3.6, §5), across the holidays of 2024–2030.

lyfta/core/tests/test_workdays.py proves the calendar itself (mostly 2026); this registers real
pick-up orders with "today" frozen on each date and checks what the order and the loan say. The
expected dates are worked out by hand from the rules (the law's holidays plus Midsummer Eve,
Christmas Eve and New Year's Eve, weekends; the registration day itself never counts), not taken
from the code under test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import Persona
from lyfta.inventory.models import Item
from lyfta.orders import services
from lyfta.orders.models import Loan, PickupOrder
from lyfta.orders.services import DeliveryInput, LineInput, PickupInput
from lyfta.orders.tests.conftest import Shop, grant

pytestmark = pytest.mark.django_db

D = dt.date

# (registered, rent stops, why)
RENT_STOPS = [
    # Easter: Good Friday and Easter Monday, around the weekend.
    (D(2024, 3, 28), D(2024, 4, 4), "Maundy Thursday 2024"),
    (D(2025, 4, 17), D(2025, 4, 24), "Maundy Thursday 2025"),
    (D(2025, 4, 18), D(2025, 4, 24), "registered on Good Friday 2025"),
    (D(2026, 4, 2), D(2026, 4, 9), "Maundy Thursday 2026"),
    (D(2027, 3, 25), D(2027, 4, 1), "Maundy Thursday 2027"),
    (D(2028, 4, 12), D(2028, 4, 19), "the Wednesday before Easter 2028"),
    (D(2029, 3, 29), D(2029, 4, 5), "Maundy Thursday 2029"),
    (D(2030, 4, 18), D(2030, 4, 25), "Maundy Thursday 2030"),
    # May Day and Ascension Day (a Thursday; the Friday after is a working day).
    (D(2024, 5, 7), D(2024, 5, 13), "Ascension 9 May 2024"),
    (D(2025, 4, 30), D(2025, 5, 6), "May Day 2025, a Thursday"),
    (D(2025, 5, 28), D(2025, 6, 3), "Ascension 29 May 2025"),
    (D(2026, 5, 13), D(2026, 5, 19), "Ascension 14 May 2026"),
    (D(2028, 5, 24), D(2028, 5, 30), "Ascension 25 May 2028"),
    (D(2029, 4, 30), D(2029, 5, 4), "May Day 2029, a Tuesday"),
    (D(2029, 5, 8), D(2029, 5, 14), "Ascension 10 May 2029"),
    (D(2030, 5, 28), D(2030, 6, 3), "Ascension 30 May 2030"),
    # National Day, 6 June (on a Saturday in 2026: no day lost); Whit Monday is a working day.
    (D(2024, 6, 4), D(2024, 6, 10), "National Day 2024, a Thursday"),
    (D(2025, 6, 4), D(2025, 6, 10), "National Day 2025, a Friday"),
    (D(2026, 6, 4), D(2026, 6, 9), "National Day 2026, a Saturday"),
    (D(2028, 6, 2), D(2028, 6, 8), "National Day 2028, a Tuesday"),
    (D(2030, 6, 5), D(2030, 6, 11), "National Day 2030, then Whit Monday (working)"),
    # Midsummer: Midsummer Eve (Friday) is not a working day.
    (D(2024, 6, 19), D(2024, 6, 25), "Midsummer 2024"),
    (D(2025, 6, 18), D(2025, 6, 24), "Midsummer 2025"),
    (D(2026, 6, 17), D(2026, 6, 23), "Midsummer 2026"),
    (D(2028, 6, 22), D(2028, 6, 28), "Midsummer 2028"),
    (D(2030, 6, 20), D(2030, 6, 26), "Midsummer 2030"),
    # Christmas and New Year: Christmas Eve to Boxing Day, New Year's Eve and Day, Epiphany.
    (D(2024, 12, 20), D(2024, 12, 30), "Christmas 2024"),
    (D(2024, 12, 30), D(2025, 1, 7), "New Year 2025 and Epiphany on a Monday"),
    (D(2027, 1, 4), D(2027, 1, 8), "Epiphany 2027, a Wednesday"),
    (D(2027, 12, 23), D(2027, 12, 29), "Christmas 2027 on a weekend"),
    (D(2027, 12, 29), D(2028, 1, 4), "New Year 2028"),
    (D(2029, 12, 21), D(2030, 1, 2), "Christmas 2029 into New Year 2030"),
    (D(2030, 12, 23), D(2031, 1, 2), "Christmas 2030 into New Year 2031"),
    # A registration on a Saturday counts Monday as day one.
    (D(2024, 3, 9), D(2024, 3, 13), "a Saturday in March 2024"),
]

# (registered, collected by): seven working days.
COLLECT_BY = [
    (D(2024, 12, 20), D(2025, 1, 8)),
    (D(2026, 4, 2), D(2026, 4, 15)),
    (D(2029, 12, 21), D(2030, 1, 8)),
]


@contextmanager
def today_is(day: dt.date) -> Iterator[None]:
    """Freeze `timezone.now` at ten in the morning in Sweden on `day`, and `localdate` with it."""
    moment = dt.datetime.combine(day, dt.time(10), tzinfo=ZoneInfo(settings.TIME_ZONE))
    with (
        mock.patch("django.utils.timezone.now", return_value=moment),
        mock.patch("django.utils.timezone.localdate", return_value=day),
    ):
        yield


@pytest.fixture
def lent(shop: Shop, alice: Persona, logan: Persona) -> Loan:
    """A lift on loan to alice's patient."""
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.lift)],
        delivery=DeliveryInput(),
    )
    services.line_pick(actor=logan.actor, line=order.lines.get())
    (loan,) = services.order_deliver(actor=logan.actor, order=order)
    return loan


def register_on(day: dt.date, alice: Persona, loan: Loan) -> PickupOrder:
    # The grant is taken today: the care relationship began a few days ago.
    patient_grant = grant(alice, loan.patient)
    with today_is(day):
        assert timezone.localdate() == day
        return services.pickup_register(
            actor=alice.actor, grant=patient_grant, pickup=PickupInput(loans=[loan])
        )


def test_rent_stops_three_working_days_after_the_pickup_order_2024_to_2030(
    shop: Shop, alice: Persona, logan: Persona, lent: Loan
) -> None:
    wrong = []
    for registered, expected, why in RENT_STOPS:
        pickup = register_on(registered, alice, lent)
        lent.refresh_from_db()
        if (pickup.rent_stop_on, lent.rent_stop_on) != (expected, expected):
            wrong.append(f"{why}: registered {registered}, rent stops {pickup.rent_stop_on} "
                         f"(loan {lent.rent_stop_on}), expected {expected}")  # fmt: skip
        assert pickup.number.startswith(f"HO{registered.year}-")
        # Cancelled again: the rent goes on and the loan can be put on the next pick-up.
        services.pickup_cancel(actor=alice.actor, pickup=pickup, reason="Nästa datum")
        lent.refresh_from_db()
        assert lent.rent_stop_on is None
    assert not wrong, "\n".join(wrong)


def test_the_centre_collects_within_seven_working_days(
    shop: Shop, alice: Persona, lent: Loan
) -> None:
    for registered, expected in COLLECT_BY:
        pickup = register_on(registered, alice, lent)
        assert pickup.collect_by == expected, registered
        services.pickup_cancel(actor=alice.actor, pickup=pickup, reason="Nästa datum")


def test_a_pickup_order_on_christmas_eve_stops_rent_after_the_holidays(
    shop: Shop, alice: Persona, logan: Persona, lent: Loan
) -> None:
    """The whole story on one date: registered on Christmas Eve 2029 (a Monday), the lift waits
    for pick-up with rent stopping on 2 January 2030; a device missing when the driver comes
    restarts the rent."""
    pickup = register_on(D(2029, 12, 24), alice, lent)
    assert pickup.rent_stop_on == D(2030, 1, 2)
    assert Loan.unscoped.get(pk=lent.pk).rent_stop_on == D(2030, 1, 2)
    item = lent.item
    assert item is not None
    assert Item.objects.get(pk=item.pk).status == Item.Status.AWAITING_PICKUP
    line = pickup.lines.get()
    services.pickup_collect(actor=logan.actor, pickup=pickup, missing={line.pk: "Ej hemma"})
    after = Loan.unscoped.get(pk=lent.pk)
    assert (after.rent_stop_on, after.ended_on) == (None, None)
    assert Item.objects.get(pk=item.pk).status == Item.Status.ON_LOAN
