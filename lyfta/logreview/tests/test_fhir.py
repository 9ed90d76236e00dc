"""The FHIR R5 AuditEvent export in IHE BALP patterns (R63), and what it never holds (R60).

Each produced resource is validated with the `fhir.resources` R5 models (a test-only package:
the export itself builds plain dicts)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from conftest import County, Persona
from lyfta.access.actor import Actor
from lyfta.audit.actions import Action
from lyfta.audit.context import audit_context
from lyfta.audit.models import AuditEvent, LegalBasis, Outcome
from lyfta.audit.services import record
from lyfta.logreview.fhir import bundle, full_url, to_fhir

BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
PATIENT_ID = 987_654_321  # distinctive, so that its absence from a JSON text means something


def validate(resource: dict[str, Any]) -> Any:
    """Parse `resource` with the fhir.resources R5 model of its type; fails on any invalid
    element, type or cardinality. Skipped where the package is not installed."""
    module = pytest.importorskip("fhir.resources")
    return module.get_fhir_model_class(resource["resourceType"]).model_validate(resource)


@pytest.fixture
def request_context() -> Iterator[None]:
    """A web request in progress: its X-Request-Id and the client's address."""
    with audit_context(
        source_system="lyfta-web", request_id="req-0123456789abcdef", client_address="10.1.2.3"
    ):
        yield


def codings(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def entity(resource: dict[str, Any], system: str, code: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        e for e in resource["entity"] if (system, code) in codings(e.get("role", {}))
    ]
    assert len(found) == 1, found
    return found[0]


def details(item: dict[str, Any]) -> dict[str, list[Any]]:
    result: dict[str, list[Any]] = {}
    for detail in item.get("detail", []):
        value = next(v for k, v in detail.items() if k.startswith("value"))
        result.setdefault(detail["type"]["text"], []).append(value)
    return result


def empties(value: Any, path: str = "") -> list[str]:
    """Paths of empty strings, arrays or objects: FHIR JSON has none (the R5 model lets them
    through, so the test looks itself)."""
    if value in ("", [], {}):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in empties(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in empties(v, f"{path}[{i}]")]
    return []


def agent(resource: dict[str, Any], system: str, code: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        a for a in resource["agent"] if (system, code) in codings(a.get("type", {}))
    ]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.django_db
@pytest.mark.usefixtures("request_context")
def test_r63_patient_read_by_a_user(alice: Persona, county: County) -> None:
    event = record(
        action=Action.PATIENT_READ,
        actor=alice.actor,
        patient_id=PATIENT_ID,
        resource_type="patients.patient",
        resource_id=PATIENT_ID,
        legal_basis=LegalBasis.RELATIONSHIP,
        legal_basis_ref="relationship:7",
        owner_provider_id=county.municipality.pk,
        owner_unit_id=county.unit_a.pk,
    )
    resource = to_fhir(event)
    parsed = validate(resource)
    assert parsed.id == str(event.pk)

    assert resource["meta"]["profile"] == [BALP + "PatientRead"]
    assert codings(resource["category"][0]) == {
        ("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest")
    }
    assert codings(resource["code"]) == {
        ("http://hl7.org/fhir/restful-interaction", "read"),
        ("https://lyfta.se/fhir/CodeSystem/audit-action", "patient.read"),
    }
    assert resource["code"]["text"] == "Patientuppgifter lästa"
    assert (resource["action"], resource["severity"]) == ("R", "informational")
    assert resource["outcome"]["code"]["code"] == "0"
    assert resource["recorded"].endswith("Z") and len(resource["recorded"]) == 24
    assert (ACT_REASON, "TREAT") in codings(resource["authorization"][0])
    assert resource["patient"]["identifier"] == {
        "system": "urn:lyfta:patient",
        "value": str(PATIENT_ID),
    }

    user = agent(resource, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")
    assert user["who"] == {
        "identifier": {"system": "urn:lyfta:user", "value": "alice"},
        "display": "Alice Ask",
    }
    assert user["requestor"] is True
    assert ("https://lyfta.se/fhir/CodeSystem/role", "prescriber") in codings(user["role"][0])
    assert user["location"]["identifier"]["value"] == str(county.unit_a.pk)
    assert user["location"]["display"] == "Hemsjukvården Testköping"
    assert "networkString" not in user  # BALP: users are not network devices
    organisation = agent(resource, "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "PROV")
    assert organisation["who"]["identifier"]["system"] == "urn:oid:2.5.4.97"
    assert organisation["who"]["identifier"]["value"] == (
        county.municipality.organisation_number.replace("-", "")
    )
    client = agent(resource, DCM, "110152")  # a read: the client is the destination
    assert client["networkString"] == "10.1.2.3"
    assert agent(resource, DCM, "110153")["who"]["display"] == "lyfta-web"
    assert resource["source"]["observer"]["display"] == "lyfta-web"

    patient = entity(resource, OBJECT_ROLE, "1")
    assert patient["what"]["identifier"]["value"] == str(PATIENT_ID)
    data = entity(resource, OBJECT_ROLE, "4")
    assert data["what"]["identifier"]["value"] == f"patients.patient/{PATIENT_ID}"
    assert details(data) == {
        "owner_provider": [str(county.municipality.pk)],
        "owner_unit": [str(county.unit_a.pk)],
        "legal_basis": [
            {
                "coding": [
                    {
                        "system": "https://lyfta.se/fhir/CodeSystem/legal-basis",
                        "code": "relationship",
                        "display": "Vårdrelation",
                    }
                ],
                "text": "Vårdrelation",
            }
        ],
        "legal_basis_ref": ["relationship:7"],
    }
    transaction = entity(
        resource,
        "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
        "XrequestId",
    )
    assert transaction["what"]["identifier"]["value"] == "req-0123456789abcdef"


@pytest.mark.django_db
@pytest.mark.usefixtures("request_context")
def test_r63_denied_access_is_a_minor_failure_with_a_warning(alice: Persona) -> None:
    event = record(
        action=Action.PATIENT_ACCESS_DENIED,
        actor=alice.actor,
        outcome=Outcome.DENIED,
        patient_id=PATIENT_ID,
        resource_type="patients.patient",
        resource_id=PATIENT_ID,
        detail={"reason": "no_relationship", "review": False},
    )
    resource = to_fhir(event)
    validate(resource)
    assert resource["outcome"]["code"] == {
        "system": "http://terminology.hl7.org/CodeSystem/audit-event-outcome",
        "code": "4",
        "display": "Minor failure",
    }
    assert resource["severity"] == "warning"
    assert resource["action"] == "R"
    # BALP's profiles are for successful actions: "failures are recorded differently".
    assert "meta" not in resource


@pytest.mark.django_db
@pytest.mark.usefixtures("request_context")
def test_r63_failed_login_is_a_user_authentication_event_without_patient() -> None:
    event = record(
        action=Action.LOGIN_FAILED,
        actor=None,
        outcome=Outcome.DENIED,
        username="mallory",
        detail={"method": "password", "reason": "bad_credentials"},
    )
    resource = to_fhir(event)
    validate(resource)
    assert codings(resource["category"][0]) == {(DCM, "110114")}
    assert (DCM, "110122") in codings(resource["code"])
    assert (resource["action"], resource["outcome"]["code"]["code"]) == ("E", "4")
    assert "patient" not in resource and "authorization" not in resource
    person = agent(
        resource, "http://terminology.hl7.org/CodeSystem/extra-security-role-type", "humanuser"
    )
    assert person["who"]["identifier"]["value"] == "mallory"
    assert agent(resource, DCM, "110153")["networkString"] == "10.1.2.3"
    assert not any(
        (OBJECT_ROLE, "1") in codings(e.get("role", {})) for e in resource.get("entity", [])
    )


@pytest.mark.django_db
def test_r63_emergency_access_is_a_security_alert(alice: Persona) -> None:
    started = record(
        action=Action.EMERGENCY_STARTED,
        actor=alice.actor,
        patient_id=PATIENT_ID,
        resource_type="patients.emergencyaccess",
        resource_id=5,
        legal_basis=LegalBasis.EMERGENCY,
        legal_basis_ref="emergency:5",
        detail={"reason_code": "unconscious", "review": True},
    )
    ended = record(
        action=Action.EMERGENCY_ENDED,
        actor=alice.actor,
        patient_id=PATIENT_ID,
        resource_type="patients.emergencyaccess",
        resource_id=5,
        legal_basis=LegalBasis.EMERGENCY,
        legal_basis_ref="emergency:5",
    )
    start, end = to_fhir(started), to_fhir(ended)
    validate(start)
    validate(end)
    assert codings(start["category"][0]) == {(DCM, "110113")}
    assert (DCM, "110127") in codings(start["code"])
    assert (DCM, "110138") in codings(end["code"])
    assert (start["action"], start["severity"]) == ("E", "notice")
    purposes = set().union(*(codings(c) for c in start["authorization"]))
    assert {(ACT_REASON, "ETREAT"), (ACT_REASON, "BTG")} <= purposes
    data = entity(start, OBJECT_ROLE, "4")
    assert details(data)["legal_basis_ref"] == ["emergency:5"]


@pytest.mark.django_db
@pytest.mark.usefixtures("request_context")
def test_r63_patient_search_records_the_parameters_never_the_results(alice: Persona) -> None:
    event = record(
        action=Action.PATIENT_SEARCHED,
        actor=alice.actor,
        detail={"kind": "name", "query": "Sven", "shown": [PATIENT_ID, 55_502_345]},
    )
    resource = to_fhir(event)
    validate(resource)
    assert resource["meta"]["profile"] == [BALP + "Query"]  # no patient named in the request
    assert (resource["action"], resource["code"]["coding"][0]["code"]) == ("E", "search-type")
    query = entity(resource, OBJECT_ROLE, "24")
    assert "what" not in query
    assert json.loads(base64.b64decode(query["query"])) == {"kind": "name", "query": "Sven"}
    text = json.dumps(resource)
    assert str(PATIENT_ID) not in text
    assert "55502345" not in text
    assert "shown" not in text


@pytest.mark.django_db
@pytest.mark.usefixtures("request_context")
def test_r63_a_search_of_the_log_uses_the_audit_log(lena: Persona) -> None:
    event = record(
        action=Action.AUDIT_SEARCHED,
        actor=lena.actor,
        patient_id=PATIENT_ID,
        detail={"from": "2025-01-01", "until": "2025-01-31", "patient": PATIENT_ID, "shown": 17},
    )
    resource = to_fhir(event)
    validate(resource)
    assert resource["meta"]["profile"] == [BALP + "PatientQuery"]
    categories = set().union(*(codings(c) for c in resource["category"]))
    assert (DCM, "110101") in categories
    assert (ACT_REASON, "HCOMPL") in codings(resource["authorization"][0])
    query = json.loads(base64.b64decode(entity(resource, OBJECT_ROLE, "24")["query"]))
    assert query == {"from": "2025-01-01", "until": "2025-01-31", "patient": PATIENT_ID}


@pytest.mark.django_db
def test_r63_system_event_has_an_application_agent() -> None:
    event = record(
        action=Action.AUDIT_PRUNED,
        actor=Actor.system("test"),
        detail={"deleted": 12, "before": "2020-01-01"},
    )
    resource = to_fhir(event)
    validate(resource)
    [application] = resource["agent"]
    assert codings(application["type"]) == {(DCM, "110150")}
    assert application["who"]["identifier"]["value"] == "system:test"
    assert application["requestor"] is True
    assert (ACT_REASON, "HSYSADMIN") in codings(resource["authorization"][0])
    assert resource["action"] == "D"
    assert resource["source"]["type"][0]["coding"][0]["code"] == "4"


@pytest.mark.django_db
@pytest.mark.usefixtures("request_context")
def test_r63_r60_changes_are_exported_as_field_names_only(alice: Persona) -> None:
    event = record(
        action=Action.PATIENT_CORRECTED,
        actor=alice.actor,
        patient_id=PATIENT_ID,
        resource_type="patients.patient",
        resource_id=PATIENT_ID,
        changes={
            "last_name": ["Hemligsson", "Nyförnamnsson"],
            "phone": ["070-1111111", "070-2222222"],
        },
    )
    resource = to_fhir(event)
    validate(resource)
    assert resource["meta"]["profile"] == [BALP + "PatientUpdate"]
    assert resource["action"] == "U"
    author = agent(resource, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "AUT")
    assert author["who"]["identifier"]["value"] == "alice"
    assert details(entity(resource, OBJECT_ROLE, "4"))["changed_field"] == ["last_name", "phone"]
    text = json.dumps(resource, ensure_ascii=False)
    for value in ("Hemligsson", "Nyförnamnsson", "070-1111111", "070-2222222"):
        assert value not in text


@pytest.mark.django_db
def test_r60_no_session_hash_free_text_or_secrets_in_the_export(alice: Persona) -> None:
    request = RequestFactory().get("/")
    session = SessionStore()
    session.create()
    request.session = session
    with audit_context(request=request, request_id="req-1", client_address="10.9.9.9"):
        event = record(
            action=Action.NEED_DOCUMENTED,
            actor=alice.actor,
            patient_id=PATIENT_ID,
            resource_type="patients.documentedneed",
            resource_id=3,
            legal_basis=LegalBasis.NEED,
            detail={
                "reason_code": "other",
                "reason_text": "Patienten ringde om sin rullstol och nämnde sin diagnos",
                "password": "hunter2-secret",
            },
        )
    assert event.session_hash
    text = json.dumps(to_fhir(event), ensure_ascii=False)
    assert event.session_hash not in text
    assert session.session_key is not None and session.session_key not in text
    for value in ("rullstol", "hunter2-secret", "reason_text", "password"):
        assert value not in text


@pytest.mark.django_db
@pytest.mark.usefixtures("request_context")
def test_r63_a_bundle_of_several_events_validates(alice: Persona, county: County) -> None:
    events = [
        record(
            action=Action.PATIENT_READ,
            actor=alice.actor,
            patient_id=PATIENT_ID,
            resource_type="patients.patient",
            resource_id=PATIENT_ID,
            legal_basis=LegalBasis.RELATIONSHIP,
        ),
        record(
            action=Action.LOGIN_FAILED,
            actor=None,
            outcome=Outcome.DENIED,
            username="mallory",
        ),
        record(action=Action.UNIT_UPDATED, actor=alice.actor, target=county.unit_a),
        record(
            action=Action.AUDIT_SETTINGS_CHANGED,
            actor=Actor.system("test"),
            changes={"ship_to": ["syslog-tls", ""]},
        ),
    ]
    result = bundle(events)
    parsed = validate(result)
    assert (result["resourceType"], result["type"]) == ("Bundle", "collection")
    assert [entry["fullUrl"] for entry in result["entry"]] == [
        f"urn:lyfta:auditevent:{event.pk}" for event in events
    ]
    assert [entry.resource.id for entry in parsed.entry] == [str(event.pk) for event in events]
    assert [entry["resource"]["resourceType"] for entry in result["entry"]] == ["AuditEvent"] * 4
    assert not empties(result)
    # Changed audit settings have no object to hang on: an entity of details only, names only.
    settings = result["entry"][3]["resource"]
    assert details(settings["entity"][0]) == {"changed_field": ["ship_to"]}
    assert "syslog-tls" not in json.dumps(settings)
    validate(bundle([]))


@pytest.mark.django_db
def test_r63_an_http_base_url_names_identifiers_and_full_urls(alice: Persona) -> None:
    event = record(action=Action.PATIENT_READ, actor=alice.actor, patient_id=PATIENT_ID)
    base = "https://lyfta.example.se/fhir"
    resource = to_fhir(event, base_url=base)
    validate(resource)
    assert resource["patient"]["identifier"]["system"] == f"{base}/patient"
    assert full_url(event, base_url=base) == f"{base}/AuditEvent/{event.pk}"


@pytest.mark.django_db
@pytest.mark.usefixtures("request_context")
def test_r63_every_action_exports_as_a_valid_audit_event(alice: Persona) -> None:
    """Every action Lyfta records, as a user's and as a job's, gives a valid R5 AuditEvent with
    its own code kept beside any standard one."""
    for action in Action:
        for actor in (alice.actor, Actor.system("test")):
            event = record(
                action=action,
                actor=actor,
                patient_id=PATIENT_ID,
                resource_type="patients.patient",
                resource_id=PATIENT_ID,
                changes={"status": ["a", "b"]},
                detail={"kind": "name", "query": "x"},
            )
            resource = to_fhir(event)
            validate(resource)
            assert not empties(resource), (action, empties(resource))
            assert ("https://lyfta.se/fhir/CodeSystem/audit-action", action.value) in codings(
                resource["code"]
            )
            assert resource["action"] in {"C", "R", "U", "D", "E"}
    assert AuditEvent.objects.count() == 2 * len(Action)
