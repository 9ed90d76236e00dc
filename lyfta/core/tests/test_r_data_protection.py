"""Data protection (ACCOUNTABILITY.md §1.8): no route or admin page deletes record data (R86), and
the data that ships with Lyfta (the demo seed, the test suite, the scale generator) holds only
synthetic people (R89)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import models
from django.test import Client, RequestFactory
from django.urls import reverse

from conftest import County, Persona, signed_in
from lyfta.access.admin import admin_site
from lyfta.accounts.models import User
from lyfta.core.luhn import luhn_ok, synthetic_personnummer
from lyfta.core.tests import test_access_table as table
from lyfta.orders.models import Loan, Order
from lyfta.organisations.models import Unit
from lyfta.patients.models import Patient

# The access table's World: every kind of record (patients, consents, blocks, orders, loans,
# audit events, review checks, extracts) exists once, with ids for every route's arguments.
world = table.world

RECORD_APPS = ("patients", "orders", "inventory", "audit")
# Statuses that mean the request reached the view rather than being turned away before it.
THROUGH = {table.OK, table.FOUND, table.BAD, 204}


def _row_counts(app_labels: tuple[str, ...]) -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in app_labels
    }


# --- R86: no generic deletion of record data ----------------------------------------------------


@pytest.mark.django_db
def test_r86_no_route_deletes_record_data(world: table.World) -> None:
    """Every route of the URL conf, called with DELETE by each persona the access table lets
    through to it (and by alice where it lets nobody through), leaves every patient, order, loan,
    stock and audit row in place. Lyfta has no API besides these routes (lyfta/api holds none)."""
    assert sorted(table.ROUTES) == table.url_names(), "the sweep must cover every route"
    # Every argument is built (and any object it needs created) before the rows are counted.
    calls: list[tuple[str, str]] = []
    for name, routes in table.ROUTES.items():
        for route in routes:
            url = reverse(name, kwargs=route.kwargs(world))
            through = [p for p, code in route.expect.items() if code in THROUGH]
            calls.extend((persona, url) for persona in through or ["alice"])
    clients = {
        persona: Client() if persona == "anonymous" else signed_in(Client(), world.people[persona])
        for persona in {p for p, _url in calls}
    }
    assert Patient.objects.exists() and Order.unscoped.exists() and Loan.unscoped.exists()
    before = _row_counts(RECORD_APPS)

    answers = {(persona, url): clients[persona].delete(url).status_code for persona, url in calls}

    after = _row_counts(RECORD_APPS)
    for label, rows in before.items():
        if label.startswith("audit."):
            assert after[label] >= rows, f"{label}: audit rows disappeared"
        else:
            assert after[label] == rows, f"{label}: {rows} rows before DELETE, {after[label]} after"
    assert 204 not in answers.values(), "no route answers DELETE with 'deleted, no content'"


@pytest.mark.django_db
def test_r86_the_admin_holds_no_record_data_and_deletes_nothing(
    client: Client, county: County, sigge: Persona
) -> None:
    """The admin site registers reference data only, never patient, order, loan, stock or audit
    models; none of its model admins grants delete or offers the bulk delete action, even to the
    system administrator, and its delete page refuses."""
    registered = admin_site._registry
    assert registered, "the admin registers its reference data"
    leaked = [m._meta.label for m in registered if m._meta.app_label in RECORD_APPS]
    assert not leaked, f"record data in the admin: {leaked}"
    request = RequestFactory().get("/admin/")
    request.user = sigge.user
    request.actor = sigge.actor  # type: ignore[attr-defined]
    for model, model_admin in registered.items():
        assert model_admin.has_change_permission(request), model  # sigge is the most trusted
        assert not model_admin.has_delete_permission(request), model
        assert "delete_selected" not in model_admin.get_actions(request), model

    signed_in(client, sigge)
    unit = county.unit_a
    url = reverse("admin:organisations_unit_delete", args=[unit.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Unit.objects.filter(pk=unit.pk).exists()


def test_r86_records_about_a_patient_cannot_be_deleted_through_the_database_either() -> None:
    """Every foreign key to a patient, an order or a loan is PROTECT: deleting the patient (or
    order, or loan) fails instead of cascading away its history, corrections, consents, blocks,
    emergency accesses, orders, loans and stock movements."""
    cascading = [
        f"{model._meta.label}.{field.name} ({field.remote_field.on_delete.__name__})"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey)
        and field.related_model in (Patient, Order, Loan)
        and field.remote_field.on_delete is not models.PROTECT
    ]
    assert not cascading, f"record data that a delete would take with it: {cascading}"


# --- R89: only synthetic people ----------------------------------------------------------------

# A 10- or 12-digit Swedish personal identity number, with or without its separator.
PERSONNUMMER = re.compile(r"(?<![0-9])((?:19|20)?[0-9]{6})[-+]?([0-9]{4})(?![0-9])")
# Skatteverket's long-published test person ("Tolvan Tolvansson"), used in tests of the review
# search; every other number must come from the test series.
KNOWN_TEST_PEOPLE = {"1212121212"}


def _is_test_number(number: str) -> bool:
    """True for a valid personnummer (or samordningsnummer) with birth number 980–999, the series
    Skatteverket keeps for test identities."""
    digits = number[-10:]
    return len(number) in (10, 12) and luhn_ok(digits) and 980 <= int(digits[6:9]) <= 999


@pytest.mark.parametrize("serial", [0, 1, 19, 20, 39, 1000])
def test_r89_the_synthetic_number_generator_only_makes_test_numbers(serial: int) -> None:
    number = synthetic_personnummer("19400101", serial)
    assert _is_test_number(number), number


@pytest.mark.django_db
def test_r89_the_demo_seed_creates_only_synthetic_people() -> None:
    """`manage.py seed_demo`: every patient and every demo user's personnummer is a Skatteverket
    test number (birth number 980–999, valid check digit)."""
    call_command("seed_demo", stdout=io.StringIO())
    patients = list(Patient.objects.values_list("identifier", "id_kind"))
    assert len(patients) >= 20
    real = [i for i, kind in patients if kind != "personnummer" or not _is_test_number(i)]
    assert not real, f"seeded patients outside the test series: {real}"
    staff = list(User.objects.exclude(personnummer=None).values_list("personnummer", flat=True))
    assert staff, "the demo users carry personnummer"
    assert all(n is not None and _is_test_number(n) for n in staff), staff


def test_r89_no_real_personnummer_ships_in_code_tests_or_docs() -> None:
    """Every date-shaped number with a valid check digit in the code, the tests, the benchmarks'
    generator, the templates and the docs is a test number: nothing real can reach a test or
    development database from what the project ships."""
    base = Path(settings.BASE_DIR)
    files = [base / "conftest.py", base / "README.md"]
    for folder in ("lyfta", "bench", "docs"):
        files += [
            path
            for path in (base / folder).rglob("*")
            if path.suffix in {".py", ".html", ".json", ".md", ".txt", ".csv"}
            and "migrations" not in path.parts
        ]
    found = []
    for path in files:
        for match in PERSONNUMMER.finditer(path.read_text(encoding="utf-8", errors="replace")):
            number = match.group(1)[-6:] + match.group(2)
            month, day = int(number[2:4]), int(number[4:6])
            date_shaped = 1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)
            if not date_shaped or not luhn_ok(number) or number in KNOWN_TEST_PEOPLE:
                continue
            if not _is_test_number(number):
                found.append(f"{path.relative_to(base)}: {match.group(0)}")
    assert not found, f"personnummer outside the test series: {found}"
