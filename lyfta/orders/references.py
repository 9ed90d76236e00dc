"""What a stock movement's reference says, in Swedish (issue 16 point 4): the ledger stores a
code (`order:KO2026-00012`, `pickup:7`, `workorder:AO2026-00003`, `store:F-ORT`, `loan:12`,
`loss:3`, `demo`), the item card shows "Beställning KO2026-00012" with a link where the viewer
may open the order, and never the code itself. The order, pick-up and work order are looked up
through the access layer (rows.py), so a reference to one the viewer may not see names its kind
only, or the number the code already held, and links nowhere."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.roles import Cap
from lyfta.inventory.models import StockLocation, StockMovement


@dataclass(frozen=True)
class Reference:
    text: str
    url: str = ""


def _ids(values: Iterable[str]) -> set[int]:
    return {int(value) for value in values if value.isascii() and value.isdigit()}


def movement_references(actor: Actor, movements: list[StockMovement]) -> dict[int, Reference]:
    """Each movement's reference (by movement id) in words, linked where the actor may follow
    it. A reference that is no code of Lyfta's (a delivery note's number typed at goods receipt)
    is shown as it was written."""
    parsed: dict[int, tuple[str, str]] = {}
    wanted: dict[str, set[str]] = {}
    for move in movements:
        kind, colon, value = move.reference.partition(":")
        if colon:
            parsed[move.pk] = (kind, value)
            wanted.setdefault(kind, set()).add(value)

    order_urls: dict[str, str] = {}
    if wanted.get("order"):
        centre = can(actor, Cap.ORDERS_HANDLE)
        for number, pk in rows.order_numbers(actor, wanted["order"]):
            name = "logistics:order" if centre else "orders:order"
            order_urls[number] = reverse(name, kwargs={"order_id": pk})
    pickups: dict[int, str] = {}
    if wanted.get("pickup"):
        pickups = rows.pickup_numbers(actor, _ids(wanted["pickup"]))
    pickups_url = reverse("logistics:pickups") if can(actor, Cap.ORDERS_HANDLE) else ""
    work_urls: dict[str, str] = {}
    if wanted.get("workorder"):
        for number, pk in (
            rows.work_orders_for(actor)
            .filter(number__in=wanted["workorder"])
            .values_list("number", "pk")
        ):
            work_urls[number] = reverse("workorders:detail", kwargs={"pk": pk})
    stores: dict[str, str] = {}
    if wanted.get("store"):
        stores = dict(
            StockLocation.objects.filter(code__in=wanted["store"]).values_list("code", "name")
        )

    result: dict[int, Reference] = {}
    for move in movements:
        if move.pk not in parsed:
            if move.reference == "demo":
                result[move.pk] = Reference(_("Demodata"))
            elif move.reference:
                result[move.pk] = Reference(move.reference)
            continue
        kind, value = parsed[move.pk]
        if kind == "order":
            text = _("Beställning %(number)s") % {"number": value}
            result[move.pk] = Reference(text, order_urls.get(value, ""))
        elif kind == "pickup":
            pickup_number = pickups.get(int(value)) if _ids([value]) else None
            if pickup_number is None:
                result[move.pk] = Reference(_("Hämtorder"))
            else:
                text = _("Hämtorder %(number)s") % {"number": pickup_number}
                result[move.pk] = Reference(text, pickups_url)
        elif kind == "workorder":
            text = _("Arbetsorder %(number)s") % {"number": value}
            result[move.pk] = Reference(text, work_urls.get(value, ""))
        elif kind == "store":
            text = _("Uttag ur %(store)s") % {"store": stores.get(value, value)}
            result[move.pk] = Reference(text)
        elif kind == "loan":
            result[move.pk] = Reference(_("Utlåning"))
        elif kind == "loss":
            result[move.pk] = Reference(_("Förlustanmälan"))
        else:
            result[move.pk] = Reference(move.reference)
    return result
