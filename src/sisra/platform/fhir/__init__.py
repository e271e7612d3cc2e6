"""FHIR R4 API (``/fhir/r4``) over API v1's services: see docs/interop.md."""
