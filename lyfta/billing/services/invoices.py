"""The invoice basis out per customer (issue 14 point 5): a PDF, a spreadsheet, CSV for the
financial system and the Peppol invoice (`ubl`), each download recorded in the audit log.

The basis comes from `selectors.invoices.basis` (lines through the access layer, a locked run
only). No format carries a patient field: a line names its device (individual number), article,
unit, period, days and amount, and its explanation briefly.

CSV for the financial system: semicolon-separated, UTF-8 with a byte order mark (so that Excel
opens it as UTF-8), the decimal point (a machine reads it; a comma would clash with nothing but
is locale-bound), ISO dates, one row per line with the cost centre on every row; no subtotal rows
(the system sums). Every text cell that a spreadsheet could read as a formula is neutralised
(`lyfta.core.csvsafe`); amounts are numbers and stay numbers, a credit's minus sign too."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from lyfta.access.actor import Actor
from lyfta.access.policies import require
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.services import record
from lyfta.billing.selectors.invoices import Basis, Line
from lyfta.billing.services import ubl
from lyfta.core import csvsafe

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPLANATION_SHORT = 80


@dataclass(frozen=True)
class Download:
    content: bytes
    content_type: str
    filename: str


def short(text: str, limit: int = EXPLANATION_SHORT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def headings() -> list[str]:
    return [
        _("Kostnadsställe"),
        _("Individnummer"),
        _("Artikelnummer"),
        _("Benämning"),
        _("Enhet"),
        _("Slag"),
        _("Från"),
        _("Till och med"),
        _("Dagar"),
        _("Antal"),
        _("À-pris (kr)"),
        _("Belopp (kr)"),
        _("Förklaring"),
    ]


def _cells(code: str, line: Line) -> list[object]:
    return [
        code,
        line.individual_number,
        line.article_number,
        line.article_name or line.text,
        line.unit_name,
        line.kind_label,
        line.period_from,
        line.period_until,
        line.days,
        line.quantity,
        line.unit_price,
        line.amount,
        short(line.explanation),
    ]


def pdf(basis: Basis) -> bytes:
    import weasyprint

    vat = ubl.vat_of(basis.total)
    with override("sv"):
        html = render_to_string(
            "billing/invoice_basis_pdf.html",
            {
                "basis": basis,
                "vat_rate": ubl.VAT_RATE,
                "vat": vat,
                "payable": basis.total + vat,
                "printed_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
                "explanation_limit": EXPLANATION_SHORT,
            },
        )
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=frozenset())
    content: bytes = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    return content


def xlsx(basis: Basis) -> bytes:
    """One sheet, the lines grouped by cost centre, a subtotal row after each group and the
    total last; amounts and quantities as numbers, dates as dates, text neutralised."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Fakturaunderlag")
    sheet.append([_("Fakturaunderlag"), csvsafe.cell(basis.customer.name)])
    sheet.append([_("Kundnummer"), csvsafe.cell(basis.customer.customer_number)])
    sheet.append([_("Månad"), f"{basis.run.month:%Y-%m}"])
    sheet.append([_("Säljare"), csvsafe.cell(basis.seller.name)])
    sheet.append([])
    sheet.append(headings())
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for group in basis.groups:
        for line in group.lines:
            sheet.append(
                [
                    float(v)
                    if isinstance(v, Decimal)
                    else csvsafe.cell(v)
                    if isinstance(v, str)
                    else v
                    for v in _cells(group.code, line)
                ]
            )
            for column in (7, 8):
                sheet.cell(row=sheet.max_row, column=column).number_format = "yyyy-mm-dd"
        sheet.append(
            [csvsafe.cell(_("Summa %(code)s %(name)s") % {"code": group.code, "name": group.name})]
            + [None] * 10
            + [float(group.subtotal)]
        )
        for cell in sheet[sheet.max_row]:
            cell.font = bold
    sheet.append([_("Totalt exklusive moms")] + [None] * 10 + [float(basis.total)])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    widths = (14, 14, 14, 30, 24, 12, 11, 11, 7, 8, 11, 12, 50)
    for letter, width in zip("ABCDEFGHIJKLM", widths, strict=True):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv(basis: Basis) -> bytes:
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_("Kundnummer"), _("Faktura"), _("Månad"), *headings()])
    for group in basis.groups:
        for line in group.lines:
            cells = _cells(group.code, line)
            writer.writerow(
                [
                    basis.customer.customer_number,
                    basis.invoice_number,
                    f"{basis.run.month:%Y-%m}",
                    *(v.isoformat() if hasattr(v, "isoformat") else v for v in cells[:-1]),
                    line.explanation,
                ]
            )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export(actor: Actor, basis: Basis, fmt: str) -> Download:
    """The basis in `fmt` (pdf, xlsx, csv, ubl), the download recorded: who, which run, which
    customer, which format, how many lines and the total (never a line's content)."""
    require(actor, Cap.BILLING_VIEW)
    if fmt == "pdf":
        download = Download(pdf(basis), "application/pdf", basis.filename("pdf"))
    elif fmt == "xlsx":
        download = Download(xlsx(basis), XLSX, basis.filename("xlsx"))
    elif fmt == "csv":
        download = Download(csv(basis), "text/csv; charset=utf-8", basis.filename("csv"))
    elif fmt == "ubl":
        download = Download(ubl.invoice_xml(basis), "application/xml", basis.filename("xml"))
    else:  # the URL admits only the four; a caller that asks for another is a bug
        raise ValueError(fmt)
    record(
        action=Action.INVOICE_BASIS_EXPORTED,
        actor=actor,
        target=basis.run,
        owner_provider_id=basis.seller.pk,
        detail={
            "customer": basis.customer.customer_number,
            "format": fmt,
            "lines": len(basis.lines),
            "total": str(basis.total),
        },
    )
    return download
