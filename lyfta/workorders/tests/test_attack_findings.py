"""Regressions of what the attack pass on the technicians' desk found (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import Persona, signed_in
from lyfta.core.tests.images import jpeg
from lyfta.workorders.models import Attachment, WorkOrder, WorkOrderPart
from lyfta.workorders.tests.pages_fixtures import Desk, desk, fault, shop

__all__ = ["desk", "shop"]

# A real JPEG with HTML in its comment (and the comment is dropped when it is kept).
JPEG_POLYGLOT = jpeg(comment=b"<html><script>alert(document.domain)</script></html>")


@pytest.fixture
def attachments(settings: Any, tmp_path: Any) -> Any:
    settings.LYFTA_ATTACHMENT_DIR = str(tmp_path / "attachments")
    return tmp_path


def test_an_attachment_is_named_by_the_type_its_content_has(
    client: Client, desk: Desk, alice: Persona, attachments: Any
) -> None:
    """A JPEG named "poly.html" (or with a right-to-left override hiding ".exe") is saved and
    offered for download as a .jpg: the uploader's extension never survives."""
    order = fault(desk, alice)
    signed_in(client, alice)
    url = reverse("workorders:attach", args=[order.pk])
    for name in ("poly.html", "\u202egpj.exe", "../../bild"):
        upload = SimpleUploadedFile(name, JPEG_POLYGLOT, content_type="text/html")
        assert (
            "Bilagan är sparad" in client.post(url, {"file": upload}, follow=True).content.decode()
        )
    names = list(Attachment.unscoped.order_by("pk").values_list("name", flat=True))
    assert names == ["poly.jpg", "gpj.jpg", "bild.jpg"]
    served = client.get(
        reverse("workorders:attachment", args=[order.pk, Attachment.unscoped.first().pk])  # type: ignore[union-attr]
    )
    assert served["Content-Type"] == "image/jpeg"
    assert 'filename="poly.jpg"' in served["Content-Disposition"]


@pytest.mark.parametrize("step", ["start", "done", "use_part", "report", "plan", "close"])
def test_a_technicians_step_is_a_403_for_the_unit_that_sees_the_work_order(
    client: Client, desk: Desk, alice: Persona, step: str
) -> None:
    order = fault(desk, alice)
    signed_in(client, alice)
    answer = client.post(
        reverse(f"workorders:{step}", args=[order.pk]),
        {"article": desk.shop.cushion.article_number, "quantity": "1"},
    )
    assert answer.status_code == 403
    order.refresh_from_db()
    assert order.status == WorkOrder.Status.REGISTERED
    assert not WorkOrderPart.unscoped.exists()


def test_approving_is_a_403_for_the_technician(
    client: Client, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    order = fault(desk, alice, kind=WorkOrder.Kind.SPECIAL_ADAPTATION)
    signed_in(client, tekla)
    assert client.post(reverse("workorders:approve", args=[order.pk])).status_code == 403


@pytest.mark.parametrize("minutes", ["١٠", "１０", "10\u0663"])
def test_number_fields_take_the_digits_0_to_9_only(
    client: Client, desk: Desk, alice: Persona, tekla: Persona, minutes: str
) -> None:
    order = fault(desk, alice)
    signed_in(client, tekla)
    client.post(reverse("workorders:start", args=[order.pk]))
    answer = client.post(
        reverse("workorders:report", args=[order.pk]),
        {"findings": "Fel", "actions": "Bytt", "minutes_spent": minutes},
        follow=True,
    ).content.decode()
    assert "0–9" in answer
    order.refresh_from_db()
    assert order.minutes_spent == 0 and order.actions == ""


def test_the_letter_is_only_for_announced_visits(
    client: Client, desk: Desk, alice: Persona, tekla: Persona
) -> None:
    repair = fault(desk, alice)
    signed_in(client, tekla)
    assert client.get(reverse("workorders:letter", args=[repair.pk])).status_code == 404
