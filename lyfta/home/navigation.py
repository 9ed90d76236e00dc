"""The menus: the main navigation and each section's submenu.

Who may open a page the menus lead to is declared once, in `PAGES` (URL name → the capability or
rule the page's view enforces); a menu shows an entry only when `may_open(actor, url_name)` says
so, so no menu repeats a capability and none leads to a 403. A test holds `PAGES` to the views:
for every persona of the access table, a page it may open answers 200 and one it may not answers
403 (`lyfta/home/tests/test_r35_menus_lead_only_where_one_may_go.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from lyfta.access.actor import Actor
from lyfta.access.policies import can
from lyfta.access.roles import Cap

# Who may open a page: a capability, a rule over the actor, or None for everyone signed in with
# an assignment.
Rule = str | Callable[[Actor], bool] | None


def any_of(*capabilities: str) -> Callable[[Actor], bool]:
    def rule(actor: Actor) -> bool:
        return any(can(actor, capability) for capability in capabilities)

    return rule


# Every page a menu, a submenu or a start-page queue links to, and what its view requires.
PAGES: dict[str, Rule] = {
    "start": None,
    "messages:inbox": None,
    "patients:search": Cap.PATIENTS_VIEW,
    "patients:mine": Cap.PATIENTS_VIEW,
    "orders:orders": any_of(Cap.ORDERS_HANDLE, Cap.ORDERS_PLACE, Cap.ORDERS_PRESCRIBE),
    "logistics:picklist": Cap.ORDERS_HANDLE,
    "logistics:pickups": Cap.ORDERS_HANDLE,
    "logistics:returns": Cap.STOCK_MANAGE,
    "logistics:reconditioning": Cap.STOCK_VIEW,
    "stock:overview": Cap.STOCK_VIEW,
    "stock:receive": Cap.STOCK_MANAGE,
    "stock:stocktakes": Cap.STOCK_VIEW,
    "stock:stores": Cap.STOCK_VIEW,
    "stock:recall": Cap.RECALL,
    "quality:campaigns": any_of(
        Cap.QUALITY_MANAGE, Cap.RECALL, Cap.WORKORDERS_HANDLE, Cap.STOCK_MANAGE
    ),
    "quality:campaign_new": Cap.QUALITY_MANAGE,
    "workorders:queue": Cap.WORKORDERS_HANDLE,
    "workorders:dayplan": Cap.WORKORDERS_HANDLE,
    "workorders:due": Cap.WORKORDERS_HANDLE,
    "workorders:plans": Cap.INSPECTION_PLANS_MANAGE,
    "workorders:unit_list": Cap.WORKORDERS_REQUEST,
    "review:overview": Cap.AUDIT_REVIEW,
    "patients:emergency_queue": Cap.AUDIT_REVIEW,
    "audit:cross_provider": Cap.CROSS_PROVIDER_REPORT,
    "catalogue:articles": Cap.CATALOGUE_VIEW,
    "catalogue:iso_classes": Cap.CATALOGUE_VIEW,
    "catalogue:suppliers": Cap.CATALOGUE_VIEW,
    "catalogue:groups": Cap.CATALOGUE_VIEW,
    "catalogue:article_import": Cap.CATALOGUE_MANAGE,
    # Failure statistics: the quality desk's, and procurement's (the catalogue managers).
    "quality:stats": any_of(Cap.QUALITY_MANAGE, Cap.CATALOGUE_MANAGE),
    "organisations:providers": Cap.ORGANISATIONS_VIEW,
    "accounts:admin_users": Cap.USERS_MANAGE,
    "accounts:admin_privilege_requests": Cap.PRIVILEGE_APPROVE,
    "accounts:admin_recertification": Cap.RECERTIFY,
    "admin:index": Cap.ADMIN_SITE,
    # The API's machine clients (issue 18): registered and revoked by the system administrator.
    "accounts:admin_api_clients": Cap.API_CLIENTS_MANAGE,
    "quality:deviations": Cap.DEVIATIONS_REPORT,
    "quality:complaints": Cap.QUALITY_MANAGE,
    "quality:complaint_new": Cap.QUALITY_MANAGE,
    # The economy desk (DOMAIN.md §3.8): the monthly runs, the billed lines, the unbilled loans,
    # and the reference data (customers, price lists, payer rules, who pays).
    "billing:runs": Cap.BILLING_VIEW,
    # Statistics (issue 17): aggregates of the actor's provider, or of every provider.
    "reports:index": Cap.STATISTICS_VIEW,
    "billing:lines": Cap.BILLING_VIEW,
    "billing:unbilled": Cap.BILLING_VIEW,
    "billing:customers": Cap.BILLING_VIEW,
    "billing:price_lists": Cap.BILLING_VIEW,
    "billing:payer_rules": Cap.BILLING_VIEW,
    "billing:payer_rule_new": Cap.BILLING_MANAGE,
    "billing:who_pays": Cap.BILLING_VIEW,
    # The economy desk's invoice basis out (issue 14 point 5)
    "billing:invoices": Cap.BILLING_VIEW,
}


def may_open(actor: Actor, url_name: str) -> bool:
    """Whether `actor` may open the page named `url_name` (it must be declared in PAGES)."""
    if actor.assignment is None and not actor.is_system:
        return False
    rule = PAGES[url_name]
    if rule is None:
        return True
    if isinstance(rule, str):
        return can(actor, rule)
    return rule(actor)


def holds(actor: Actor, capability: str) -> bool:
    """Whether the actor holds a capability: for a link in one app's template to another app's
    page (the template filter `may_do`)."""
    return can(actor, capability)


def asks_for_technical_work(actor: Actor) -> bool:
    """A unit that asks the technicians for work but does not do it: its own work orders (the
    technicians have their queue instead)."""
    return not can(actor, Cap.WORKORDERS_HANDLE)


def centre_of_orders(actor: Actor) -> bool:
    """The centre reaches orders through its logistics pages, the units through their list."""
    return not can(actor, Cap.ORDERS_HANDLE)


@dataclass(frozen=True)
class Entry:
    label: Promise
    url_name: str
    # A narrower choice of the menu's, on top of may_open: the page opens for others too, but
    # their menu leads them elsewhere.
    only: Callable[[Actor], bool] | None = None
    section: str = ""  # the submenu's name for the page it is on


NAVIGATION: list[Entry] = [
    Entry(_("Start"), "start"),
    Entry(_("Mina patienter"), "patients:mine"),
    Entry(_("Patienter"), "patients:search"),
    Entry(_("Beställningar"), "orders:orders", only=centre_of_orders),
    Entry(_("Logistik"), "logistics:picklist"),
    Entry(_("Lager"), "stock:overview"),
    Entry(_("Teknik"), "workorders:queue"),
    Entry(_("Dagplan"), "workorders:dayplan"),
    Entry(_("Besiktningar"), "workorders:due"),
    Entry(_("Besiktningsplaner"), "workorders:plans"),
    Entry(_("Arbetsordrar"), "workorders:unit_list", only=asks_for_technical_work),
    Entry(_("Avvikelser"), "quality:deviations"),
    # The economy desk: one menu entry, its pages in the submenu "billing".
    Entry(_("Ekonomi"), "billing:runs"),
    Entry(_("Statistik"), "reports:index"),
    Entry(_("Loggranskning"), "review:overview"),
    Entry(_("Nödåtkomster att granska"), "patients:emergency_queue"),
    Entry(_("Åtkomst mellan vårdgivare"), "audit:cross_provider"),
    Entry(_("Meddelanden"), "messages:inbox"),
    Entry(_("Sortiment"), "catalogue:articles"),
    Entry(_("Organisation"), "organisations:providers"),
    Entry(_("Användare"), "accounts:admin_users"),
    Entry(_("Begäranden om behörighet"), "accounts:admin_privilege_requests"),
    Entry(_("Uppföljning av behörigheter"), "accounts:admin_recertification"),
    Entry(_("API-klienter"), "accounts:admin_api_clients"),
    Entry(_("Administration"), "admin:index"),
]

SUBMENUS: dict[str, list[Entry]] = {
    "logistics": [
        Entry(_("Plocklista"), "logistics:picklist", section="picklist"),
        Entry(_("Hämtningar"), "logistics:pickups", section="pickups"),
        Entry(_("Returer att ta emot"), "logistics:returns", section="returns"),
        Entry(_("Rekonditionering"), "logistics:reconditioning", section="reconditioning"),
        Entry(_("Lager"), "stock:overview"),
    ],
    "stock": [
        Entry(_("Lagersaldo"), "stock:overview", section="overview"),
        Entry(_("Inleverans"), "stock:receive", section="receive"),
        Entry(_("Inventering"), "stock:stocktakes", section="stocktakes"),
        Entry(_("Buffertförråd"), "stock:stores", section="stores"),
        Entry(_("Återkallelse"), "stock:recall", section="recall"),
        Entry(_("Säkerhetskampanjer"), "quality:campaigns", section="campaigns"),
        Entry(_("Rekonditionering"), "logistics:reconditioning"),
    ],
    "catalogue": [
        Entry(_("Artiklar"), "catalogue:articles", section="articles"),
        Entry(_("ISO-klasser"), "catalogue:iso_classes", section="iso"),
        Entry(_("Leverantörer"), "catalogue:suppliers", section="suppliers"),
        Entry(_("Ersättningsgrupper"), "catalogue:groups", section="groups"),
        Entry(_("Importera artiklar"), "catalogue:article_import", section="import"),
        Entry(_("Felstatistik"), "quality:stats"),
    ],
    # The quality officer's desk: one menu entry (Avvikelser), these four under it.
    "quality": [
        Entry(_("Avvikelser"), "quality:deviations", section="deviations"),
        Entry(_("Reklamationer"), "quality:complaints", section="complaints"),
        Entry(_("Säkerhetskampanjer"), "quality:campaigns", section="campaigns"),
        Entry(_("Felstatistik"), "quality:stats", section="stats"),
    ],
    # The economy desk (issue 14): the month's runs first, then what they are made from.
    "billing": [
        Entry(_("Debiteringskörningar"), "billing:runs", section="runs"),
        Entry(_("Debiterade rader"), "billing:lines", section="lines"),
        Entry(_("Ofakturerade lån"), "billing:unbilled", section="unbilled"),
        Entry(_("Kunder"), "billing:customers", section="customers"),
        Entry(_("Prislistor"), "billing:price_lists", section="prices"),
        Entry(_("Betalarregler"), "billing:payer_rules", section="rules"),
        Entry(_("Vem betalar?"), "billing:who_pays", section="who"),
    ],
}


def shown(actor: Actor, entries: list[Entry]) -> list[Entry]:
    """The entries of a menu that `actor` may open."""
    return [
        entry
        for entry in entries
        if may_open(actor, entry.url_name) and (entry.only is None or entry.only(actor))
    ]


def navigation_for(actor: Actor) -> list[tuple[Promise, str]]:
    if actor.assignment is None:
        return []
    return [(entry.label, entry.url_name) for entry in shown(actor, NAVIGATION)]


def submenu_for(actor: Actor, name: str) -> list[Entry]:
    return shown(actor, SUBMENUS[name])
