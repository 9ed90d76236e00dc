"""Issue 16 ("A day's work without friction"), the patient side: Mina patienter lists the unit's
patients with a filter and opens the holdings (problem 6), search results open the holdings too,
and the emergency form names the patient whose number was typed, never a protected one (problem
10). Each test failed on the code before issue 16."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County, Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.organisations.models import Unit
from lyfta.patients import selectors
from lyfta.patients.models import CareRelationship, Patient, ProtectedStaff

pytestmark = pytest.mark.django_db


def _patient(identifier: str, first: str, last: str, *units: Unit) -> Patient:
    p = Patient.objects.create(
        identifier=identifier, id_kind="personnummer", first_name=first, last_name=last
    )
    for unit in units:
        CareRelationship.objects.create(
            unit=unit, patient=p, origin="order", valid_from=timezone.localdate()
        )
    return p


@pytest.fixture
def people(county: County) -> dict[str, Patient]:
    return {
        "aina": _patient("194001019803", "Aina", "Apel", county.unit_a),
        "sten": _patient("195503039819", "Sten", "Sjö", county.unit_a),
        "bertil": _patient("194502029814", "Bertil", "Björk", county.unit_b),
        "jonas": _patient("195508199816", "Jonas", "Skyddstrom", county.unit_a),
    }


def _rows(page: str) -> str:
    return page.split('id="my-patients"', 1)[1].split("</table>", 1)[0]


def test_mina_patienter_lists_the_units_patients_and_opens_the_holdings(
    client: Client, alice: Persona, people: dict[str, Patient]
) -> None:
    signed_in(client, alice)
    response = client.get(reverse("patients:mine"))
    assert response.status_code == 200
    rows = _rows(response.content.decode())
    for key in ("aina", "sten", "jonas"):
        assert str(people[key]) in rows
        assert reverse("orders:holdings", args=[people[key].pk]) in rows
        assert reverse("orders:order_new", args=[people[key].pk]) in rows
    assert "Björk" not in rows  # unit B's patient (R33)
    listed = AuditEvent.objects.filter(action=Action.PATIENT_LISTED, actor_id=alice.user.pk)
    assert {e.patient_id for e in listed} == {people[k].pk for k in ("aina", "sten", "jonas")}
    searched = AuditEvent.objects.get(action=Action.PATIENT_SEARCHED, actor_id=alice.user.pk)
    assert searched.detail["kind"] == "list"


def test_mina_patienter_filters_by_name_or_number_fragment(
    client: Client, alice: Persona, people: dict[str, Patient]
) -> None:
    signed_in(client, alice)
    rows = _rows(client.get(reverse("patients:mine"), {"q": "sjö"}).content.decode())
    assert "Sten Sjö" in rows and "Apel" not in rows
    rows = _rows(client.get(reverse("patients:mine"), {"q": "0101-98"}).content.decode())
    assert "Aina Apel" in rows and "Sjö" not in rows
    event = AuditEvent.objects.filter(action=Action.PATIENT_SEARCHED).order_by("-id").first()
    assert event is not None and event.detail["query"] == ""  # a number fragment is not kept
    rows = _rows(client.get(reverse("patients:mine"), {"q": "x" * 61}).content.decode())
    assert "Apel" in rows  # too long a filter is ignored, not a 500


def test_mina_patienter_hides_a_protected_patient_but_from_named_staff(
    client: Client, alice: Persona, bob: Persona, people: dict[str, Patient]
) -> None:
    jonas = people["jonas"]
    jonas.protection = Patient.Protection.PROTECTED_REGISTRATION
    jonas.save(update_fields=["protection"])
    ProtectedStaff.objects.create(patient=jonas, user=alice.user, named_by=alice.user)
    signed_in(client, bob)
    assert "Skyddstrom" not in _rows(client.get(reverse("patients:mine")).content.decode())
    signed_in(client, alice)
    rows = _rows(client.get(reverse("patients:mine")).content.decode())
    assert "Skyddstrom" in rows and "Skyddad identitet" in rows


def test_mina_patienter_pages_and_offers_no_order_for_a_deceased_patient(
    client: Client, alice: Persona, county: County, people: dict[str, Patient]
) -> None:
    for n in range(selectors.MINE_PAGE):
        _patient(f"1960010{n:02d}000"[:12], "Extra", f"Zäta{n:02d}", county.unit_a)
    aina = people["aina"]
    aina.deceased_date = timezone.localdate()
    aina.save(update_fields=["deceased_date"])
    signed_in(client, alice)
    first = client.get(reverse("patients:mine")).content.decode()
    assert "sida=2" in first
    assert reverse("orders:order_new", args=[aina.pk]) not in _rows(first)
    assert "Avliden" in _rows(first)
    second = _rows(client.get(reverse("patients:mine"), {"sida": "2"}).content.decode())
    assert "Zäta" in second and "Apel" not in second
    assert client.get(reverse("patients:mine"), {"sida": "999999"}).status_code == 200


def test_search_results_and_an_exact_number_open_the_holdings(
    client: Client, alice: Persona, people: dict[str, Patient]
) -> None:
    signed_in(client, alice)
    page = client.get(reverse("patients:search"), {"q": "Apel"}).content.decode()
    assert reverse("orders:holdings", args=[people["aina"].pk]) in page
    response = client.post(reverse("patients:search"), {"identifier": "19400101-9803"})
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:holdings", args=[people["aina"].pk])


# --- The emergency form names the patient (problem 10) -------------------------------------------


def _emergency_page(client: Client, number: str) -> str:
    client.post(reverse("patients:search"), {"identifier": number})
    response = client.get(reverse("patients:emergency"))
    assert response.status_code == 200
    return response.content.decode().split('id="emergency-subject"', 1)[1].split("</section>")[0]


def test_the_emergency_form_names_the_patient_whose_number_was_typed(
    client: Client, charlie: Persona, people: dict[str, Patient]
) -> None:
    signed_in(client, charlie)  # unit B: Aina is not his unit's patient
    subject = _emergency_page(client, "19400101-9803")
    assert "Aina Apel" in subject and "19400101-9803" in subject
    event = AuditEvent.objects.get(action=Action.EMERGENCY_PATIENT_NAMED)
    assert (event.actor_id, event.patient_id) == (charlie.user.pk, people["aina"].pk)


def test_the_emergency_form_never_names_a_protected_patient(
    client: Client, charlie: Persona, people: dict[str, Patient]
) -> None:
    jonas = people["jonas"]
    jonas.protection = Patient.Protection.PROTECTED_REGISTRATION
    jonas.save(update_fields=["protection"])
    signed_in(client, charlie)
    protected = _emergency_page(client, "19550819-9816")
    unknown = _emergency_page(client, "19121212-1212")
    assert "Skyddstrom" not in protected and "Jonas" not in protected
    # Protected and unknown look the same: the form does not tell them apart (R54, R55).
    assert protected.replace("19550819-9816", "N") == unknown.replace("19121212-1212", "N")
    assert not AuditEvent.objects.filter(action=Action.EMERGENCY_PATIENT_NAMED).exists()


def test_the_emergency_form_names_no_one_by_a_tried_id(
    client: Client, charlie: Persona, people: dict[str, Patient]
) -> None:
    signed_in(client, charlie)
    client.post(reverse("patients:search"), {"identifier": "19121212-1212"})
    page = client.get(reverse("patients:emergency"), {"patient": people["aina"].pk})
    assert "Apel" not in page.content.decode()
