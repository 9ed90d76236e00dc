"""Without DATABASE_REPLICA_URL (issue 20 point 1, decision 0022): everything uses the one
database, as before, and no page speaks of a replica."""

from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS, router
from django.test import Client
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.audit.models import AuditEvent
from lyfta.core import replica
from lyfta.core.replica import reading_replica
from lyfta.reports.models import Fact, Refresh


@pytest.mark.django_db
def test_issue20_without_a_replica_everything_uses_the_one_database(
    client: Client, logan: Persona
) -> None:
    assert not replica.configured()
    with reading_replica(Fact, AuditEvent) as state:
        assert state is None
        assert Fact.objects.all().db == DEFAULT_DB_ALIAS
        assert AuditEvent.objects.all().db == DEFAULT_DB_ALIAS
        assert router.db_for_write(AuditEvent) == DEFAULT_DB_ALIAS
    now = timezone.now()
    month = timezone.localdate().replace(day=1)
    Refresh.objects.create(
        started_at=now, finished_at=now, first_month=month, last_month=month, seconds=1, by="test"
    )
    signed_in(client, logan)
    page = client.get("/statistik/").content.decode()
    assert "räknades senast fram" in page
    assert 'id="replica-freshness"' not in page
