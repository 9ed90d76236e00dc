"""Benchmarks of the key operations on generated scale data (issue "Scale and faults" item 2).

Each operation runs many times; the table gives median and p95, the number of SQL queries one run
issues, and, for reads, the ratio of the application's time to the bare SQL that fetches the same
rows (what the operation cannot avoid). Pages are requested through Django's test client: the
whole middleware stack, the signed-in session and the audit record, without a network hop.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

REPEAT = 60


@dataclass
class Result:
    name: str
    samples: list[float]
    queries: int
    bare: list[float] | None = None
    replay: list[float] | None = None

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000

    @property
    def ratio(self) -> float | None:
        if not self.bare:
            return None
        return statistics.median(self.samples) / max(statistics.median(self.bare), 1e-6)

    @property
    def replay_ratio(self) -> float | None:
        if not self.replay:
            return None
        return statistics.median(self.samples) / max(statistics.median(self.replay), 1e-6)


def measure(
    name: str,
    run: Callable[[int], Any],
    *,
    repeat: int = REPEAT,
    bare: Callable[[int], Any] | None = None,
    prepare: Callable[[int], Any] | None = None,
) -> Result:
    """Run `run(i)` `repeat` times (after `prepare(i)`, untimed), and `bare(i)` alike."""
    for i in range(3):  # warm caches and connections
        if prepare:
            prepare(10_000 + i)
        run(10_000 + i)
    samples, bare_samples, replay_samples = [], [], []
    queries = 0
    for i in range(repeat):
        if prepare:
            prepare(i)
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            run(i)
            samples.append(time.perf_counter() - start)
        queries = len(captured)
        if bare is not None:
            start = time.perf_counter()
            bare(i)
            bare_samples.append(time.perf_counter() - start)
            replay_samples.append(replayed([q["sql"] for q in captured.captured_queries]))
    return Result(name, samples, queries, bare_samples or None, replay_samples or None)


class _Undo(Exception):
    pass


def replayed(statements: list[str]) -> float:
    """The time the database needs for exactly the statements one run issued (as the driver sent
    them, parameters bound), sent as raw SQL with no ORM, template or middleware around them. In a
    transaction rolled back afterwards, so that replayed writes leave nothing behind."""
    from django.db import transaction

    statements = [
        sql
        for sql in statements
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO", "BEGIN", "COMMIT"))
    ]
    elapsed = 0.0
    try:
        with transaction.atomic():
            raw = connection.cursor().cursor
            start = time.perf_counter()
            for statement in statements:
                raw.execute(statement.encode())
            elapsed = time.perf_counter() - start
            raise _Undo
    except _Undo:
        pass
    return elapsed


def sql(query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


class Fixture:
    """People and things the operations work on, picked from the generated data."""

    def __init__(self, rng: random.Random) -> None:
        from django.test import Client

        from lyfta.access.actor import Actor
        from lyfta.access.roles import Role
        from lyfta.accounts.models import Assignment
        from lyfta.orders.models import Loan

        self.rng = rng
        # A busy prescriber: a generated user of a unit with many patients on loan.
        from django.db.models import Count

        busiest = (
            Loan.unscoped.filter(ended_on__isnull=True)
            .values("unit_id")
            .annotate(n=Count("id"))
            .order_by("-n")
            .values_list("unit_id", flat=True)
            .first()
        )
        assignment = (
            Assignment.objects.filter(
                role=Role.PRESCRIBER, unit_id=busiest, user__username__regex=r"^s[0-9]{6}$"
            )
            .select_related("user", "unit__provider")
            .order_by("pk")
            .first()
        )
        assert assignment is not None, "no generated users: run generate_scale_data"
        self.prescriber = Actor(user=assignment.user, assignment=assignment)
        unit = assignment.unit
        self.unit = unit
        self.patients = list(
            Loan.unscoped.filter(unit=unit, ended_on__isnull=True)
            .values_list("patient_id", flat=True)
            .distinct()[:400]
        )
        from lyfta.patients.models import Patient

        self.identifiers = dict(
            Patient.objects.filter(pk__in=self.patients).values_list("pk", "identifier")
        )
        self.client = Client()
        _sign_in(self.client, assignment)
        self.logistics = _person(Role.LOGISTICS, "bench.logistik", centre=True)
        self.reviewer = _person(Role.LOG_REVIEWER, "bench.granskare", unit=unit)
        self.Actor = Actor


def _person(role: str, username: str, *, centre: bool = False, unit: Any = None) -> Any:
    from django.utils import timezone

    from lyfta.access.actor import Actor
    from lyfta.accounts.models import Assignment, User
    from lyfta.organisations.models import Unit

    if centre:
        unit = Unit.objects.filter(kind="centre").order_by("pk").first()
    today = timezone.localdate()
    user, _ = User.objects.get_or_create(
        username=username,
        defaults={"first_name": "Bench", "last_name": role, "valid_from": today},
    )
    assignment, _ = Assignment.objects.get_or_create(
        user=user,
        unit=unit,
        role=role,
        defaults={
            "purpose": "care",
            "valid_from": today - dt.timedelta(days=1),
            "valid_until": today + dt.timedelta(days=300),
            "decision_reference": "bench",
        },
    )
    return Actor(user=user, assignment=assignment)


def _sign_in(client: Any, assignment: Any) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from lyfta.accounts import sessions
    from lyfta.accounts.middleware import mfa_required
    from lyfta.accounts.services import agreement_accept

    agreement_accept(user=assignment.user)
    client.force_login(assignment.user)
    session = client.session
    now = time.time()
    session[sessions.AUTH_AT] = session[sessions.LAST_ACTIVITY] = session[sessions.REAUTH_AT] = now
    session["assignment_id"] = assignment.pk
    enrolled = TOTPDevice.objects.filter(user=assignment.user, confirmed=True).first()
    if enrolled is not None or mfa_required(assignment.user):
        # A log reviewer's role asks for a second factor, and so does any account that has set
        # one up: verified, as after a sign-in with it.
        device = enrolled or TOTPDevice.objects.create(
            user=assignment.user, name="bench", confirmed=True
        )
        session["otp_device_id"] = device.persistent_id
    session.save()


def run_all(fx: Fixture, repeat: int = REPEAT) -> list[Result]:
    from django.urls import reverse
    from django.utils import timezone

    from lyfta.access.patients import grant_for
    from lyfta.audit.models import LogExtractRequest
    from lyfta.logreview import review
    from lyfta.orders import selectors, services
    from lyfta.orders.models import Loan, Order, PickupLine
    from lyfta.patients.models import Patient
    from lyfta.patients.selectors import patient_search

    results: list[Result] = []
    patients = fx.patients
    pick = lambda i: patients[i % len(patients)]  # noqa: E731

    # Patient search by personnummer (the prescriber's own patients).
    results.append(
        measure(
            "patient search by personnummer",
            lambda i: patient_search(actor=fx.prescriber, query=fx.identifiers[pick(i)]),
            bare=lambda i: sql(
                "SELECT p.id, p.first_name, p.last_name FROM patients_patient p "
                "JOIN patients_carerelationship r ON r.patient_id = p.id "
                "WHERE p.identifier = %s AND r.unit_id = %s AND r.ended_at IS NULL",
                [fx.identifiers[pick(i)], fx.unit.pk],
            ),
            repeat=repeat,
        )
    )

    # The holdings page over HTTP, signed in, with its audit record.
    def holdings(i: int) -> None:
        response = fx.client.get(reverse("orders:holdings", args=[pick(i)]))
        assert response.status_code == 200, response.status_code

    results.append(
        measure(
            "holdings page (HTTP)",
            holdings,
            bare=lambda i: sql(
                "SELECT l.id, l.started_on, l.ended_on, a.article_number, a.name, "
                "it.individual_number, u.name FROM orders_loan l "
                "JOIN catalogue_article a ON a.id = l.article_id "
                "LEFT JOIN inventory_item it ON it.id = l.item_id "
                "JOIN organisations_unit u ON u.id = l.unit_id WHERE l.patient_id = %s "
                "ORDER BY l.started_on DESC",
                [pick(i)],
            ),
            repeat=repeat,
        )
    )

    # The item card of an item lent to one of the unit's patients.
    numbers = list(
        Loan.unscoped.filter(patient_id__in=patients, item__isnull=False).values_list(
            "item__individual_number", flat=True
        )[:200]
    )
    results.append(
        measure(
            "item card",
            lambda i: selectors.item_card(
                actor=fx.prescriber, individual_number=numbers[i % len(numbers)]
            ),
            bare=lambda i: (
                sql(
                    "SELECT m.* FROM inventory_stockmovement m JOIN inventory_item it "
                    "ON it.id = m.item_id WHERE it.individual_number = %s ORDER BY m.id",
                    [numbers[i % len(numbers)]],
                ),
                sql(
                    "SELECT l.*, p.first_name FROM orders_loan l JOIN inventory_item it "
                    "ON it.id = l.item_id JOIN patients_patient p ON p.id = l.patient_id "
                    "WHERE it.individual_number = %s",
                    [numbers[i % len(numbers)]],
                ),
            ),
            repeat=repeat,
        )
    )

    # Order create over HTTP: the cart holds one in-stock article; the POST places the order.
    from lyfta.catalogue.models import Article

    in_stock = list(
        Article.objects.filter(items__status="in_stock", items__location__kind="central")
        .distinct()
        .values_list("pk", flat=True)[:50]
    )

    def cart(i: int) -> None:
        fx.client.post(
            reverse("orders:cart_add", args=[pick(i)]),
            {"article": in_stock[i % len(in_stock)], "quantity": 1},
        )

    def order_create(i: int) -> None:
        response = fx.client.post(
            reverse("orders:order_new", args=[pick(i)]),
            # The patients already hold devices of these classes: the prescriber says why
            # (without a reason the page asks for one, a 400).
            {"delivery": "patient", "over_limit_reason": "Byte (bench)"},
        )
        assert response.status_code == 302, response.status_code

    results.append(measure("order create (HTTP)", order_create, prepare=cart, repeat=repeat))

    # Delivery confirmation of a picked order.
    orders = list(
        Order.unscoped.filter(status="registered", lines__status="reserved").distinct()[
            : repeat + 3
        ]
    )

    def slot(i: int) -> int:
        # The warm-up runs (10 000 + n) take the slots after the measured ones.
        return i if i < 10_000 else repeat + (i - 10_000)

    def pick_lines(i: int) -> None:
        for line in orders[slot(i)].lines.filter(status="reserved"):
            services.line_pick(actor=fx.logistics, line=line)

    def deliver(i: int) -> None:
        services.order_deliver(actor=fx.logistics, order=orders[slot(i)])

    if len(orders) >= repeat + 3:
        results.append(measure("delivery confirmation", deliver, prepare=pick_lines, repeat=repeat))

    # Pick-up receipt: a pick-up is registered and collected first (untimed).
    open_loans = list(
        Loan.unscoped.filter(patient_id__in=patients, ended_on__isnull=True, item__isnull=False)
        .exclude(billing_type="sale")
        .select_related("patient", "article", "item", "unit")[: repeat + 3]
    )
    lines: dict[int, Any] = {}

    def collect(i: int) -> None:
        loan = open_loans[slot(i)]
        grant = grant_for(fx.prescriber, loan.patient, "bench")
        pickup = services.pickup_register(
            actor=fx.prescriber,
            grant=grant,
            pickup=services.PickupInput(loans=[loan]),  # type: ignore[arg-type]
        )
        services.pickup_collect(actor=fx.logistics, pickup=pickup)
        lines[i] = PickupLine.unscoped.get(pickup=pickup)

    if len(open_loans) >= repeat + 3:
        results.append(
            measure(
                "pick-up receipt",
                lambda i: services.pickup_receive(actor=fx.logistics, line=lines[i]),
                prepare=collect,
                repeat=repeat,
            )
        )

    # The log reviewer's searches.
    today = timezone.localdate()
    whole = review.SearchParams(today - dt.timedelta(days=800), today)

    def search(i: int) -> None:
        params = review.SearchParams(
            whole.period_from, whole.period_until, patient=patient_objs[i % len(patient_objs)]
        )
        review.review_search(actor=fx.reviewer, params=params)

    patient_objs = list(Patient.objects.filter(pk__in=patients[:100]))
    provider = fx.unit.provider_id
    results.append(
        measure(
            "audit search, one patient, whole log",
            search,
            bare=lambda i: sql(
                "SELECT * FROM audit_auditevent WHERE patient_id = %s AND (actor_provider_id = %s "
                "OR owner_provider_id = %s) ORDER BY occurred_at DESC, id DESC LIMIT 500",
                [patient_objs[i % len(patient_objs)].pk, provider, provider],
            ),
            repeat=repeat,
        )
    )
    # The log-search page as the reviewer opens it (issue 19): one patient, the form's default
    # period (the last 30 days) and a year, over HTTP signed in as the provider's log reviewer:
    # the search, its audit record and the accesses-per-day chart of the whole provider.
    from django.test import Client

    reviewer_client = Client()
    _sign_in(reviewer_client, fx.reviewer.assignment)
    for label, days in (("default period", 30), ("a year", 365)):

        def search_page(i: int, days: int = days) -> None:
            response = reviewer_client.get(
                reverse("review:search"),
                {
                    "period_from": (today - dt.timedelta(days=days)).isoformat(),
                    "period_until": today.isoformat(),
                    "patient": patient_objs[i % len(patient_objs)].identifier,
                },
            )
            assert response.status_code == 200, response.status_code
            assert b"<svg" in response.content

        results.append(measure(f"log-search page, {label} (HTTP)", search_page, repeat=repeat))

    month_start = (today - dt.timedelta(days=40)).replace(day=1)
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    for name in ("need", "off_hours"):
        results.append(
            measure(
                f"targeted check '{name}', one unit-month",
                lambda i, name=name: review.targeted_check(
                    actor=fx.reviewer,
                    name=name,
                    period_from=month_start,
                    period_until=month_end,
                    unit=fx.unit,
                ),
                repeat=max(5, repeat // 6),
            )
        )

    requests = [
        LogExtractRequest.objects.create(
            provider_id=provider,
            patient=p,
            kind="patient",
            requested_at=today,
            due_at=today + dt.timedelta(days=30),
            requester="bench",
            period_from=today - dt.timedelta(days=365),
            period_until=today,
            received_by=fx.reviewer.user,
        )
        for p in patient_objs[:20]
    ]
    results.append(
        measure(
            "log extract rows, one patient-year",
            lambda i: review.extract_rows(requests[i % len(requests)]),
            bare=lambda i: sql(
                "SELECT * FROM audit_auditevent WHERE patient_id = %s AND occurred_at >= %s "
                "ORDER BY occurred_at, id",
                [requests[i % len(requests)].patient_id, today - dt.timedelta(days=365)],
            ),
            repeat=repeat,
        )
    )
    return results
