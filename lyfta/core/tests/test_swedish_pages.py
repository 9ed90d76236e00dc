"""No English word and no raw code on a Swedish page (issue 16, build point 8). Every page of the
access table's world that a persona may open (GET, 200) is read as a person reads it (tags,
scripts and attribute values left out); its text must not hold a stored choice code (`rent`,
`in_stock`, `awaiting_pickup` …) where its Swedish label belongs, a ledger reference code
(`order:KO…`, `pickup:7`), or a word of a short list of English that Lyfta never means to show.

The world is given rows in every status of the orders, work orders and items, a loan of each
billing type, and stock movements with each kind of reference, so that the values appear."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from conftest import signed_in
from lyfta.core.tests.test_access_table import (
    OK,
    PERSONAS,
    ROUTES,
    World,
    _devices,
    _inspection_order,
    _work_order,
    world,  # noqa: F401 (the fixture)
)

# Choice codes that are also Swedish words, or proper Swedish terms in their own right: shown in
# Swedish text they are that word, not a leaked code.
SWEDISH_TOO = {
    "order": "en order (kundorder) is Swedish: 'Order KO2026-…'",
    "patient": "Swedish: 'Patient'",
    "region": "Swedish: 'Region Värmland'",
    "system": "Swedish: 'System' (the system as actor)",
    "normal": "Swedish adjective",
    "manual": "Swedish noun (a handbook)",
    "limit": "Swedish noun",
    "central": "Swedish adjective and noun (hjälpmedelscentral)",
    "installation": "Swedish noun",
    "administration": "Swedish noun",
    "personnummer": "the Swedish term itself",
    "samordningsnummer": "the Swedish term itself",
    "reservnummer": "the Swedish term itself",
    "sekretessmarkering": "the Swedish term itself",
}

# English words Lyfta never means to show on a Swedish page (case-sensitive, whole words): Python's
# and JavaScript's values printed raw, and plain English interface words. Words that are Swedish
# too ('Order', 'Status', 'System', 'OK') are not here.
ENGLISH = [
    "None",
    "True",
    "False",
    "null",
    "undefined",
    "NaN",
    "Submit",
    "Cancel",
    "Delete",
    "Save",
    "Search",
    "Loading",
    "Error",
    "Warning",
    "Previous",
    "Yes",
    "Edit",
    "Settings",
    "Logout",
    "Username",
    "Password",
    "Welcome",
    "January",
    "February",
    "March",
    "April",
    "June",
    "July",
    "October",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Sortering",  # Django's Swedish for 'Order' (the admin's ordering): never Lyfta's meaning
]

REFERENCE = re.compile(r"(?<![\w-])(?:order|pickup|workorder|store|loan|loss):[\w-]+")


def choice_codes() -> dict[str, str]:
    """Every stored choice value of Lyfta's models that differs from its Swedish label, with
    where it comes from."""
    codes: dict[str, str] = {}
    with translation.override("sv"):
        for model in apps.get_models():
            if not model.__module__.startswith("lyfta."):
                continue
            for field in model._meta.get_fields():
                if not getattr(field, "choices", None):
                    continue
                for value, label in field.flatchoices:  # type: ignore[union-attr]
                    if (
                        isinstance(value, str)
                        and value
                        and value != str(label)
                        and value not in SWEDISH_TOO
                    ):
                        codes.setdefault(value, f"{model._meta.label}.{field.name}")
    return codes


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, styles, comments, tags or attribute values; nor what a
    `<code>` element marks as a literal to type or read as it is (an API path, a parameter's
    name on the API's documentation page)."""
    page = re.sub(r"<(script|style|code)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    page = re.sub(r"<[^>]*>", " ", page)
    return html.unescape(page)


def offences(text: str, codes: dict[str, str]) -> list[str]:
    found = [f"reference code {m.group(0)!r}" for m in REFERENCE.finditer(text)]
    # A reference code is reported once, as a whole: its kind is not also a choice code
    # (a deviation registered from a pick-up has the source "pickup").
    for word in re.findall(r"(?<![\w-])[\w-]+(?![\w-])", REFERENCE.sub(" ", text)):
        if word in codes:
            found.append(f"choice code {word!r} ({codes[word]})")
        elif word in ENGLISH:
            found.append(f"English {word!r}")
    return found


def test_the_checker_finds_what_it_looks_for() -> None:
    codes = choice_codes()
    assert {"rent", "sale", "in_stock", "awaiting_pickup", "reconditioning"} <= set(codes)
    assert "order" not in codes and "patient" not in codes
    text = visible_text(
        '<td title="rent">Hyra</td><script>var x = "None";</script><dd>pickup:1</dd>'
        "<td>in_stock</td><p>order:KO2026-00001 None</p><td>Order KO2026-00001</td>"
        "<p>Svar: <code>GET /api/v1/patients/{patient_id}/holdings</code></p>"
    )
    assert offences(text, codes) == [
        "reference code 'pickup:1'",
        "reference code 'order:KO2026-00001'",
        f"choice code 'in_stock' ({codes['in_stock']})",
        "English 'None'",
    ]


def _every_status(w: World) -> None:
    """Rows in each status the pages list, a loan of each billing type, and movements with each
    kind of ledger reference on the lent lift T0003."""
    from lyfta.inventory.models import Item, StockLocation, StockMovement
    from lyfta.orders.models import Loan, Order, PickupOrder
    from lyfta.workorders.models import WorkOrder

    _devices(w)
    _work_order(w)
    _inspection_order(w)
    now, today = timezone.now(), timezone.localdate()
    for n, status in enumerate(Order.Status.values):
        Order.unscoped.create(
            number=f"KO-S-{n}",
            patient=w.patient_a,
            unit=w.county.unit_a,
            payer=w.county.unit_a,
            orderer=w.people["alice"].user,
            delivery=Order.Delivery.PATIENT,
            status=status,
            registered_at=now,
            expected_on=today,
        )
    lift = Item.objects.get(individual_number="T0003")
    for n, status in enumerate(WorkOrder.Status.values):
        WorkOrder.unscoped.create(
            number=f"AO-S-{n}",
            kind=WorkOrder.Kind.values[n % len(WorkOrder.Kind.values)],
            status=status,
            origin=WorkOrder.Origin.values[n % len(WorkOrder.Origin.values)],
            place=WorkOrder.Place.values[n % len(WorkOrder.Place.values)],
            item=lift,
            article=lift.article,
            patient=w.patient_a,
            unit=w.county.unit_a,
            requested_by=w.people["alice"].user,
            description="Lyften låter",
            registered_at=now,
            done_at=now if status in ("done", "closed") else None,
            cancel_reason="Dubblett" if status == "cancelled" else "",
            start_due=today,
            done_due=today + dt.timedelta(days=10),
        )
    for billing in ("sale", "sale_return"):
        Loan.unscoped.create(
            patient=w.patient_a,
            article=lift.article,
            unit=w.county.unit_a,
            payer=w.county.unit_a,
            billing_type=billing,
            started_on=today,
        )
    pickup = PickupOrder.unscoped.get(number="HO-TEST-1")
    references = [
        f"order:{w.order_a.number}",
        f"pickup:{pickup.pk}",
        "workorder:AO-TEST-1",
        "store:T-BUF",
        "loan:1",
        "loss:1",
        "demo",
    ]
    for kind, reference in zip(StockMovement.Kind.values * 2, references, strict=False):
        StockMovement.unscoped.create(
            kind=kind,
            article=lift.article,
            item=lift,
            quantity=1,
            to_location=StockLocation.objects.get(code="T-HMC"),
            occurred_at=now,
            reference=reference,
        )


def _pages(w: World) -> list[tuple[str, str, str]]:
    """(route name, persona, url) for every GET the table answers 200, each route once per
    persona that gets it."""
    pages = []
    for name, routes in ROUTES.items():
        for route in routes:
            if route.method != "get" or route.data:
                continue
            url = reverse(name, kwargs=route.kwargs(w))
            for persona in PERSONAS:
                if persona != "anonymous" and route.expect.get(persona, route.default) == OK:
                    pages.append((name, persona, url))
    return pages


@pytest.mark.django_db
def test_no_raw_code_or_english_word_on_a_swedish_page(world: World) -> None:  # noqa: F811
    _every_status(world)
    codes = choice_codes()
    pages = _pages(world)
    assert len(pages) > 100
    found: list[str] = []
    clients: dict[str, Client] = {}
    for name, persona, url in pages:
        if persona not in clients:
            clients[persona] = signed_in(Client(), world.people[persona])
        response = clients[persona].get(url)
        if response.status_code != 200 or not response.get("Content-Type", "").startswith(
            "text/html"
        ):
            continue
        for offence in offences(visible_text(response.content.decode()), codes):
            found.append(f"{name} ({persona}): {offence}")
    assert sorted(set(found)) == [], "\n".join(sorted(set(found)))
