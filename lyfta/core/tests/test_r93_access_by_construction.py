"""R93: every read of patient-linked rows is built by the one access layer (lyfta.access.rows).
These tests are the build's check (docs/decisions/0003-access-by-construction.md): a model that
links rows to a patient without the guarded manager, or a module that renders rows to a user and
reaches around the layer, fails `make test`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

from lyfta.access.guard import PatientLinkedManager, UnscopedRead
from lyfta.patients.models import Patient

ROOT = Path(__file__).resolve().parents[3]

# Models that name a patient but are not guarded, each with the reason. Anything else with a
# path to a patient must use PatientLinkedManager.
EXEMPT = {
    # The access records themselves: read only by lyfta/access/patients.py and
    # lyfta/patients/selectors.py, after a grant for the one patient (R32–R55).
    "patients.CareRelationship": "access record, read under a grant",
    "patients.DocumentedNeed": "access record, read under a grant",
    "patients.EmergencyAccess": "access record, read under a grant or by the reviewer (R52)",
    "patients.Consent": "access record, read under a grant",
    "patients.Block": "access record, read under a grant",
    "patients.BlockLift": "access record, read under a grant",
    "patients.ProtectedStaff": "access record, read under a grant",
    "patients.PatientCorrection": "correction history, written by services, shown to nobody",
    "patients.RegisterEvent": "population-register event receipt, written by its import, shown "
    "to nobody",
    "audit.LogExtractRequest": "a patient's log-extract request, read by log reviewers (R80)",
    # A device: its holder is shown only through its loans (rows.item_history).
    "inventory.Item": "device; its holder is never rendered, the loans are",
    # Statistics: a patient's sex and birth date derived for the nightly refresh's counts; read
    # only by the refresh's SQL (a job), never by a page.
    "reports.PatientDim": "derived for the statistics refresh, read by no page",
}

# Where the `unscoped` manager, raw SQL and the layer's internals may appear: code that writes,
# jobs and seeds (none renders rows to a user), and the access layer itself.
WRITE_SIDE = ("services.py", "jobs.py", "seed.py", "triggers.py", "locks.py")


def _guarded_models() -> set[type[models.Model]]:
    return {
        model
        for model in apps.get_models()
        if isinstance(model._default_manager, PatientLinkedManager)
    }


def _links(model: type[models.Model]) -> set[type[models.Model]]:
    return {
        field.related_model  # type: ignore[misc]
        for field in model._meta.get_fields()
        if field.concrete and field.is_relation and (field.many_to_one or field.one_to_one)
    }


def test_r93_every_patient_linked_model_is_guarded() -> None:
    guarded = _guarded_models()
    assert len(guarded) >= 8  # loans, orders, lines, pick-ups, losses, prescriptions, movements
    unguarded = []
    for model in apps.get_models():
        label = model._meta.label
        if model in guarded or label in EXEMPT or model is Patient:
            continue
        if Patient in _links(model) or _links(model) & guarded:
            unguarded.append(label)
    assert not unguarded, (
        f"{unguarded} link rows to a patient: give them PatientLinkedManager as `objects` and "
        "build their reads in lyfta.access.rows (or add them to EXEMPT with the reason)."
    )


def _modules() -> list[Path]:
    return [
        path
        for path in (ROOT / "lyfta").rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


def _write_side(path: Path) -> bool:
    relative = path.relative_to(ROOT)
    return (
        path.name in WRITE_SIDE
        # A services package (one module per part, as the quality desk's) and per-part seeds.
        or relative.parts[-2:-1] == ("services",)
        or (path.name.startswith("seed_") and relative.parts[:2] != ("lyfta", "core"))
        or "management" in relative.parts
        or relative.parts[:2] == ("lyfta", "access")
    )


def test_r93_nothing_that_renders_rows_reaches_around_the_layer() -> None:
    guarded_names = {model.__name__ for model in _guarded_models()}
    tables = {model._meta.db_table for model in _guarded_models()}
    offences = []
    for path in _modules():
        if _write_side(path):
            continue
        source = path.read_text()
        tree = ast.parse(source)
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                if node.attr in {"unscoped", "_base_manager"} and (
                    node.attr == "_base_manager"
                    or (isinstance(node.value, ast.Name) and node.value.id in guarded_names)
                ):
                    offences.append(f"{where}:{node.lineno} .{node.attr}")
                if node.attr in {"raw", "_route", "_routed"}:
                    offences.append(f"{where}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.Name) and node.id in {"trusted_prefetch", "_routed"}:
                offences.append(f"{where}:{node.lineno} {node.id}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named = [table for table in tables if table in node.value]
                if named:
                    offences.append(f"{where}:{node.lineno} SQL on {named}")
    assert not offences, (
        "Views, selectors, forms and the API read patient-linked rows only through "
        f"lyfta.access.rows: {offences}"
    )


def test_r93_templates_do_not_walk_to_patient_linked_rows() -> None:
    """A template cannot call a manager with arguments, but it can walk a reverse relation: the
    guard refuses those at run time, and this names the relations so a reviewer sees them."""
    reverse = {"loans", "movements", "pickup_lines"}
    offences = []
    for path in (ROOT / "lyfta").rglob("*.html"):
        text = path.read_text()
        for name in reverse:
            for prefix in ("patient.", "item.", "holder."):
                if f"{prefix}{name}" in text:
                    offences.append(f"{path.relative_to(ROOT)}: {prefix}{name}")
    assert not offences


@pytest.mark.django_db
def test_r93_an_unrouted_read_of_patient_linked_rows_is_refused() -> None:
    """Every way to evaluate a queryset of a guarded model outside the layer raises; building,
    filtering and subqueries do not (they read nothing)."""
    from lyfta.inventory.models import Item, StockMovement
    from lyfta.orders.models import Loan, LossReport, Order, OrderLine, PickupLine, PickupOrder

    for model in (Loan, Order, OrderLine, PickupOrder, PickupLine, LossReport, StockMovement):
        queryset = model.objects.all()
        for evaluate in (
            list,
            len,
            bool,
            lambda q: q.count(),
            lambda q: q.exists(),
            lambda q: q.first(),
            lambda q: list(q.values_list("pk", flat=True)),
            lambda q: list(q.iterator()),
            lambda q: q.aggregate(n=models.Count("pk")),
            lambda q: q.filter(pk=1).get(),
        ):
            with pytest.raises(UnscopedRead):
                evaluate(queryset)
        # The write side's manager reads freely; a subquery is only SQL.
        assert model.unscoped.count() == 0
        assert list(Item.objects.filter(pk__in=queryset.values("pk"))) == []
    # A reverse relation from a row that is not itself patient-linked has no route either.
    with pytest.raises(UnscopedRead):
        list(Item(pk=1).loans.all())
    with pytest.raises(UnscopedRead):
        list(Patient(pk=1).loans.all())
