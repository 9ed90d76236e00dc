"""Roles (DOMAIN.md §2) and the capabilities each one carries. Nothing outside `lyfta.access`
reads a role: other code asks `access.can(actor, capability)` or a policy function."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PRESCRIBER = "prescriber", _("Förskrivare")
    ORDERER = "orderer", _("Beställare")
    UNIT_MANAGER = "unit_manager", _("Enhetschef")
    CONSULTANT = "consultant", _("Hjälpmedelskonsulent")
    TECHNICIAN = "technician", _("Tekniker")
    LOGISTICS = "logistics", _("Lager och logistik")
    CUSTOMER_SERVICE = "customer_service", _("Kundtjänst")
    CATALOGUE_MANAGER = "catalogue_manager", _("Sortiment och inköp")
    BILLING = "billing", _("Ekonomi")
    QUALITY = "quality", _("Kvalitetssamordnare")
    USER_ADMIN = "user_admin", _("Användaradministratör")
    LOG_REVIEWER = "log_reviewer", _("Loggranskare")
    SYSTEM_ADMIN = "system_admin", _("Systemadministratör")


class Purpose(models.TextChoices):
    """Purpose of an access (R36): derived from the assignment or chosen explicitly."""

    CARE = "care", _("Vård och behandling")
    ADMINISTRATION = "administration", _("Administration")
    QUALITY = "quality", _("Kvalitetsuppföljning")
    LOG_REVIEW = "log_review", _("Loggranskning")
    SYSTEM = "system", _("Systemdrift")


# Which purpose an assignment of each role serves by default.
ROLE_PURPOSE: dict[str, str] = {
    Role.PRESCRIBER: Purpose.CARE,
    Role.ORDERER: Purpose.CARE,
    Role.UNIT_MANAGER: Purpose.CARE,
    Role.CONSULTANT: Purpose.CARE,
    Role.TECHNICIAN: Purpose.CARE,
    Role.LOGISTICS: Purpose.CARE,
    Role.CUSTOMER_SERVICE: Purpose.ADMINISTRATION,
    Role.CATALOGUE_MANAGER: Purpose.ADMINISTRATION,
    Role.BILLING: Purpose.ADMINISTRATION,
    Role.QUALITY: Purpose.QUALITY,
    Role.USER_ADMIN: Purpose.ADMINISTRATION,
    Role.LOG_REVIEWER: Purpose.LOG_REVIEW,
    Role.SYSTEM_ADMIN: Purpose.SYSTEM,
}


# What of a patient each role may see (R34). Categories: identity (number and name), contact
# (address and phone), administrative (home municipality, care relationships, consents, blocks),
# clinical (prescription goals and the like, from the device issue on).
class Fields:
    IDENTITY = "identity"
    CONTACT = "contact"
    ADMIN = "admin"
    CLINICAL = "clinical"


ROLE_PATIENT_FIELDS: dict[str, frozenset[str]] = {
    Role.PRESCRIBER: frozenset({Fields.IDENTITY, Fields.CONTACT, Fields.ADMIN, Fields.CLINICAL}),
    Role.UNIT_MANAGER: frozenset({Fields.IDENTITY, Fields.CONTACT, Fields.ADMIN, Fields.CLINICAL}),
    Role.CONSULTANT: frozenset({Fields.IDENTITY, Fields.CONTACT, Fields.ADMIN, Fields.CLINICAL}),
    Role.ORDERER: frozenset({Fields.IDENTITY, Fields.CONTACT, Fields.ADMIN}),
    Role.CUSTOMER_SERVICE: frozenset({Fields.IDENTITY, Fields.CONTACT, Fields.ADMIN}),
    Role.TECHNICIAN: frozenset({Fields.IDENTITY, Fields.CONTACT}),
    Role.LOGISTICS: frozenset({Fields.IDENTITY, Fields.CONTACT}),
}

# Roles whose holders must use a second factor whatever LYFTA_REQUIRE_MFA says (R12 defaults table).
MFA_ALWAYS: frozenset[str] = frozenset({Role.USER_ADMIN, Role.LOG_REVIEWER, Role.SYSTEM_ADMIN})

# Roles that administer others' rights or the log of everyone's actions (R91): granting or ending
# one, and resetting the password or second factor of an account that holds one, is a request by
# one person and an approval by another.
PRIVILEGED_ROLES: frozenset[str] = frozenset(
    {Role.SYSTEM_ADMIN, Role.USER_ADMIN, Role.LOG_REVIEWER}
)


class Cap:
    """Capability names. A role grants a set of them; checks ask for one."""

    ORGANISATIONS_VIEW = "organisations.view"
    ORGANISATIONS_MANAGE = "organisations.manage"
    HISTORY_VIEW = "history.view"
    ADMIN_SITE = "admin.site"
    # Registering and revoking the API's machine clients (issue 18): each acts in an assignment
    # of its own, so this is system administration, not user administration.
    API_CLIENTS_MANAGE = "api.clients"
    USERS_MANAGE = "users.manage"
    # Approving another person's request to change privileged rights (R91).
    PRIVILEGE_APPROVE = "users.approve_privileged"
    RECERTIFY = "users.recertify"
    AUDIT_REVIEW = "audit.review"
    # Patients: opening through a care relationship of one's unit (or a documented need) ...
    PATIENTS_VIEW = "patients.view"
    # ... finding them by exact identifier and documenting a need, registering relationships ...
    PATIENTS_REGISTER = "patients.register"
    # ... emergency access, consents and blocks, the protected-identity staff list.
    PATIENTS_EMERGENCY = "patients.emergency"
    CONSENTS_MANAGE = "patients.consents"
    BLOCKS_MANAGE = "patients.blocks"
    PROTECTED_STAFF_MANAGE = "patients.protected_staff"
    CROSS_PROVIDER_REPORT = "audit.cross_provider_report"
    # The assortment: seen by everyone who orders or handles devices, kept by the catalogue manager.
    CATALOGUE_VIEW = "catalogue.view"
    CATALOGUE_MANAGE = "catalogue.manage"
    # Devices for patients: ordering (prescribing), the unit's buffer store, pick-ups, losses.
    ORDERS_PRESCRIBE = "orders.prescribe"
    ORDERS_PLACE = "orders.place"  # order to the unit's store, pick-ups, withdrawals, losses
    # The centre: every order, pick lists, deliveries, returns, stock, reconditioning, recalls.
    ORDERS_HANDLE = "orders.handle"
    STOCK_VIEW = "stock.view"
    STOCK_MANAGE = "stock.manage"
    RECALL = "stock.recall"
    # The technicians' desk (DOMAIN.md §3.4): asking for technical work on a device (a fault
    # report, an adaptation, a trial), doing it (the technician, on the case), approving a
    # special adaptation's cost for the paying unit, and keeping the inspection plans.
    WORKORDERS_REQUEST = "workorders.request"
    WORKORDERS_HANDLE = "workorders.handle"
    WORKORDERS_APPROVE = "workorders.approve"
    INSPECTION_PLANS_MANAGE = "workorders.inspection_plans"
    # The quality desk (DOMAIN.md §3.5): reporting a deviation (everyone who handles devices for
    # patients), and handling them: investigating, deciding, reports out, supplier complaints,
    # safety-notice campaigns and failure statistics (the quality role).
    DEVIATIONS_REPORT = "quality.report"
    QUALITY_MANAGE = "quality.manage"
    # Economy (DOMAIN.md §3.8): seeing the billing runs, customers, price lists and payer rules;
    # and keeping them: running, approving and locking a month, corrections, prices and rules.
    BILLING_VIEW = "billing.view"
    BILLING_MANAGE = "billing.manage"
    # Statistics (DOMAIN.md §3.9): aggregates only. The view is of the actor's own care provider;
    # the centre's desks (and economy, quality, procurement) see every provider of the county.
    STATISTICS_VIEW = "reports.view"
    STATISTICS_ALL = "reports.all_providers"


_CARE = frozenset(
    {
        Cap.ORGANISATIONS_VIEW,
        Cap.PATIENTS_VIEW,
        Cap.PATIENTS_REGISTER,
        Cap.CATALOGUE_VIEW,
        Cap.DEVIATIONS_REPORT,
    }
)
# Emergency access is for care that must start at once, when the patient cannot take a position
# (R49, R50): the prescribers of the care units and their managers. The roles that order, handle
# or repair devices give no such care and cannot open one (DOMAIN.md §2).
_EMERGENCY = frozenset({Cap.PATIENTS_EMERGENCY})
_ORDERING = frozenset({Cap.ORDERS_PRESCRIBE, Cap.ORDERS_PLACE})
_CENTRE = frozenset({Cap.ORDERS_HANDLE, Cap.STOCK_VIEW, Cap.STATISTICS_VIEW, Cap.STATISTICS_ALL})
_STATISTICS = frozenset({Cap.STATISTICS_VIEW, Cap.STATISTICS_ALL})
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.PRESCRIBER: _CARE
    | _ORDERING
    | _EMERGENCY
    | {Cap.CONSENTS_MANAGE, Cap.BLOCKS_MANAGE, Cap.WORKORDERS_REQUEST, Cap.WORKORDERS_APPROVE},
    Role.ORDERER: _CARE | {Cap.ORDERS_PLACE, Cap.WORKORDERS_REQUEST},
    Role.UNIT_MANAGER: _CARE
    | _ORDERING
    | _EMERGENCY
    | {
        Cap.CONSENTS_MANAGE,
        Cap.BLOCKS_MANAGE,
        Cap.PROTECTED_STAFF_MANAGE,
        Cap.RECERTIFY,
        Cap.WORKORDERS_REQUEST,
        Cap.WORKORDERS_APPROVE,
        Cap.STATISTICS_VIEW,
    },
    Role.CONSULTANT: _CARE
    | _ORDERING
    | {Cap.CONSENTS_MANAGE, Cap.WORKORDERS_REQUEST, Cap.STATISTICS_VIEW},
    Role.TECHNICIAN: _CARE
    | {
        Cap.STOCK_VIEW,
        Cap.WORKORDERS_REQUEST,
        Cap.WORKORDERS_HANDLE,
        Cap.INSPECTION_PLANS_MANAGE,
    },
    Role.LOGISTICS: _CARE | _CENTRE | {Cap.STOCK_MANAGE, Cap.RECALL, Cap.WORKORDERS_REQUEST},
    Role.CUSTOMER_SERVICE: _CARE | _CENTRE | {Cap.RECALL, Cap.WORKORDERS_REQUEST},
    Role.CATALOGUE_MANAGER: frozenset(
        {
            Cap.ORGANISATIONS_VIEW,
            Cap.CATALOGUE_VIEW,
            Cap.CATALOGUE_MANAGE,
            Cap.STOCK_VIEW,
            Cap.RECALL,
        }
    )
    | _STATISTICS,
    Role.BILLING: frozenset(
        {Cap.ORGANISATIONS_VIEW, Cap.CATALOGUE_VIEW, Cap.BILLING_VIEW, Cap.BILLING_MANAGE}
    )
    | _STATISTICS,
    # The quality officer sees patients pseudonymised (no identity fields): a case that needs
    # identity opens it on a recorded route (lyfta.quality).
    Role.QUALITY: frozenset(
        {
            Cap.ORGANISATIONS_VIEW,
            Cap.CATALOGUE_VIEW,
            Cap.STOCK_VIEW,
            Cap.RECALL,
            Cap.DEVIATIONS_REPORT,
            Cap.QUALITY_MANAGE,
        }
    )
    | _STATISTICS,
    Role.USER_ADMIN: frozenset(
        {Cap.ORGANISATIONS_VIEW, Cap.USERS_MANAGE, Cap.RECERTIFY, Cap.PRIVILEGE_APPROVE}
    ),
    Role.LOG_REVIEWER: frozenset(
        {Cap.ORGANISATIONS_VIEW, Cap.AUDIT_REVIEW, Cap.HISTORY_VIEW, Cap.CROSS_PROVIDER_REPORT}
    ),
    Role.SYSTEM_ADMIN: frozenset(
        {
            Cap.ORGANISATIONS_VIEW,
            Cap.ORGANISATIONS_MANAGE,
            Cap.HISTORY_VIEW,
            Cap.ADMIN_SITE,
            Cap.PRIVILEGE_APPROVE,
            Cap.API_CLIENTS_MANAGE,
        }
    ),
}

# The roles a machine client of the API may act in (issue 18): the roles that order, hand out
# and keep devices and read the assortment, and the economy role (the region's financial system
# reading the billing runs). Never a privileged role (R91): those administer people's rights and
# the log, which no machine does.
API_CLIENT_ROLES: tuple[str, ...] = (
    Role.PRESCRIBER,
    Role.ORDERER,
    Role.CONSULTANT,
    Role.LOGISTICS,
    Role.CUSTOMER_SERVICE,
    Role.CATALOGUE_MANAGER,
    Role.BILLING,
)


def role_may(role: str, *capabilities: str) -> bool:
    """Whether an assignment in `role` holds any of `capabilities` (a client's scopes are checked
    against its role when it is registered)."""
    return bool(ROLE_CAPABILITIES.get(role, frozenset()) & set(capabilities))
