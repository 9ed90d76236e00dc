"""Factories for users and assignments (synthetic people)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from lyfta.access.roles import ROLE_PURPOSE, Role
from lyfta.accounts.models import Assignment, User
from lyfta.core.luhn import synthetic_personnummer
from lyfta.organisations.tests.factories import UnitFactory

TEST_PASSWORD = "ett långt testlösenord med många ord i sig"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"Förnamn{n}")
    last_name = factory.Sequence(lambda n: f"Efternamn{n}")
    title = "Arbetsterapeut"
    personnummer = factory.Sequence(
        lambda n: synthetic_personnummer(
            (dt.date(1930, 1, 1) + dt.timedelta(days=n)).strftime("%Y%m%d"), n
        )
    )
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=10))

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        obj.set_password(extracted or TEST_PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    user = factory.SubFactory(UserFactory)
    unit = factory.SubFactory(UnitFactory)
    role = Role.PRESCRIBER
    purpose = factory.LazyAttribute(lambda a: ROLE_PURPOSE[a.role])
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=10))
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=300))
    decision_reference = "Test-beslut 1"
