"""Providers and units: validation, pages, audited changes and the history panel."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from conftest import County, Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.organisations import services
from lyfta.organisations.models import CareProvider, validate_organisation_number


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("23210-00016", "tio siffror"),
        ("2321000010", "kontrollsiffra"),
        ("551000-0000", "tredje siffra"),
        ("abcdef-ghij", "tio siffror"),
    ],
)
def test_bad_organisation_numbers_get_a_swedish_reason(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_organisation_number(value)


def test_valid_organisation_number_passes() -> None:
    validate_organisation_number("232100-0016")


@pytest.mark.django_db
def test_provider_list_and_unit_pages(as_alice: Client, county: County) -> None:
    html = as_alice.get(reverse("organisations:providers")).content.decode()
    assert county.region.name in html and county.municipality.name in html
    page = as_alice.get(reverse("organisations:provider", args=[county.municipality.pk]))
    assert county.unit_a.name in page.content.decode()
    unit = as_alice.get(reverse("organisations:unit", args=[county.unit_a.pk]))
    assert county.unit_a.customer_number in unit.content.decode()


@pytest.mark.django_db
def test_missing_unit_is_a_404(as_alice: Client) -> None:
    assert as_alice.get(reverse("organisations:unit", args=[999999])).status_code == 404


@pytest.mark.django_db
def test_r8_unit_change_is_recorded_with_old_and_new_values(sigge: Persona, county: County) -> None:
    services.unit_update(actor=sigge.actor, unit=county.unit_a, cost_centre="99999", phone="054-1")
    event = AuditEvent.objects.get(action=Action.UNIT_UPDATED)
    assert event.resource_type == "organisations.unit"
    assert event.resource_id == str(county.unit_a.pk)
    assert event.changes["cost_centre"][1] == "99999"
    assert event.changes["phone"] == ["", "054-1"]
    assert event.actor_username == "sigge"


@pytest.mark.django_db
def test_unchanged_save_records_nothing(sigge: Persona, county: County) -> None:
    services.unit_update(actor=sigge.actor, unit=county.unit_a, name=county.unit_a.name)
    assert not AuditEvent.objects.filter(action=Action.UNIT_UPDATED).exists()


@pytest.mark.django_db
def test_prescriber_cannot_change_a_unit_and_the_attempt_is_logged(
    alice: Persona, county: County
) -> None:
    with pytest.raises(PermissionDenied):
        services.unit_update(actor=alice.actor, unit=county.unit_a, cost_centre="1")
    county.unit_a.refresh_from_db()
    assert county.unit_a.cost_centre != "1"
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED)
    assert denied.outcome == "denied" and denied.actor_username == "alice"


@pytest.mark.django_db
def test_invalid_provider_is_not_saved(sigge: Persona) -> None:
    with pytest.raises(ValidationError):
        services.provider_create(
            actor=sigge.actor,
            name="Fel",
            short_name="Fel",
            kind="municipality",
            organisation_number="123",
        )
    assert not CareProvider.objects.filter(name="Fel").exists()
    assert not AuditEvent.objects.filter(action=Action.PROVIDER_CREATED).exists()


@pytest.mark.django_db
def test_history_panel_shows_who_changed_what(
    client: Client, sigge: Persona, county: County
) -> None:
    services.unit_update(actor=sigge.actor, unit=county.unit_a, cost_centre="77777")
    signed_in(client, sigge)
    response = client.get(
        reverse("organisations:unit_history", args=[county.unit_a.pk]), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "77777" in html and "Sigge Sys" in html and "Enhet ändrad" in html
    assert "<html" not in html  # the bare panel for htmx
    assert AuditEvent.objects.filter(action=Action.HISTORY_VIEWED, actor_username="sigge").exists()


@pytest.mark.django_db
def test_history_panel_is_hidden_from_prescribers(as_alice: Client, county: County) -> None:
    html = as_alice.get(reverse("organisations:unit", args=[county.unit_a.pk])).content.decode()
    assert "Ändringshistorik" not in html


@pytest.mark.django_db
def test_admin_site_is_for_system_administrators_only(
    client: Client, sigge: Persona, alice: Persona, county: County
) -> None:
    signed_in(client, alice)
    assert client.get("/admin/").status_code == 403
    client.logout()
    signed_in(client, sigge)
    assert client.get("/admin/").status_code == 200
    assert client.get(f"/admin/organisations/unit/{county.unit_a.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_admin_change_goes_through_the_audited_service(
    client: Client, sigge: Persona, county: County
) -> None:
    signed_in(client, sigge)
    unit = county.unit_a
    response = client.post(
        f"/admin/organisations/unit/{unit.pk}/change/",
        {
            "provider": unit.provider_id,
            "name": unit.name,
            "kind": unit.kind,
            "customer_number": unit.customer_number,
            "cost_centre": "55555",
            "phone": "",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action=Action.UNIT_UPDATED)
    assert event.changes["cost_centre"][1] == "55555"
    assert event.actor_username == "sigge"
