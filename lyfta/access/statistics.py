"""Who sees which statistics (issue 17). Statistics are aggregates read from the summary tables
(`lyfta.reports`), never rows: the question is only whose figures. The centre's desks, economy,
quality and procurement see every care provider of the county; a unit manager or consultant sees
the figures of their own care provider (its units and its customers' bills)."""

from __future__ import annotations

from dataclasses import dataclass

from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.roles import Cap


@dataclass(frozen=True)
class StatisticsScope:
    """The care providers whose figures the actor may see: None for all of them."""

    providers: frozenset[int] | None

    def allows(self, provider_id: int | None) -> bool:
        return self.providers is None or provider_id in self.providers


NOTHING = StatisticsScope(frozenset())


def may_see_statistics(actor: Actor) -> bool:
    return can(actor, Cap.STATISTICS_VIEW)


def statistics_scope(actor: Actor) -> StatisticsScope:
    if not may_see_statistics(actor):
        return NOTHING
    if can(actor, Cap.STATISTICS_ALL):
        return StatisticsScope(None)
    provider = actor.provider
    return StatisticsScope(frozenset({provider.pk})) if provider else NOTHING
