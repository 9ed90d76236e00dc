""" "Mine or my teams'" (the technician's start page, its queue head and the menu's count) is read
as two index ranges and merged (`assigned_count`, `assigned_head`, issue 19): the same answer as
the one filter `assigned_to` (assignee OR team), over generated assignments that include orders
assigned to him in his own team, to him in another team, to others in his teams, to nobody, and
closed ones."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from conftest import Persona
from lyfta.workorders.models import (
    Team,
    WorkOrder,
    assigned_count,
    assigned_head,
    assigned_to,
)
from lyfta.workorders.tests.conftest import Desk, repair_for


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mine_or_my_teams_read_apart_equals_the_one_filter(
    desk: Desk, alice: Persona, tekla: Persona, logan: Persona, seed: int
) -> None:
    rng = random.Random(seed)
    other_team = Team.objects.create(name="Team Öst", unit=desk.county.centre, areas="701")
    second_team = Team.objects.create(name="Team Norr", unit=desk.county.centre, areas="901")
    second_team.members.add(tekla.user)
    today = timezone.localdate()
    teams = [None, desk.team, other_team, second_team]
    assignees = [None, tekla.user, logan.user]
    statuses = [*WorkOrder.OPEN, WorkOrder.Status.CANCELLED]
    for _ in range(40):
        order = repair_for(desk, alice)
        due = today + dt.timedelta(days=rng.randint(-5, 5))
        WorkOrder.unscoped.filter(pk=order.pk).update(
            team=rng.choice(teams),
            assignee=rng.choice(assignees),
            status=rng.choice(statuses),
            cancel_reason="Dubblett",
            start_due=due,
            done_due=due,
        )
    found = WorkOrder.unscoped.filter(status__in=WorkOrder.OPEN)
    one_filter = found.filter(assigned_to(tekla.user))
    # The world reaches every kind of row, or the comparison proves little.
    assert found.filter(assignee=tekla.user, team__in=[desk.team, second_team]).exists()
    assert found.filter(team=desk.team).exclude(assignee=tekla.user).exists()
    assert found.filter(assignee=tekla.user).exclude(team__in=[desk.team, second_team]).exists()
    assert found.exclude(assigned_to(tekla.user)).exists()
    for subset in (found, found.filter(done_due__lt=today)):
        assert assigned_count(subset, tekla.user) == subset.filter(assigned_to(tekla.user)).count()
    for size in (1, 5, 9, 100):
        expected = list(one_filter.order_by("done_due", "pk")[:size])
        assert assigned_head(found, tekla.user, size) == expected
    # Without a team: his own only.
    desk.team.members.remove(tekla.user)
    second_team.members.remove(tekla.user)
    assert assigned_count(found, tekla.user) == found.filter(assignee=tekla.user).count()
    assert assigned_head(found, tekla.user, 100) == list(
        found.filter(assignee=tekla.user).order_by("done_due", "pk")
    )
