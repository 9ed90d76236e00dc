"""The name search grows with the unit, not the country (issue 19): on PostgreSQL it reads the
unit's patients first (`UnitFirst`: `id = ANY(ARRAY(...))`) rather than letting the names'
trigram index read every patient of the country with the word. Same rows as before: the scope's
own tests (care relationship in force, protected identity) run through the same search."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import County
from lyfta.access.patients import patients_in_scope_of
from lyfta.patients.models import CareRelationship, Patient

pytestmark = pytest.mark.django_db


def _patient(number: str, first: str, last: str) -> Patient:
    return Patient.objects.create(
        identifier=number, id_kind="personnummer", first_name=first, last_name=last
    )


def _patient_reads(client: Client, url: str, query: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"q": query})
    assert response.status_code == 200
    listed = 'SELECT "patients_patient"."id" AS "pk", "patients_patient"."first_name"'
    return [q["sql"] for q in queries if q["sql"].startswith(listed)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL plan")
def test_the_name_search_reads_the_units_patients_first(as_alice: Client, county: County) -> None:
    patient = _patient("194001019803", "Britt", "Bengtsson")
    CareRelationship.objects.create(
        unit=county.unit_a, patient=patient, origin="order", valid_from=timezone.localdate()
    )
    for url in (reverse("patients:search"), reverse("patients:mine")):
        reads = _patient_reads(as_alice, url, "bengtsson")
        assert reads and all("= ANY(ARRAY(" in sql for sql in reads), (url, reads)
    # Unfiltered, the own-patient list walks the name index (dense in the unit): not unit-first.
    reads = _patient_reads(as_alice, reverse("patients:mine"), "")
    assert reads and not any("ANY(ARRAY(" in sql for sql in reads)


def test_unit_first_gives_the_same_patients_as_the_plain_scope(county: County) -> None:
    today = timezone.localdate()
    kept = _patient("194001019803", "Britt", "Bengtsson")
    ended = _patient("194002029802", "Bo", "Bengtsson")
    elsewhere = _patient("194003039801", "Bea", "Bengtsson")
    for patient in (kept, ended):
        CareRelationship.objects.create(
            unit=county.unit_a, patient=patient, origin="order", valid_from=today
        )
    CareRelationship.objects.filter(patient=ended).update(ended_at=timezone.now())
    CareRelationship.objects.create(
        unit=county.unit_b, patient=elsewhere, origin="order", valid_from=today
    )
    user = 0  # no one: protected patients are left out either way
    plain = set(patients_in_scope_of(county.unit_a.pk, user, today).values_list("pk", flat=True))
    first = set(
        patients_in_scope_of(county.unit_a.pk, user, today, unit_first=True).values_list(
            "pk", flat=True
        )
    )
    assert first == plain and kept.pk in first and not {ended.pk, elsewhere.pk} & first
