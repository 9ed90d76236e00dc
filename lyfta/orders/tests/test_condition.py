"""The condition of a returned device (issue 16 point 4): a checklist per ISO class (or the
default list), filled by the driver at collection and by the warehouse at receipt, with photos
checked by their content, stored by a random name and served only after the access check, each
view recorded; the reconditioning page shows it first."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.roles import Role
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.catalogue.models import IsoClass
from lyfta.core.tests.images import GPS_IFD, jpeg, png
from lyfta.core.uploads import without_metadata
from lyfta.orders import services
from lyfta.orders.models import (
    DEFAULT_CONDITION_POINTS,
    ConditionChecklist,
    ConditionPhoto,
    ConditionReport,
    OrderLine,
    PickupLine,
    PickupOrder,
)
from lyfta.orders.services import DeliveryInput, LineInput, PickupInput
from lyfta.orders.tests.conftest import Shop, grant

pytestmark = pytest.mark.django_db

PNG = png()
JPEG = jpeg()
ALL_FINE = {
    "Komplett": "yes",
    "Rent": "yes",
    "Synliga skador": "no",
    "Batteri/laddare medföljer": "na",
    "Tillbehör medföljer": "yes",
}


@pytest.fixture(autouse=True)
def photo_dir(settings: object, tmp_path: Path) -> Path:
    settings.LYFTA_ATTACHMENT_DIR = str(tmp_path / "bilagor")  # type: ignore[attr-defined]
    return tmp_path / "bilagor" / "condition"


def _pickup(alice: Persona, logan: Persona, shop: Shop) -> PickupOrder:
    order = services.order_place(
        actor=alice.actor,
        grant=grant(alice, shop.patient),
        lines=[LineInput(shop.lift)],
        delivery=DeliveryInput(),
    )
    for line in OrderLine.unscoped.filter(order=order):
        services.line_pick(actor=logan.actor, line=line)
    loans = services.order_deliver(actor=logan.actor, order=order)
    return services.pickup_register(
        actor=alice.actor, grant=grant(alice, shop.patient), pickup=PickupInput(loans=loans)
    )


def _line(pickup: PickupOrder) -> PickupLine:
    return PickupLine.unscoped.get(pickup=pickup)


def test_r16_4_the_default_list_applies_unless_the_iso_class_or_a_parent_has_its_own(
    shop: Shop,
) -> None:
    assert services.condition_points(shop.lift) == DEFAULT_CONDITION_POINTS
    parent = IsoClass.objects.get(code="12 36")
    ConditionChecklist.objects.create(iso_class=parent, points=["Lyftband", "Laddare"])
    assert services.condition_points(shop.lift) == ["Lyftband", "Laddare"]
    assert services.condition_points(shop.bed) == DEFAULT_CONDITION_POINTS


def test_r16_4_collection_and_receipt_are_recorded_with_photos_and_audited(
    shop: Shop, alice: Persona, logan: Persona, photo_dir: Path
) -> None:
    pickup = _pickup(alice, logan, shop)
    line = _line(pickup)
    collected = services.condition_record(
        actor=logan.actor,
        line=line,
        stage=ConditionReport.Stage.COLLECTION,
        results={**ALL_FINE, "Synliga skador": "yes"},
        note="Repa på bommen",
        photos=[("../../bom.html", JPEG)],
    )
    assert [p["point"] for p in collected.remarks] == ["Synliga skador"]
    photo = ConditionPhoto.unscoped.get(report=collected)
    # Named by its content, stored by a random name, the uploader's path thrown away.
    assert photo.name == "bom.jpg" and photo.content_type == "image/jpeg"
    assert (photo_dir / photo.stored_as).read_bytes() == without_metadata(JPEG, "image/jpeg")
    event = AuditEvent.objects.get(action=Action.CONDITION_RECORDED)
    assert event.patient_id == shop.patient.pk
    assert event.detail["remarks"] == ["Synliga skador"] and event.detail["photos"] == 1
    # Receipt comes after the collection is registered.
    with pytest.raises(ValidationError, match="inte hämtat"):
        services.condition_record(
            actor=logan.actor, line=line, stage=ConditionReport.Stage.RECEIPT, results=ALL_FINE
        )
    services.pickup_collect(actor=logan.actor, pickup=pickup)
    services.condition_record(
        actor=logan.actor, line=line, stage=ConditionReport.Stage.RECEIPT, results=ALL_FINE
    )
    with pytest.raises(ValidationError, match="redan registrerat"):
        services.condition_record(
            actor=logan.actor, line=line, stage=ConditionReport.Stage.RECEIPT, results=ALL_FINE
        )
    assert ConditionReport.unscoped.filter(line=line).count() == 2


def test_r16_4_bad_checklists_and_photos_are_refused_and_nothing_is_kept(
    shop: Shop, alice: Persona, logan: Persona, tekla: Persona, photo_dir: Path
) -> None:
    line = _line(_pickup(alice, logan, shop))
    stage = ConditionReport.Stage.COLLECTION
    with pytest.raises(ValidationError, match="Svara på varje punkt"):
        services.condition_record(
            actor=logan.actor, line=line, stage=stage, results={"Komplett": "yes"}
        )
    with pytest.raises(ValidationError, match="JPEG- eller PNG"):
        services.condition_record(
            actor=logan.actor,
            line=line,
            stage=stage,
            results=ALL_FINE,
            photos=[("x.png", b"<html>")],
        )
    with pytest.raises(ValidationError, match="större än 10 MB"):
        services.condition_record(
            actor=logan.actor,
            line=line,
            stage=stage,
            results=ALL_FINE,
            photos=[("x.png", PNG + b"\x00" * (10 * 1024 * 1024))],
        )
    with pytest.raises(PermissionDenied):
        services.condition_record(actor=tekla.actor, line=line, stage=stage, results=ALL_FINE)
    # A bad answer with a good photo: neither the report nor the file is kept.
    with pytest.raises(ValidationError):
        services.condition_record(
            actor=logan.actor,
            line=line,
            stage=stage,
            results={**ALL_FINE, "Rent": "kanske"},
            photos=[("a.png", PNG)],
        )
    assert not ConditionReport.unscoped.exists()
    assert not photo_dir.exists() or not any(photo_dir.iterdir())


# --- Pages ------------------------------------------------------------------------------------


def _answers(**overrides: str) -> dict[str, object]:
    data: dict[str, object] = {
        f"point_{i}": ALL_FINE[point] for i, point in enumerate(DEFAULT_CONDITION_POINTS)
    }
    data.update(overrides)
    return data


def test_r16_4_the_driver_fills_the_checklist_with_a_photo_on_the_pickup_page(
    client: Client, shop: Shop, alice: Persona, logan: Persona, tekla: Persona
) -> None:
    pickup = _pickup(alice, logan, shop)
    line = _line(pickup)
    as_logan = signed_in(client, logan)
    url = reverse("logistics:pickup_condition", args=[line.pk])
    assert url in as_logan.get(reverse("logistics:pickups")).content.decode()
    form = as_logan.get(url)
    assert form.status_code == 200
    html = form.content.decode()
    assert "Batteri/laddare medföljer" in html and 'capture="environment"' in html
    # The patient is not named on the driver's checklist.
    assert shop.patient.last_name not in html
    bad = as_logan.post(url, _answers(point_0="kanske"))
    assert bad.status_code == 400 and "Välj Ja, Nej eller Ej aktuellt." in bad.content.decode()
    not_a_photo = as_logan.post(
        url, {**_answers(), "photo_1": SimpleUploadedFile("a.png", b"GIF89a")}
    )
    assert not_a_photo.status_code == 400
    assert "JPEG- eller PNG" in not_a_photo.content.decode()
    assert not ConditionReport.unscoped.exists()
    done = as_logan.post(
        url, {**_answers(point_1="no"), "photo_1": SimpleUploadedFile("rum.png", PNG)}
    )
    assert done.status_code == 302
    report = ConditionReport.unscoped.get()
    assert report.stage == "collection" and [p["point"] for p in report.remarks] == ["Rent"]
    assert as_logan.post(url, _answers()).status_code == 400
    assert signed_in(Client(), tekla).get(url).status_code == 403
    assert as_logan.get(reverse("logistics:pickup_condition", args=[999999])).status_code == 404


def test_r16_4_the_photo_is_served_after_the_access_check_and_recorded(
    client: Client, shop: Shop, alice: Persona, logan: Persona, tekla: Persona
) -> None:
    line = _line(_pickup(alice, logan, shop))
    report = services.condition_record(
        actor=logan.actor,
        line=line,
        stage=ConditionReport.Stage.COLLECTION,
        results=ALL_FINE,
        photos=[("rum.png", PNG)],
    )
    photo = ConditionPhoto.unscoped.get(report=report)
    url = reverse("logistics:condition_photo", args=[photo.pk])
    response = signed_in(client, logan).get(url)
    assert response.status_code == 200 and response.content == services.condition_photo_bytes(photo)
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    viewed = AuditEvent.objects.get(action=Action.CONDITION_PHOTO_VIEWED)
    assert viewed.patient_id == shop.patient.pk and viewed.legal_basis == "case"
    assert signed_in(Client(), alice).get(url).status_code == 403
    assert (
        signed_in(Client(), logan)
        .get(reverse("logistics:condition_photo", args=[999999]))
        .status_code
        == 404
    )


def test_r16_4_the_reconditioning_page_shows_the_condition_first(
    client: Client, shop: Shop, alice: Persona, logan: Persona, tekla: Persona
) -> None:
    pickup = _pickup(alice, logan, shop)
    line = _line(pickup)
    services.condition_record(
        actor=logan.actor,
        line=line,
        stage=ConditionReport.Stage.COLLECTION,
        results={**ALL_FINE, "Komplett": "no"},
        note="Laddaren saknas",
        photos=[("a.png", PNG)],
    )
    services.pickup_collect(actor=logan.actor, pickup=pickup)
    as_logan = signed_in(client, logan)
    returns = as_logan.get(reverse("logistics:returns")).content.decode()
    assert "1 anm." in returns
    receipt = reverse("logistics:return_condition", args=[line.pk])
    page = as_logan.get(receipt).content.decode()
    assert "Laddaren saknas" in page  # the driver's check, shown to the warehouse
    assert as_logan.post(receipt, _answers()).status_code == 302
    services.pickup_receive(actor=logan.actor, line=line)
    html = as_logan.get(reverse("logistics:reconditioning")).content.decode()
    item = line.loan.item
    assert item is not None
    # The condition comes before the actions on the device's card.
    assert html.index(item.individual_number) < html.index("Laddaren saknas")
    assert "Vid hämtning" in html and "Vid mottagning" in html and "Komplett" in html
    photo_url = reverse("logistics:condition_photo", args=[ConditionPhoto.unscoped.get().pk])
    assert photo_url in html
    assert html.index("Laddaren saknas") < html.index("Tillbaka i lager")
    # The technician sees the queue, not the condition (it shows the patient's home).
    technician = signed_in(Client(), tekla).get(reverse("logistics:reconditioning"))
    assert item.individual_number in technician.content.decode()
    assert "Laddaren saknas" not in technician.content.decode()
    assert photo_url not in technician.content.decode()


# --- Security test: photos without their metadata, for the returns and reconditioning staff ----


def test_r16_4_a_photo_is_kept_without_its_gps_position_and_other_metadata(
    shop: Shop, alice: Persona, logan: Persona, photo_dir: Path
) -> None:
    from PIL import Image

    phone = jpeg((8, 6), gps=True, orientation=6)
    assert Image.open(io.BytesIO(phone)).getexif().get_ifd(GPS_IFD)
    report = services.condition_record(
        actor=logan.actor,
        line=_line(_pickup(alice, logan, shop)),
        stage=ConditionReport.Stage.COLLECTION,
        results=ALL_FINE,
        photos=[("gps.jpg", phone), ("text.png", png(text="Hemliga vägen 7"))],
    )
    jpg, png_photo = ConditionPhoto.unscoped.filter(report=report).order_by("pk")
    kept = (photo_dir / jpg.stored_as).read_bytes()
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG"
    assert not image.getexif() and "exif" not in image.info
    assert "xmp" not in image.info and "comment" not in image.info
    assert b"Hemliga" not in kept and b"adobe:ns:meta" not in kept
    # The orientation is applied to the pixels: the photo still stands up.
    assert image.size == (6, 8)
    assert jpg.size == len(kept) and jpg.sha256 == hashlib.sha256(kept).hexdigest()
    stored_png = (photo_dir / png_photo.stored_as).read_bytes()
    assert b"Hemliga" not in stored_png and not Image.open(io.BytesIO(stored_png)).info


def test_r16_4_a_photo_pillow_cannot_open_is_refused(
    shop: Shop, alice: Persona, logan: Persona, photo_dir: Path
) -> None:
    line = _line(_pickup(alice, logan, shop))
    for fake in (b"\xff\xd8\xff\xe0" + b"\x00" * 64, b"\x89PNG\r\n\x1a\n<html>"):
        with pytest.raises(ValidationError, match="JPEG- eller PNG"):
            services.condition_record(
                actor=logan.actor,
                line=line,
                stage=ConditionReport.Stage.COLLECTION,
                results=ALL_FINE,
                photos=[("x.jpg", fake)],
            )
    assert not ConditionReport.unscoped.exists()
    assert not photo_dir.exists() or not any(photo_dir.iterdir())


def test_r16_4_photos_and_reports_only_for_the_returns_and_reconditioning_staff(
    client: Client, county: County, shop: Shop, alice: Persona, logan: Persona, tekla: Persona
) -> None:
    from lyfta.access import rows

    report = services.condition_record(
        actor=logan.actor,
        line=_line(_pickup(alice, logan, shop)),
        stage=ConditionReport.Stage.COLLECTION,
        results=ALL_FINE,
        photos=[("gps.jpg", jpeg(gps=True))],
    )
    url = reverse("logistics:condition_photo", args=[ConditionPhoto.unscoped.get().pk])
    assert signed_in(client, logan).get(url).status_code == 200
    assert list(rows.condition_reports(logan.actor)) == [report]
    catalogue = make_persona(county.centre, Role.CATALOGUE_MANAGER, "jonas")
    service = make_persona(county.centre, Role.CUSTOMER_SERVICE, "ida")
    for persona in (catalogue, tekla, service):
        assert signed_in(Client(), persona).get(url).status_code in (403, 404)
        assert not rows.condition_reports(persona.actor).exists()
        assert not rows.condition_photos(persona.actor).exists()
    assert AuditEvent.objects.filter(action=Action.CONDITION_PHOTO_VIEWED).count() == 1
