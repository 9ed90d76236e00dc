"""Every timed operation of the scale suite as the page a user opens, or the form a user sends,
over HTTP through gunicorn, signed in as the role that uses it (issue 19 point 1).

gunicorn runs one sync worker (as `manage.py serve` runs it) on 127.0.0.1; each signed-in person
keeps one connection alive and sends the session's cookie. The time is the request's round trip
as the client sees it. The query count beside it is the one the same request issues through
Django's test client (the server runs in another process): for a form, one more prepared run
through the test client, so that the count does not consume a measured run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.ops import Fixture, Result, _person, _sign_in, measure

# A page's row and the function-level row whose bare SQL fetches the rows the page shows: the
# page's "vs bare SQL" ratio is taken against that bare SQL.
BARE_OF = {
    "holdings page (gunicorn)": "holdings page (HTTP)",
    "patient search by personnummer (gunicorn)": "patient search by personnummer",
    "item card (gunicorn)": "item card",
    "technician's queue (gunicorn)": "technician's queue (HTTP)",
    "monthly due list of one area (gunicorn)": "monthly due list of one area (HTTP)",
}


class Person:
    """One signed-in person: a test client for counting queries and a kept-alive connection to
    gunicorn for timing."""

    def __init__(self, actor: Any, patients: list[int], articles: list[int]) -> None:
        from django.test import Client as DjangoClient

        from bench import drills

        self.actor = actor
        self.browser = DjangoClient()
        _sign_in(self.browser, actor.assignment)
        cookie = self.browser.cookies["lyfta_session"].value
        self.http = drills.Client(cookie, patients, articles)

    def get(self, path: str, status: int = 200) -> None:
        response = self.http.request("GET", path)
        assert response.status == status, (path, response.status)

    def post(self, path: str, form: dict[str, Any], status: int = 302) -> None:
        response = self.http.request("POST", path, form)
        assert response.status == status, (path, response.status)

    def count(self, method: str, path: str, form: dict[str, Any] | None = None) -> int:
        with CaptureQueriesContext(connection) as captured:
            if method == "GET":
                response = self.browser.get(path)
            else:
                response = self.browser.post(path, form or {})
        assert response.status_code in (200, 302), (path, response.status_code)
        return len(captured)


def run_http(fx: Fixture, url: str, repeat: int) -> list[Result]:
    """Time every page and form of the scale suite over gunicorn (see the module's text)."""
    from bench import drills, workorders
    from lyfta.access.roles import Role
    from lyfta.catalogue.models import Article

    articles = list(
        Article.objects.filter(items__status="in_stock", items__location__kind="central")
        .distinct()
        .values_list("pk", flat=True)[:50]
    )
    centre = {"centre": True}
    people = {
        "prescriber": fx.prescriber,
        "logistics": fx.logistics,
        "log reviewer": fx.reviewer,
        "technician": workorders.technician(),
        "quality": _person(Role.QUALITY, "bench.kvalitet", **centre),
        "economy": _person(Role.BILLING, "bench.ekonomi", **centre),
        "customer service": _person(Role.CUSTOMER_SERVICE, "bench.kundtjanst", **centre),
    }
    server = drills.Server(url, workers=1)
    server.start()
    try:
        signed_in = {name: Person(actor, fx.patients, articles) for name, actor in people.items()}
        results = [
            *_pages(fx, signed_in, repeat),
            *_forms(fx, signed_in, repeat),
        ]
    finally:
        server.stop()
    return results


def _page(name: str, person: Person, path: Callable[[int], str], repeat: int) -> Result:
    queries = person.count("GET", path(0))
    result = measure(f"{name} (gunicorn)", lambda i: person.get(path(i)), repeat=repeat)
    result.queries = queries
    return result


def _pages(fx: Fixture, people: dict[str, Person], repeat: int) -> list[Result]:
    from django.urls import reverse
    from django.utils import timezone

    from bench.workorders import AREAS
    from lyfta.audit.models import LogExtractRequest
    from lyfta.orders.models import Loan
    from lyfta.patients.models import Patient

    prescriber = people["prescriber"]
    named = dict(
        Patient.objects.filter(pk__in=fx.patients[:100]).values_list("identifier", "last_name")
    )
    identifiers = list(named)
    today = timezone.localdate()
    numbers = list(
        Loan.unscoped.filter(patient_id__in=fx.patients, item__isnull=False).values_list(
            "item__individual_number", flat=True
        )[:200]
    )

    def at(name: str, *args: Any, **query: Any) -> str:
        path = reverse(name, args=args)
        return f"{path}?{urlencode(query)}" if query else path

    def period(days: int) -> dict[str, str]:
        return {
            "period_from": (today - dt.timedelta(days=days)).isoformat(),
            "period_until": today.isoformat(),
        }

    month_start = (today - dt.timedelta(days=40)).replace(day=1)
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    unit_month = {
        "period_from": month_start.isoformat(),
        "period_until": month_end.isoformat(),
        "unit": fx.unit.pk,
    }
    extracts = [
        LogExtractRequest.objects.create(
            provider_id=fx.unit.provider_id,
            patient_id=patient_id,
            kind="patient",
            requested_at=today,
            due_at=today + dt.timedelta(days=30),
            requester="bench",
            period_from=today - dt.timedelta(days=365),
            period_until=today,
            received_by=fx.reviewer.user,
        ).pk
        for patient_id in fx.patients[:20]
    ]
    month = today.strftime("%Y-%m")

    def pick(values: list[Any]) -> Callable[[int], Any]:
        return lambda i: values[i % len(values)]

    patient, number, identifier, extract, area = (
        pick(fx.patients),
        pick(numbers),
        pick(identifiers),
        pick(extracts),
        pick(AREAS),
    )
    pages: list[tuple[str, str, Callable[[int], str]]] = [
        ("holdings page", "prescriber", lambda i: at("orders:holdings", patient(i))),
        ("patient search by personnummer", "prescriber",
         lambda i: at("patients:search", q=identifier(i))),
        ("patient search by name", "prescriber",
         lambda i: at("patients:search", q=named[identifier(i)])),
        ("item card", "prescriber", lambda i: at("stock:item", number(i))),
        ("log-search page, default period", "log reviewer",
         lambda i: at("review:search", **period(30), patient=identifier(i))),
        ("log-search page, a year", "log reviewer",
         lambda i: at("review:search", **period(365), patient=identifier(i))),
        ("targeted check 'need', one unit-month", "log reviewer",
         lambda i: at("review:targeted", "need", **unit_month)),
        ("targeted check 'off_hours', one unit-month", "log reviewer",
         lambda i: at("review:targeted", "off_hours", **unit_month)),
        ("log extract, one patient-year (CSV)", "log reviewer",
         lambda i: at("review:extract_file", extract(i), "csv")),
        ("pick list", "logistics", lambda i: at("logistics:picklist")),
        ("pick-ups to collect", "logistics", lambda i: at("logistics:pickups")),
        ("returns to receive", "logistics", lambda i: at("logistics:returns")),
        ("technician's queue", "technician", lambda i: at("workorders:queue")),
        ("monthly due list of one area", "technician",
         lambda i: at("workorders:due", omrade=area(i), manad=month)),
        ("deviations to handle", "quality", lambda i: at("quality:deviations")),
        ("billing runs", "economy", lambda i: at("billing:runs")),
        # Each role's start page: its work queues and the menu's counts.
        *[(f"start page, {role}", role, lambda i: "/") for role in people],
    ]  # fmt: skip
    results = [_page(name, people[who], path, repeat) for name, who, path in pages]

    # Order create: the cart holds one in-stock article (added untimed); the form places it.
    articles = prescriber.http.articles

    def cart(i: int) -> None:
        form = {"article": articles[i % len(articles)], "quantity": 1}
        prescriber.post(at("orders:cart_add", patient(i)), form)

    place = {"delivery": "patient", "over_limit_reason": "Byte (bench)"}
    cart(repeat + 3)
    queries = prescriber.count("POST", at("orders:order_new", patient(repeat + 3)), place)
    result = measure(
        "order create (gunicorn)",
        lambda i: prescriber.post(at("orders:order_new", patient(i)), place),
        prepare=cart,
        repeat=repeat,
    )
    result.queries = queries
    results.append(result)
    return results


def _forms(fx: Fixture, people: dict[str, Person], repeat: int) -> list[Result]:
    """The logistics desk's two forms: a delivery confirmed at the door and a returned device
    received, each prepared (untimed) as run_all prepares its function-level twin."""
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django.urls import reverse

    from lyfta.access.patients import grant_for
    from lyfta.orders import services
    from lyfta.orders.models import Loan, Order, PickupLine, Receipt

    logistics = people["logistics"]
    results = []
    need = repeat + 4  # the measured runs, three warm-ups and the counted one
    receipt = {
        "receiver_name": "Bench Mottagare",
        "relation": Receipt.Relation.PATIENT,
        "unsigned": "on",
        "unsigned_reason": "Benchmark",
    }

    def slot(i: int) -> int:
        # The warm-up runs (10 000 + n) take the slots after the measured ones.
        return i if i < 10_000 else repeat + (i - 10_000)

    # Orders picked beforehand (an order whose reserved device has since been taken out of use
    # is passed over).
    picked: list[int] = []
    candidates = Order.unscoped.filter(status="registered", lines__status="reserved").distinct()
    for order in candidates.order_by("pk")[: need * 2]:
        try:
            with transaction.atomic():
                for line in order.lines.filter(status="reserved"):
                    services.line_pick(actor=fx.logistics, line=line)
        except ValidationError:
            continue
        picked.append(order.pk)
        if len(picked) == need:
            break

    def deliver_path(i: int) -> str:
        return reverse("logistics:deliver", args=[picked[slot(i)]])

    if len(picked) == need:
        queries = logistics.count("POST", deliver_path(repeat + 3), receipt)
        result = measure(
            "delivery confirmation (gunicorn)",
            lambda i: logistics.post(deliver_path(i), receipt),
            repeat=repeat,
        )
        result.queries = queries
        results.append(result)

    # Returns collected beforehand, each waiting to be received.
    open_loans = (
        Loan.unscoped.filter(patient_id__in=fx.patients, ended_on__isnull=True, item__isnull=False)
        .exclude(billing_type="sale")
        .filter(pickup_lines__isnull=True)
        .select_related("patient", "article", "item", "unit")
    )
    lines: list[int] = []
    for loan in open_loans[: need * 2]:
        grant = grant_for(fx.prescriber, loan.patient, "bench")
        try:
            with transaction.atomic():
                pickup = services.pickup_register(
                    actor=fx.prescriber, grant=grant, pickup=services.PickupInput(loans=[loan])
                )
                services.pickup_collect(actor=fx.logistics, pickup=pickup)
        except ValidationError:
            continue
        lines.append(PickupLine.unscoped.get(pickup=pickup).pk)
        if len(lines) == need:
            break

    def receive_path(i: int) -> str:
        return reverse("logistics:return_receive", args=[lines[slot(i)]])

    if len(lines) == need:
        queries = logistics.count("POST", receive_path(repeat + 3), {})
        result = measure(
            "pick-up receipt (gunicorn)",
            lambda i: logistics.post(receive_path(i), {}),
            repeat=repeat,
        )
        result.queries = queries
        results.append(result)
    return results
