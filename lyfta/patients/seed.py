"""Demo patients: synthetic people (birth numbers 980–999) spread over the county, some related to
several units, one with protected identity, one with a block and one deceased. Idempotent."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.accounts.models import User
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.core.luhn import synthetic_personnummer
from lyfta.organisations.models import CareProvider, Unit
from lyfta.patients.models import Block, CareRelationship, Patient, ProtectedStaff

FIRST = [
    "Astrid",
    "Bengt",
    "Birgitta",
    "Curt",
    "Dagny",
    "Erik",
    "Elsa",
    "Folke",
    "Gunnel",
    "Gösta",
    "Harriet",
    "Ingvar",
    "Inga",
    "Johan",
    "Karin",
    "Lennart",
    "Margit",
    "Nils",
    "Osborn",
    "Per",
    "Rut",
    "Sven",
    "Signe",
    "Tage",
    "Ulla",
    "Valter",
    "Vera",
    "Åke",
]
LAST = [
    "Andersson",
    "Berg",
    "Dahlgren",
    "Ek",
    "Fors",
    "Gran",
    "Holm",
    "Isaksson",
    "Jonsson",
    "Karlsson",
    "Lind",
    "Månsson",
    "Nordin",
    "Olsson",
    "Persson",
    "Roos",
    "Sjöberg",
    "Törnqvist",
    "Vik",
    "Åberg",
]
STREETS = ["Storgatan", "Kyrkogatan", "Skolvägen", "Björkvägen", "Älvgatan", "Ängsvägen"]
COUNT = 40
# Customer numbers from the organisation seed: which units the demo patients belong to.
UNITS = ["K20801", "K20804", "K10005", "K20101", "K10002", "K10008", "K21301"]


def _relate(patient: Patient, unit: Unit, origin: str, days_ago: int) -> None:
    if not CareRelationship.objects.filter(unit=unit, patient=patient).exists():
        relationship = CareRelationship.objects.create(
            unit=unit,
            patient=patient,
            origin=origin,
            reason="Demo",
            valid_from=timezone.localdate() - dt.timedelta(days=days_ago),
        )
        # Demo data enters like an import: recorded, by the seed's system actor.
        record(
            action=Action.RELATIONSHIP_CREATED,
            target=relationship,
            patient_id=patient.pk,
            owner_provider_id=unit.provider_id,
            owner_unit_id=unit.pk,
            detail={"origin": origin, "import": "seed_demo"},
        )


def seed(actor: Actor) -> None:
    rng = random.Random(4711)  # the same people on every run  # noqa: S311 - demo data only
    units = {u.customer_number: u for u in Unit.objects.filter(customer_number__in=UNITS)}
    municipalities = {p.short_name: p for p in CareProvider.objects.filter(kind="municipality")}
    for n in range(COUNT):
        born = dt.date(1928, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 80))
        identifier = synthetic_personnummer(born.strftime("%Y%m%d"), n)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        unit = units[UNITS[n % len(UNITS)]]
        address = unit.addresses.first()
        town = address.city if address else "Karlstad"
        # Every random draw happens on every run, so a second run meets the same people.
        first_days, second_days = rng.randrange(10, 400), rng.randrange(10, 400)
        patient, created = Patient.objects.get_or_create(
            identifier=identifier,
            defaults={
                "id_kind": "personnummer",
                "first_name": first,
                "last_name": last,
                "street": f"{rng.choice(STREETS)} {rng.randrange(1, 60)}",
                "postal_code": f"{rng.randrange(650, 690)} {rng.randrange(10, 99)}",
                "city": town,
                "phone": f"070-{rng.randrange(100, 999)} {rng.randrange(10, 99)} "
                f"{rng.randrange(10, 99)}",
                "home_municipality": municipalities.get(town),
            },
        )
        if not created:
            continue
        record(
            action=Action.PATIENT_CREATED,
            target=patient,
            patient_id=patient.pk,
            detail={"import": "seed_demo"},
        )
        _relate(patient, unit, "order", first_days)
        if n % 4 == 0:  # also known to a second provider's unit
            other = units["K10005"] if unit.provider.kind == "municipality" else units["K20801"]
            _relate(patient, other, "prescription", second_days)
    _special_cases(units)


def _special_cases(units: dict[str, Unit]) -> None:
    """The demo's edge cases: protected identity, a block towards other providers, deceased."""
    patients = list(Patient.objects.order_by("identifier")[:3])
    if len(patients) < 3:
        return
    protected, blocked, deceased = patients
    if not protected.protection:
        protected.protection = Patient.Protection.PROTECTED_REGISTRATION
        protected.protection_source = "navet-01020"
        protected.approved_delivery_address = "Förmedlingsadress: Box 1001, 651 01 Karlstad"
        protected.save(
            update_fields=["protection", "protection_source", "approved_delivery_address"]
        )
        named = User.objects.filter(username="anna.forskrivare").first()
        if named is not None:
            ProtectedStaff.objects.get_or_create(
                patient=protected, user=named, ended_at=None, defaults={"named_by": named}
            )
        _relate(protected, units["K20801"], "registered", 30)
    if not Block.objects.filter(patient=blocked).exists():
        registrar = User.objects.filter(username="bo.forskrivare").first()
        region_unit = units["K10005"]
        _relate(blocked, region_unit, "prescription", 60)
        _relate(blocked, units["K20801"], "order", 20)
        if registrar is not None:
            Block.objects.create(
                patient=blocked,
                scope=Block.Scope.EXTERNAL,
                owner_provider=region_unit.provider,
                owner_unit=region_unit,
                requested_at=timezone.localdate() - dt.timedelta(days=5),
                requested_by="Patienten",
                reason="Demo: spärr mot andra vårdgivare",
                registered_by=registrar,
            )
    if deceased.deceased_date is None:
        deceased.deceased_date = timezone.localdate() - dt.timedelta(days=12)
        deceased.save(update_fields=["deceased_date"])
