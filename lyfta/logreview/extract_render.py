"""The patient log extract as a PDF (WeasyPrint) and as CSV (R80–R82). Printouts show who
produced them and when (R87)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from lyfta.core import csvsafe

if TYPE_CHECKING:
    from lyfta.audit.models import LogExtractRequest
    from lyfta.logreview.review import ExtractRow


def pdf(request: LogExtractRequest, rows: list[ExtractRow], *, produced_by: str) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "audit/extract_pdf.html",
        {
            "request": request,
            "patient": request.patient,
            "rows": rows,
            "names": any(r.staff for r in rows),
            "produced_by": produced_by,
            "produced_at": timezone.localtime(),
        },
    )
    result: Any = HTML(string=html, base_url=None).write_pdf()
    return bytes(result)


def csv_bytes(request: LogExtractRequest, rows: list[ExtractRow]) -> bytes:
    buffer = io.StringIO()
    # Every cell neutralised: a unit or provider name may start like a formula.
    writer = csvsafe.writer(buffer, delimiter=";")
    names = any(r.staff for r in rows)
    header = [_("Datum"), _("Tid"), _("Vårdenhet"), _("Vårdgivare"), _("Typ av åtkomst")]
    writer.writerow([*header, _("Personal")] if names else header)
    for row in rows:
        line = [
            row.when.strftime("%Y-%m-%d"),
            row.when.strftime("%H:%M"),
            row.unit,
            row.provider,
            str(row.kind),
        ]
        writer.writerow([*line, row.staff] if names else line)
    # A byte-order mark so that spreadsheet programs read the Swedish letters right.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
