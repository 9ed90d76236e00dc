"""/metrics (issue 20 point 3): the named series from an allowed address or with the token,
nothing for anyone else, values that follow the database, and never a patient in a label."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks import task
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from conftest import Persona, signed_in
from lyfta.accounts.models import AgreementAcceptance
from lyfta.audit import partitions
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, Outcome
from lyfta.audit.sealing import audit_seal
from lyfta.audit.services import record
from lyfta.metrics import series
from lyfta.orders.tests.conftest import Shop, shop

__all__ = ["shop"]

pytestmark = pytest.mark.django_db

UNKNOWN = "203.0.113.9"
TOKEN = "a-long-random-token-for-the-scraper-0123456789"

NAMED = {
    "lyfta_http_requests": "counter",
    "lyfta_http_request_duration_seconds": "histogram",
    "lyfta_db_query_duration_seconds": "histogram",
    "lyfta_db_queries": "counter",
    "lyfta_http_queue_duration_seconds": "histogram",
    "lyfta_audit_unsealed_events": "gauge",
    "lyfta_audit_unsealed_oldest_age_seconds": "gauge",
    "lyfta_audit_seal_age_seconds": "gauge",
    "lyfta_audit_partitions_ahead_seconds": "gauge",
    "lyfta_tasks_waiting": "gauge",
    "lyfta_tasks_waiting_oldest_age_seconds": "gauge",
    "lyfta_signin_failures_last_hour": "gauge",
    "lyfta_signin_failures_by_reason_last_hour": "gauge",
}


@task()
def nothing_to_do() -> None:
    """A background task that only waits in the queue in these tests."""


def scrape(**extra: str) -> dict[str, list[Sample]]:
    response = Client().get(reverse("metrics"), **extra)  # type: ignore[arg-type]
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples: dict[str, list[Sample]], name: str, **labels: str) -> float:
    """The sample `name` with exactly these labels (0 when there is none, as for a new series)."""
    family = name.removesuffix("_total").removesuffix("_count").removesuffix("_sum")
    for sample in samples.get(family, []):
        if sample.name == name and sample.labels == labels:
            return sample.value
    return 0.0


def test_metrics_answers_from_the_loopback_with_the_named_series() -> None:
    response = Client().get(reverse("metrics"))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store")
    families = {
        family.name: family.type
        for family in text_string_to_metric_families(response.content.decode())
    }
    assert {name: families.get(name) for name in NAMED} == NAMED
    # Over IPv6 too, and without a session, an assignment or any gate.
    assert Client().get(reverse("metrics"), REMOTE_ADDR="::1").status_code == 200


def test_metrics_refuses_an_unknown_address_without_a_word() -> None:
    before = AuditEvent.objects.count()
    response = Client().get(reverse("metrics"), REMOTE_ADDR=UNKNOWN)
    assert response.status_code == 403
    assert response.content == b""
    # Not patient data, and no audit event (the refusal is in the request series and the log).
    assert AuditEvent.objects.count() == before
    assert Client().post(reverse("metrics")).status_code == 405


def test_the_token_lets_an_unknown_address_in_and_a_wrong_one_does_not(settings: Any) -> None:
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}", "REMOTE_ADDR": UNKNOWN}
    # No token configured: none is accepted.
    assert Client().get(reverse("metrics"), **bearer).status_code == 403  # type: ignore[arg-type]
    settings.LYFTA_METRICS_TOKEN = TOKEN
    assert Client().get(reverse("metrics"), **bearer).status_code == 200  # type: ignore[arg-type]
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", "Bearer ", TOKEN):
        answer = Client().get(reverse("metrics"), HTTP_AUTHORIZATION=wrong, REMOTE_ADDR=UNKNOWN)
        assert answer.status_code == 403, wrong


def test_allowed_networks_and_the_trusted_proxys_forwarded_address(settings: Any) -> None:
    settings.LYFTA_METRICS_ALLOWED_IPS = ["10.20.0.0/16", "2001:db8::/32"]
    settings.LYFTA_TRUSTED_PROXIES = ["192.0.2.5"]

    def status(address: str, forwarded: str = "") -> int:
        extra = {"REMOTE_ADDR": address}
        if forwarded:
            extra["HTTP_X_FORWARDED_FOR"] = forwarded
        return Client().get(reverse("metrics"), **extra).status_code  # type: ignore[arg-type]

    assert status("10.20.3.4") == 200
    assert status("2001:db8::7") == 200
    assert status("::ffff:10.20.3.4") == 200
    assert status("127.0.0.1") == 403
    assert status("10.21.0.1") == 403
    # Behind the trusted proxy the forwarded address counts, not the proxy's …
    assert status("192.0.2.5", "10.20.9.9") == 200
    assert status("192.0.2.5", UNKNOWN) == 403
    # … and from anyone else a forwarded address is not believed.
    assert status(UNKNOWN, "10.20.9.9") == 403


def test_unsealed_events_and_the_seal_age_follow_the_trail() -> None:
    audit_seal(checkpoint=True)
    before = scrape()
    assert value(before, "lyfta_audit_unsealed_events") == 0
    assert 0 <= value(before, "lyfta_audit_seal_age_seconds") < 60
    for _ in range(3):
        record(action=Action.AUDIT_SETTINGS_CHANGED, actor=None)
    waiting = scrape()
    assert value(waiting, "lyfta_audit_unsealed_events") == 3
    assert value(waiting, "lyfta_audit_unsealed_oldest_age_seconds") >= 0
    audit_seal(checkpoint=True)
    assert value(scrape(), "lyfta_audit_unsealed_events") == 0


def test_how_far_ahead_the_audit_partitions_go_and_zero_when_this_month_has_none() -> None:
    """The safety net of decision 0023: audit writes fail in a month without its partitions, so
    the months ahead are a gauge to alert on long before (docs/operations.md)."""
    if connection.vendor != "postgresql":
        assert scrape().get("lyfta_audit_partitions_ahead_seconds") == []  # SQLite: one table
        return
    day = 24 * 3600
    partitions.add_partitions_ahead()  # as the scheduler did today (and the migration)
    # Three months after this one are made: three to four months ahead.
    assert 89 * day < value(scrape(), "lyfta_audit_partitions_ahead_seconds") <= 123 * day
    later = timezone.now() + dt.timedelta(days=200)  # the scheduler has not run for months
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert value(scrape(), "lyfta_audit_partitions_ahead_seconds") == 0
        call_command("add_audit_partitions", stdout=io.StringIO())
        assert value(scrape(), "lyfta_audit_partitions_ahead_seconds") > 89 * day


def test_failed_sign_ins_of_the_last_hour_are_counted(alice: Persona) -> None:
    before = scrape()
    Client().post(reverse("accounts:login"), {"username": "nobody", "password": "x" * 20})
    Client().post(
        reverse("accounts:login"), {"username": alice.user.username, "password": "x" * 20}
    )
    # One from two hours ago is outside the window.
    AuditEvent.objects.create(
        occurred_at=timezone.now() - dt.timedelta(hours=2),
        action=Action.LOGIN_FAILED,
        outcome=Outcome.DENIED,
        source_system="lyfta-web",
        detail={"method": "password", "reason": "bad_password"},
    )
    after = scrape()
    by_reason = "lyfta_signin_failures_by_reason_last_hour"
    assert (
        value(after, "lyfta_signin_failures_last_hour")
        == value(before, "lyfta_signin_failures_last_hour") + 2
    )
    for reason, more in (("unknown_user", 1), ("bad_password", 1)):
        assert (
            value(after, by_reason, action="auth.login_failed", reason=reason)
            == value(before, by_reason, action="auth.login_failed", reason=reason) + more
        ), reason
    # Neither the usernames nor the addresses are labels.
    text = Client().get(reverse("metrics")).content.decode()
    assert "nobody" not in text and alice.user.username not in text


def test_waiting_background_tasks_are_counted_per_queue() -> None:
    assert value(scrape(), "lyfta_tasks_waiting", queue="default") == 0
    nothing_to_do.enqueue()
    nothing_to_do.enqueue()
    samples = scrape()
    assert value(samples, "lyfta_tasks_waiting", queue="default") == 2
    assert 0 <= value(samples, "lyfta_tasks_waiting_oldest_age_seconds", queue="default") < 60


def test_requests_are_counted_and_timed_by_route_name_with_their_sql(as_alice: Client) -> None:
    before = scrape()
    as_alice.get(reverse("start"))
    Client().get("/finns/inte/")
    Client().generic("BREW", reverse("healthz"))
    after = scrape()
    requests = "lyfta_http_requests_total"
    for labels, more in (
        ({"route": "start", "method": "GET", "status": "2xx"}, 1),
        ({"route": "unmatched", "method": "GET", "status": "4xx"}, 1),
        ({"route": "healthz", "method": "other", "status": "4xx"}, 1),
    ):
        assert value(after, requests, **labels) == value(before, requests, **labels) + more, labels
    count = "lyfta_http_request_duration_seconds_count"
    assert value(after, count, route="start", method="GET") == (
        value(before, count, route="start", method="GET") + 1
    )
    sql = "lyfta_db_query_duration_seconds_count"
    assert value(after, sql, route="start") == value(before, sql, route="start") + 1
    assert value(after, "lyfta_db_query_duration_seconds_sum", route="start") > value(
        before, "lyfta_db_query_duration_seconds_sum", route="start"
    )
    assert value(after, "lyfta_db_queries_total", route="start") > value(
        before, "lyfta_db_queries_total", route="start"
    )
    # The scrape itself is a request of its own route.
    assert value(after, requests, route="metrics", method="GET", status="2xx") >= 1


def test_queue_time_is_taken_from_a_trusted_proxys_header_only(settings: Any) -> None:
    settings.LYFTA_TRUSTED_PROXIES = ["192.0.2.5"]
    queued = "lyfta_http_queue_duration_seconds_count"
    waited = "lyfta_http_queue_duration_seconds_sum"
    before = scrape()
    now = time.time()
    for header in (f"t={now - 0.25:.3f}", f"t={int((now - 0.25) * 1e6)}", str(now - 0.25)):
        Client().get(reverse("healthz"), REMOTE_ADDR="192.0.2.5", HTTP_X_REQUEST_START=header)
    # Not from an untrusted address, nor a header that is not a time, nor one from last week.
    Client().get(reverse("healthz"), REMOTE_ADDR=UNKNOWN, HTTP_X_REQUEST_START=f"t={now:.3f}")
    for header in ("t=soon", "t=nan", f"t={now - 7 * 86400:.3f}"):
        Client().get(reverse("healthz"), REMOTE_ADDR="192.0.2.5", HTTP_X_REQUEST_START=header)
    after = scrape()
    assert value(after, queued) == value(before, queued) + 3
    assert 0.7 <= value(after, waited) - value(before, waited) < 5


def test_no_patient_id_or_personnummer_in_any_label(
    client: Client, alice: Persona, shop: Shop
) -> None:
    patient = shop.patient
    signed_in(client, alice)
    holdings = reverse("orders:holdings", args=[patient.pk])
    assert client.get(holdings).status_code == 200
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200
    # A patient that does not exist, and a search by personnummer.
    assert client.get(reverse("orders:holdings", args=[patient.pk + 1000])).status_code == 404
    client.get(reverse("patients:search"), {"q": patient.identifier})
    response = Client().get(reverse("metrics"))
    text = response.content.decode()
    assert holdings not in text
    for number in ("194001019803", "19400101-9803", "4001019803", "400101-9803"):
        assert number not in text
    families = list(text_string_to_metric_families(text))
    routes = {
        sample.labels["route"]
        for family in families
        for sample in family.samples
        if "route" in sample.labels
    }
    assert {"orders:holdings", "patients:detail", "patients:search"} <= routes
    assert all("/" not in route and not route.isdigit() for route in routes), routes
    values = {
        label
        for family in families
        for sample in family.samples
        for name, label in sample.labels.items()
        if name != "le"
    }
    assert str(patient.pk) not in values and str(patient.pk + 1000) not in values


def test_a_scrape_needs_no_session_and_records_nothing(
    client: Client, alice: Persona, ulla: Persona
) -> None:
    before = AuditEvent.objects.count()
    assert Client().get(reverse("metrics")).status_code == 200
    assert AuditEvent.objects.count() == before
    # A signed-in person's browser on the server itself gets the same (signing in records the
    # agreement's acceptance) …
    signed_in(client, alice)
    before = AuditEvent.objects.count()
    assert client.get(reverse("metrics")).status_code == 200
    assert AuditEvent.objects.count() == before
    # … and no gate stands in between: the agreement is not yet accepted in this session.
    pending = signed_in(Client(), ulla)
    AgreementAcceptance.objects.filter(user=ulla.user).delete()
    assert pending.get(reverse("start"))["Location"] == reverse("accounts:agreement")
    assert pending.get(reverse("metrics")).status_code == 200


def test_the_workers_series_are_added_up_under_gunicorn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PROMETHEUS_MULTIPROC_DIR each process writes its own file and the scrape, whichever
    worker answers it, adds them all up."""
    observe = (
        "from lyfta.metrics import series;"
        "series.observe(route='orders:holdings', method='GET', status=200, seconds=0.2,"
        " sql_seconds=0.01, queries=4)"
    )
    for _worker in range(2):
        subprocess.run(  # noqa: S603 - this interpreter, a fixed program
            [sys.executable, "-c", observe],
            env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": ""},
            cwd=django_settings.BASE_DIR,
            check=True,
            timeout=60,
        )
    assert len(list(tmp_path.glob("*.db"))) >= 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape()
    labels = {"route": "orders:holdings", "method": "GET", "status": "2xx"}
    assert value(samples, "lyfta_http_requests_total", **labels) == 2
    assert value(samples, "lyfta_db_queries_total", route="orders:holdings") == 8
    # This process's own series are not in the answer: they were not written to the directory.
    assert value(samples, "lyfta_http_requests_total", route="metrics", method="GET") == 0
    # The database's gauges are.
    assert "lyfta_audit_unsealed_events" in samples


def test_method_labels_are_a_fixed_few() -> None:
    assert series.method_label("GET") == "GET"
    assert series.method_label("BREW") == "other"
    assert series.method_label(None) == "other"
