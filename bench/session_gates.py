"""What the session gates cost on the holdings page (issue 19 point 5, decision 0018).

A prescriber signed in past every gate opens one patient's holdings page through Django's test
client: 20 warm-up requests, the queries of one request (and which of them the session and the
gates issue), then 200 timed requests. Once without a second factor in the session and once with
a verified TOTP device (the production case: LYFTA_REQUIRE_MFA). The process's CPU time per
request is printed beside the wall-clock time: on a loaded machine it is the steadier of the two
(with SQLite the database works in the same process). Run it as a pytest file, on SQLite by
default or on PostgreSQL with DATABASE_URL:

    .venv/bin/pytest -q -s -p no:cacheprovider bench/session_gates.py
"""

from __future__ import annotations

import statistics
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import Persona, signed_in
from lyfta.orders.tests.conftest import Shop, shop  # noqa: F401 (the fixture)
from lyfta.orders.tests.test_query_counts import lend

REQUESTS = 200
# The tables that only the session, the sign-in and the gates read on a page request.
GATE_TABLES = (
    "django_session",
    "accounts_user",
    "accounts_assignment",
    "accounts_agreementacceptance",
    "otp_totp_totpdevice",
)


@pytest.mark.django_db
@pytest.mark.parametrize("verified", [False, True], ids=["no-second-factor", "totp-verified"])
def test_holdings_page(
    client: Client,
    shop: Shop,  # noqa: F811
    alice: Persona,
    logan: Persona,
    verified: bool,
) -> None:
    lend(shop, alice, logan, shop.patient, 2)
    signed_in(client, alice, verified=verified)
    url = reverse("orders:holdings", args=[shop.patient.pk])
    for _ in range(20):
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    count = len(queries)
    gate_queries = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split(" FROM ", 1)[-1].lstrip().strip('"').startswith(GATE_TABLES)
        and q["sql"].startswith("SELECT")
    ]
    times, cpu = [], []
    for _ in range(REQUESTS):
        start, start_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    times.sort()
    print(
        f"\nholdings page, {'TOTP verified' if verified else 'no second factor'}, "
        f"{connection.vendor}: {count} queries ({len(gate_queries)} session and gates), "
        f"median {statistics.median(times):.2f} ms, mean {statistics.fmean(times):.2f} ms, "
        f"p95 {times[int(len(times) * 0.95) - 1]:.2f} ms over {REQUESTS} requests; "
        f"CPU time median {statistics.median(cpu):.2f} ms, mean {statistics.fmean(cpu):.2f} ms; "
        f"fastest 10 %: wall {statistics.fmean(times[: REQUESTS // 10]):.2f} ms, "
        f"CPU {statistics.fmean(sorted(cpu)[: REQUESTS // 10]):.2f} ms"
    )
    for sql in gate_queries:
        print("   ", sql[:110])
