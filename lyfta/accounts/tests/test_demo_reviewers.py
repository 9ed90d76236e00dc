"""Every demo account that may open an emergency access has a demo log reviewer at its own care
provider to judge it (R52; issue 16: Arvika's prescriber's could be judged by nobody)."""

from __future__ import annotations

import pytest

from lyfta.access.actor import Actor
from lyfta.access.roles import ROLE_CAPABILITIES, Cap, Role
from lyfta.accounts import seed as accounts_seed
from lyfta.accounts.seed import DEMO_USERS
from lyfta.organisations import seed as organisations_seed
from lyfta.organisations.models import Unit

pytestmark = pytest.mark.django_db


def test_each_demo_emergency_access_has_a_reviewer_of_its_own_provider() -> None:
    actor = Actor.system("test")
    organisations_seed.seed(actor)
    accounts_seed.seed(actor)
    provider = {
        demo.username: Unit.objects.get(customer_number=demo.unit_customer).provider_id
        for demo in DEMO_USERS
    }
    reviewers = {
        demo.username: provider[demo.username]
        for demo in DEMO_USERS
        if demo.role == Role.LOG_REVIEWER
    }
    unjudged = [
        demo.username
        for demo in DEMO_USERS
        if Cap.PATIENTS_EMERGENCY in ROLE_CAPABILITIES[demo.role]
        and not any(
            where == provider[demo.username] and name != demo.username
            for name, where in reviewers.items()
        )
    ]
    assert unjudged == []
    assert "rebecka.loggranskare" in reviewers
