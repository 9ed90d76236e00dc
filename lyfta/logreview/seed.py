"""Demo log content: the demo prescribers open some of their patients, and one opens a patient on
another need, so that the log review pages (sample and targeted checks, the chart, extracts) have
something to show. The accesses are recorded at the time of seeding: the log cannot be backdated
(a backdated event is exactly what `verify_audit` reports as inserted). Idempotent."""

from __future__ import annotations

import random

from lyfta.access.actor import Actor
from lyfta.access.roles import Role
from lyfta.accounts.models import Assignment
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, LegalBasis
from lyfta.audit.services import record
from lyfta.patients.models import CareRelationship, Patient

MARK = {"demo": True}


def seed(actor: Actor) -> None:
    if AuditEvent.objects.filter(action=Action.PATIENT_READ, detail__demo=True).exists():
        return
    chance = random.Random(4711)  # noqa: S311 - demo data, fixed for a reproducible demo
    prescribers = Assignment.objects.filter(role=Role.PRESCRIBER).select_related(
        "user", "unit__provider"
    )
    strangers = list(Patient.objects.filter(protection="").order_by("pk")[:5])
    for assignment in prescribers:
        own = list(
            CareRelationship.objects.filter(unit=assignment.unit).values_list(
                "patient_id", flat=True
            )
        )
        who = Actor(user=assignment.user, assignment=assignment)
        for patient_id in chance.sample(own, min(len(own), 6)):
            _read(who, patient_id)
        if own and strangers:
            _read(who, chance.choice(strangers).pk, basis=LegalBasis.NEED)


def _read(who: Actor, patient_id: int, basis: str = LegalBasis.RELATIONSHIP) -> None:
    record(
        action=Action.PATIENT_READ,
        actor=who,
        patient_id=patient_id,
        owner_provider_id=who.provider.pk if who.provider else None,
        legal_basis=basis,
        detail=MARK,
    )
