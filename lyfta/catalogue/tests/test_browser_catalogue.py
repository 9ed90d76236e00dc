"""Browser tests of the catalogue pages, with axe checks: browsing, an article form, the import
error report."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BrowserSession, Persona
from lyfta.accounts.services import agreement_accept
from lyfta.accounts.tests.factories import TEST_PASSWORD
from lyfta.catalogue.models import Article
from lyfta.catalogue.tests.factories import ArticleFactory, IsoClassFactory, SupplierFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def karin_ready(karin: Persona) -> Persona:
    agreement_accept(user=karin.user)
    return karin


def test_prescriber_browses_and_searches_the_catalogue(
    browser: BrowserSession, alice: Persona
) -> None:
    agreement_accept(user=alice.user)
    article = ArticleFactory(name="Rollator Rx Flex, 4 hjul")
    ArticleFactory(name="Vårdsäng Vila", iso_class=IsoClassFactory(code="18 12 10"))
    browser.login("alice", TEST_PASSWORD)
    browser.page.click(".site-nav a:has-text('Sortiment')")
    browser.page.wait_for_load_state()
    assert browser.axe_violations() == []
    browser.page.fill("#id_q", "flex")
    browser.page.click("button:has-text('Sök')")
    browser.page.wait_for_load_state()
    rows = browser.page.locator("table tbody tr")
    assert rows.count() == 1 and "Rollator Rx Flex" in rows.inner_text()
    browser.goto(f"/sortiment/artiklar/{article.pk}/")
    assert browser.page.locator("h1").inner_text().startswith("Rollator Rx Flex")
    assert browser.axe_violations() == []
    browser.goto("/sortiment/iso/")
    assert browser.axe_violations() == []


def test_catalogue_manager_creates_an_article(
    browser: BrowserSession, karin_ready: Persona
) -> None:
    IsoClassFactory(code="12 06 06", name="Rollatorer")
    SupplierFactory(name="Rullix AB")
    browser.login("karin", TEST_PASSWORD)
    browser.goto("/sortiment/artiklar/ny/")
    assert browser.axe_violations() == []
    page = browser.page
    page.fill("#id_article_number", "700001")
    page.fill("#id_name", "Rollator Prov")
    page.select_option("#id_iso_class", label="12 06 06 Rollatorer")
    page.select_option("#id_supplier", label="Rullix AB")
    page.select_option("#id_billing_type", value="rent")
    page.fill("#id_monthly_rent", "85,50")
    page.check("#id_tracked")
    page.select_option("#id_delivery_class", value="stock")
    page.select_option("#id_cost_class", value="municipality")
    page.click("button:has-text('Spara')")
    page.wait_for_load_state()
    browser.shot("created")
    assert "Artikeln är upplagd" in page.content()
    assert Article.objects.get(article_number="700001").lead_time_days == 3


def test_import_error_report_is_accessible(
    browser: BrowserSession, karin_ready: Persona, tmp_path: Path
) -> None:
    path = tmp_path / "artiklar.csv"
    path.write_text("article_number;name;iso_code\n1;A;99 99 99\n2;B;12\n", encoding="utf-8")
    browser.login("karin", TEST_PASSWORD)
    browser.goto("/sortiment/import/")
    browser.page.set_input_files("#id_file", str(path))
    browser.page.click("button:has-text('Läs in filen')")
    browser.page.wait_for_load_state()
    browser.shot("errors")
    report = browser.page.locator("[role=alert] table").inner_text()
    assert "99 99 99" in report and "finns inte" in report
    assert browser.axe_violations() == []
