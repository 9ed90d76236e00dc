"""Work orders in the API (issue 18 point 1): a client reads its unit's work orders as the unit's
work-order page shows them, one work order with its patient by id, and reports a fault on a
device its unit's patient holds through the page's service. Every patient named is recorded
with the client's identity; another unit's work order is the same recorded 404 as a missing one;
a token without the scope is refused (403, recorded); bad input is a 4xx problem."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import County, Persona
from lyfta.access.roles import Role
from lyfta.accounts.api_clients import Registered
from lyfta.accounts.models import ApiScope
from lyfta.api.tests.conftest import Api, register
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, Outcome
from lyfta.workorders.models import WorkOrder
from lyfta.workorders.tests.conftest import Desk, repair_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def machine_a(county: County, sigge: Persona, desk: Desk) -> Registered:
    return register(sigge, county.unit_a, name="Vårdsystem A")


@pytest.fixture
def api_a(client: Client, machine_a: Registered) -> Api:
    return Api(client, machine_a.token)


def test_workorders_list_is_the_units_own_and_records_each_patient_named(
    api_a: Api,
    machine_a: Registered,
    desk: Desk,
    alice: Persona,
    charlie: Persona,
) -> None:
    own = repair_for(desk, alice)
    body = api_a.get("/api/v1/workorders").json()
    assert [row["id"] for row in body["items"]] == [own.pk]
    row = body["items"][0]
    assert (row["number"], row["kind"], row["status"]) == (own.number, "repair", "registered")
    assert row["patient_id"] == desk.shop.patient.pk
    assert row["individual_number"] == desk.lift.individual_number
    assert row["article_number"] == desk.lift.article.article_number
    assert body["next_cursor"] is None
    listed = AuditEvent.objects.filter(
        action=Action.PATIENT_LISTED,
        actor_id=machine_a.client.user_id,
        patient_id=desk.shop.patient.pk,
    )
    assert listed.count() == 1


def test_workorders_pages_follow_the_cursor(
    api_a: Api,
    desk: Desk,
    alice: Persona,
) -> None:
    made = [repair_for(desk, alice, description=f"Fel {n}") for n in range(3)]
    first = api_a.get("/api/v1/workorders", {"limit": 2}).json()
    assert [r["id"] for r in first["items"]] == [made[0].pk, made[1].pk]
    rest = api_a.get("/api/v1/workorders", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [r["id"] for r in rest["items"]] == [made[2].pk]
    assert rest["next_cursor"] is None
    bad = api_a.get("/api/v1/workorders", {"cursor": "!!"})
    assert bad.status_code == 422


def test_a_workorder_is_read_and_recorded_as_a_read_of_its_patient(
    api_a: Api,
    machine_a: Registered,
    desk: Desk,
    alice: Persona,
) -> None:
    own = repair_for(desk, alice)
    response = api_a.get(f"/api/v1/workorders/{own.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["patient_id"], body["description"]) == (
        own.pk,
        desk.shop.patient.pk,
        "Lyften går inte att sänka.",
    )
    viewed = AuditEvent.objects.get(
        action=Action.WORKORDER_VIEWED, actor_id=machine_a.client.user_id
    )
    assert viewed.patient_id == desk.shop.patient.pk


def test_another_units_workorder_is_the_recorded_404_of_a_missing_one(
    client: Client,
    county: County,
    sigge: Persona,
    desk: Desk,
    alice: Persona,
) -> None:
    own = repair_for(desk, alice)
    other = Api(client, register(sigge, county.unit_b, name="Vårdsystem B").token)
    assert other.get("/api/v1/workorders").json()["items"] == []
    refused = other.get(f"/api/v1/workorders/{own.pk}")
    missing = other.get("/api/v1/workorders/999999")
    assert refused.status_code == missing.status_code == 404
    assert refused.json()["detail"] == missing.json()["detail"]
    denial = AuditEvent.objects.get(
        action=Action.ACCESS_DENIED, resource_type="workorders.workorder", resource_id=str(own.pk)
    )
    assert denial.patient_id == desk.shop.patient.pk
    assert not AuditEvent.objects.filter(action=Action.WORKORDER_VIEWED).exists()


def test_workorders_need_their_scope(
    client: Client,
    county: County,
    sigge: Persona,
    desk: Desk,
    alice: Persona,
) -> None:
    own = repair_for(desk, alice)
    api = Api(client, register(sigge, county.unit_a, scopes=[ApiScope.ORDERS_READ]).token)
    for response in (
        api.get("/api/v1/workorders"),
        api.get(f"/api/v1/workorders/{own.pk}"),
        api.post("/api/v1/workorders", {"patient_id": 1, "loan_id": 1, "description": "x"}),
    ):
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
    assert (
        AuditEvent.objects.filter(
            action=Action.ACCESS_DENIED, outcome=Outcome.DENIED, detail__reason="scope"
        ).count()
        == 3
    )
    assert not AuditEvent.objects.filter(action=Action.WORKORDER_VIEWED).exists()


def test_a_workorder_scope_needs_a_role_that_sees_work_orders(
    county: County, sigge: Persona
) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        register(
            sigge,
            county.centre,
            role=Role.CATALOGUE_MANAGER,
            scopes=[ApiScope.CATALOGUE_READ, ApiScope.WORKORDERS_READ],
        )
    assert "scopes" in raised.value.message_dict


def test_a_fault_report_through_the_api_is_the_pages(
    api_a: Api,
    machine_a: Registered,
    desk: Desk,
    county: County,
) -> None:
    response = api_a.post(
        "/api/v1/workorders",
        {
            "patient_id": desk.shop.patient.pk,
            "loan_id": desk.loan.pk,
            "description": "Lyften går inte att sänka.",
            "place": "home",
            "priority": "urgent",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    order = WorkOrder.unscoped.get(pk=body["id"])
    assert response["Location"] == f"/api/v1/workorders/{order.pk}"
    # The holdings' "Felanmälan": for the client's unit, its patient, the loaned lift, asked by
    # the client's service account, due dates by the service levels.
    assert (order.unit, order.patient, order.item, order.requested_by) == (
        county.unit_a,
        desk.shop.patient,
        desk.lift,
        machine_a.client.user,
    )
    assert (order.kind, order.origin, order.priority, order.status) == (
        "repair",
        "prescriber",
        "urgent",
        "registered",
    )
    assert body["patient_id"] == desk.shop.patient.pk
    created = AuditEvent.objects.get(action=Action.WORKORDER_CREATED, resource_id=str(order.pk))
    assert created.actor_id == machine_a.client.user_id
    assert created.patient_id == desk.shop.patient.pk


def test_a_fault_report_on_what_the_client_may_not_reach_is_refused_never_a_500(
    client: Client,
    api_a: Api,
    county: County,
    sigge: Persona,
    desk: Desk,
) -> None:
    other = Api(client, register(sigge, county.unit_b, name="Vårdsystem B").token)
    body = {"patient_id": desk.shop.patient.pk, "loan_id": desk.loan.pk, "description": "Trasig"}
    # Unit B has no care relationship with the patient: the same 404 as an unknown patient.
    assert other.post("/api/v1/workorders", body).status_code == 404
    assert api_a.post("/api/v1/workorders", {**body, "patient_id": 999_999}).status_code == 404
    assert api_a.post("/api/v1/workorders", {**body, "loan_id": 999_999}).status_code == 404
    for bad in (
        {**body, "description": ""},
        {**body, "description": "   "},
        {**body, "kind": "inspection"},
        {**body, "place": "moon"},
        {**body, "patient_id": 0},
        {**body, "loan_id": 2**64},
        {**body, "description": "a\x07b"},
        {"patient_id": "x"},
    ):
        response = api_a.post("/api/v1/workorders", bad)
        assert response.status_code == 422, (bad, response.content)
    assert api_a.post("/api/v1/workorders", raw=b"{").status_code == 400
    assert not WorkOrder.unscoped.exists()
