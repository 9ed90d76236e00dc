"""Billing runs in the API (issue 18 point 1): the region's financial system, a client in the
economy role, reads the month's runs and a computed run's totals per customer and cost centre,
the same figures as the run page, and no patient data at all. A client in any other role cannot
be given the scope; one without the scope is refused (403, recorded); a missing run is 404."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from conftest import County, Persona
from lyfta.access.roles import Role
from lyfta.accounts.models import ApiScope
from lyfta.api.tests.conftest import Api, register
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.billing.models import BillingLine, BillingRun, Housing
from lyfta.billing.selectors import runs as selectors
from lyfta.billing.services.run import compute_run, start_run
from lyfta.billing.tests.run_world import World, build_world

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def world(county: County) -> World:
    w = build_world(county)
    mover = w.patient()
    w.move(mover, D(2020, 1, 1), Housing.ORDINARY)
    w.move(mover, D(2025, 2, 10), Housing.SPECIAL)
    w.loan(mover, started_on=D(2024, 11, 1))
    w.loan(w.patient(), started_on=D(2025, 2, 20))
    return w


@pytest.fixture
def economy_api(client: Client, county: County, sigge: Persona) -> Api:
    return Api(
        client, register(sigge, county.centre, name="Ekonomisystem", role=Role.BILLING).token
    )


def _computed(billie: Persona, month: dt.date) -> BillingRun:
    run = start_run(actor=billie.actor, month=month)
    compute_run(run.pk)
    run.refresh_from_db()
    return run


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_the_economy_client_reads_the_runs_and_a_runs_totals(
    world: World, economy_api: Api, billie: Persona
) -> None:
    feb = _computed(billie, D(2025, 2, 1))
    assert feb.status == BillingRun.Status.PREVIEW and feb.line_count > 0
    listed = economy_api.get("/api/v1/billing/runs").json()
    assert [row["id"] for row in listed["items"]] == [feb.pk]
    assert listed["items"][0]["month"] == "2025-02-01"
    response = economy_api.get(f"/api/v1/billing/runs/{feb.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["line_count"], Decimal(body["total"])) == (
        "preview",
        feb.line_count,
        feb.total,
    )
    expected = selectors.run_totals(billie.actor, feb)
    assert [
        (c["customer_number"], c["lines"], Decimal(c["amount"])) for c in body["customers"]
    ] == [(t.number, t.lines, t.amount) for t in expected]
    assert (
        sum(c["lines"] for c in body["customers"]) == BillingLine.unscoped.filter(run=feb).count()
    )
    # Money to the öre everywhere, as the financial system reads it (the attack found the
    # customers' sums with the column's full scale, "2247.21000000000").
    amounts = [c["amount"] for c in body["customers"]] + [
        centre["amount"] for c in body["customers"] for centre in c["cost_centres"]
    ]
    assert amounts
    assert all(re.fullmatch(r"-?\d+\.\d{2}", amount) for amount in amounts), amounts
    # No patient data in any answer (R34).
    keys = _keys(listed) | _keys(body)
    assert not {k for k in keys if "patient" in k or "loan" in k or "identifier" in k}
    assert not AuditEvent.objects.filter(patient_id__isnull=False).exists()


def test_a_run_not_yet_computed_has_no_totals_and_a_missing_run_is_404(
    world: World, economy_api: Api, billie: Persona
) -> None:
    queued = start_run(actor=billie.actor, month=D(2025, 1, 1))
    body = economy_api.get(f"/api/v1/billing/runs/{queued.pk}").json()
    assert (body["status"], body["customers"]) == ("queued", [])
    assert economy_api.get("/api/v1/billing/runs/999999").status_code == 404
    assert economy_api.get("/api/v1/billing/runs/0").status_code == 422
    assert economy_api.get("/api/v1/billing/runs", {"limit": 0}).status_code == 422


def test_billing_runs_need_the_scope_and_the_scope_the_economy_role(
    client: Client, county: County, sigge: Persona, world: World, billie: Persona
) -> None:
    run = _computed(billie, D(2025, 2, 1))
    with pytest.raises(ValidationError) as raised:
        register(sigge, county.unit_a, name="Vårdsystem", scopes=[ApiScope.BILLING_READ])
    assert "scopes" in raised.value.message_dict
    prescriber = Api(client, register(sigge, county.unit_a, name="Vårdsystem").token)
    economy = Api(
        client,
        register(
            sigge, county.centre, name="Bara sortiment", role=Role.BILLING,
            scopes=[ApiScope.CATALOGUE_READ],
        ).token,
    )  # fmt: skip
    for api in (prescriber, economy):
        for path in ("/api/v1/billing/runs", f"/api/v1/billing/runs/{run.pk}"):
            response = api.get(path)
            assert response.status_code == 403, path
            assert response.json()["type"] == "urn:lyfta:problem:scope"
    assert (
        AuditEvent.objects.filter(action=Action.ACCESS_DENIED, detail__reason="scope").count() == 4
    )
