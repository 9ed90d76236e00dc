"""The user agreement (R10): its text cites current law and keeps the paper form's promises, its
digest pins the exact text, and its PDF is filled in, escaped and marked with who printed it when
(R87). The PDF is checked through poppler's pdftotext and pdftoppm, as a reader would see it."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from lyfta.accounts import agreement
from lyfta.accounts.agreement import (
    AGREEMENT_SECTIONS,
    AGREEMENT_TITLE,
    AGREEMENT_VERSION,
    agreement_digest,
    agreement_pdf,
    agreement_text,
    format_personnummer,
)
from lyfta.accounts.models import User

# 09:05 in Stockholm (CET, UTC+1) on the printout.
PRINTED_AT = dt.datetime(2026, 3, 2, 8, 5, tzinfo=dt.UTC)


def _person(**fields: str) -> User:
    """An unsaved, synthetic user (Skatteverket's test series 980–999); no database needed."""
    values = {
        "first_name": "Åsa",
        "last_name": "Öberg",
        "personnummer": "194001019802",
        "username": "asaob01",
        "title": "Arbetsterapeut",
        "workplace": "Hemsjukvården Kil",
    }
    values.update(fields)
    return User(**values)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} (Debian package poppler-utils) is not installed; cannot read the PDF")
    return path


def _render(**kwargs: object) -> bytes:
    try:
        import weasyprint  # noqa: F401  (only probes that the Pango libraries load)
    except (ImportError, OSError) as error:
        pytest.skip(f"WeasyPrint cannot load on this machine: {error}")
    arguments: dict[str, object] = {
        "user": _person(),
        "valid_from": dt.date(2026, 1, 15),
        "valid_until": dt.date(2026, 12, 31),
        "place": "Kil",
        "produced_by": "Ulla Användarstöd",
        "printed_at": PRINTED_AT,
    }
    arguments.update(kwargs)
    return agreement_pdf(**arguments)  # type: ignore[arg-type]


def _pdf_text(pdf: bytes, tmp_path: Path, *, page: int | None = None) -> str:
    pdftotext = _tool("pdftotext")
    source = tmp_path / "agreement.pdf"
    source.write_bytes(pdf)
    pages = ["-f", str(page), "-l", str(page)] if page else []
    # A fixed tool path and arguments built here; nothing from outside reaches the command line.
    result = subprocess.run(  # noqa: S603
        [pdftotext, "-enc", "UTF-8", *pages, str(source), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    return result.stdout


def _page_count(pdf: bytes, tmp_path: Path) -> int:
    return _pdf_text(pdf, tmp_path).count("\f")


# --- The text ----------------------------------------------------------------------------------


def test_r10_agreement_cites_current_law() -> None:
    text = agreement_text()
    for current in ("2008:355", "2009:400", "2016/679", "2018:218", "2022:913", "HSLF-FS 2016:40"):
        assert current in text, current
    assert "4 kap. 1–3\u00a0§§" in text
    for repealed in ("1998:544", "1998:204", "1980:100"):
        assert repealed not in text, repealed


def test_r10_agreement_covers_the_promises() -> None:
    text = agreement_text()
    headings = [heading for heading, _paragraphs in AGREEMENT_SECTIONS]
    assert headings == [
        "Personligt ansvar",
        "Åtkomst bara med vårdrelation eller annat behov i arbetet",
        "Allt loggas och granskas",
        "Inloggning och lösenord",
        "Behörighetens giltighet",
        "Tystnadsplikt och sekretess",
        "Konsekvenser vid överträdelse",
        "Lagstöd",
    ]
    for promise in (
        "vårdrelation",  # care relationship or another need in the work
        "behöver uppgifterna för ditt arbete",
        "bara ta del av de uppgifter som behövs",  # only the data the work needs
        "samtyckt",  # other providers' data: consent ...
        "nödsituation",  # ... or an emergency
        "användar-id",  # every registration traceable to the user
        "loggas",
        "granskas",
        "logguttag",  # the patient's right to a log extract
        "logga ut",
        "15 minuter utan aktivitet",
        "minst 15 tecken",
        "lösenfras",
        "Dela aldrig ditt lösenord",
        "andra faktor",
        "från och med",
        "till och med",
        "medarbetaruppdrag",
        "Behörigheten upphör när arbetet upphör",
        "tystnadsplikt",
        "arbetsrättsliga åtgärder",
        "dataintrång",
    ):
        assert promise in text, promise


def test_r10_agreement_text_is_title_then_headings_and_paragraphs() -> None:
    text = agreement_text()
    assert text.startswith(AGREEMENT_TITLE + "\n\n")
    position = 0
    for heading, paragraphs in AGREEMENT_SECTIONS:
        for block in (heading, *paragraphs):
            found = text.index(block, position)
            assert found >= position
            position = found + len(block)


def test_r10_agreement_text_keeps_the_lawyer_note_out() -> None:
    """The caveat that the legal reading awaits the region's lawyer lives in the code, not in the
    text the users accept."""
    text = agreement_text().lower()
    assert "jurist" not in text
    assert "engineering" not in text
    assert "jurist" in (agreement.__doc__ or "") or "lawyer" in (agreement.__doc__ or "")


def test_r10_version_is_2026_1() -> None:
    assert AGREEMENT_VERSION == "2026-1"


def test_r10_digest_is_sha256_of_the_text() -> None:
    expected = hashlib.sha256(agreement_text().encode("utf-8")).hexdigest()
    assert agreement_digest() == expected
    assert len(agreement_digest()) == 64


def test_r10_digest_changes_when_text_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    before = agreement_digest()
    changed = [(heading, list(paragraphs)) for heading, paragraphs in AGREEMENT_SECTIONS]
    changed[0][1][0] += " En ny mening."
    monkeypatch.setattr(agreement, "AGREEMENT_SECTIONS", changed)
    assert agreement_digest() != before
    monkeypatch.undo()
    assert agreement_digest() == before


def test_r10_personnummer_is_formatted_with_a_hyphen() -> None:
    assert format_personnummer("194001019802") == "19400101-9802"
    assert format_personnummer(None) == ""
    assert format_personnummer("4001019802") == "4001019802"


# --- The PDF -----------------------------------------------------------------------------------


def test_r10_pdf_is_a_pdf() -> None:
    assert _render().startswith(b"%PDF")


def test_r10_pdf_renders_to_page_images(tmp_path: Path) -> None:
    pdftoppm = _tool("pdftoppm")
    source = tmp_path / "agreement.pdf"
    source.write_bytes(_render())
    # A fixed tool path and arguments built here; nothing from outside reaches the command line.
    subprocess.run(  # noqa: S603
        [pdftoppm, "-r", "50", "-png", str(source), str(tmp_path / "page")],
        capture_output=True,
        check=True,
    )
    images = sorted(tmp_path.glob("page-*.png"))
    assert images
    # A blank A4 page at 50 dpi compresses to well under 2 kB; text makes it several times larger.
    assert images[0].read_bytes().startswith(b"\x89PNG")
    assert images[0].stat().st_size > 10_000


def test_r10_pdf_fills_in_the_person(tmp_path: Path) -> None:
    text = _pdf_text(_render(), tmp_path)
    assert "Förbindelse för användare av Lyfta" in text
    assert "Version 2026-1" in text
    for label, value in (
        ("Namn", "Åsa Öberg"),
        ("Personnummer", "19400101-9802"),
        ("Användarnamn", "asaob01"),
        ("Befattning", "Arbetsterapeut"),
        ("Arbetsplats", "Hemsjukvården Kil"),
        ("Behörighet giltig från", "2026-01-15"),
        ("Behörighet giltig till och med", "2026-12-31"),
    ):
        assert label in text, label
        assert value in text, value
    assert "tills vidare" not in text.split("Personligt ansvar")[0]


def test_r10_pdf_open_ended_validity_says_tills_vidare(tmp_path: Path) -> None:
    text = _pdf_text(_render(valid_until=None), tmp_path)
    person_table = text.split("Personligt ansvar")[0]
    assert "tills vidare" in person_table
    assert "2026-12-31" not in text


def test_r10_pdf_carries_the_sections_and_signature_lines(tmp_path: Path) -> None:
    text = _pdf_text(_render(), tmp_path)
    for heading, _paragraphs in AGREEMENT_SECTIONS:
        assert heading in text, heading
    assert "2008:355" in text
    for line in ("Ort och datum", "Underskrift", "Namnförtydligande", "Chefens underskrift"):
        assert line in text, line
    assert "Kil" in text.split("Ort och datum")[0].rsplit("följa den.", 1)[1]


def test_r87_pdf_every_page_shows_who_printed_it_and_when(tmp_path: Path) -> None:
    pdf = _render()
    pages = _page_count(pdf, tmp_path)
    assert pages >= 2
    for page in range(1, pages + 1):
        text = _pdf_text(pdf, tmp_path, page=page)
        assert "Utskriven 2026-03-02 09:05 av Ulla Användarstöd" in text, page
        assert f"Sida {page} av {pages}" in text, page


def test_r87_pdf_without_producer_still_shows_the_time(tmp_path: Path) -> None:
    text = _pdf_text(_render(produced_by=""), tmp_path, page=1)
    assert "Utskriven 2026-03-02 09:05" in text
    assert "Utskriven 2026-03-02 09:05 av" not in text


def test_r10_pdf_shows_markup_in_user_data_literally(tmp_path: Path) -> None:
    user = _person(title="<b>Chef</b> & co", workplace='<img src="http://example.invalid/x">')
    text = _pdf_text(
        _render(user=user, produced_by="<i>Ulla</i>", place="<script>x</script>"), tmp_path
    )
    assert "<b>Chef</b> & co" in text
    assert '<img src="http://example.invalid/x">' in text
    assert "<i>Ulla</i>" in text
    assert "<script>x</script>" in text
    assert "&amp;" not in text
    assert "&lt;" not in text
