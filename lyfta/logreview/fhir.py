"""Audit events as FHIR R5 (5.0.0) AuditEvent resources, following the IHE Basic Audit Log
Patterns (BALP), for regional log services and external auditors (R63, ACCOUNTABILITY §2.4–2.5).

This module builds plain JSON-ready dicts and depends on no FHIR library; the tests validate its
output with the `fhir.resources` models.

What is exported is *minimal* in BALP's sense and obeys R60: identifiers, codes and snapshot names
of the acting user and organisation, never passwords, session hashes, clinical free text, search
results or the before/after values of a change (only the names of the changed fields). Of an
event's `detail`, only the parameters of a search leave the system, in `entity.query`.

Where BALP and R5 part ways:

* BALP 1.1 is published for FHIR R4. `meta.profile` names the BALP pattern an event follows, but
  in R5 shape: R4 `type`/`subtype` are R5 `category`/`code`, `purposeOfEvent`/`purposeOfUse` are
  `authorization`, and R5 has no `entity.type`, so the X-Request-Id entity carries BALP's
  `BasicAuditEntityType#XrequestId` in `entity.role` instead. A validator of the R4 profiles needs
  the R5→R4 conversion first.
* A profile is claimed only when the event meets what the profile requires: a successful outcome
  ("failures are recorded differently"), a known client address (BALP's client agent has a
  mandatory network address), and the patient, data or query entity the profile needs.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import timezone, translation

from lyfta.access.roles import Purpose, Role
from lyfta.audit.actions import Action
from lyfta.audit.models import AuditEvent, LegalBasis, Outcome

__all__ = ["DEFAULT_BASE_URL", "bundle", "full_url", "to_fhir"]

JSON = dict[str, Any]

DEFAULT_BASE_URL = "urn:lyfta"

# --- Code systems -------------------------------------------------------------------------------

DCM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
AUDIT_EVENT_OUTCOME = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ROLE_CLASS = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
EXTRA_SECURITY_ROLE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
SECURITY_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
BALP_ENTITY_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
BALP_PROFILE = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
# X.520 organizationIdentifier: the system HL7 Sweden's base profiles (SEBaseOrganization) and
# Inera use for the Swedish organisation number, with identifier type v2-0203#XX.
ORGANISATION_NUMBER = "urn:oid:2.5.4.97"

# Lyfta's own code systems: the exact action, role, purpose, legal basis and outcome, so that
# nothing is lost where a standard code is coarser (every standard coding is followed by ours).
LYFTA_CODE_SYSTEM = "https://lyfta.se/fhir/CodeSystem/"
ACTION_SYSTEM = LYFTA_CODE_SYSTEM + "audit-action"
ROLE_SYSTEM = LYFTA_CODE_SYSTEM + "role"
PURPOSE_SYSTEM = LYFTA_CODE_SYSTEM + "purpose"
LEGAL_BASIS_SYSTEM = LYFTA_CODE_SYSTEM + "legal-basis"
OUTCOME_SYSTEM = LYFTA_CODE_SYSTEM + "audit-outcome"


def _coding(system: str, code: str, display: str = "") -> JSON:
    coding: JSON = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(*codings: JSON, text: str = "") -> JSON:
    concept: JSON = {}
    if codings:
        # Copies: the module's constant codings must not be shared with (mutable) output.
        concept["coding"] = [dict(coding) for coding in codings]
    if text:
        concept["text"] = text
    return concept


REST = _coding(AUDIT_EVENT_TYPE, "rest", "Restful Operation")
USER_AUTHENTICATION = _coding(DCM, "110114", "User Authentication")
SECURITY_ALERT = _coding(DCM, "110113", "Security Alert")
AUDIT_LOG_USED = _coding(DCM, "110101", "Audit Log Used")
EXPORT = _coding(DCM, "110106", "Export")

LOGIN = _coding(DCM, "110122", "Login")
LOGOUT = _coding(DCM, "110123", "Logout")
EMERGENCY_OVERRIDE_STARTED = _coding(DCM, "110127", "Emergency Override Started")
EMERGENCY_OVERRIDE_STOPPED = _coding(DCM, "110138", "Emergency Override Stopped")
SECURITY_CONFIGURATION = _coding(DCM, "110129", "Security Configuration")
USE_OF_RESTRICTED_FUNCTION = _coding(DCM, "110132", "Use of Restricted Function")

# BALP agent slices. Reads and queries: the user is the information recipient; creates, updates
# and deletes: the author (BALP's DataSources value set). humanuser says "a person" either way.
IRCP = _coding(PARTICIPATION_TYPE, "IRCP", "information recipient")
AUTHOR = _coding(PARTICIPATION_TYPE, "AUT", "author (originator)")
HUMAN_USER = _coding(EXTRA_SECURITY_ROLE, "humanuser", "human user")
HEALTHCARE_PROVIDER = _coding(ROLE_CLASS, "PROV", "healthcare provider")
APPLICATION = _coding(DCM, "110150", "Application")
SOURCE_ROLE = _coding(DCM, "110153", "Source Role ID")
DESTINATION_ROLE = _coding(DCM, "110152", "Destination Role ID")
APPLICATION_SERVER = _coding(SECURITY_SOURCE_TYPE, "4", "Application Server")

PATIENT_ROLE = _coding(OBJECT_ROLE, "1", "Patient")
DOMAIN_RESOURCE_ROLE = _coding(OBJECT_ROLE, "4", "Domain Resource")
QUERY_ROLE = _coding(OBJECT_ROLE, "24", "Query")
X_REQUEST_ID = _coding(
    BALP_ENTITY_TYPE,
    "XrequestId",
    "transport specific unique identifier where http X-Request-Id is used",
)

_OUTCOMES: dict[str, tuple[str, str]] = {
    Outcome.GRANTED: ("0", "Success"),
    # A refusal by policy is the FHIR "access denied" case: the request failed, the system did not.
    Outcome.DENIED: ("4", "Minor failure"),
    Outcome.ERROR: ("8", "Serious failure"),
}

# Purpose of use (v3-ActReason, the PurposeOfUse hierarchy).
_PURPOSES: dict[str, tuple[str, str]] = {
    Purpose.CARE: ("TREAT", "treatment"),
    # Customer service, billing, catalogue and user administration support the care given but are
    # not care: "healthcare operations".
    Purpose.ADMINISTRATION: ("HOPERAT", "healthcare operations"),
    # Follow-up of quality (kvalitetsuppföljning): the specialisation of HOPERAT made for it.
    Purpose.QUALITY: ("HQUALIMP", "health quality improvement"),
    # Log review is the systematic check the law requires of the provider (HSLF-FS 2016:40 4:9,
    # PDL 4:3): "activities required to meet a mandate", not system administration.
    Purpose.LOG_REVIEW: ("HCOMPL", "health compliance"),
    # Operating the system itself (jobs, system administrators).
    Purpose.SYSTEM: ("HSYSADMIN", "health system administration"),
}
# Care given under emergency access is emergency treatment, done by breaking the glass.
EMERGENCY_TREATMENT = _coding(ACT_REASON, "ETREAT", "Emergency Treatment")
BREAK_THE_GLASS = _coding(ACT_REASON, "BTG", "break the glass")

# The keys of an event's `detail` that are parameters of a search (patient search: kind and the
# name typed; log search: period and filters; a review check's id). Everything else there, above
# all "shown" and "exists", is a result or an explanation and never leaves in an export (R60).
_SEARCH_PARAMETERS = frozenset(
    {"kind", "query", "from", "until", "patient", "user", "unit", "action", "outcome"}
    | {"targeted", "check"}
)


# --- What kind of event an action is --------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """How one Lyfta action shows in FHIR: the C/R/U/D/E action, the categories, the standard code
    (before Lyfta's own), the FHIR restful interaction it corresponds to, and whether it is a search
    whose parameters go into a query entity."""

    action: str
    category: tuple[JSON, ...] = ()
    code: JSON | None = None
    interaction: str = ""
    query: bool = False


def _rest(interaction: str, action: str, *, query: bool = False, log: bool = False) -> _Kind:
    """Lyfta is a server-rendered application, not a FHIR server, but each access to one object is
    a read, create, update, delete or search of it: BALP's RESTful patterns apply by analogy."""
    category = (REST, AUDIT_LOG_USED) if log else (REST,)
    code = _coding(RESTFUL_INTERACTION, interaction, interaction)
    return _Kind(action, category, code, interaction, query)


_LOGINS = (
    Action.LOGIN,
    Action.LOGIN_FAILED,
    Action.LOGIN_REFUSED,
    Action.LOCKED_OUT,  # the attempt that locked the account
    Action.REAUTHENTICATED,
    Action.REAUTH_FAILED,
    Action.MFA_VERIFIED,  # the second step of a login
    Action.MFA_FAILED,
)
_LOGOUTS = (
    Action.LOGOUT,
    Action.SESSION_IDLE_TIMEOUT,
    Action.SESSION_EXPIRED,
    Action.SESSION_REFUSED,
    Action.SESSION_ENDED,
)

# DICOM's authentication and security-alert messages use the action code E throughout.
_EXACT: dict[str, _Kind] = {
    **{action: _Kind("E", (USER_AUTHENTICATION,), LOGIN) for action in _LOGINS},
    **{action: _Kind("E", (USER_AUTHENTICATION,), LOGOUT) for action in _LOGOUTS},
    # Break-glass as FHIR describes it: Security Alert / Emergency Override Started, E, and a
    # second event when it ends.
    Action.EMERGENCY_STARTED: _Kind("E", (SECURITY_ALERT,), EMERGENCY_OVERRIDE_STARTED),
    Action.EMERGENCY_ENDED: _Kind("E", (SECURITY_ALERT,), EMERGENCY_OVERRIDE_STOPPED),
    # Turning audit protections on or off is a change of the security configuration (R62).
    Action.AUDIT_SETTINGS_CHANGED: _Kind("E", (SECURITY_ALERT,), SECURITY_CONFIGURATION),
    # A function refused for want of a capability: the attempted use of a restricted function.
    Action.ACCESS_DENIED: _Kind("E", (SECURITY_ALERT,), USE_OF_RESTRICTED_FUNCTION),
    # A refused opening of a patient is a (failed) read of that patient.
    Action.PATIENT_ACCESS_DENIED: _rest("read", "R"),
    # A patient shown in a result list: BALP's "one AuditEvent per patient in the results" of a
    # query. Its parameters are in the `patient.searched` event of the same X-Request-Id.
    Action.PATIENT_LISTED: _rest("search-type", "E"),
    Action.PATIENT_SEARCH_OUTSIDE: _rest("search-type", "E", query=True),
    Action.HISTORY_VIEWED: _rest("history-instance", "R"),
    # FHIR's R is "Read/View/Print".
    Action.AGREEMENT_PRINTED: _rest("read", "R"),
    Action.BLOCK_PROVIDERS_REVEALED: _rest("read", "R"),
    # A temporary lift is a new record of its own (target: the lift), not a change of the block.
    Action.BLOCK_TEMPORARILY_LIFTED: _rest("create", "C"),
    Action.AUDIT_SEARCHED: _rest("search-type", "E", query=True, log=True),
    Action.AUDIT_ENTRY_VIEWED: _rest("read", "R", log=True),
    Action.AUDIT_CROSS_PROVIDER_REPORT: _Kind("E", (AUDIT_LOG_USED,)),
    Action.AUDIT_PROOF_ISSUED: _Kind("E", (AUDIT_LOG_USED,)),
    # Retention deletes a range of old events at once: a delete, not a RESTful delete of one object.
    Action.AUDIT_PRUNED: _Kind("D"),
}

# By the last word of the dotted action (also for actions added after this table was written).
# Cancelling (makulering) marks a record as entered in error and keeps it: an update, not a delete.
_BY_SUFFIX: tuple[tuple[tuple[str, ...], _Kind], ...] = (
    (("searched",), _rest("search-type", "E", query=True)),
    (("listed",), _rest("search-type", "E")),
    (("read", "viewed", "printed"), _rest("read", "R")),
    (
        ("created", "registered", "published", "documented", "named", "requested"),
        _rest("create", "C"),
    ),
    (
        ("updated", "corrected", "changed", "ended", "cancelled", "lifted", "deactivated")
        + ("reactivated", "suspended", "unlocked", "recertified", "reviewed", "verdict", "closed"),
        _rest("update", "U"),
    ),
    (("removed", "deleted"), _rest("delete", "D")),
    # Data leaving the system (R57 "export or copy"): DICOM's Export event, action R.
    (("exported",), _Kind("R", (EXPORT,))),
)


def _kind(action: str) -> _Kind:
    if action in _EXACT:
        return _EXACT[action]
    if action.startswith("auth."):
        # Password, second-factor and agreement steps: authentication events with Lyfta's code.
        return _Kind("E", (USER_AUTHENTICATION,))
    word = action.rsplit(".", 1)[-1]
    for suffixes, kind in _BY_SUFFIX:
        if any(word == suffix or word.endswith("_" + suffix) for suffix in suffixes):
            return kind
    # Anything else (a refusal, a job's step, an extract delivered): Lyfta's code, "execute".
    return _Kind("E")


# --- Public API -----------------------------------------------------------------------------------


def to_fhir(event: AuditEvent, *, base_url: str = DEFAULT_BASE_URL) -> JSON:
    """One audit event as a FHIR R5 AuditEvent resource (a JSON-ready dict).

    `base_url` is the server's base URL or a URN (default `urn:lyfta`): the namespace of Lyfta's
    local identifiers (`urn:lyfta:patient|42`, or `https://host/lyfta/patient|42`) and the network
    address of the server agent."""
    with translation.override("sv"):
        return _to_fhir(event, base_url)


def full_url(event: AuditEvent, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """The Bundle.entry.fullUrl of an event: `urn:lyfta:auditevent:<id>` under a URN base, the
    RESTful `<base>/AuditEvent/<id>` under an http(s) one."""
    if _is_urn(base_url):
        return f"{_namespace(base_url, 'auditevent')}:{event.pk}"
    return f"{base_url.rstrip('/')}/AuditEvent/{event.pk}"


def bundle(events: Iterable[AuditEvent], *, base_url: str = DEFAULT_BASE_URL) -> JSON:
    """A FHIR R5 Bundle of type "collection": one AuditEvent per event, in the given order."""
    result: JSON = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _instant(timezone.now()),
    }
    entries = [
        {
            "fullUrl": full_url(event, base_url=base_url),
            "resource": to_fhir(event, base_url=base_url),
        }
        for event in events
    ]
    if entries:  # FHIR JSON has no empty arrays
        result["entry"] = entries
    return result


# --- The resource ---------------------------------------------------------------------------------


def _to_fhir(event: AuditEvent, base_url: str) -> JSON:
    kind = _kind(event.action)
    entities, has_data, has_query = _entities(event, kind, base_url)
    resource: JSON = {"resourceType": "AuditEvent"}
    if event.pk is not None:
        resource["id"] = str(event.pk)
    profile = _profile(event, kind, has_data=has_data, has_query=has_query)
    if profile:
        resource["meta"] = {"profile": [BALP_PROFILE + profile]}
    if kind.category:
        resource["category"] = [_concept(coding) for coding in kind.category]
    codings = [kind.code] if kind.code else []
    codings.append(_coding(ACTION_SYSTEM, event.action, event.action_label))
    resource["code"] = _concept(*codings, text=event.action_label)
    resource["action"] = kind.action
    resource["severity"] = _severity(event, kind)
    # One time is stamped per event, in the transaction that writes it (R61): it is both when the
    # action happened and when it was recorded.
    when = _instant(event.occurred_at)
    resource["occurredDateTime"] = when
    resource["recorded"] = when
    resource["outcome"] = _outcome(event)
    authorization = _authorization(event)
    if authorization:
        resource["authorization"] = authorization
    if event.patient_id is not None:
        resource["patient"] = _patient_reference(event.patient_id, base_url)
    resource["agent"] = _agents(event, kind, base_url, authorization)
    resource["source"] = {
        "observer": _source_system(event, base_url),
        "type": [_concept(APPLICATION_SERVER)],
    }
    if entities:
        resource["entity"] = entities
    return resource


def _profile(event: AuditEvent, kind: _Kind, *, has_data: bool, has_query: bool) -> str:
    """The BALP profile the event conforms to, or "" when none fits (see the module docstring)."""
    if event.outcome != Outcome.GRANTED or not event.client_address:
        return ""
    patient = "Patient" if event.patient_id is not None else ""
    if kind.interaction == "search-type" and has_query:
        return f"{patient}Query"
    if kind.interaction in ("read", "create", "update") and has_data:
        return f"{patient}{kind.interaction.capitalize()}"
    # BALP's delete profile is closed to the details Lyfta records; history has no BALP pattern.
    return ""


def _severity(event: AuditEvent, kind: _Kind) -> str:
    """Syslog severities, as R5 names them."""
    if event.outcome == Outcome.DENIED:
        return "warning"
    if event.outcome != Outcome.GRANTED:
        return "error"
    if SECURITY_ALERT in kind.category:
        # Emergency access and changes to audit settings are normal but significant (R52, R62).
        return "notice"
    return "informational"


def _outcome(event: AuditEvent) -> JSON:
    code, display = _OUTCOMES.get(event.outcome, _OUTCOMES[Outcome.ERROR])
    return {
        "code": _coding(AUDIT_EVENT_OUTCOME, code, display),
        "detail": [
            _concept(
                _coding(OUTCOME_SYSTEM, event.outcome, _label(Outcome, event.outcome)),
                text=_label(Outcome, event.outcome),
            )
        ],
    }


def _authorization(event: AuditEvent) -> list[JSON]:
    """The purpose of use, and break-the-glass when emergency access allowed the action."""
    if not event.purpose:
        return []
    emergency = event.legal_basis == LegalBasis.EMERGENCY
    lyfta = _coding(PURPOSE_SYSTEM, event.purpose, _label(Purpose, event.purpose))
    if emergency and event.purpose == Purpose.CARE:
        standard: JSON | None = EMERGENCY_TREATMENT
    elif event.purpose in _PURPOSES:
        standard = _coding(ACT_REASON, *_PURPOSES[event.purpose])
    else:
        standard = None
    codings = [standard, lyfta] if standard else [lyfta]
    result = [_concept(*codings, text=_label(Purpose, event.purpose))]
    if emergency:
        result.append(_concept(BREAK_THE_GLASS))
    return result


# --- Agents ---------------------------------------------------------------------------------------


def _agents(event: AuditEvent, kind: _Kind, base_url: str, authorization: list[JSON]) -> list[JSON]:
    agents: list[JSON] = []
    if event.actor_id is not None:
        agents.append(_user_agent(event, kind, base_url, authorization))
        organisation = _organisation_agent(event, base_url)
        if organisation:
            agents.append(organisation)
    elif event.actor_username.startswith("system:"):
        # A job or management command (`Actor.system`): DICOM's "Application" participant.
        agents.append(
            {
                "type": _concept(APPLICATION),
                "who": {
                    "identifier": {
                        "system": _namespace(base_url, "system-actor"),
                        "value": event.actor_username,
                    },
                    "display": event.actor_username,
                },
                "requestor": True,
                **({"authorization": copy.deepcopy(authorization)} if authorization else {}),
            }
        )
    else:
        # No signed-in user: a failed sign-in names the username attempted (R22), if any.
        who: JSON = {"display": "unknown"}
        if event.actor_username:
            who = {
                "identifier": {
                    "system": _namespace(base_url, "user"),
                    "value": event.actor_username,
                }
            }
        agents.append({"type": _concept(HUMAN_USER), "who": who, "requestor": True})
    if event.client_address:
        agents.extend(_network_agents(event, kind, base_url))
    return agents


def _user_agent(event: AuditEvent, kind: _Kind, base_url: str, authorization: list[JSON]) -> JSON:
    """BALP's agent[user]: who (username and name snapshot), the role and title held, the purpose,
    the care unit of the assignment as location and the assignment itself as the policy acted
    under. No network address: BALP puts that on the client agent ("users are not network
    devices")."""
    if kind.interaction in ("create", "update", "delete"):
        types = [AUTHOR, HUMAN_USER]
    elif kind.interaction:
        types = [IRCP, HUMAN_USER]
    else:
        types = [HUMAN_USER]
    who: JSON = {
        "identifier": {"system": _namespace(base_url, "user"), "value": event.actor_username}
    }
    if event.actor_name:
        who["display"] = event.actor_name
    agent: JSON = {"type": _concept(*types), "who": who, "requestor": True}
    roles: list[JSON] = []
    if event.actor_role:
        label = _label(Role, event.actor_role)
        roles.append(_concept(_coding(ROLE_SYSTEM, event.actor_role, label), text=label))
    if event.actor_title:
        roles.append({"text": event.actor_title})
    if roles:
        agent["role"] = roles
    if event.actor_unit_id is not None:
        # R5 agent.location is a Reference(Location); the care unit is named by identifier.
        location: JSON = {
            "identifier": {
                "system": _namespace(base_url, "unit"),
                "value": str(event.actor_unit_id),
            }
        }
        if event.actor_unit_name:
            location["display"] = event.actor_unit_name
        agent["location"] = location
    if event.assignment_id is not None:
        agent["policy"] = [f"{_namespace(base_url, 'assignment')}:{event.assignment_id}"]
    if authorization:
        agent["authorization"] = copy.deepcopy(authorization)
    return agent


def _organisation_agent(event: AuditEvent, base_url: str) -> JSON | None:
    """BALP's agent[userorg]: the care provider of the user's assignment, by organisation number
    (Lyfta's own id when the number is missing)."""
    if event.actor_provider_orgno:
        identifier: JSON = {
            "type": _concept(_coding(IDENTIFIER_TYPE, "XX", "Organization identifier")),
            "system": ORGANISATION_NUMBER,
            # Ten digits, as HL7 Sweden writes it; Lyfta stores NNNNNN-NNNN.
            "value": event.actor_provider_orgno.replace("-", ""),
        }
    elif event.actor_provider_id is not None:
        identifier = {
            "system": _namespace(base_url, "provider"),
            "value": str(event.actor_provider_id),
        }
    else:
        return None
    return {
        "type": _concept(HEALTHCARE_PROVIDER),
        "who": {"type": "Organization", "identifier": identifier},
        "requestor": False,
    }


def _network_agents(event: AuditEvent, kind: _Kind, base_url: str) -> list[JSON]:
    """BALP's agent[client] and agent[server]. DICOM names the roles by the direction of the data:
    in a read the server is the source and the client the destination; otherwise (create, update,
    query parameters, a sign-in) the client is the source."""
    reads = kind.action == "R"
    client_type = DESTINATION_ROLE if reads else SOURCE_ROLE
    server_type = SOURCE_ROLE if reads else DESTINATION_ROLE
    return [
        {
            "type": _concept(client_type),
            # The browser or API client is known only by its address.
            "who": {"display": f"client of {event.source_system}"},
            "requestor": False,
            "networkString": event.client_address,
        },
        {
            "type": _concept(server_type),
            "who": _source_system(event, base_url),
            "requestor": False,
            "networkUri": base_url,
        },
    ]


def _source_system(event: AuditEvent, base_url: str) -> JSON:
    return {
        "identifier": {
            "system": _namespace(base_url, "source-system"),
            "value": event.source_system,
        },
        "display": event.source_system,
    }


# --- Entities -------------------------------------------------------------------------------------


def _entities(event: AuditEvent, kind: _Kind, base_url: str) -> tuple[list[JSON], bool, bool]:
    """The patient, the object acted on (with the information owner, the legal basis and the
    names of changed fields as details), the search parameters and the X-Request-Id."""
    entities: list[JSON] = []
    patient: JSON | None = None
    data: JSON | None = None
    if event.patient_id is not None:
        patient = {
            "what": _patient_reference(event.patient_id, base_url),
            "role": _concept(PATIENT_ROLE),
        }
        entities.append(patient)
    if event.resource_type:
        value = event.resource_type
        if event.resource_id:
            value = f"{event.resource_type}/{event.resource_id}"
        data = {
            "what": {"identifier": {"system": _namespace(base_url, "resource"), "value": value}},
            "role": _concept(DOMAIN_RESOURCE_ROLE),
        }
        entities.append(data)
    details = _details(event)
    if details:
        holder = data or patient
        if holder is None:
            # Nothing to attach them to (e.g. changed audit settings): an entity of details only.
            holder = {}
            entities.append(holder)
        holder["detail"] = details
    has_query = kind.query
    if has_query:
        entities.append({"role": _concept(QUERY_ROLE), "query": _query(event)})
    if event.request_id:
        entities.append(
            {"what": {"identifier": {"value": event.request_id}}, "role": _concept(X_REQUEST_ID)}
        )
    return entities, data is not None, has_query


def _details(event: AuditEvent) -> list[JSON]:
    details: list[JSON] = []
    # Ids as strings: FHIR integer is 32 bits, Lyfta's ids are 64.
    if event.owner_provider_id is not None:
        details.append(_detail("owner_provider", valueString=str(event.owner_provider_id)))
    if event.owner_unit_id is not None:
        details.append(_detail("owner_unit", valueString=str(event.owner_unit_id)))
    if event.legal_basis:
        label = _label(LegalBasis, event.legal_basis)
        basis = _concept(_coding(LEGAL_BASIS_SYSTEM, event.legal_basis, label), text=label)
        details.append(_detail("legal_basis", valueCodeableConcept=basis))
    if event.legal_basis_ref:
        details.append(_detail("legal_basis_ref", valueString=event.legal_basis_ref))
    # Which fields changed, never their values (BALP minimal, R60).
    changes = event.changes if isinstance(event.changes, dict) else {}
    for name in sorted(str(key) for key in changes):
        details.append(_detail("changed_field", valueString=name))
    return details


def _detail(name: str, **value: Any) -> JSON:
    return {"type": {"text": name}, **value}


def _query(event: AuditEvent) -> str:
    """The search parameters, as canonical JSON in base64 (BALP: the request as made, never the
    results). The JSON rather than a URL query string: Lyfta's searches are forms, not FHIR URLs."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    parameters = {key: value for key, value in detail.items() if key in _SEARCH_PARAMETERS}
    text = json.dumps(
        parameters, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return base64.b64encode(text.encode()).decode("ascii")


def _patient_reference(patient_id: int, base_url: str) -> JSON:
    return {
        "type": "Patient",
        "identifier": {"system": _namespace(base_url, "patient"), "value": str(patient_id)},
    }


# --- Helpers --------------------------------------------------------------------------------------


def _is_urn(base_url: str) -> bool:
    return base_url.lower().startswith("urn:")


def _namespace(base_url: str, name: str) -> str:
    """`urn:lyfta` + `patient` → `urn:lyfta:patient`; `https://h/lyfta` → `https://h/lyfta/patient`."""
    if _is_urn(base_url):
        return f"{base_url.rstrip(':')}:{name}"
    return f"{base_url.rstrip('/')}/{name}"


def _instant(value: dt.datetime) -> str:
    """A FHIR instant in UTC with milliseconds (R58, R59): 2025-03-01T09:15:02.123Z."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _label(choices: type[models.TextChoices], value: str) -> str:
    """The Swedish label of a TextChoices value, or the value itself for one no longer defined."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value
