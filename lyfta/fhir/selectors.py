"""The reads behind the FHIR endpoint: each calls the selector or the access-layer builder the
pages and the API use for the same data, and records the read as they do (R57, R61, R93). Nothing
here decides who may see what: lyfta.access does."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from lyfta.access import rows
from lyfta.access.actor import Actor
from lyfta.access.patients import PatientGrant
from lyfta.access.policies import can, require
from lyfta.access.roles import Cap
from lyfta.audit.actions import Action
from lyfta.audit.services import record, record_many
from lyfta.catalogue import selectors as catalogue
from lyfta.catalogue.models import Article
from lyfta.inventory.models import Item
from lyfta.orders import selectors as orders
from lyfta.orders.models import Loan, OrderLine


def patient_loans(*, actor: Actor, grant: PatientGrant) -> list[Loan]:
    """The patient's loans, active first, from every provider the actor may see: the holdings
    view's own selector, recorded as it records (one `loan.holdings_viewed`, and a cross-provider
    read per other provider shown, R42)."""
    return orders.holdings_loans(actor=actor, grant=grant)


def _item_history(actor: Actor, item: Item, session_ref: str) -> list[rows.HistoryLoan]:
    """The item's loans the actor may know of, or a recorded 404 when it may not see the item:
    the centre's stock staff see every item, a care role (as on the item card) only an item one
    of its patients has had."""
    history = rows.item_history(actor, item, session_ref)
    if not can(actor, Cap.STOCK_VIEW) and not any(entry.patient_shown for entry in history):
        raise orders.denied(actor, "inventory.item", item.pk)
    return history


def _item(item_id: int) -> Item:
    item = Item.objects.select_related("article").filter(pk=item_id).first()
    if item is None:
        raise Http404
    return item


def device_get(*, actor: Actor, item_id: int, session_ref: str) -> Item:
    """An item the actor may see (see `_item_history`), recorded as the item card's read; the
    same 404 for missing and not allowed (the refusal recorded)."""
    if not (can(actor, Cap.STOCK_VIEW) or can(actor, Cap.PATIENTS_VIEW)):
        require(actor, Cap.STOCK_VIEW)
    item = _item(item_id)
    _item_history(actor, item, session_ref)
    record(action=Action.ITEM_VIEWED, actor=actor, target=item)
    return item


def device_by_number(*, actor: Actor, individual_number: str, session_ref: str) -> Item | None:
    """The item with this individual number if the actor may see it (recorded), else None (a
    refusal recorded)."""
    found = Item.objects.filter(individual_number=individual_number).values_list("pk", flat=True)
    item_id = found.first()
    if item_id is None:
        return None
    try:
        return device_get(actor=actor, item_id=item_id, session_ref=session_ref)
    except Http404:
        return None


def device_loans(*, actor: Actor, item_id: int, session_ref: str) -> list[Loan]:
    """The item's loans to patients the actor has a legal route to, on data its scope shows
    (rows.item_history, R39–R55), oldest first; each patient shown recorded as listed with its
    route, as on the item card (R57)."""
    item = _item(item_id)
    history = _item_history(actor, item, session_ref)
    shown = [entry for entry in history if entry.patient_shown]
    record_many(
        [
            {
                "action": Action.PATIENT_LISTED,
                "actor": actor,
                "patient_id": entry.loan.patient_id,
                "resource_type": "orders.loan",
                "resource_id": entry.loan.pk,
                "legal_basis": entry.basis,
                "legal_basis_ref": entry.basis_ref,
                "owner_provider_id": entry.loan.unit.provider_id,
                "owner_unit_id": entry.loan.unit_id,
                "detail": {"list": "fhir_device_association", "item": item.individual_number},
            }
            for entry in shown
        ]
    )
    record(action=Action.ITEM_VIEWED, actor=actor, target=item)
    loans = []
    for entry in shown:
        # The item and its article are the ones read above: no query per loan.
        entry.loan.item = item
        entry.loan.article = item.article
        loans.append(entry.loan)
    return loans


def patient_order_lines(
    *, actor: Actor, grant: PatientGrant, delivered_only: bool = False
) -> list[OrderLine]:
    """The lines of the patient's orders the actor's unit placed (the API's orders), oldest
    first; each order shown recorded as read, on the grant's legal route (R57)."""
    lines: QuerySet[OrderLine] = rows.patient_order_lines(actor, grant)
    if delivered_only:
        lines = lines.filter(status=OrderLine.Status.DELIVERED, order__delivered_at__isnull=False)
    found = list(
        lines.select_related("order__unit", "article", "item").order_by(
            "order__registered_at", "order_id", "pk"
        )
    )
    shown = {line.order_id: line.order for line in found}
    record_many(
        [
            {
                "action": Action.ORDER_VIEWED,
                "actor": actor,
                "target": order,
                "patient_id": grant.patient.pk,
                "legal_basis": grant.basis,
                "legal_basis_ref": grant.basis_ref,
                "owner_provider_id": order.unit.provider_id,
                "owner_unit_id": order.unit_id,
                "detail": {"format": "fhir", "lines": "delivered" if delivered_only else "all"},
            }
            for order in shown.values()
        ]
    )
    return found


def patient_read(*, actor: Actor, grant: PatientGrant, fields: list[str]) -> None:
    """Record the read of the Patient resource with the fields it shows (R57), as a patient
    page's read is recorded."""
    record(
        action=Action.PATIENT_READ,
        actor=actor,
        patient_id=grant.patient.pk,
        resource_type="patients.patient",
        resource_id=grant.patient.pk,
        legal_basis=grant.basis,
        legal_basis_ref=grant.basis_ref,
        owner_provider_id=actor.provider.pk if actor.provider else None,
        detail={"format": "fhir", "fields": fields},
    )


def definition_get(*, actor: Actor, article_id: int) -> Article:
    """An article of the catalogue (the catalogue's own selector: anyone who may see it)."""
    return catalogue.article_get(actor=actor, article_id=article_id)


def definitions_by_number(*, actor: Actor, article_number: str) -> list[Article]:
    require(actor, Cap.CATALOGUE_VIEW)
    return list(
        Article.objects.filter(article_number=article_number).select_related(
            "iso_class", "supplier"
        )
    )
