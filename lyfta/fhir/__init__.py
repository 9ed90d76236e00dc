"""FHIR R5 under /fhir/ (issue 18 point 2): the integration API's machine clients read devices,
holdings, order lines and deliveries as FHIR resources, through the same tokens, access layer and
audit as the API. See docs/operations.md, "FHIR R5"."""
