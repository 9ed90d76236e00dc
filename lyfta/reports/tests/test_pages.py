"""The statistics pages (issue 17): who may open them, what they show, their exports, bad input,
and ordering a report that the scheduled run delivers to the inbox."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.actor import Actor
from lyfta.access.roles import Role
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.messages.models import Message
from lyfta.reports.figures import FIGURES
from lyfta.reports.models import Population, Subscription
from lyfta.reports.services.refresh import statistics_refresh
from lyfta.reports.services.subscriptions import subscription_deliver
from lyfta.reports.tests.world import LoanWorld, loan_world


@pytest.fixture
def world(county: County) -> LoanWorld:
    found = loan_world(county)
    Population.objects.create(municipality=county.municipality, year=2026, inhabitants=2000)
    today = timezone.localdate()
    statistics_refresh(actor=Actor.system("test"), today=today)
    return found


@pytest.fixture
def manager(county: County) -> Persona:
    """A unit manager of unit A (the municipality)."""
    return make_persona(county.unit_a, Role.UNIT_MANAGER, "maja", email="maja@example.org")


def _period() -> str:
    return "fran=2026-01&till=2026-04"


@pytest.mark.parametrize("slug", list(FIGURES))
def test_every_figure_opens_for_the_centre(
    client: Client, world: LoanWorld, logan: Persona, slug: str
) -> None:
    signed_in(client, logan)
    response = client.get(f"/statistik/{slug}/?{_period()}")
    assert response.status_code == 200
    page = response.content.decode()
    assert world.people[0].patient.last_name not in page
    # The chart is an image of its own, drawn for the same filters; the page does not wait.
    source = re.search(r'<img src="([^"]+)" alt="([^"]+)" class="chart__image"', page)
    assert source is not None, "the figure has no chart"
    assert source.group(1).startswith(f"/statistik/{slug}/diagram.svg?")
    image = client.get(html.unescape(source.group(1)))
    assert image.status_code == 200
    assert image["Content-Type"] == "image/svg+xml"
    assert image.content.lstrip().startswith(b"<?xml")
    assert b"<script" not in image.content
    assert b"<!--" not in image.content
    narrow = client.get(html.unescape(source.group(1)) + "&bredd=smal")
    assert narrow.status_code == 200
    assert narrow.content != image.content


def test_the_chart_image_is_answered_not_modified_when_the_browser_has_it(
    client: Client, world: LoanWorld, logan: Persona
) -> None:
    signed_in(client, logan)
    first = client.get(f"/statistik/utlanade/diagram.svg?{_period()}&grupp=unit")
    assert first.status_code == 200
    again = client.get(
        f"/statistik/utlanade/diagram.svg?{_period()}&grupp=unit",
        headers={"If-None-Match": first["ETag"]},
    )
    assert again.status_code == 304
    assert again.content == b""
    other = client.get(
        f"/statistik/utlanade/diagram.svg?{_period()}&grupp=article",
        headers={"If-None-Match": first["ETag"]},
    )
    assert other.status_code == 200


def test_the_chart_image_keeps_the_pages_scope(
    client: Client, world: LoanWorld, manager: Persona
) -> None:
    signed_in(client, manager)
    outside = client.get(
        f"/statistik/utlanade/diagram.svg?{_period()}&enhet={world.county.unit_b.pk}"
    )
    assert outside.status_code == 400
    assert outside["Content-Type"].startswith("text/plain")
    assert client.get(f"/statistik/utlanade/diagram.svg?{_period()}&grupp=unit").status_code == 200


def test_the_manager_sees_only_their_providers_figures(
    client: Client, world: LoanWorld, manager: Persona
) -> None:
    signed_in(client, manager)
    page = client.get(f"/statistik/utlanade/?{_period()}&grupp=unit").content.decode()
    assert world.county.unit_a.name in page
    assert world.county.unit_b.name not in page
    # The region's unit is not a choice: asking for it is refused, not answered.
    response = client.get(f"/statistik/utlanade/?{_period()}&enhet={world.county.unit_b.pk}")
    assert response.status_code == 400
    assert "Välj en enhet i listan" in response.content.decode()


def test_a_prescriber_may_not_open_statistics(
    client: Client, world: LoanWorld, alice: Persona
) -> None:
    signed_in(client, alice)
    assert client.get("/statistik/").status_code == 403
    assert client.get(f"/statistik/utlanade/?{_period()}").status_code == 403


@pytest.mark.parametrize(
    "query",
    ["fran=2026-13", "fran=abc&till=2026-01", "fran=2026-04&till=2026-01", "till=2099-01",
     "grupp=nonsense", "artikel=NOPE", "huvudman=x", "fran=1900-01&till=2026-01",
     "grupp=sex&enhet=__unit__"],
)  # fmt: skip
def test_bad_filters_get_a_message_not_an_error(
    client: Client, world: LoanWorld, logan: Persona, query: str
) -> None:
    signed_in(client, logan)
    query = query.replace("__unit__", str(world.county.unit_a.pk))
    response = client.get(f"/statistik/utlanade/?{query}")
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode() or "error" in response.content.decode()


def test_unknown_figure_is_404(client: Client, logan: Persona) -> None:
    signed_in(client, logan)
    assert client.get("/statistik/finns-inte/").status_code == 404


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "pdf"])
def test_exports_hold_the_tables_numbers(
    client: Client, world: LoanWorld, logan: Persona, fmt: str
) -> None:
    signed_in(client, logan)
    response = client.get(f"/statistik/utlanade/export.{fmt}?{_period()}&grupp=unit")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = response.content
    if fmt == "csv":
        text = body.decode("utf-8-sig")
        assert world.county.unit_a.name in text
    elif fmt == "xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(body)).active
        labels = [row[0] for row in sheet.iter_rows(values_only=True)]
        assert world.county.unit_a.name in labels
    else:
        assert body.startswith(b"%PDF")


def test_csv_neutralises_a_formula_in_a_unit_name(
    client: Client, world: LoanWorld, logan: Persona
) -> None:
    unit = world.county.unit_a
    unit.name = '=HYPERLINK("http://x","y")'
    unit.save(update_fields=["name"])
    signed_in(client, logan)
    text = client.get(f"/statistik/utlanade/export.csv?{_period()}&grupp=unit").content.decode()
    assert "'=HYPERLINK" in text


def test_subscribe_and_the_scheduled_run_delivers_to_the_inbox(
    client: Client, world: LoanWorld, manager: Persona, settings: Any
) -> None:
    signed_in(client, manager)
    response = client.post(
        "/statistik/utlanade/prenumerera/", {"frequency": "monthly", "grupp": "unit"}
    )
    assert response.status_code == 302
    sub = Subscription.objects.get(user=manager.user)
    assert sub.filters == {"grupp": "unit"}
    assert AuditEvent.objects.filter(action=Action.REPORT_SUBSCRIBED).exists()
    assert subscription_deliver(subscription_id=sub.pk, today=sub.next_on)
    message = Message.objects.get(recipient=manager.user)
    assert message.link.startswith("/statistik/utlanade/?")
    assert "grupp=unit" in message.link
    assert len(mail.outbox) == 1
    sub.refresh_from_db()
    assert sub.next_on > sub.created_at.date()
    # The link still checks access when opened: a prescriber cannot open it.
    assert client.get(message.link).status_code == 200


def test_a_report_is_ended_when_its_owner_may_no_longer_see_statistics(
    world: LoanWorld, manager: Persona
) -> None:
    from lyfta.reports.services.subscriptions import subscription_create

    sub = subscription_create(actor=manager.actor, figure="utlanade", params={}, frequency="weekly")
    manager.assignment.ended_at = timezone.now()
    manager.assignment.save(update_fields=["ended_at"])
    assert not subscription_deliver(subscription_id=sub.pk, today=sub.next_on)
    sub.refresh_from_db()
    assert sub.ended_at is not None
    assert not Message.objects.filter(recipient=manager.user).exists()


def test_only_the_owner_ends_a_subscription(
    client: Client, world: LoanWorld, manager: Persona, logan: Persona
) -> None:
    from lyfta.reports.services.subscriptions import subscription_create

    sub = subscription_create(actor=manager.actor, figure="utlanade", params={}, frequency="weekly")
    signed_in(client, logan)
    assert client.post(f"/statistik/prenumerationer/{sub.pk}/avsluta/").status_code == 404
    sub.refresh_from_db()
    assert sub.ended_at is None


def test_the_page_says_how_fresh_the_figures_are(
    client: Client, world: LoanWorld, logan: Persona
) -> None:
    signed_in(client, logan)
    page = client.get(f"/statistik/utlanade/?{_period()}").content.decode()
    assert "räknades fram" in page


def test_dates_of_next_delivery() -> None:
    from lyfta.reports.services.subscriptions import next_delivery

    assert next_delivery("weekly", dt.date(2026, 12, 5)) == dt.date(2026, 12, 7)
    assert next_delivery("monthly", dt.date(2026, 12, 5)) == dt.date(2027, 1, 1)


def test_an_export_with_bad_filters_answers_400_with_the_message(
    client: Client, world: LoanWorld, logan: Persona
) -> None:
    signed_in(client, logan)
    response = client.get("/statistik/utlanade/export.csv?fran=2026-13")
    assert response.status_code == 400
    assert "Ange månaden som ÅÅÅÅ-MM" in response.content.decode()


def test_a_report_order_without_a_frequency_says_so(
    client: Client, world: LoanWorld, logan: Persona
) -> None:
    signed_in(client, logan)
    response = client.post("/statistik/utlanade/prenumerera/", {"grupp": "unit"}, follow=True)
    assert "Välj hur ofta rapporten ska komma" in response.content.decode()
    assert not Subscription.objects.exists()
