"""Issue 20 point 1 against a real streaming replica (PostgreSQL; lyfta/core/tests/streaming.py
starts it): the log search and the statistics read the standby, say how fresh it is, show what
it has not replayed yet as missing while an unrouted page shows it at once, fall back to the
primary past the lag limit, and catch up when replay resumes. The audit records of the routed
pages are written on the primary."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.audit.services import record
from lyfta.core.replica import REPLICA
from lyfta.core.tests.streaming import StreamingPair, streaming_pair
from lyfta.reports.models import Refresh


@pytest.fixture(scope="module")
def pair(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[StreamingPair]:
    """Module-scoped, so that the `replica` alias exists before the test case checks the
    databases its test names."""
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        pytest.skip("a streaming replica needs PostgreSQL (DATABASE_URL)")
    request.getfixturevalue("django_db_setup")  # the migrated test database, to copy
    with django_db_blocker.unblock():
        made = streaming_pair()
        found = made.__enter__()
    try:
        yield found
    finally:
        with django_db_blocker.unblock():
            made.__exit__(None, None, None)


FRESH = re.compile(r'id="replica-freshness"[^>]*>Uppgifterna är aktuella kl\. \d\d:\d\d:\d\d\.')
LAGGING = re.compile(
    r'id="replica-freshness"[^>]*>Uppgifterna är från kl\. \d\d:\d\d:\d\d '
    r"\(läskopian ligger (\d+) s efter\)\. Det senaste kan saknas\."
)
TOO_FAR = re.compile(r"Läskopian ligger \d+ s efter: uppgifterna hämtades från huvuddatabasen\.")


def _search(client: Client) -> str:
    today = timezone.localdate()
    response = client.get(
        "/loggranskning/sok/",
        {"period_from": f"{today - dt.timedelta(days=1)}", "period_until": f"{today}"},
    )
    assert response.status_code == 200
    return response.content.decode()


def _listed(persona: Persona) -> AuditEvent:
    return record(action=Action.PATIENT_LISTED, actor=persona.actor, detail={"list": "test"})


def _link(event: AuditEvent) -> str:
    return f"/loggranskning/handelse/{event.pk}/"


def _refresh(finished: dt.datetime) -> Refresh:
    month = timezone.localdate().replace(day=1)
    return Refresh.objects.create(started_at=finished, finished_at=finished, first_month=month,
                                  last_month=month, seconds=1, by="test")  # fmt: skip


def _refreshed_at(client: Client) -> str:
    page = client.get("/statistik/").content.decode()
    found = re.search(r'<p class="muted" id="freshness">(.*?)</p>', page, re.S)
    assert found is not None
    return found.group(1)


@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])
def test_issue20_routed_pages_read_the_streaming_replica_and_say_how_fresh_it_is(
    pair: StreamingPair, lena: Persona, alice: Persona, logan: Persona, settings: Any
) -> None:
    started = time.monotonic()
    reviewer, statistician = Client(), Client()
    signed_in(reviewer, lena)
    signed_in(statistician, logan)
    first = _listed(alice)
    earlier = timezone.localtime() - dt.timedelta(days=1, minutes=17)
    _refresh(earlier)
    pair.wait_for_replay()

    # The standby serves the log search, and it has everything: the page says it is current.
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        page = _search(reviewer)
    assert _link(first) in page
    assert FRESH.search(page)
    assert any("audit_auditevent" in q["sql"] for q in on_replica.captured_queries)
    assert f"kl. {earlier:%H:%M}" in _refreshed_at(statistician)
    pair.wait_for_replay()  # the first search's own audit record is on the standby too

    # Replay paused: what the primary commits now does not reach the pages that read the standby.
    pair.pause_replay()
    second = _listed(alice)
    now = _refresh(timezone.localtime())
    time.sleep(1.5)  # the standby falls a second and more behind
    page = _search(reviewer)
    assert _link(first) in page
    assert _link(second) not in page
    lag = LAGGING.search(page)
    assert lag is not None, "the page says how far behind its data are"
    assert int(lag.group(1)) >= 1
    assert f"kl. {earlier:%H:%M}" in _refreshed_at(statistician)
    # An unrouted page reads the primary: the new event opens at once.
    assert reviewer.get(_link(second)).status_code == 200
    # Every audit record was written on the primary: the searches of the paused standby's time
    # are there, and not on the standby.
    searched = AuditEvent.objects.filter(action=Action.AUDIT_SEARCHED, actor_id=lena.user.pk)
    assert searched.count() == 2
    assert searched.using(REPLICA).count() == 1

    # Behind more than LYFTA_REPLICA_MAX_LAG: the page reads the primary, and says so.
    settings.LYFTA_REPLICA_MAX_LAG = 0
    page = _search(reviewer)
    assert _link(second) in page
    assert TOO_FAR.search(page)
    assert f"kl. {timezone.localtime(now.finished_at):%H:%M}" in _refreshed_at(statistician)
    settings.LYFTA_REPLICA_MAX_LAG = 300

    # Replay resumed: the standby catches up, and the routed pages with it.
    pair.resume_replay()
    pair.wait_for_replay()
    page = _search(reviewer)
    assert _link(second) in page
    assert FRESH.search(page)
    assert f"kl. {timezone.localtime(now.finished_at):%H:%M}" in _refreshed_at(statistician)
    assert time.monotonic() - started < 30
