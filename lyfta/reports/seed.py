"""The demo's statistics: a population for each municipality of the demo county (synthetic,
of the order of the real ones) for this year and last, and the summary tables built from the
demo's loans, deliveries, work and deviations. Idempotent: populations already there are kept,
and the refresh rebuilds what it builds."""

from __future__ import annotations

import zlib

from django.utils import timezone

from lyfta.access.actor import Actor
from lyfta.organisations.models import CareProvider
from lyfta.reports.models import Population
from lyfta.reports.services.refresh import statistics_refresh


def seed(actor: Actor) -> None:
    year = timezone.localdate().year
    for pk, name in CareProvider.objects.filter(kind=CareProvider.Kind.MUNICIPALITY).values_list(
        "pk", "name"
    ):
        # A stable made-up size between 4,000 and 95,000 inhabitants per municipality.
        base = 4000 + zlib.crc32(name.encode()) % 91000
        for offset, y in enumerate((year - 1, year)):
            Population.objects.get_or_create(
                municipality_id=pk, year=y, defaults={"inhabitants": base + 37 * offset}
            )
    statistics_refresh(actor=actor)
