"""The technicians' desk at scale (issue 13): generated work orders and inspection schedules on
top of the scale data (`bench/scale.py`), and the two pages the issue sets targets for — the
technician's queue (p95 ≤ 50 ms) and one area's monthly due list of inspections (p95 ≤ 100 ms) —
requested as the technician gets them: signed in, through the whole middleware stack, with the
audit records of every patient the page names.

National size: 200,000 open work orders (and as many finished ones) over ten teams, and 1,000,000
item inspection schedules (a yearly plan per item, a half-yearly one for a third of them);
regional size in proportion to the items (1/20).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.utils import timezone

SIZES = {
    # (open work orders, finished work orders, inspection schedules)
    "small": (2_000, 2_000, 10_000),
    "regional": (10_000, 10_000, 50_000),
    "national": (200_000, 200_000, 1_000_000),
}
AREAS = [f"65{n}" for n in range(10)]  # the generated patients' postal areas
OPEN = ["registered", "planned", "in_progress", "waiting_parts", "waiting_approval"]
KINDS = ["repair", "repair", "repair", "inspection", "inspection", "adaptation", "installation"]


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _columns(model: Any) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def _row(model: Any, values: dict[str, Any]) -> tuple[Any, ...]:
    """A COPY row in the model's column order from `values` (column name → value); columns not
    given take their field's default, or NULL."""
    row = []
    for field in model._meta.concrete_fields:
        if field.column in values:
            row.append(values[field.column])
        elif field.has_default():
            row.append(field.get_default())
        elif field.null:
            row.append(None)
        else:
            row.append("")
    return tuple(row)


def technician() -> Any:
    """The bench's technician (an actor), member of the first team."""
    from bench.ops import _person
    from lyfta.access.roles import Role

    return _person(Role.TECHNICIAN, "bench.tekniker", centre=True)


def generate(size_name: str, *, seed: int = 13) -> dict[str, Any]:
    """Generate the work orders and schedules of `size_name` once (a counter marks them), in one
    transaction: a failed run leaves nothing behind."""
    from django.db import transaction

    with transaction.atomic():
        return _generate(size_name, seed)


def _generate(size_name: str, seed: int) -> dict[str, Any]:
    from bench.scale import copy_rows, next_id, reset_sequence
    from lyfta.catalogue.models import Article
    from lyfta.inventory.models import Counter, Item
    from lyfta.orders.models import Loan
    from lyfta.organisations.models import Unit
    from lyfta.workorders.models import InspectionPlan, ItemInspection, Team, WorkOrder

    marker = f"wo:{size_name}"  # (a counter's name has at most 20 characters)
    if Counter.objects.filter(name=marker).exists():
        log(f"{size_name} work orders are already here (counter {marker})")
        return {"skipped": True}
    open_count, done_count, schedule_count = SIZES[size_name]
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible on purpose
    started = time.perf_counter()
    centre = Unit.objects.filter(kind="centre").order_by("pk").first()
    assert centre is not None, "seed the demo county first"
    tech = technician()
    teams = []
    for n, area in enumerate(AREAS):
        team, _created = Team.objects.get_or_create(
            name=f"Skalteam {n + 1}", defaults={"unit": centre, "areas": area}
        )
        teams.append(team)
    teams[0].members.add(tech.user)
    articles = list(Article.objects.filter(tracked=True, in_assortment=True).order_by("pk"))
    plans = {}
    halves = {}
    for article in articles:
        plans[article.pk], _c = InspectionPlan.objects.get_or_create(
            name=f"Skalplan {article.article_number}",
            defaults={
                "article": article,
                "interval_months": 12,
                "checklist": ["Funktion", "Skador", "Märkning"],
            },
        )
        halves[article.pk], _c = InspectionPlan.objects.get_or_create(
            name=f"Skalplan halvår {article.article_number}",
            defaults={"article": article, "interval_months": 6, "checklist": ["Väv och sömmar"]},
        )
    today = timezone.localdate()
    log("schedules")
    # Items on loan with their open loan's patient, unit and the patient's address.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.id, i.article_id, i.holder_id, l.unit_id, p.street, p.postal_code, p.city "
            "FROM inventory_item i JOIN orders_loan l ON l.item_id = i.id AND l.ended_on IS NULL "
            "JOIN patients_patient p ON p.id = i.holder_id WHERE i.status = 'on_loan' "
            "ORDER BY i.id LIMIT %s",
            [schedule_count],
        )
        on_loan = cursor.fetchall()
    schedule_rows = []
    first_schedule = next_id(ItemInspection)
    sid = first_schedule
    for item_id, article_id, *_rest in on_loan:
        if len(schedule_rows) >= schedule_count:
            break
        due = today + dt.timedelta(days=rng.randint(-20, 345))
        schedule_rows.append((sid, item_id, plans[article_id].pk, due, None, None))
        sid += 1
        if len(schedule_rows) < schedule_count and item_id % 3 == 0:
            due = today + dt.timedelta(days=rng.randint(-10, 170))
            schedule_rows.append((sid, item_id, halves[article_id].pk, due, None, None))
            sid += 1
    copy_rows(
        ItemInspection,
        ["id", "item_id", "plan_id", "next_due", "last_done", "reminded_on"],
        schedule_rows,
    )
    reset_sequence(ItemInspection)
    log(f"{len(schedule_rows):,} schedules")
    users = list(
        Loan.unscoped.filter(ended_on__isnull=True)
        .values_list("unit_id", "prescriber_id")
        .distinct()[:2000]
    )
    prescriber_of = dict(users)
    first_order = next_id(WorkOrder)
    now = timezone.now()
    year = today.year

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(open_count + done_count):
            item_id, article_id, patient_id, unit_id, street, postal, city = on_loan[
                n % len(on_loan)
            ]
            area = postal.replace(" ", "")[:3]
            team = teams[AREAS.index(area)] if area in AREAS else teams[0]
            is_open = n < open_count
            status = OPEN[n % len(OPEN)] if is_open else ("closed" if n % 5 else "cancelled")
            registered = now - dt.timedelta(days=rng.randint(0, 60 if is_open else 700))
            day = timezone.localtime(registered).date()
            done_due = day + dt.timedelta(days=14)
            mine = is_open and team is teams[0] and n % 60 == 0
            yield _row(
                WorkOrder,
                {
                    "id": first_order + n,
                    "number": f"AO{year}-S{first_order + n:09d}",
                    "kind": KINDS[n % len(KINDS)],
                    "status": status,
                    "origin": "prescriber",
                    "place": "home",
                    "priority": "normal",
                    "item_id": item_id,
                    "article_id": article_id,
                    "patient_id": patient_id,
                    "unit_id": unit_id,
                    "requested_by_id": prescriber_of.get(unit_id),
                    "team_id": team.pk,
                    "assignee_id": tech.user.pk if mine else None,
                    "plan_id": None,
                    "description": "Skalningsdata: fel på hjälpmedlet",
                    "street": street,
                    "postal_code": postal,
                    "city": city,
                    "confidential_address": False,
                    "contact_phone": "",
                    "registered_at": registered,
                    "start_due": day + dt.timedelta(days=4),
                    "done_due": done_due,
                    "planned_on": None,
                    "started_at": None,
                    "done_at": None if is_open or status == "cancelled" else registered,
                    "closed_at": None if is_open or status == "cancelled" else registered,
                    "cancelled_at": registered if status == "cancelled" else None,
                    "cancel_reason": "Skalningsdata" if status == "cancelled" else "",
                    "waiting_note": "",
                    "warranty": False,
                    "findings": "",
                    "actions": "" if is_open else "Åtgärdat",
                    "minutes_spent": 0 if is_open else 45,
                    "billable": False,
                    "instruction": "",
                    "risk_analysis": "",
                    "cost_estimate": None,
                    "approved_by_id": None,
                    "approved_at": None,
                    "delay_notified": False,
                },
            )

    log("work orders")
    copy_rows(WorkOrder, _columns(WorkOrder), rows())
    reset_sequence(WorkOrder)
    with connection.cursor() as cursor:
        # Each work order keeps its item's batch, as WorkOrder.save does for a new one.
        cursor.execute(
            "UPDATE workorders_workorder w SET lot = i.batch FROM inventory_item i "
            "WHERE i.id = w.item_id AND w.lot = ''"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workorders_workorder")
        cursor.execute("ANALYZE workorders_iteminspection")
    Counter.objects.create(name=marker, value=1)
    seconds = time.perf_counter() - started
    log(f"work orders and schedules generated in {seconds:.0f} s")
    assert Item.objects.exists()
    return {"seconds": seconds}


def run_all(repeat: int) -> list[Any]:
    """Time the queue and the due list as the bench technician opens them."""
    from django.test import Client
    from django.urls import reverse

    from bench.ops import _sign_in, measure, sql

    tech = technician()
    client = Client()
    _sign_in(client, tech.assignment)
    results = []

    def queue(i: int) -> None:
        response = client.get(reverse("workorders:queue"))
        assert response.status_code == 200, response.status_code

    team_id = tech.user.technician_teams.order_by("pk").values_list("pk", flat=True).first()
    results.append(
        measure(
            "technician's queue (HTTP)",
            queue,
            bare=lambda i: sql(
                "SELECT w.id, w.number, w.kind, w.status, w.done_due, w.street, w.postal_code, "
                "p.first_name, p.last_name, a.name FROM workorders_workorder w "
                "LEFT JOIN patients_patient p ON p.id = w.patient_id "
                "LEFT JOIN catalogue_article a ON a.id = w.article_id "
                "WHERE w.status IN ('registered', 'planned', 'in_progress', 'waiting_parts', "
                "'waiting_approval') AND (w.assignee_id = %s OR w.team_id = %s) "
                "ORDER BY w.done_due, w.id LIMIT 50",
                [tech.user.pk, team_id],
            ),
            repeat=repeat,
        )
    )
    today = timezone.localdate()
    month = today.strftime("%Y-%m")
    month_start = today.replace(day=1)
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1)

    def due(i: int) -> None:
        area = AREAS[i % len(AREAS)]
        response = client.get(reverse("workorders:due"), {"omrade": area, "manad": month})
        assert response.status_code == 200, response.status_code

    results.append(
        measure(
            "monthly due list of one area (HTTP)",
            due,
            bare=lambda i: sql(
                "SELECT s.id, s.next_due, i.individual_number, a.name, p.first_name, "
                "p.last_name, p.street, p.postal_code FROM workorders_iteminspection s "
                "JOIN inventory_item i ON i.id = s.item_id "
                "JOIN catalogue_article a ON a.id = i.article_id "
                "LEFT JOIN patients_patient p ON p.id = i.holder_id "
                "WHERE s.next_due >= %s AND s.next_due < %s AND p.postal_code >= %s "
                "AND p.postal_code < %s ORDER BY s.next_due, s.id LIMIT 50",
                [month_start, month_end, AREAS[i % 10], f"65{i % 10 + 1}"],
            ),
            repeat=repeat,
        )
    )
    return results
