"""``/fhir/r4``: FHIR R4 reads, searches and the share as DocumentReference create.

Thin routes over API v1's services: the same bearer tokens (``deps``), the same access
policy (``record`` and ``documents``) and the same audit rows; errors become OperationOutcome
at the edge (:mod:`sisra.platform.fhir.outcome`). Bodies are JSON built in
:mod:`sisra.platform.fhir.resources`.

The routes live by resource: :mod:`~sisra.platform.fhir.patient_routes` (Patient,
Practitioner), :mod:`~sisra.platform.fhir.document_routes` (DocumentReference, Binary); their
shared edge (negotiation, bundles, ids) is :mod:`~sisra.platform.fhir.route_helpers`.
"""

from fastapi import APIRouter
from fastapi.responses import Response

from sisra.platform.deps import AppSettings
from sisra.platform.fhir import capability, document_routes, openapi, patient_routes
from sisra.platform.fhir.route_helpers import PREFIX, Negotiated, base_url, fhir_json

router = APIRouter(tags=["fhir"])


# --- metadata -----------------------------------------------------------------------------


@router.get(f"{PREFIX}/metadata", responses=openapi.responses("CapabilityStatement", auth=False))
def metadata(settings: AppSettings, _: None = Negotiated) -> Response:
    """The CapabilityStatement (no authentication, as FHIR clients expect)."""
    return fhir_json(capability.capability_statement(base_url(settings)))


# in the order they were declared, so that paths match as before; each router carries the
# /fhir/r4 prefix itself (apidocs finds the secured routes by their full path)
router.include_router(patient_routes.router)
router.include_router(document_routes.router)
