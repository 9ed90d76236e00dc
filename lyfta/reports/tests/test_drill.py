"""The drill-down from the statistics to rows (issue 17 point 2): only through the access layer
(the actor's own unit's loans, of patients in care), and every patient named is recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.actor import Actor
from lyfta.access.roles import Role
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.patients.models import CareRelationship
from lyfta.reports.services.refresh import statistics_refresh
from lyfta.reports.tests.world import LoanWorld, loan_world


@pytest.fixture
def world(county: County) -> LoanWorld:
    found = loan_world(county)
    statistics_refresh(actor=Actor.system("test"))
    return found


@pytest.fixture
def manager(county: County) -> Persona:
    return make_persona(county.unit_a, Role.UNIT_MANAGER, "maja")


def _in_care(world: LoanWorld, index: int, unit: Any, by: Persona) -> None:
    CareRelationship.objects.create(
        unit=unit, patient=world.people[index].patient, origin="registered",
        valid_from=dt.date(2020, 1, 1), created_by=by.user,
    )  # fmt: skip


def test_the_own_units_table_per_article_links_to_its_rows(
    client: Client, world: LoanWorld, manager: Persona
) -> None:
    signed_in(client, manager)
    month = timezone.localdate().strftime("%Y-%m")
    page = client.get(
        f"/statistik/utlanade/?grupp=article&enhet={world.county.unit_a.pk}&till={month}"
    ).content.decode()
    assert f"/statistik/utlanade/rader/{world.wheelchair.pk}/" in page
    other = client.get(
        f"/statistik/utlanade/?grupp=article&enhet={world.county.unit_a2.pk}&till={month}"
    ).content.decode()
    assert "/statistik/utlanade/rader/" not in other


def test_rows_are_the_units_patients_in_care_and_each_is_recorded(
    client: Client, world: LoanWorld, manager: Persona
) -> None:
    _in_care(world, 0, world.county.unit_a, manager)
    signed_in(client, manager)
    response = client.get(f"/statistik/utlanade/rader/{world.wheelchair.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    listed = world.people[0].patient
    assert listed.last_name in page
    # Person 6 holds unit A's wheelchair too, but the unit has no care relationship with her.
    assert world.people[6].patient.last_name not in page
    events = AuditEvent.objects.filter(action=Action.PATIENT_LISTED, actor_id=manager.user.pk)
    assert {e.patient_id for e in events} == {listed.pk}
    assert events.get().detail["list"] == "statistics"


def test_another_units_manager_sees_no_rows(
    client: Client, world: LoanWorld, county: County
) -> None:
    other = make_persona(county.unit_b, Role.UNIT_MANAGER, "olle")
    _in_care(world, 0, county.unit_a, other)
    signed_in(client, other)
    page = client.get(f"/statistik/utlanade/rader/{world.wheelchair.pk}/").content.decode()
    assert world.people[0].patient.last_name not in page
    assert not AuditEvent.objects.filter(action=Action.PATIENT_LISTED).exists()


def test_the_centre_sees_no_rows_and_a_prescriber_no_page(
    client: Client, world: LoanWorld, logan: Persona, alice: Persona
) -> None:
    signed_in(client, logan)
    page = client.get(f"/statistik/utlanade/rader/{world.wheelchair.pk}/").content.decode()
    assert world.people[0].patient.last_name not in page
    signed_in(client, alice)
    assert client.get(f"/statistik/utlanade/rader/{world.wheelchair.pk}/").status_code == 403
