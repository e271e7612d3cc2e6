"""How the FHIR routes appear in the app's OpenAPI: FHIR JSON bodies, OperationOutcome errors.

The schemas are deliberately loose (``resourceType`` and the shape of an OperationOutcome):
the FHIR specification and FR Core are the reference for the resources themselves; the API
fuzzing checks statuses and content types against these declarations.
"""

from typing import Any

from sisra.platform.fhir.codes import MEDIA_TYPE

OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {"type": "array", "items": {"type": "object"}},
    },
}

_ERRORS = {
    400: "Recherche trop large : pas assez de traits pour désigner un patient",
    401: "Authentification requise (WWW-Authenticate: Bearer)",
    403: "Accès refusé (même politique que l'API v1)",
    404: "Ressource introuvable",
    406: "Format demandé non disponible (_format, Accept)",
    408: "Corps de la requête interrompu (plus de données reçues)",
    409: "Conflit avec l'état actuel",
    413: "Document trop volumineux",
    415: "Type de contenu non pris en charge",
    422: "Requête invalide",
    429: "Trop de tentatives",
}


def resource_schema(kind: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": [kind]}},
    }


def _outcome(description: str) -> dict[str, Any]:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": OUTCOME_SCHEMA}}}


def _errors(auth: bool) -> dict[int | str, dict[str, Any]]:
    wanted = _ERRORS if auth else {k: v for k, v in _ERRORS.items() if k in (406, 422)}
    return {status: _outcome(text) for status, text in wanted.items()}


def responses(kind: str, *, auth: bool = True, created: bool = False) -> dict[int | str, Any]:
    ok = {"content": {MEDIA_TYPE: {"schema": resource_schema(kind)}}}
    out: dict[int | str, Any] = {}
    if created:
        out[201] = {"description": f"{kind} créé (en-tête Location)", **ok}
        out[503] = _outcome("Document source endommagé sur le serveur")
        out[507] = _outcome("Stockage indisponible : rien n'a été créé")
    else:
        out[200] = {"description": kind, **ok}
    out.update(_errors(auth))
    return out


def binary_responses() -> dict[int | str, Any]:
    pdf_or_fhir = {
        "application/pdf": {},
        MEDIA_TYPE: {"schema": resource_schema("Binary")},
    }
    return {
        200: {"description": "Le PDF, ou la ressource Binary (base64)", "content": pdf_or_fhir},
        206: {"description": "Une plage du PDF (Range)", "content": {"application/pdf": {}}},
        304: {"description": "Inchangé (If-None-Match)"},
        416: _outcome("Plage d'octets invalide"),
        503: _outcome("Document endommagé sur le serveur"),
        **_errors(True),
    }


DOCUMENT_REFERENCE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "DocumentReference à partager (voir docs/interop.md)",
        "content": {MEDIA_TYPE: {"schema": resource_schema("DocumentReference")}},
    }
}
