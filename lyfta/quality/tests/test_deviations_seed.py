"""The quality desk's demo deviations: an adverse event (a tipped lift, reported from the
holdings, quarantined, with its reports out and a supplier complaint), a delivery error and a
near miss, all through the services; a second `seed_demo` changes nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from lyfta.audit.models import AuditEvent
from lyfta.quality.models import Complaint, Deviation, IncidentReport

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        Deviation.unscoped.count(),
        IncidentReport.unscoped.count(),
        Complaint.unscoped.count(),
        AuditEvent.objects.filter(resource_type__startswith="quality.").count(),
    )


def test_seed_gives_the_quality_desk_its_demo_cases_and_is_idempotent() -> None:
    call_command("seed_demo", verbosity=0)
    kinds = dict(Deviation.unscoped.values_list("kind", "source"))
    assert kinds == {
        Deviation.Kind.ADVERSE_EVENT: Deviation.Source.HOLDINGS,
        Deviation.Kind.DELIVERY_ERROR: Deviation.Source.DELIVERY,
        Deviation.Kind.NEAR_MISS: Deviation.Source.ITEM,
    }
    tipped = Deviation.unscoped.get(kind=Deviation.Kind.ADVERSE_EVENT)
    assert tipped.is_incident and tipped.quarantined_at is not None
    assert tipped.item is not None and tipped.item.out_of_use_since is not None
    assert tipped.status == Deviation.Status.INVESTIGATING
    assert IncidentReport.unscoped.filter(deviation=tipped).count() == 2
    complaint = Complaint.unscoped.get()
    assert complaint.deviation == tipped and complaint.window_ends_on is not None
    assert Deviation.unscoped.get(kind=Deviation.Kind.DELIVERY_ERROR).order_id is not None
    before = _counts()
    call_command("seed_demo", verbosity=0)
    assert _counts() == before
