"""Swedish pages in Lyfta's own Swedish (issue 16, build point 8): Lyfta's words win over Django's
catalogue ("Order", not "Sortering"), the admin names its sections in Swedish, amounts are written
`12 400,00 kr`, the one-time code is never marked optional for someone who must give it, and the
glossary's spelling of a term is the only one used."""

from __future__ import annotations

import gettext
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conftest import Persona, signed_in
from lyfta.core.money import kronor
from lyfta.core.tests.test_translations import PO, Entry, parse_po

ROOT = Path(__file__).resolve().parents[2]
SV_PO = ROOT / "locale" / "sv" / "LC_MESSAGES" / "django.po"
SV_MO = ROOT / "locale" / "sv" / "LC_MESSAGES" / "django.mo"
NBSP = "\xa0"


def _swedish(entry: Entry, n: int | None = None) -> str:
    if entry.msgid_plural is not None:
        count = 1 if n is None else n
        if entry.msgctxt is not None:
            return translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, count)
        return translation.ngettext(entry.msgid, entry.msgid_plural, count)
    if entry.msgctxt is not None:
        return translation.pgettext(entry.msgctxt, entry.msgid)
    return translation.gettext(entry.msgid)


def test_lyftas_swedish_wins_over_djangos_catalogue() -> None:
    """Lyfta's source strings are its Swedish. A msgid that Django's (or an installed app's)
    Swedish catalogue also holds would show Django's translation instead: "Order" became
    "Sortering" on the order pages. Each such msgid is in Lyfta's own sv catalogue, which wins."""
    own = {(e.msgctxt, e.msgid): e for e in parse_po(SV_PO)[1:]}
    leaks = []
    with translation.override("sv"):
        for entry in parse_po(PO)[1:]:
            wanted = (
                own[(entry.msgctxt, entry.msgid)].msgstr[0]
                if (
                    entry.msgctxt,
                    entry.msgid,
                )
                in own
                else entry.msgid
            )
            if _swedish(entry) != wanted:
                leaks.append(f"{entry.msgid!r} → {_swedish(entry)!r}")
            if entry.msgid_plural is not None and _swedish(entry, 2) != entry.msgid_plural:
                leaks.append(f"{entry.msgid_plural!r} → {_swedish(entry, 2)!r}")
        assert translation.gettext("Order") == "Order"
    assert leaks == [], "add these to lyfta/locale/sv/LC_MESSAGES/django.po"


def test_swedish_catalogue_is_compiled_and_says_what_it_means() -> None:
    entries = parse_po(SV_PO)
    assert "Language: sv\n" in entries[0].msgstr[0]
    with SV_MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in entries[1:]:
        assert compiled.gettext(entry.msgid) == entry.msgstr[0], entry.label
        # Lyfta's Swedish is the msgid itself: the catalogue only stops another one's word.
        assert entry.msgstr[0] == entry.msgid, entry.label


def test_every_lyfta_app_has_a_swedish_name() -> None:
    """Without a verbose_name the admin shows the app label: 'ORGANISATIONS'."""
    lyfta_apps = [c for c in apps.get_app_configs() if c.name.startswith("lyfta.")]
    assert len(lyfta_apps) >= 10
    with translation.override("sv"):
        unnamed = [
            c.label
            for c in lyfta_apps
            if str(c.verbose_name).lower() in (c.label.lower(), c.name.rsplit(".", 1)[-1])
        ]
    assert unnamed == []


def test_admin_index_names_its_sections_in_swedish(client: Client, sigge: Persona) -> None:
    signed_in(client, sigge)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Vårdgivare och enheter" in page
    assert not re.search(r">\s*Organisations\s*<", page, re.I)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("12400.00"), f"12{NBSP}400,00{NBSP}kr"),
        (Decimal("1234567.5"), f"1{NBSP}234{NBSP}567,50{NBSP}kr"),
        (999, f"999,00{NBSP}kr"),
        ("250.5", f"250,50{NBSP}kr"),
        (None, ""),
        ("", ""),
    ],
)
def test_amounts_in_kronor(value: object, shown: str) -> None:
    with translation.override("sv"):
        assert kronor(value) == shown
        rendered = Template("{% load lyfta_format %}{{ v|kronor }}").render(Context({"v": value}))
        assert rendered == shown
    with translation.override("en"):
        if value == Decimal("12400.00"):
            assert kronor(value) == f"12,400.00{NBSP}kr"


@pytest.mark.django_db
def test_article_page_prices_have_thousands_spaces(client: Client, logan: Persona) -> None:
    from lyfta.catalogue.tests.factories import ArticleFactory

    article = ArticleFactory(price=Decimal("12400.00"), monthly_rent=Decimal("1250.00"))
    signed_in(client, logan)
    page = client.get(reverse("catalogue:article", args=[article.pk])).content.decode()
    assert f"12{NBSP}400,00{NBSP}kr" in page
    assert f"1{NBSP}250,00{NBSP}kr" in page
    assert "12400" not in page


def _code_label(page: str) -> str | None:
    found = re.search(r'<label for="id_code">(.*?)</label>', page, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else None


@pytest.mark.django_db
def test_one_time_code_is_required_not_optional_for_those_who_have_one(
    client: Client, alice: Persona
) -> None:
    """'Engångskod (om du har tvåfaktorsinloggning) (frivilligt)' told a user who must give the
    code that it was optional. Now: without a second factor no code field at all; with one, a
    required 'Engångskod'."""
    from lyfta.patients.models import Patient

    patient = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Aina", last_name="Apel"
    )
    signed_in(client, alice, verified=False)
    emergency = reverse("patients:emergency") + f"?patient={patient.pk}"
    pages = [reverse("accounts:reauthenticate"), emergency]
    for url in pages:
        page = client.get(url).content.decode()
        assert 'name="code"' not in page, url
        assert "tvåfaktorsinloggning" not in page, url

    signed_in(client, alice, verified=True)  # a confirmed device, the session verified
    for url in pages:
        page = client.get(url).content.decode()
        assert _code_label(page) == "Engångskod", url
    response = client.post(pages[0], {"password": "fel"})
    assert response.status_code == 400
    assert re.search(r"field--error[^>]*>\s*<label for=\"id_code\"", response.content.decode())


# The glossary's spelling (docs/glossary.md) against the variants that crept in. Swedish writes at
# most two equal consonants where three meet in a closed compound (logg + granskare = loggranskare,
# as damm + moln = dammoln and till + låta = tillåta; Svenska skrivregler), never three.
PREFERRED = {
    "loggranskare": re.compile(r"[Ll]ogggransk(are|ning)"),
    "postnumrets": re.compile(r"postnummerns"),
}


def _ui_texts() -> list[tuple[str, str]]:
    """Every Swedish string of the interface: the catalogue's msgids, the templates, and the
    Python sources outside tests and migrations (URL paths left aside: they are addresses)."""
    texts = [(f"django.po:{e.line}", e.msgid + (e.msgid_plural or "")) for e in parse_po(PO)[1:]]
    for path in ROOT.rglob("*.html"):
        texts.append((str(path.relative_to(ROOT)), path.read_text()))
    for path in ROOT.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts or path.name == "urls.py":
            continue
        texts.append((str(path.relative_to(ROOT)), path.read_text()))
    return texts


def test_glossary_terms_are_spelt_one_way() -> None:
    glossary = (ROOT.parent / "docs" / "glossary.md").read_text()
    assert "| loggranskare |" in glossary
    wrong = [
        f"{where}: {match.group(0)} (write {term})"
        for where, text in _ui_texts()
        for term, variant in PREFERRED.items()
        for match in variant.finditer(text)
    ]
    assert wrong == []


def test_readme_says_what_the_demo_does_about_the_user_agreement() -> None:
    """The README told the demo prescriber she accepts the agreement at first sign-in; the demo
    seed has already accepted it for every demo account."""
    seed = (ROOT / "accounts" / "seed.py").read_text()
    readme = (ROOT.parent / "README.md").read_text()
    assert "services.agreement_accept(user=user)" in seed
    assert "she accepts the user agreement once" not in readme
    assert "already accepted the user agreement" in readme
