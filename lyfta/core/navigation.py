"""The main navigation: each entry shows only to actors that hold its capability."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.roles import Cap

# (label, URL name, capability or None for everyone signed in with an assignment)
NAVIGATION: list[tuple[Promise, str, str | None]] = [
    (_("Start"), "start", None),
    (_("Patienter"), "patients:search", Cap.PATIENTS_VIEW),
    (_("Beställningar"), "orders:orders", Cap.ORDERS_PLACE),
    (_("Logistik"), "logistics:picklist", Cap.ORDERS_HANDLE),
    (_("Lager"), "stock:overview", Cap.STOCK_VIEW),
    (_("Loggranskning"), "review:overview", Cap.AUDIT_REVIEW),
    (_("Nödåtkomster att granska"), "patients:emergency_queue", Cap.AUDIT_REVIEW),
    (_("Åtkomst mellan vårdgivare"), "audit:cross_provider", Cap.CROSS_PROVIDER_REPORT),
    (_("Meddelanden"), "messages:inbox", None),
    (_("Sortiment"), "catalogue:articles", Cap.CATALOGUE_VIEW),
    (_("Organisation"), "organisations:providers", Cap.ORGANISATIONS_VIEW),
    (_("Användare"), "accounts:admin_users", Cap.USERS_MANAGE),
    (_("Begäranden om behörighet"), "accounts:admin_privilege_requests", Cap.PRIVILEGE_APPROVE),
    (_("Uppföljning av behörigheter"), "accounts:admin_recertification", Cap.RECERTIFY),
    # The technicians' desk: inspections.
    (_("Besiktningar"), "workorders:due", Cap.WORKORDERS_HANDLE),
    (_("Dagplan"), "workorders:dayplan", Cap.WORKORDERS_HANDLE),
    (_("Besiktningsplaner"), "workorders:plans", Cap.INSPECTION_PLANS_MANAGE),
]


def navigation_for(actor: Actor) -> list[tuple[Promise, str]]:
    if actor.assignment is None:
        return []
    return [(label, name) for label, name, cap in NAVIGATION if cap is None or can(actor, cap)]
