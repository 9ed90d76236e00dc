"""The read replica's routing (issue 20 point 1, decision 0022), on SQLite and PostgreSQL: without
DATABASE_REPLICA_URL everything uses the one database; with a replica, only the tables a
`reading_replica` context names are read there, every write and every other read (access, users,
sessions, own writes) stays on the primary, and a replica that does not answer or lags is left
for the primary, which the page says. lyfta/core/tests/test_streaming_replica.py does the
same against a real streaming replica."""

from __future__ import annotations

import datetime as dt
import re
import socket
from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, router
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.accounts.models import Assignment, User
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditDayCount, AuditEvent, LogExtractRequest, ReviewCheck
from lyfta.audit.services import record
from lyfta.core import replica
from lyfta.core.replica import REPLICA, ReplicaRead, reading_primary, reading_replica
from lyfta.core.tests.replicas import add_replica_alias, remove_replica_alias, replica_settings
from lyfta.logreview import review
from lyfta.patients.models import CareRelationship, Patient
from lyfta.reports.models import Fact, Refresh, Subscription


def _today() -> dict[str, str]:
    today = timezone.localdate()
    return {"period_from": f"{today - dt.timedelta(days=1)}", "period_until": f"{today}"}


@pytest.fixture(scope="module", autouse=True)
def _second_connection(django_db_setup: None) -> Iterator[None]:
    """A replica alias that is a second connection to the test database: a replica that has
    caught up. It sees only what is committed, so the tests that read through it commit."""
    add_replica_alias()
    yield
    remove_replica_alias()


BOTH = [DEFAULT_DB_ALIAS, REPLICA]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unreachable() -> dict[str, str]:
    if connection.vendor == "postgresql":
        return {"HOST": "127.0.0.1", "PORT": str(_closed_port())}
    return {"NAME": "/nonexistent-lyfta-dir/replica.sqlite3"}


def _refreshed() -> Refresh:
    now = timezone.now()
    month = timezone.localdate().replace(day=1)
    return Refresh.objects.create(
        started_at=now, finished_at=now, first_month=month, last_month=month, seconds=1, by="test"
    )


def _tables(queries: list[dict[str, str]]) -> set[str]:
    """The tables `queries` read, the replica's probe of itself (pg_stat_wal_receiver) aside."""
    found = {t for q in queries for t in re.findall(r'(?:FROM|JOIN) "?(\w+)"?', q["sql"])}
    return found - {"pg_stat_wal_receiver"}


@pytest.mark.django_db(databases=BOTH)
def test_issue20_only_the_named_tables_are_read_from_the_replica() -> None:
    assert Fact.objects.all().db == DEFAULT_DB_ALIAS  # outside a context: the primary
    with reading_replica(Fact, AuditEvent) as state:
        assert state is not None
        assert state.on_replica
        assert Fact.objects.all().db == REPLICA
        assert AuditEvent.objects.filter(action="x").db == REPLICA
        # Access decisions, accounts, patients and what the user writes: the primary.
        for model in (User, Assignment, Patient, CareRelationship, Subscription, ReviewCheck):
            assert model.objects.all().db == DEFAULT_DB_ALIAS, model
        assert AuditDayCount.objects.all().db == DEFAULT_DB_ALIAS  # not named here
        with reading_primary():
            assert Fact.objects.all().db == DEFAULT_DB_ALIAS
        assert Fact.objects.all().db == REPLICA
        # Every write goes to the primary; a table written here is read from it from then on.
        assert router.db_for_write(Fact) == DEFAULT_DB_ALIAS
        assert Fact.objects.all().db == DEFAULT_DB_ALIAS
        assert AuditEvent.objects.all().db == REPLICA
        assert Fact.objects.select_for_update().db == DEFAULT_DB_ALIAS
    assert AuditEvent.objects.all().db == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "reports")
    assert not router.allow_migrate(REPLICA, "reports")


@pytest.mark.django_db(databases=BOTH)
def test_issue20_a_nested_context_keeps_the_outer_answer() -> None:
    with reading_replica(Fact) as outer:
        assert outer is not None
        assert outer.on_replica
        with reading_replica(AuditEvent) as inner:
            assert inner is not None
            assert inner.on_replica
            assert (inner.as_of, inner.lag) == (outer.as_of, outer.lag)
            assert Fact.objects.all().db == REPLICA
            assert AuditEvent.objects.all().db == REPLICA
        # An extract's period that ends after what the replica holds: the primary.
        later = timezone.now() + dt.timedelta(hours=1)
        with reading_replica(AuditEvent, complete_until=later) as inner:
            assert inner is not None
            assert not inner.on_replica
            assert AuditEvent.objects.all().db == DEFAULT_DB_ALIAS
        assert AuditEvent.objects.all().db == DEFAULT_DB_ALIAS  # not named by the outer


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_issue20_a_routed_log_search_reads_only_the_log_from_the_replica_and_audits_on_the_primary(
    client: Client,
    lena: Persona,
    alice: Persona,
) -> None:
    event = record(action=Action.PATIENT_LISTED, actor=alice.actor, detail={"list": "test"})
    signed_in(client, lena)
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        response = client.get("/loggranskning/sok/", _today())
    assert response.status_code == 200
    page = response.content.decode()
    assert f"/handelse/{event.pk}/" in page
    assert re.search(
        r'id="replica-freshness"[^>]*>Uppgifterna är aktuella kl\. \d\d:\d\d:\d\d', page
    )
    replica_sql = [q["sql"] for q in on_replica.captured_queries]
    assert any("audit_auditevent" in sql for sql in replica_sql)
    # The replica only answers SELECTs of the log's tables; no access decision is read there.
    assert all(sql.lstrip().upper().startswith("SELECT") for sql in replica_sql)
    assert _tables(on_replica.captured_queries) <= {
        "audit_auditevent",
        "audit_auditdaycount",
        "audit_auditseal",
    }
    # The search is recorded on the primary, in the same request.
    assert any(
        "INSERT" in q["sql"] and "audit_auditevent" in q["sql"] for q in on_primary.captured_queries
    )
    assert AuditEvent.objects.filter(action=Action.AUDIT_SEARCHED, actor_id=lena.user.pk).exists()


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_issue20_statistics_read_their_summary_tables_from_the_replica(
    client: Client,
    logan: Persona,
) -> None:
    _refreshed()
    signed_in(client, logan)
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        page = client.get("/statistik/").content.decode()
    assert "räknades senast fram" in page
    assert "Uppgifterna är aktuella kl." in page
    assert _tables(on_replica.captured_queries) == {"reports_refresh"}


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_issue20_an_extract_reads_the_replica_only_for_a_period_it_holds_whole(
    lena: Persona,
    alice: Persona,
) -> None:
    patient = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Aina", last_name="Apel"
    )
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    extract = LogExtractRequest.objects.create(
        provider=lena.assignment.unit.provider,
        patient=patient,
        kind=LogExtractRequest.Kind.choices[0][0],
        requested_at=yesterday,
        due_at=yesterday + dt.timedelta(days=30),
        requester="Aina Apel",
        period_from=yesterday - dt.timedelta(days=7),
        period_until=yesterday,
        received_by=lena.user,
    )
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        review.extract_rows(extract)
    assert "audit_auditevent" in _tables(on_replica.captured_queries)
    # A period that runs to today is not over: the primary, whatever the replica holds.
    LogExtractRequest.objects.filter(pk=extract.pk).update(period_until=timezone.localdate())
    extract.refresh_from_db()
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        review.extract_rows(extract)
    assert _tables(on_replica.captured_queries) == set()


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_issue20_an_unreachable_replica_leaves_the_pages_to_the_primary_and_they_say_so(
    client: Client, lena: Persona, alice: Persona
) -> None:
    event = record(action=Action.PATIENT_LISTED, actor=alice.actor, detail={"list": "test"})
    signed_in(client, lena)
    with replica_settings(**_unreachable()):
        for _attempt in range(2):  # the second within RETRY_AFTER does not try again
            response = client.get("/loggranskning/sok/", _today())
            assert response.status_code == 200
            page = response.content.decode()
            assert f"/handelse/{event.pk}/" in page
            assert "Läskopian svarar inte: uppgifterna hämtades från huvuddatabasen." in page
        assert connections[REPLICA].connection is None


def test_issue20_the_freshness_notice_says_how_old_the_data_are() -> None:
    as_of = dt.datetime(2026, 3, 3, 13, 4, 5, tzinfo=dt.UTC)  # 14:04:05 in Stockholm
    fresh = ReplicaRead(REPLICA, frozenset(), replica.FRESH, as_of=as_of, lag=0.2)
    assert fresh.notice == "Uppgifterna är aktuella kl. 14:04:05."
    assert not fresh.lagging
    behind = ReplicaRead(REPLICA, frozenset(), replica.FRESH, as_of=as_of, lag=12.4)
    assert behind.lagging
    assert behind.notice == (
        "Uppgifterna är från kl. 14:04:05 (läskopian ligger 12 s efter). Det senaste kan saknas."
    )
    far = ReplicaRead(DEFAULT_DB_ALIAS, frozenset(), replica.LAGGING, lag=400)
    assert far.notice == "Läskopian ligger 400 s efter: uppgifterna hämtades från huvuddatabasen."
    unknown = ReplicaRead(DEFAULT_DB_ALIAS, frozenset(), replica.LAGGING)
    assert unknown.notice == "Läskopian ligger efter: uppgifterna hämtades från huvuddatabasen."
    assert ReplicaRead(DEFAULT_DB_ALIAS, frozenset(), replica.INCOMPLETE).notice == ""
