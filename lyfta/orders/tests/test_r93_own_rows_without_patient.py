"""A unit's own rows that name no patient (a buffer store's refill order) are the unit's to see:
the rule that hides a protected patient's rows from staff who are not named must not hide rows
without a patient (found by the work-order tests: the negated patient conditions matched them)."""

from __future__ import annotations

from conftest import Persona
from lyfta.access import rows
from lyfta.orders import services
from lyfta.orders.services import LineInput
from lyfta.orders.tests.conftest import Shop


def test_r93_unit_sees_its_own_store_order(shop: Shop, alice: Persona, charlie: Persona) -> None:
    refill = services.order_store_place(
        actor=alice.actor, store=shop.buffer_a, lines=[LineInput(shop.grips, 2)]
    )
    assert refill.patient_id is None
    assert rows.orders_for(alice.actor).filter(pk=refill.pk).exists()
    # Another provider's unit still does not see it.
    assert not rows.orders_for(charlie.actor).filter(pk=refill.pk).exists()
