"""The demo county: Region Värmland, its 16 municipalities, their units, the centre."""

from __future__ import annotations

import io

import pytest
from django.apps import apps
from django.core.management import call_command

from lyfta.audit.verify import audit_verify
from lyfta.organisations.models import (
    CareProvider,
    DeliveryAddress,
    Unit,
    Warehouse,
    validate_organisation_number,
)


def _counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in {"organisations", "accounts", "audit"}
    }


@pytest.mark.django_db
def test_seed_creates_the_county() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    assert CareProvider.objects.filter(kind=CareProvider.Kind.REGION).count() == 1
    municipalities = CareProvider.objects.filter(kind=CareProvider.Kind.MUNICIPALITY)
    assert municipalities.count() == 16
    assert {"Karlstad kommun", "Årjäng kommun", "Säffle kommun"} <= set(
        municipalities.values_list("name", flat=True)
    )
    for provider in CareProvider.objects.all():
        validate_organisation_number(provider.organisation_number)
        assert provider.units.count() >= 3, provider
    region = CareProvider.objects.get(kind=CareProvider.Kind.REGION)
    kinds = set(region.units.values_list("kind", flat=True))
    assert {
        Unit.Kind.WARD,
        Unit.Kind.PRIMARY_CARE,
        Unit.Kind.HABILITATION,
        Unit.Kind.CENTRE,
    } <= kinds
    assert Unit.objects.filter(kind=Unit.Kind.HOME_CARE).count() == 16
    assert Unit.objects.filter(kind=Unit.Kind.CARE_HOME).count() >= 16
    assert Warehouse.objects.get(is_main=True).unit.provider == region
    assert not Unit.objects.exclude(pk__in=DeliveryAddress.objects.values("unit")).exists()


@pytest.mark.django_db
def test_seed_twice_changes_nothing() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    before = _counts()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert _counts() == before
    assert "0 new audit events" in out.getvalue()


@pytest.mark.django_db
def test_seed_leaves_a_sealed_verifiable_trail() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    report = audit_verify()
    assert report.ok, report.summary()
    assert report.events > 100 and report.pending == 0
