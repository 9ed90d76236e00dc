"""The work-order pages (issue 13 points 1, 2, 4, 6): who opens which page, what each records,
the steps from the page, attachments, the fault report from the holdings, the item card, and the
phone width of the queue and the work-order page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.inventory.models import StockLevel, StockMovement
from lyfta.workorders.models import Attachment, WorkOrder
from lyfta.workorders.tests.pages_fixtures import Desk, desk, fault, shop

__all__ = ["desk", "shop"]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _events(action: str, **fields: Any) -> Any:
    return AuditEvent.objects.filter(action=action, **fields)


@pytest.fixture
def attachments(settings: Any, tmp_path: Any) -> Any:
    settings.LYFTA_ATTACHMENT_DIR = str(tmp_path / "bilagor")
    return tmp_path


@pytest.mark.django_db
def test_queue_lists_mine_and_the_teams_and_records_each_patient(
    client: Client, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = fault(desk, alice)
    signed_in(client, tekla)
    # Registered in area 652? The team serves it only if the patient's postal code is there.
    WorkOrder.unscoped.filter(pk=order.pk).update(team=desk.team)
    team_page = client.get(reverse("workorders:queue"), {"vy": "teamets"})
    assert team_page.status_code == 200
    assert order.number in team_page.content.decode()
    assert str(desk.shop.patient) in team_page.content.decode()
    listed = _events(Action.PATIENT_LISTED, patient_id=desk.shop.patient.pk)
    assert listed.filter(detail__list="workorder_queue").count() == 1
    mine = client.get(reverse("workorders:queue"))
    assert order.number not in mine.content.decode()
    WorkOrder.unscoped.filter(pk=order.pk).update(assignee=tekla.user)
    mine = client.get(reverse("workorders:queue"), {"vy": "mina", "omrade": order.area or "652"})
    assert (order.number in mine.content.decode()) == bool(order.area)
    bad = client.get(reverse("workorders:queue"), {"omrade": "６５２"})
    assert bad.status_code == 400
    assert "tre siffror" in bad.content.decode()


@pytest.mark.django_db
def test_queue_is_for_the_technicians_only(client: Client, desk: Desk, alice: Persona) -> None:
    signed_in(client, alice)
    assert client.get(reverse("workorders:queue")).status_code == 403


@pytest.mark.django_db
def test_r38_another_providers_work_order_is_the_same_404_and_recorded(
    client: Client, desk: Desk, alice: Persona, bob: Persona, charlie: Persona, tekla: Persona
) -> None:
    order = fault(desk, alice)
    url = reverse("workorders:detail", args=[order.pk])
    signed_in(client, charlie)
    assert client.get(url).status_code == 404
    refused = _events(Action.ACCESS_DENIED, resource_type="workorders.workorder")
    assert refused.filter(resource_id=str(order.pk), patient_id=desk.shop.patient.pk).exists()
    assert client.get(reverse("workorders:detail", args=[999999])).status_code == 404
    for persona in (bob, tekla):
        signed_in(client, persona)
        page = client.get(url)
        assert page.status_code == 200, persona
        assert str(desk.shop.patient) in page.content.decode()
    viewed = _events(Action.WORKORDER_VIEWED, patient_id=desk.shop.patient.pk)
    assert viewed.count() == 2
    assert viewed.filter(legal_basis="case", legal_basis_ref=f"workorder:{order.number}").count()


@pytest.mark.django_db
def test_the_fault_report_from_the_holdings_creates_the_work_order(
    client: Client, desk: Desk, alice: Persona
) -> None:
    signed_in(client, alice)
    holdings = client.get(reverse("orders:holdings", args=[desk.shop.patient.pk]))
    link = reverse("workorders:report_fault", args=[desk.shop.patient.pk, desk.loan.pk])
    assert link in holdings.content.decode()
    form = client.get(link)
    assert form.status_code == 200
    answer = client.post(
        link,
        {
            "kind": "repair",
            "description": "Lyften stannar halvvägs",
            "place": "home",
            "priority": "normal",
            "contact_phone": "070-000 00 00",
        },
        follow=True,
    )
    order = WorkOrder.unscoped.get(item=desk.lift)
    assert order.requested_by == alice.user and order.patient == desk.shop.patient
    assert order.origin == "prescriber" and order.status == "registered"
    text = answer.content.decode()
    assert order.number in text and order.done_due.isoformat() in text
    assert "Pågående arbetsordrar" in text
    # Nothing typed: a Swedish message, no work order.
    empty = client.post(link, {"kind": "repair", "place": "home", "priority": "normal"})
    assert empty.status_code == 400
    assert WorkOrder.unscoped.count() == 1


@pytest.mark.django_db
def test_a_technician_does_the_work_from_the_page(
    client: Client, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = fault(desk, alice)
    signed_in(client, tekla)

    def post(step: str, data: dict[str, Any] | None = None) -> str:
        url = reverse(f"workorders:{step}", args=[order.pk])
        return client.post(url, data or {}, follow=True).content.decode()

    assert "planerad" in post("plan", {"assignee": tekla.user.pk, "team": desk.team.pk})
    assert "påbörjat" in post("start")
    level = StockLevel.objects.get(article=desk.shop.cushion, location=desk.workshop)
    assert "uttagna" in post(
        "use_part", {"article": "200001", "quantity": 2, "location": desk.workshop.pk}
    )
    assert "Det finns ingen artikel" in post(
        "use_part", {"article": "999999", "quantity": 1, "location": desk.workshop.pk}
    )
    level.refresh_from_db()
    assert level.quantity == 3
    assert StockMovement.unscoped.filter(kind="repair_part", quantity=2).count() == 1
    # The part form carries a one-time key: the same form sent twice takes the part once.
    page = client.get(reverse("workorders:detail", args=[order.pk])).content.decode()
    key = re.search(r'name="form_key" value="([0-9a-f]{32})"', page)
    assert key is not None
    twice = {"article": "200001", "quantity": 1, "location": desk.workshop.pk, "form_key": key[1]}
    assert "uttagna" in post("use_part", twice)
    assert "redan registrerad" in post("use_part", twice)
    level.refresh_from_db()
    assert level.quantity == 2
    assert StockMovement.unscoped.filter(kind="repair_part", quantity=1).count() == 1
    assert "Skriv i rapporten" in post("done")
    assert "sparad" in post(
        "report", {"findings": "Trasig brytare", "actions": "Bytt brytare", "minutes_spent": 45}
    )
    assert "klarmarkerat" in post("done")
    assert "avslutad" in post("close")
    order.refresh_from_db()
    assert order.status == "closed" and order.minutes_spent == 45
    page = client.get(reverse("workorders:detail", args=[order.pk])).content.decode()
    assert "Bytt brytare" in page and "Sittdyna" in page


@pytest.mark.django_db
def test_attachments_are_checked_and_served_only_after_the_access_check(
    client: Client, desk: Desk, alice: Persona, charlie: Persona, tekla: Persona, attachments: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = fault(desk, alice)
    url = reverse("workorders:attach", args=[order.pk])
    signed_in(client, alice)
    fake = SimpleUploadedFile("bild.jpg", b"MZ\x90\x00 not a picture", content_type="image/jpeg")
    answer = client.post(url, {"file": fake}, follow=True).content.decode()
    assert "Bifoga ett foto (JPEG eller PNG) eller ett PDF-dokument." in answer
    assert not Attachment.unscoped.exists()
    assert "Välj en fil" in client.post(url, {}, follow=True).content.decode()
    pdf = SimpleUploadedFile("protokoll.pdf", PDF, content_type="application/pdf")
    assert "Bilagan är sparad" in client.post(url, {"file": pdf}, follow=True).content.decode()
    attachment = Attachment.unscoped.get()
    download = reverse("workorders:attachment", args=[order.pk, attachment.pk])
    for persona in (alice, tekla):
        signed_in(client, persona)
        served = client.get(download)
        assert served.status_code == 200
        assert served.content == PDF
        assert served["Content-Type"] == "application/pdf"
        assert served["X-Content-Type-Options"] == "nosniff"
        assert served["Content-Disposition"].startswith("attachment")
    assert _events(Action.WORKORDER_ATTACHMENT_VIEWED, patient_id=desk.shop.patient.pk).count() == 2
    signed_in(client, charlie)
    assert client.get(download).status_code == 404
    # Another work order's id with this attachment's id: the same 404.
    other = fault(desk, alice, description="Annat fel")
    signed_in(client, tekla)
    assert (
        client.get(reverse("workorders:attachment", args=[other.pk, attachment.pk])).status_code
        == 404
    )


@pytest.mark.django_db
def test_the_unit_list_and_the_navigation(
    client: Client, desk: Desk, alice: Persona, tekla: Persona, charlie: Persona
) -> None:
    order = fault(desk, alice)
    signed_in(client, alice)
    page = client.get(reverse("workorders:unit_list"))
    assert page.status_code == 200
    text = page.content.decode()
    assert order.number in text and str(desk.shop.patient) in text
    assert reverse("workorders:unit_list") in text  # the navigation's "Arbetsordrar"
    assert 'href="/teknik/"' not in text
    assert _events(Action.PATIENT_LISTED, detail__list="workorder_unit_list").count() == 1
    signed_in(client, charlie)
    assert order.number not in client.get(reverse("workorders:unit_list")).content.decode()
    signed_in(client, tekla)
    start = client.get(reverse("workorders:queue")).content.decode()
    assert 'href="/teknik/"' in start and reverse("workorders:unit_list") not in start


@pytest.mark.django_db
def test_the_item_card_shows_work_orders_and_offers_a_new_one(
    client: Client, desk: Desk, alice: Persona, tekla: Persona, logan: Persona
) -> None:
    order = fault(desk, alice)
    card_url = reverse("stock:item", args=[desk.lift.individual_number])
    signed_in(client, tekla)
    card = client.get(card_url).content.decode()
    assert order.number in card and reverse("workorders:detail", args=[order.pk]) in card
    new = reverse("workorders:new_for_item", args=[desk.lift.individual_number])
    assert new in card
    answer = client.post(
        new,
        {
            "kind": "maintenance",
            "description": "Byt batteri",
            "place": "home",
            "priority": "normal",
        },
    )
    made = WorkOrder.unscoped.get(kind="maintenance")
    assert answer.status_code == 302 and made.patient == desk.shop.patient
    assert made.unit == desk.loan.unit and made.origin == "technician"
    # Logistics: only items in stock.
    signed_in(client, logan)
    assert new not in client.get(card_url).content.decode()
    refused = client.post(
        new, {"kind": "repair", "description": "x", "place": "workshop", "priority": "normal"}
    )
    assert refused.status_code == 400
    in_stock = desk.shop.bed.pk
    from lyfta.inventory.models import Item

    bed = Item.objects.filter(article_id=in_stock).first()
    assert bed is not None
    answer = client.post(
        reverse("workorders:new_for_item", args=[bed.individual_number]),
        {
            "kind": "reconditioning",
            "description": "Tvätt",
            "place": "workshop",
            "priority": "normal",
        },
    )
    assert answer.status_code == 302
    assert WorkOrder.unscoped.get(item=bed).origin == "centre"


@pytest.mark.django_db
def test_the_inspection_letter_is_a_recorded_pdf(
    client: Client, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = fault(desk, alice, kind="maintenance")
    signed_in(client, tekla)
    answer = client.get(reverse("workorders:letter", args=[order.pk]))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    assert _events(Action.WORKORDER_LETTER_PRINTED, patient_id=desk.shop.patient.pk).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_queue_and_the_work_order_page_fit_a_phone(
    browser: Any, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    """At 390 px nothing scrolls sideways: the queue's rows become cards, the page's forms stack."""
    from lyfta.accounts import services as account_services
    from lyfta.accounts.tests.factories import TEST_PASSWORD

    order = fault(desk, alice)
    WorkOrder.unscoped.filter(pk=order.pk).update(assignee=tekla.user)
    account_services.agreement_accept(user=tekla.user)
    browser.page.set_viewport_size({"width": 390, "height": 844})
    browser.login(tekla.user.username, TEST_PASSWORD)
    for path in ("/teknik/", f"/teknik/arbetsorder/{order.pk}/"):
        browser.goto(path)
        assert order.number in browser.page.content()
        width = browser.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)


@pytest.mark.django_db
def test_the_unit_approves_a_special_adaptation_and_cancels_its_own_while_not_started(
    client: Client, desk: Desk, alice: Persona, bob: Persona, tekla: Persona
) -> None:
    special = fault(desk, alice, kind="special_adaptation", description="Förhöjt ryggstöd")
    signed_in(client, tekla)
    estimate = reverse("workorders:estimate", args=[special.pk])
    page = client.post(
        estimate,
        {"instruction": "Svetsa fäste", "risk_analysis": "Klämrisk bedömd", "cost_estimate": "x"},
        follow=True,
    ).content.decode()
    assert "Fyll i ett tal." in page
    client.post(
        estimate,
        {"instruction": "Svetsa fäste", "risk_analysis": "Klämrisk", "cost_estimate": "1500"},
    )
    special.refresh_from_db()
    assert special.status == "waiting_approval"
    detail = reverse("workorders:detail", args=[special.pk])
    assert "Godkänn kostnadsförslaget" not in client.get(detail).content.decode()
    signed_in(client, bob)
    page = client.get(detail).content.decode()
    assert "Godkänn kostnadsförslaget" in page and "1\xa0500,00\xa0kr" in page
    answer = client.post(reverse("workorders:approve", args=[special.pk]), follow=True)
    assert "Kostnadsförslaget är godkänt." in answer.content.decode()
    special.refresh_from_db()
    assert special.approved_by == bob.user
    # The unit cancels its own repair while nothing has been done; not once it has started.
    repair = fault(desk, alice)
    cancel = reverse("workorders:cancel", args=[repair.pk])
    assert (
        "makulerad" in client.post(cancel, {"reason": "Fel anmält"}, follow=True).content.decode()
    )
    started = fault(desk, alice, description="Ett annat fel")
    signed_in(client, tekla)
    client.post(reverse("workorders:start", args=[started.pk]))
    signed_in(client, alice)
    answer = client.post(
        reverse("workorders:cancel", args=[started.pk]), {"reason": "Ångrat"}, follow=True
    )
    assert "Arbetet har påbörjats" in answer.content.decode()
    started.refresh_from_db()
    assert started.status == "in_progress"


@pytest.mark.django_db
def test_queue_mine_names_the_technician_without_reading_him_again(
    client: Client, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    """Issue 19: in "Mina" every row's assignee is the technician, so the list's read joins no
    user (a join costs the planner more than the answer) and the rows still name him."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    order = fault(desk, alice)
    WorkOrder.unscoped.filter(pk=order.pk).update(assignee=tekla.user)
    signed_in(client, tekla)
    client.get(reverse("workorders:queue"))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("workorders:queue"), {"vy": "mina"})
    assert page.status_code == 200
    assert order.number in page.content.decode()
    assert tekla.user.display_name in page.content.decode()
    reads = [
        q["sql"] for q in queries.captured_queries if 'FROM "workorders_workorder"' in q["sql"]
    ]
    listing = [sql for sql in reads if sql.startswith('SELECT "workorders_workorder"."id"')]
    assert len(listing) == 1 and '"accounts_user"' not in listing[0], listing


@pytest.mark.django_db
def test_queue_area_filter_never_finds_a_protected_address(
    client: Client, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    """Attack run 4, finding 1 (as on the pick list): a work order at a protected address is
    under no area of the technician's queue, so the filter cannot tell its area (R55)."""
    order = fault(desk, alice)
    WorkOrder.unscoped.filter(pk=order.pk).update(
        assignee=tekla.user, confidential_address=True, postal_code="65340"
    )
    signed_in(client, tekla)
    assert order.number in client.get(reverse("workorders:queue")).content.decode()
    page = client.get(reverse("workorders:queue"), {"vy": "mina", "omrade": "653"})
    assert page.status_code == 200
    assert order.number not in page.content.decode()
