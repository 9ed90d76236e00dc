"""The loan agreement (låneförbindelse) of an order's devices as a PDF: the patient, the devices
lent, the county's standard loan terms, and the signature given on delivery, or lines to sign in
ink (DOMAIN.md §3.1 point 4). It shows no more of the patient than the order page shows the
person printing it (R34), by the same decision (`shown_to`): the name and number where the name is
shown, and as address the one the order goes to when it goes to the patient's, never the
patient's registered address beside it. A protected address is never printed (R55); what is not
printed is filled in by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from lyfta.orders import signature
from lyfta.orders.models import Order, OrderLine, Receipt

if TYPE_CHECKING:
    from lyfta.orders.logistics_views import Shown

# The county's standard terms (lånevillkor), printed on every agreement.
LOAN_TERMS = [
    _(
        "Hjälpmedlet lånas ut till dig för ditt personliga bruk och ägs av "
        "Hjälpmedelsservice. Det är inte ditt och får inte säljas."
    ),
    _(
        "Hjälpmedlet ska lämnas tillbaka när du inte längre behöver det. Kontakta din "
        "förskrivare eller Hjälpmedelsservice så hämtas det."
    ),
    _(
        "Var rädd om hjälpmedlet: använd det som förskrivaren har visat och följ "
        "bruksanvisningen och skötselråden."
    ),
    _(
        "Anmäl fel, skador och förlust till din förskrivare eller Hjälpmedelsservice så snart "
        "som möjligt. Reparera eller bygg inte om hjälpmedlet själv."
    ),
    _("Hjälpmedlet får inte lånas ut eller lämnas vidare till någon annan."),
    _(
        "Om du flyttar, ska du meddela din förskrivare. Hjälpmedlet som du inte behöver ska "
        "lämnas tillbaka av dig, eller av ditt dödsbo om du avlider."
    ),
    _(
        "Förkommer hjälpmedlet genom vårdslöshet kan dess restvärde debiteras enligt "
        "regionens och kommunernas regler."
    ),
]


@dataclass(frozen=True)
class Signed:
    receipt: Receipt
    drawn: SafeString


def devices(order: Order, lines: list[OrderLine]) -> list[OrderLine]:
    """What the agreement covers: what was delivered, or before delivery what is to be."""
    delivered = [line for line in lines if line.status == OrderLine.Status.DELIVERED]
    if delivered:
        return delivered
    on_way = (OrderLine.Status.RESERVED, OrderLine.Status.PICKED)
    return [line for line in lines if line.status in on_way]


def render_pdf(
    *,
    order: Order,
    lines: list[OrderLine],
    receipts: list[Receipt],
    shown: Shown,
    produced_by: str,
) -> bytes:
    # Imported here: WeasyPrint needs the system's Pango libraries.
    import weasyprint

    patient = order.patient
    assert patient is not None  # noqa: S101 - the caller refuses a store order
    protected_address = patient.is_protected or order.confidential_address
    # The order's address, as its page shows it, and only when it is the patient's: a unit's
    # address or the centre is not the borrower's, and the registered address is not on the
    # centre's pages at all.
    address = (
        ", ".join(
            part for part in (order.street, f"{order.postal_code} {order.city}".strip()) if part
        )
        if shown.address and not protected_address and order.delivery == Order.Delivery.PATIENT
        else ""
    )
    context = {
        "order": order,
        "name": str(patient) if shown.name else "",
        "identifier": patient.display_identifier if shown.name else "",
        "address": address,
        "protected_address": protected_address,
        "lines": devices(order, lines),
        "delivered": any(line.status == OrderLine.Status.DELIVERED for line in lines),
        "terms": LOAN_TERMS,
        "receipts": [
            Signed(receipt, signature.svg(receipt.signature, label=str(_("Signatur"))))
            for receipt in receipts
        ],
        "any_signed": any(receipt.signed for receipt in receipts),
        "printed_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "produced_by": produced_by,
    }
    # The agreement is the county's Swedish text whatever language the printer has chosen.
    with override("sv"):
        html = render_to_string("orders/loan_agreement_pdf.html", context)
    # Nothing from outside: no base URL, a fetcher that allows no scheme at all.
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=frozenset())
    pdf: bytes = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    return pdf
