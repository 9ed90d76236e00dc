"""Deviations in the API (issue 18 point 1): a client registers a deviation through the page's
service and rules (the same deviation as the page's form makes, audited with the client's
identity), reads its unit's deviations (the list names no patient) and one deviation with its
patient by id where the access layer lets it see him (recorded). Another unit's deviation is
the same recorded 404 as a missing one; a token without the scope is refused (403, recorded);
bad input is a 4xx problem, never a 500, and writes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, signed_in
from lyfta.access.roles import Role
from lyfta.accounts.api_clients import Registered
from lyfta.accounts.models import ApiScope
from lyfta.api.tests.conftest import Api, register
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, Outcome
from lyfta.quality.models import Deviation
from lyfta.quality.tests.conftest import tipped
from lyfta.workorders.tests.conftest import Desk, repair_for

pytestmark = pytest.mark.django_db

COMPARED = (
    "kind",
    "severity",
    "status",
    "source",
    "occurred_on",
    "description",
    "consequence",
    "immediate_action",
    "wish",
    "item_id",
    "article_id",
    "lot",
    "patient_id",
    "order_id",
    "pickup_id",
    "workorder_id",
    "unit_id",
    "is_incident",
)


@pytest.fixture
def machine_a(county: County, sigge: Persona, desk: Desk) -> Registered:
    return register(sigge, county.unit_a, name="Vårdsystem A")


@pytest.fixture
def api_a(client: Client, machine_a: Registered) -> Api:
    return Api(client, machine_a.token)


def _body(desk: Desk, **extra: Any) -> dict[str, Any]:
    return {
        "source": {"patient_id": desk.shop.patient.pk, "loan_id": desk.loan.pk},
        "kind": "near_miss",
        "severity": "minor",
        "description": "Bromsen tar dåligt.",
        "consequence": "Patienten föll nästan.",
        "immediate_action": "Lyften ställdes undan.",
        "occurred_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        "wish": "Byt bromsen.",
        **extra,
    }


def test_a_deviation_registered_through_the_api_is_the_one_the_page_registers(
    client: Client, api_a: Api, machine_a: Registered, desk: Desk, alice: Persona
) -> None:
    response = api_a.post("/api/v1/deviations", _body(desk))
    assert response.status_code == 201, response.content
    made = Deviation.unscoped.get(pk=response.json()["id"])
    assert response["Location"] == f"/api/v1/deviations/{made.pk}"
    # The same form on the page, by alice of the same unit.
    signed_in(client, alice)
    form = {k: v for k, v in _body(desk).items() if k != "source"}
    page = client.post(
        reverse("quality:report_loan", args=[desk.shop.patient.pk, desk.loan.pk]), form
    )
    assert page.status_code == 302
    by_page = Deviation.unscoped.exclude(pk=made.pk).get()
    assert {f: getattr(made, f) for f in COMPARED} == {f: getattr(by_page, f) for f in COMPARED}
    assert made.reported_by == machine_a.client.user
    assert (made.item, made.patient) == (desk.lift, desk.shop.patient)
    reported = AuditEvent.objects.get(
        action=Action.DEVIATION_REPORTED, actor_id=machine_a.client.user_id
    )
    assert (reported.patient_id, reported.resource_id) == (desk.shop.patient.pk, str(made.pk))
    # The patient was read for the form on the grant, as on the page.
    assert AuditEvent.objects.filter(
        action=Action.PATIENT_READ,
        actor_id=machine_a.client.user_id,
        resource_type="quality.deviation_form",
        patient_id=desk.shop.patient.pk,
    ).exists()
    body = response.json()
    assert (body["status"], body["kind"], body["patient_id"]) == (
        "registered",
        "near_miss",
        desk.shop.patient.pk,
    )


def test_a_serious_adverse_event_quarantines_and_becomes_an_incident(
    api_a: Api, desk: Desk
) -> None:
    response = api_a.post(
        "/api/v1/deviations", _body(desk, kind="adverse_event", severity="serious", quarantine=True)
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["quarantined"], body["is_incident"]) == (True, True)
    desk.lift.refresh_from_db()
    assert desk.lift.out_of_use_since is not None


def test_a_deviation_from_a_work_order_and_from_an_order(
    api_a: Api, desk: Desk, alice: Persona
) -> None:
    work = repair_for(desk, alice)
    response = api_a.post("/api/v1/deviations", _body(desk, source={"workorder_id": work.pk}))
    assert response.status_code == 201, response.content
    made = Deviation.unscoped.get(pk=response.json()["id"])
    assert (made.source, made.workorder, made.item, made.patient) == (
        "workorder",
        work,
        desk.lift,
        desk.shop.patient,
    )
    line = desk.loan.order_line
    assert line is not None
    response = api_a.post(
        "/api/v1/deviations",
        _body(desk, source={"order_id": line.order_id, "order_line_id": line.pk}),
    )
    assert response.status_code == 201, response.content
    made = Deviation.unscoped.get(pk=response.json()["id"])
    assert (made.source, made.order_id, made.item) == ("delivery", line.order_id, desk.lift)
    wrong_line = api_a.post(
        "/api/v1/deviations",
        _body(desk, source={"order_id": line.order_id, "order_line_id": 999_999}),
    )
    assert wrong_line.status_code == 422


def test_the_units_deviations_are_listed_without_patients_and_read_with_the_patient_recorded(
    api_a: Api, machine_a: Registered, desk: Desk, alice: Persona
) -> None:
    own = tipped(desk, alice)
    body = api_a.get("/api/v1/deviations").json()
    assert [row["id"] for row in body["items"]] == [own.pk]
    assert "patient_id" not in body["items"][0]
    assert not AuditEvent.objects.filter(action=Action.PATIENT_READ).exists()
    response = api_a.get(f"/api/v1/deviations/{own.pk}")
    assert response.status_code == 200, response.content
    one = response.json()
    assert (one["number"], one["patient_id"], one["individual_number"]) == (
        own.number,
        desk.shop.patient.pk,
        desk.lift.individual_number,
    )
    assert AuditEvent.objects.filter(
        action=Action.DEVIATION_VIEWED, actor_id=machine_a.client.user_id
    ).exists()
    read = AuditEvent.objects.get(action=Action.PATIENT_READ, actor_id=machine_a.client.user_id)
    assert (read.patient_id, read.resource_id) == (desk.shop.patient.pk, str(own.pk))


def test_another_units_deviation_is_the_recorded_404_of_a_missing_one(
    client: Client, county: County, sigge: Persona, desk: Desk, alice: Persona
) -> None:
    own = tipped(desk, alice)
    other = Api(client, register(sigge, county.unit_b, name="Vårdsystem B").token)
    assert other.get("/api/v1/deviations").json()["items"] == []
    refused = other.get(f"/api/v1/deviations/{own.pk}")
    missing = other.get("/api/v1/deviations/999999")
    assert refused.status_code == missing.status_code == 404
    denial = AuditEvent.objects.get(
        action=Action.ACCESS_DENIED, resource_type="quality.deviation", resource_id=str(own.pk)
    )
    assert denial.outcome == Outcome.DENIED
    # Nor may unit B report on unit A's patient's loan: the patient's 404, recorded.
    before = AuditEvent.objects.filter(outcome=Outcome.DENIED).count()
    assert other.post("/api/v1/deviations", _body(desk)).status_code == 404
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED).count() > before
    assert Deviation.unscoped.count() == 1


def test_deviations_need_their_scope_and_a_role_that_reports(
    client: Client, county: County, sigge: Persona, desk: Desk, alice: Persona
) -> None:
    from django.core.exceptions import ValidationError

    own = tipped(desk, alice)
    api = Api(client, register(sigge, county.unit_a, scopes=[ApiScope.DEVIATIONS_READ]).token)
    assert api.get(f"/api/v1/deviations/{own.pk}").status_code == 200
    refused = api.post("/api/v1/deviations", _body(desk))
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:lyfta:problem:scope"
    api = Api(
        client,
        register(sigge, county.unit_a, name="Bara ordrar", scopes=[ApiScope.ORDERS_READ]).token,
    )
    assert api.get("/api/v1/deviations").status_code == 403
    assert api.get(f"/api/v1/deviations/{own.pk}").status_code == 403
    assert AuditEvent.objects.filter(detail__reason="scope").count() == 3
    assert Deviation.unscoped.count() == 1
    with pytest.raises(ValidationError):
        register(
            sigge,
            county.centre,
            name="Sortiment",
            role=Role.CATALOGUE_MANAGER,
            scopes=[ApiScope.DEVIATIONS_WRITE],
        )


@pytest.mark.parametrize(
    "change",
    [
        {"description": ""},
        {"description": "\u200b\u200b"},
        {"description": "x" * 4001},
        {"kind": "explosion"},
        {"severity": "x"},
        {"occurred_on": "2999-01-01"},
        {"occurred_on": "12/08/2026"},
        {"occurred_on": "2999-12-31"},
        {"source": {}},
        {"source": {"loan_id": 1}},
        {"source": {"order_id": 1, "workorder_id": 1}},
        {"source": {"order_line_id": 1}},
        {"source": {"individual_number": "../x"}},
        {"source": {"patient_id": 0, "loan_id": 1}},
        {"quarantine": True, "source": {"order_id": None, "workorder_id": None}},
        {"wish": "a\x00b"},
        {"lot": "x" * 61},
    ],
)
def test_bad_input_is_a_4xx_problem_and_writes_nothing(
    api_a: Api, desk: Desk, change: dict[str, Any]
) -> None:
    response = api_a.post("/api/v1/deviations", _body(desk, **change))
    assert 400 <= response.status_code < 500, (change, response.status_code, response.content)
    assert response["Content-Type"] == "application/problem+json"
    if "quarantine" not in change:
        assert not Deviation.unscoped.exists()


def test_unknown_things_to_report_on_are_404(api_a: Api, desk: Desk) -> None:
    for source in (
        {"patient_id": desk.shop.patient.pk, "loan_id": 999_999},
        {"patient_id": 999_999, "loan_id": desk.loan.pk},
        {"order_id": 999_999},
        {"pickup_id": 999_999},
        {"workorder_id": 999_999},
        {"individual_number": "NOSUCH1"},
    ):
        response = api_a.post("/api/v1/deviations", _body(desk, source=source))
        assert response.status_code == 404, (source, response.content)
    assert not Deviation.unscoped.exists()
