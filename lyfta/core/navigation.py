"""The main navigation: each entry shows only to actors that hold its capability."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.roles import Cap


def asks_for_technical_work(actor: Actor) -> bool:
    """A unit that asks the technicians for work but does not do it: its own work orders."""
    return can(actor, Cap.WORKORDERS_REQUEST) and not can(actor, Cap.WORKORDERS_HANDLE)


# Who sees an entry: a capability, a rule over the actor, or None for everyone signed in with an
# assignment.
Shown = str | Callable[[Actor], bool] | None

# (label, URL name, who sees it)
NAVIGATION: list[tuple[Promise, str, Shown]] = [
    (_("Start"), "start", None),
    (_("Mina patienter"), "patients:mine", Cap.PATIENTS_VIEW),
    (_("Patienter"), "patients:search", Cap.PATIENTS_VIEW),
    (_("Beställningar"), "orders:orders", Cap.ORDERS_PLACE),
    (_("Logistik"), "logistics:picklist", Cap.ORDERS_HANDLE),
    (_("Lager"), "stock:overview", Cap.STOCK_VIEW),
    (_("Teknik"), "workorders:queue", Cap.WORKORDERS_HANDLE),
    (_("Dagplan"), "workorders:dayplan", Cap.WORKORDERS_HANDLE),
    (_("Besiktningar"), "workorders:due", Cap.WORKORDERS_HANDLE),
    (_("Besiktningsplaner"), "workorders:plans", Cap.INSPECTION_PLANS_MANAGE),
    (_("Arbetsordrar"), "workorders:unit_list", asks_for_technical_work),
    (_("Loggranskning"), "review:overview", Cap.AUDIT_REVIEW),
    (_("Nödåtkomster att granska"), "patients:emergency_queue", Cap.AUDIT_REVIEW),
    (_("Åtkomst mellan vårdgivare"), "audit:cross_provider", Cap.CROSS_PROVIDER_REPORT),
    (_("Meddelanden"), "messages:inbox", None),
    (_("Sortiment"), "catalogue:articles", Cap.CATALOGUE_VIEW),
    (_("Organisation"), "organisations:providers", Cap.ORGANISATIONS_VIEW),
    (_("Användare"), "accounts:admin_users", Cap.USERS_MANAGE),
    (_("Begäranden om behörighet"), "accounts:admin_privilege_requests", Cap.PRIVILEGE_APPROVE),
    (_("Uppföljning av behörigheter"), "accounts:admin_recertification", Cap.RECERTIFY),
]


def navigation_for(actor: Actor) -> list[tuple[Promise, str]]:
    if actor.assignment is None:
        return []
    return [(label, name) for label, name, shown in NAVIGATION if _shows(actor, shown)]


def _shows(actor: Actor, shown: Shown) -> bool:
    if shown is None:
        return True
    if isinstance(shown, str):
        return can(actor, shown)
    return shown(actor)
