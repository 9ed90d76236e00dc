"""/fhir/: the FHIR R5 endpoint, and an OperationOutcome 404 for any other path under it."""

from __future__ import annotations

from django.urls import path, re_path

from lyfta.fhir import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("DeviceAssociation", views.device_association_search, name="deviceassociation_search"),
    path(
        "DeviceAssociation/_search",
        views.device_association_search,
        name="deviceassociation_post_search",
    ),
    path("Device", views.device_search, name="device_search"),
    path("Device/_search", views.device_search, name="device_post_search"),
    path("Device/<str:resource_id>", views.device_read, name="device"),
    path("DeviceDefinition", views.device_definition_search, name="devicedefinition_search"),
    path(
        "DeviceDefinition/_search",
        views.device_definition_search,
        name="devicedefinition_post_search",
    ),
    path(
        "DeviceDefinition/<str:resource_id>", views.device_definition_read, name="devicedefinition"
    ),
    path("DeviceRequest", views.device_request_search, name="devicerequest_search"),
    path("DeviceRequest/_search", views.device_request_search, name="devicerequest_post_search"),
    path("DeviceDispense", views.device_dispense_search, name="devicedispense_search"),
    path("DeviceDispense/_search", views.device_dispense_search, name="devicedispense_post_search"),
    path("Patient", views.patient_search, name="patient_get_search"),
    path("Patient/_search", views.patient_search, name="patient_search"),
    path("Patient/<str:resource_id>", views.patient_read, name="patient"),
    path("AuditEvent", views.audit_event, name="auditevent_search"),
    path("AuditEvent/<str:resource_id>", views.audit_event, name="auditevent"),
    re_path(r"^", views.not_found, name="not_found"),
]
