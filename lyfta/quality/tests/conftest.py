"""Fixtures of the quality desk: the technicians' desk's world (a lift on loan to unit A's
patient, a spare lift in the central store) and the quality officer, sara, at the centre."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conftest import County, Persona, make_persona
from lyfta.access.roles import Role
from lyfta.orders.tests.conftest import grant, shop  # noqa: F401 - fixtures, found by name
from lyfta.quality.models import Deviation
from lyfta.quality.services import deviations as services
from lyfta.workorders.tests.conftest import Desk, desk  # noqa: F401 - a fixture, found by name


@pytest.fixture
def sara(county: County) -> Persona:
    """The quality officer (Kvalitetssamordnare) at the centre: no patient identity fields."""
    return make_persona(
        county.centre, Role.QUALITY, "sara", first_name="Sara", last_name="Kvalitet"
    )


def tipped(desk: Desk, alice: Persona, **fields: object) -> Deviation:  # noqa: F811 - takes the fixture's value
    """Alice reports from the holdings that patient's lift tipped: an adverse event with serious
    injury, the lift taken out of use at once."""
    values: dict[str, object] = {
        "source": Deviation.Source.HOLDINGS,
        "kind": Deviation.Kind.ADVERSE_EVENT,
        "severity": Deviation.Severity.SERIOUS,
        "description": "Lyften tippade vid förflyttning.",
        "consequence": "Patienten bröt handleden.",
        "immediate_action": "Lyften ställdes undan.",
        "occurred_on": timezone.localdate() - dt.timedelta(days=1),
        "item": desk.lift,
        "patient": grant(alice, desk.shop.patient).patient,
        "quarantine": True,
        **fields,
    }
    return services.deviation_report(actor=alice.actor, **values)  # type: ignore[arg-type]
