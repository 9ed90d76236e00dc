"""The article file import: every bad row reported with its line, all or nothing, audited."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import Persona
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent
from lyfta.catalogue import imports, services
from lyfta.catalogue.models import Article, BillingType, DeliveryClass
from lyfta.catalogue.tests.factories import (
    ArticleFactory,
    IsoClassFactory,
    SubstitutionGroupFactory,
    SupplierFactory,
)

pytestmark = pytest.mark.django_db

HEADER = ";".join(imports.COLUMNS)


@pytest.fixture(autouse=True)
def reference_data() -> None:
    IsoClassFactory(code="12 06 06")
    IsoClassFactory(code="09 33 03")
    SupplierFactory(name="Rullix AB", organisation_number="556000-0001")
    SubstitutionGroupFactory(name="Rollatorer standard")


def _file(text: str, *, name: str = "artiklar.csv", bom: bool = False) -> SimpleUploadedFile:
    data = text.encode("utf-8")
    return SimpleUploadedFile(name, (b"\xef\xbb\xbf" if bom else b"") + data)


def _row(**cells: str) -> str:
    values = {
        "article_number": "100001",
        "name": "Rollator Rx, 4 hjul",
        "iso_code": "12 06 06",
        "supplier": "Rullix AB",
        "billing_type": "Hyra",
        "monthly_rent": "85,00",
        "tracked": "ja",
        "delivery_class": "Lagervara",
        "cost_class": "Kommunen",
    }
    values.update(cells)
    return ";".join(values.get(column, "") for column in imports.COLUMNS)


GOOD = "\n".join(
    [
        HEADER,
        _row(substitution_group="Rollatorer standard", price_group="G1"),
        _row(
            article_number="200002",
            name="Duschpall Bk, rund",
            iso_code="093303",
            billing_type="Försäljning",
            monthly_rent="",
            price="1 234,50",
            tracked="nej",
            delivery_class="Högprioriterad lagervara",
            cost_class="Förskrivande enhet",
            warranty_months="12",
        ),
        _row(
            article_number="200003",
            name="Duschstol Bk",
            iso_code="09 33 03",
            supplier="556000-0001",
            billing_type="sale_return",
            monthly_rent="",
            price="990",
            tracked="0",
            delivery_class="order",
            lead_time_days="10",
            cost_class="municipality",
            in_assortment="nej",
        ),
    ]
)


def test_good_file_creates_every_article_and_reports_counts(karin: Persona) -> None:
    result = services.article_import(actor=karin.actor, file=_file(GOOD))
    assert result.ok, result.errors
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    rollator = Article.objects.get(article_number="100001")
    assert rollator.billing_type == BillingType.RENT
    assert rollator.monthly_rent == Decimal("85.00")
    assert rollator.tracked and rollator.lead_time_days == 3
    assert rollator.substitution_group is not None
    stool = Article.objects.get(article_number="200002")
    assert stool.price == Decimal("1234.50") and not stool.tracked
    assert stool.delivery_class == DeliveryClass.PRIORITY and stool.lead_time_days == 1
    assert stool.warranty_months == 12
    chair = Article.objects.get(article_number="200003")
    assert chair.lead_time_days == 10 and not chair.in_assortment
    assert chair.supplier.name == "Rullix AB"


def test_import_is_audited_per_article_and_once_for_the_file(karin: Persona) -> None:
    services.article_import(actor=karin.actor, file=_file(GOOD))
    created = AuditEvent.objects.filter(action=Action.ARTICLE_CREATED)
    assert created.count() == 3
    assert all(e.detail == {"source": "import"} for e in created)
    summary = AuditEvent.objects.get(action=Action.ARTICLES_IMPORTED)
    assert summary.actor_username == "karin"
    assert summary.detail == {
        "file": "artiklar.csv",
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
    }


def test_file_with_several_bad_rows_reports_each_line_and_imports_nothing(
    karin: Persona,
) -> None:
    text = "\n".join(
        [
            HEADER,
            _row(),  # line 2: fine
            _row(article_number="100002", monthly_rent="85,00,00"),  # 3: not an amount
            _row(article_number="100003", iso_code="99 99 99"),  # 4: unknown class
            _row(article_number="100004", supplier="Finns Inte AB", tracked="kanske"),  # 5: two
            _row(article_number="100005", billing_type="Hyra", monthly_rent=""),  # 6: no rent
            _row(article_number="100001"),  # 7: twice in the file
            _row(article_number="100006", delivery_class="Beställningsvara"),  # 8: no lead time
            "100007;för få fält",  # 9: wrong width
            _row(article_number="100008", iso_code="12 06"),  # 10: not a division
        ]
    )
    result = services.article_import(actor=karin.actor, file=_file(text))
    assert not result.ok
    assert result.error_lines == [3, 4, 5, 6, 7, 8, 9, 10]
    by_line = {(e.line, e.column) for e in result.errors}
    assert {(3, "monthly_rent"), (4, "iso_code"), (5, "supplier"), (5, "tracked")} <= by_line
    assert {(6, "monthly_rent"), (7, "article_number"), (8, "lead_time_days")} <= by_line
    messages = " ".join(e.message for e in result.errors)
    assert "rad 2" in messages  # the duplicate names the first line
    assert "Finns Inte AB" in messages and "ja eller nej" in messages
    assert (result.created, result.updated) == (0, 0)
    assert not Article.objects.exists()
    assert not AuditEvent.objects.filter(
        action__in=[Action.ARTICLE_CREATED, Action.ARTICLES_IMPORTED]
    ).exists()


def test_one_bad_row_stops_the_updates_of_good_rows_too(karin: Persona) -> None:
    existing = ArticleFactory(article_number="100001", monthly_rent=Decimal("50.00"))
    text = "\n".join(
        [HEADER, _row(monthly_rent="99"), _row(article_number="100009", cost_class="Staten")]
    )
    result = services.article_import(actor=karin.actor, file=_file(text))
    assert result.error_lines == [3]
    existing.refresh_from_db()
    assert existing.monthly_rent == Decimal("50.00")


def test_bom_semicolons_and_swedish_decimal_commas_are_read(karin: Persona) -> None:
    text = "\r\n".join([HEADER, _row(monthly_rent="1 234,5 kr")]) + "\r\n"
    result = services.article_import(actor=karin.actor, file=_file(text, bom=True))
    assert result.ok, result.errors
    assert Article.objects.get().monthly_rent == Decimal("1234.50")


def test_comma_separated_file_with_quoted_cells_is_read(karin: Persona) -> None:
    text = (
        "article_number,name,iso_code,supplier,billing_type,monthly_rent,tracked,"
        "delivery_class,cost_class\n"
        '100001,"Rollator Rx, 4 hjul",12 06 06,Rullix AB,rent,"85,50",1,stock,region\n'
    )
    result = services.article_import(actor=karin.actor, file=_file(text))
    assert result.ok, result.errors
    article = Article.objects.get()
    assert article.name == "Rollator Rx, 4 hjul" and article.monthly_rent == Decimal("85.50")


def test_swedish_headings_are_accepted(karin: Persona) -> None:
    text = (
        "Artikelnummer;Benämning;ISO-kod;Leverantör;Debiteringstyp;Månadshyra;Individmärkt;"
        "Leveransklass;Kostnadsansvar\n"
        "100001;Rollator;12 06 06;rullix ab;Hyra;85;Ja;Lagervara;Regionen\n"
    )
    result = services.article_import(actor=karin.actor, file=_file(text))
    assert result.ok, result.errors


def test_reimport_updates_existing_articles_and_records_the_changes(karin: Persona) -> None:
    services.article_import(actor=karin.actor, file=_file(GOOD))
    changed = GOOD.replace("85,00", "90,00").replace("1 234,50", "1 234,50")
    result = services.article_import(actor=karin.actor, file=_file(changed))
    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert Article.objects.get(article_number="100001").monthly_rent == Decimal("90.00")
    event = AuditEvent.objects.get(action=Action.ARTICLE_CHANGED)
    assert event.changes == {"monthly_rent": ["85.00", "90.00"]}
    assert AuditEvent.objects.filter(action=Action.ARTICLES_IMPORTED).count() == 2


def test_partial_columns_update_only_those_fields(karin: Persona) -> None:
    article = ArticleFactory(article_number="100001", price_group="G1", monthly_rent=Decimal(75))
    text = "article_number;monthly_rent;price_group\n100001;80;\n"
    result = services.article_import(actor=karin.actor, file=_file(text))
    assert result.ok, result.errors
    article.refresh_from_db()
    assert article.monthly_rent == Decimal("80.00")
    assert article.price_group == ""  # an empty optional cell clears
    assert article.name.startswith("Testrollator")  # absent column: unchanged


def test_new_article_needs_the_required_columns(karin: Persona) -> None:
    text = "article_number;name\n100001;Rollator\n"
    result = services.article_import(actor=karin.actor, file=_file(text))
    assert {e.column for e in result.errors} == {
        "iso_code",
        "supplier",
        "billing_type",
        "tracked",
        "delivery_class",
        "cost_class",
    }
    assert all(e.line == 2 for e in result.errors)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"%PDF-1.7\n\x00\x01\x02\xff binary", "artiklar.csv", "binära data"),
        ("artikelnummer;benämning\n1;Säng\n".encode("latin-1"), "a.csv", "UTF-8"),
        (b"", "artiklar.csv", "tom"),
        (b"PK\x03\x04", "artiklar.xlsx", "CSV-fil"),
        (HEADER.encode(), "artiklar.csv", "inga artikelrader"),
        (b"nummer;namn\n1;2\n", "artiklar.csv", "Okända kolumner"),
        (b"name;price\nRollator;1\n", "artiklar.csv", "article_number"),
    ],
)
def test_unreadable_file_gets_a_clear_message(
    karin: Persona, content: bytes, name: str, message: str
) -> None:
    result = services.article_import(actor=karin.actor, file=SimpleUploadedFile(name, content))
    assert not result.ok
    assert message in result.errors[0].message
    assert not Article.objects.exists()


def test_too_big_file_is_refused_unread(karin: Persona) -> None:
    big = io.BytesIO(b"x" * (imports.MAX_BYTES + 10))
    result = services.article_import(actor=karin.actor, file=big)
    assert "för stor" in result.errors[0].message


def test_prescriber_cannot_import(alice: Persona) -> None:
    with pytest.raises(PermissionDenied):
        services.article_import(actor=alice.actor, file=_file(GOOD))
    assert not Article.objects.exists()
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_username="alice").exists()


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1 234,50", Decimal("1234.50")), ("1234.5", Decimal("1234.50")), ("0", Decimal("0.00"))],
)
def test_amounts_are_read_in_swedish_or_plain_form(raw: str, value: Decimal) -> None:
    assert imports.read_decimal(raw) == value


@pytest.mark.parametrize("raw", ["1,234.50", "12,345", "abc", "1e5"])
def test_amounts_that_are_not_amounts_are_refused(raw: str) -> None:
    with pytest.raises(imports.CellError):
        imports.read_decimal(raw)


# --- CSV injection: cells a spreadsheet would run as a formula are refused (issue 12, build 8) --


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("name", '=HYPERLINK("http://x","y")'),
        ("name", "+SUM(1;2)"),
        ("name", "-2+3"),
        ("name", "@SUM(A1)"),
        ("name", "\t=1+1"),  # a leading tab or CR is stripped; what follows is refused
        ("supplier_article_number", "=1+1"),
        ("price_group", "@x"),
        ("article_number", "=100001"),
        ("supplier", "=Rullix AB"),
        ("monthly_rent", "=85+1"),
        ("warranty_months", "-SUM(A1)"),
    ],
)
def test_import_refuses_a_formula_cell_with_its_line_and_column(
    karin: Persona, column: str, cell: str
) -> None:
    quoted = '"' + cell.replace('"', '""') + '"'
    text = "\n".join([HEADER, _row(article_number="100009"), _row(**{column: quoted})])
    result = services.article_import(actor=karin.actor, file=_file(text))
    assert not result.ok
    assert [(e.line, e.column) for e in result.errors] == [(3, column)]
    assert "formel" in result.errors[0].message
    assert not Article.objects.exists()


def test_import_takes_a_plain_negative_number_as_a_number_not_a_formula(karin: Persona) -> None:
    text = "\n".join([HEADER, _row(monthly_rent="-5", warranty_months="-12")])
    result = services.article_import(actor=karin.actor, file=_file(text))
    assert {e.column for e in result.errors} == {"warranty_months"}  # no negative month count
    assert all("formel" not in e.message for e in result.errors)
    assert "heltal" in result.errors[0].message
    assert imports.read_cell("monthly_rent", "-5") == Decimal("-5.00")
