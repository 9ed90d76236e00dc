"""The catalogue pages: who sees them, who changes the assortment, and what they show."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import Persona, signed_in
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.catalogue import imports
from lyfta.catalogue.models import Article, IsoClass, SubstitutionGroup, Supplier
from lyfta.catalogue.tests.factories import (
    ArticleFactory,
    IsoClassFactory,
    SubstitutionGroupFactory,
    SupplierFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_karin(client: Client, karin: Persona) -> Client:
    return signed_in(client, karin)


def _article_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "article_number": "500100",
        "name": "Rollator Testa, 4 hjul",
        "iso_class": IsoClassFactory().pk,
        "supplier": SupplierFactory().pk,
        "supplier_article_number": "",
        "billing_type": "rent",
        "price_group": "G1",
        "monthly_rent": "85,00",
        "price": "",
        "tracked": "on",
        "delivery_class": "stock",
        "lead_time_days": "",
        "substitution_group": "",
        "maintenance_interval_months": "",
        "warranty_months": "24",
        "cost_class": "municipality",
        "accessory_numbers": "",
    }
    data.update(overrides)
    return data


def test_catalogue_manager_creates_an_article_through_the_form(as_karin: Client) -> None:
    basket = ArticleFactory(article_number="ACC-1")
    response = as_karin.post(
        reverse("catalogue:article_create"), _article_form(accessory_numbers="ACC-1")
    )
    article = Article.objects.get(article_number="500100")
    assert response.status_code == 302
    assert response["Location"] == reverse("catalogue:article", args=[article.pk])
    assert article.monthly_rent == Decimal("85.00") and article.lead_time_days == 3
    assert list(article.accessories.all()) == [basket]
    event = AuditEvent.objects.get(action=Action.ARTICLE_CREATED, resource_id=str(article.pk))
    assert event.actor_username == "karin"


def test_bad_article_form_is_shown_again_with_swedish_messages(as_karin: Client) -> None:
    response = as_karin.post(
        reverse("catalogue:article_create"),
        _article_form(monthly_rent="", accessory_numbers="FINNS-EJ"),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Ange månadshyra" in html and "FINNS-EJ" in html
    assert not Article.objects.filter(article_number="500100").exists()


def test_catalogue_manager_edits_an_article(as_karin: Client) -> None:
    article = ArticleFactory(monthly_rent=Decimal("75.00"))
    page = as_karin.get(reverse("catalogue:article_edit", args=[article.pk]))
    assert page.status_code == 200 and article.name in page.content.decode()
    data = _article_form(
        article_number=article.article_number,
        name=article.name,
        iso_class=article.iso_class_id,
        supplier=article.supplier_id,
        monthly_rent="80",
        price="3000,00",
        lead_time_days="3",
        cost_class=article.cost_class,
    )
    response = as_karin.post(reverse("catalogue:article_edit", args=[article.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    article.refresh_from_db()
    assert article.monthly_rent == Decimal("80.00")
    event = AuditEvent.objects.get(action=Action.ARTICLE_CHANGED)
    assert event.changes == {"monthly_rent": ["75.00", "80.00"]}


def test_catalogue_manager_takes_an_article_out_of_the_assortment(as_karin: Client) -> None:
    article = ArticleFactory()
    response = as_karin.post(
        reverse("catalogue:article_assortment", args=[article.pk]), {"in_assortment": "0"}
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert not article.in_assortment
    as_karin.post(
        reverse("catalogue:article_assortment", args=[article.pk]), {"in_assortment": "1"}
    )
    article.refresh_from_db()
    assert article.in_assortment


def test_prescriber_sees_the_catalogue(client: Client, alice: Persona) -> None:
    group = SubstitutionGroupFactory(name="Rollatorer standard")
    article = ArticleFactory(name="Rollator Rx Flex", substitution_group=group)
    twin = ArticleFactory(name="Rollator Gåvia", substitution_group=group)
    signed_in(client, alice)
    listing = client.get(reverse("catalogue:articles"), {"q": "flex"}).content.decode()
    assert "Rollator Rx Flex" in listing and "Rollator Gåvia" not in listing
    assert "Ny artikel" not in listing
    detail = client.get(reverse("catalogue:article", args=[article.pk])).content.decode()
    assert "Rollatorer standard" in detail and twin.article_number in detail
    assert "12 06 06" in detail  # the ISO class path
    assert "Ta ur sortimentet" not in detail and "Ändringshistorik" not in detail


@pytest.mark.parametrize(
    "name",
    [
        "catalogue:article_create",
        "catalogue:article_import",
        "catalogue:supplier_create",
        "catalogue:group_create",
        "catalogue:iso_class_create",
    ],
)
def test_prescriber_gets_403_on_management_pages_and_it_is_recorded(
    client: Client, alice: Persona, name: str
) -> None:
    signed_in(client, alice)
    assert client.get(reverse(name)).status_code == 403
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED, actor_username="alice")
    assert denied.detail["capability"] == "catalogue.manage"


def test_prescriber_cannot_post_an_edit(client: Client, alice: Persona) -> None:
    article = ArticleFactory(monthly_rent=Decimal("75.00"))
    signed_in(client, alice)
    response = client.post(
        reverse("catalogue:article_edit", args=[article.pk]), _article_form(monthly_rent="1")
    )
    assert response.status_code == 403
    article.refresh_from_db()
    assert article.monthly_rent == Decimal("75.00")
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_username="alice").exists()


def test_log_reviewer_does_not_see_the_catalogue(client: Client, lena: Persona) -> None:
    signed_in(client, lena)
    assert client.get(reverse("catalogue:articles")).status_code == 403


def test_catalogue_is_in_the_menu_for_prescribers_only_with_the_capability(
    client: Client, alice: Persona, lena: Persona
) -> None:
    signed_in(client, alice)
    assert reverse("catalogue:articles") in client.get(reverse("start")).content.decode()
    client.logout()
    signed_in(client, lena)
    assert reverse("catalogue:articles") not in client.get(reverse("start")).content.decode()


def test_list_filters_by_iso_class_and_hides_withdrawn_articles(as_karin: Client) -> None:
    ArticleFactory(name="Rollator Ett")
    ArticleFactory(name="Rullstol Två", iso_class=IsoClassFactory(code="12 22 03"))
    ArticleFactory(name="Rollator Gammal", in_assortment=False)
    html = as_karin.get(reverse("catalogue:articles"), {"iso": "12 22"}).content.decode()
    assert "Rullstol Två" in html and "Rollator Ett" not in html
    html = as_karin.get(reverse("catalogue:articles")).content.decode()
    assert "Rollator Gammal" not in html
    html = as_karin.get(reverse("catalogue:articles"), {"withdrawn": "on"}).content.decode()
    assert "Rollator Gammal" in html and "Utgått" in html


def test_history_of_an_article_is_shown_to_the_catalogue_manager(as_karin: Client) -> None:
    article = ArticleFactory(monthly_rent=Decimal("75.00"))
    as_karin.post(
        reverse("catalogue:article_assortment", args=[article.pk]), {"in_assortment": "0"}
    )
    response = as_karin.get(
        reverse("catalogue:article_history", args=[article.pk]), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Artikel ändrad" in html and "in_assortment" in html
    assert AuditEvent.objects.filter(action=Action.HISTORY_VIEWED, actor_username="karin").exists()


def test_import_page_shows_every_bad_line(as_karin: Client) -> None:
    IsoClassFactory(code="12 06 06")
    SupplierFactory(name="Rullix AB")
    header = ";".join(["article_number", "name", "iso_code", "supplier", "billing_type"])
    text = f"{header}\n1;A;12 06 06;Rullix AB;Leasing\n2;B;99 99 99;Rullix AB;Hyra\n"
    upload = SimpleUploadedFile("artiklar.csv", text.encode())
    response = as_karin.post(reverse("catalogue:article_import"), {"file": upload})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<td>2</td>" in html and "<td>3</td>" in html and "Leasing" in html
    assert "Ingenting har sparats" in html
    assert not Article.objects.exists()


def test_import_page_reports_the_counts_of_a_good_file(as_karin: Client) -> None:
    IsoClassFactory(code="12 06 06")
    SupplierFactory(name="Rullix AB")
    text = (
        "article_number;name;iso_code;supplier;billing_type;monthly_rent;tracked;"
        "delivery_class;cost_class\n"
        "1;Rollator;12 06 06;Rullix AB;Hyra;85;ja;Lagervara;Kommunen\n"
    )
    upload = SimpleUploadedFile("artiklar.csv", text.encode())
    response = as_karin.post(reverse("catalogue:article_import"), {"file": upload}, follow=True)
    assert "1 nya" in response.content.decode()
    assert Article.objects.filter(article_number="1").exists()


def test_garbage_upload_gets_a_message_not_an_error_page(as_karin: Client) -> None:
    upload = SimpleUploadedFile("bild.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    response = as_karin.post(reverse("catalogue:article_import"), {"file": upload})
    assert response.status_code == 200
    assert "binära data" in response.content.decode()


def test_import_without_a_file_is_bad_input(as_karin: Client) -> None:
    response = as_karin.post(reverse("catalogue:article_import"), {})
    assert response.status_code == 400


def test_import_template_can_be_read_back(as_karin: Client) -> None:
    response = as_karin.get(reverse("catalogue:import_template"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows, errors = imports.read_rows(SimpleUploadedFile("mall.csv", response.content))
    assert not errors and len(rows) == 2


def test_supplier_pages(as_karin: Client) -> None:
    response = as_karin.post(
        reverse("catalogue:supplier_create"),
        {
            "name": "Nya Rullar AB",
            "organisation_number": "",
            "phone": "",
            "email": "",
            "active": "on",
        },
    )
    supplier = Supplier.objects.get(name="Nya Rullar AB")
    assert response.status_code == 302
    response = as_karin.post(
        reverse("catalogue:supplier_edit", args=[supplier.pk]),
        {"name": "Nya Rullar AB", "organisation_number": "12", "phone": "", "email": ""},
    )
    assert response.status_code == 400 and "Organisationsnumret" in response.content.decode()
    listing = as_karin.get(reverse("catalogue:suppliers")).content.decode()
    assert "Nya Rullar AB" in listing
    detail = as_karin.get(reverse("catalogue:supplier", args=[supplier.pk]))
    assert detail.status_code == 200


def test_substitution_group_pages(as_karin: Client) -> None:
    response = as_karin.post(
        reverse("catalogue:group_create"), {"name": "Duschpallar", "fixed": "on"}
    )
    group = SubstitutionGroup.objects.get(name="Duschpallar")
    assert response.status_code == 302 and group.fixed
    ArticleFactory(name="Duschpall Rund", substitution_group=group)
    html = as_karin.get(reverse("catalogue:group", args=[group.pk])).content.decode()
    assert "Duschpall Rund" in html and "Fast ersättning" in html
    as_karin.post(reverse("catalogue:group_edit", args=[group.pk]), {"name": "Duschpallar"})
    group.refresh_from_db()
    assert not group.fixed


def test_iso_class_pages(as_karin: Client) -> None:
    ArticleFactory(name="Rollator Ett")
    top = IsoClass.objects.get(code="12")
    html = as_karin.get(reverse("catalogue:iso_classes")).content.decode()
    assert "Testklass 12" in html
    html = as_karin.get(reverse("catalogue:iso_class", args=[top.pk])).content.decode()
    assert "12 06" in html
    division = IsoClass.objects.get(code="12 06 06")
    html = as_karin.get(reverse("catalogue:iso_class", args=[division.pk])).content.decode()
    assert "Rollator Ett" in html
    response = as_karin.post(
        reverse("catalogue:iso_class_create"), {"code": "12 06 12", "name": "Gåbord"}
    )
    assert response.status_code == 302
    assert IsoClass.objects.get(code="12 06 12").parent == IsoClass.objects.get(code="12 06")
    response = as_karin.post(
        reverse("catalogue:iso_class_edit", args=[division.pk]), {"name": "Rollatorer"}
    )
    division.refresh_from_db()
    assert division.name == "Rollatorer"


def test_missing_article_is_a_404(as_karin: Client) -> None:
    assert as_karin.get(reverse("catalogue:article", args=[999999])).status_code == 404
