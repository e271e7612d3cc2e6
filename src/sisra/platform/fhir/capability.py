"""The CapabilityStatement: exactly the interactions and searches the routes implement."""

from datetime import UTC, datetime
from typing import Any

from sisra import __version__
from sisra.platform.fhir import codes

_COMMON_SEARCH = [
    {"name": "_id", "type": "token", "documentation": "Identifiant de la ressource."},
    {
        "name": "_count",
        "type": "number",
        "documentation": "Taille de page (0 à 100, 20 par défaut).",
    },
    {
        "name": "_summary",
        "type": "token",
        "documentation": "count : le nombre de résultats seul.",
    },
]


def _param(name: str, kind: str, doc: str) -> dict[str, str]:
    return {"name": name, "type": kind, "documentation": doc}


RESOURCES: list[dict[str, Any]] = [
    {
        "type": "Patient",
        "profile": codes.PROFILE_PATIENT,
        "supportedProfile": [codes.PROFILE_PATIENT_INS],
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            _param(
                "identifier",
                "token",
                "INS d'une identité qualifiée : urn:oid:1.2.250.1.213.1.4.8|<NIR> (NIA : "
                "1.2.250.1.213.1.4.9 ; test : .10 et .11). Ne se combine pas aux traits.",
            ),
            _param(
                "family",
                "string",
                "Début du nom de naissance ou d'usage : 2 lettres au moins avec birthdate, "
                "3 lettres au moins avec given.",
            ),
            _param("given", "string", "Début du premier prénom (3 lettres au moins)."),
            _param("birthdate", "date", "Date de naissance exacte (AAAA-MM-JJ, préfixe eq admis)."),
            _param("gender", "token", "male | female | unknown (ne suffit jamais seul)."),
            *_COMMON_SEARCH,
        ],
        "documentation": (
            "La recherche retrouve un patient, elle ne liste pas la région : identifier ; ou "
            "family et birthdate ; ou family et given. 20 patients au plus par recherche "
            "(précisez-la au-delà), un nombre limité de recherches par heure. Préférez "
            "POST Patient/_search (paramètres dans le corps, "
            "application/x-www-form-urlencoded) : les traits ne paraissent dans aucune URL."
        ),
    },
    {
        "type": "Practitioner",
        "profile": codes.PROFILE_PRACTITIONER,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            _param(
                "identifier",
                "token",
                f"{codes.SYSTEM_IDNPS}|<8+RPPS ou 0+ADELI> ou {codes.SYSTEM_RPPS}|<RPPS>.",
            ),
            _param("family", "string", "Début du nom (sans accents ni casse)."),
            _param("given", "string", "Début du prénom."),
            _param("name", "string", "Mots du nom, du prénom, de la ville ou de la spécialité."),
            *_COMMON_SEARCH,
        ],
    },
    {
        "type": "DocumentReference",
        "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "create"}],
        "versioning": "versioned",
        "conditionalCreate": True,
        "searchParam": [
            _param(
                "identifier",
                "token",
                "masterIdentifier donné à la création (<système>|<valeur>) ; seul, il "
                "retrouve les documents que l'appelant a partagés.",
            ),
            _param(
                "patient",
                "reference",
                "Patient/<id>, ou chaînée par INS d'une identité qualifiée : "
                "patient.identifier=urn:oid:1.2.250.1.213.1.4.8|<NIR>. Seuls les documents "
                "que l'appelant peut voir sont rendus.",
            ),
            _param(
                "date",
                "date",
                "Date de partage (DocumentReference.date) : AAAA[-MM[-JJ[Thh:mm:ssZ]]], "
                "préfixes eq, ne, ge, gt, le, lt, sa, eb.",
            ),
            _param("period", "date", "Date du document (context.period), mêmes préfixes."),
            _param(
                "type",
                "token",
                "Code LOINC (http://loinc.org|<code>), plusieurs séparés par des virgules.",
            ),
            *_COMMON_SEARCH,
        ],
        "documentation": (
            "create = partage : le PDF (content.attachment.data en base64, ou url Binary/<id> "
            "d'un document visible), le patient (subject), les destinataires (context.related, "
            "Practitioner/<id> ou identifiant RPPS / IdNat_PS), le type (LOINC), la date "
            "(context.period.start), securityLabel R pour un document restreint. En-tête "
            "Idempotency-Key accepté. "
            "Création conditionnelle : If-None-Exist: identifier=<système>|<valeur> (le "
            "masterIdentifier) rend le document déjà partagé (200) au lieu d'un doublon."
        ),
    },
    {
        "type": "Binary",
        "interaction": [{"code": "read"}],
        "documentation": "Le PDF (Accept: application/pdf) ou la ressource Binary "
        "(Accept: application/fhir+json).",
    },
]


def capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "publisher": "sisra",
        "kind": "instance",
        "software": {"name": "sisra", "version": __version__},
        "implementation": {"description": "API FHIR R4 de la plateforme Sisra", "url": base},
        "fhirVersion": codes.FHIR_VERSION,
        "format": ["json"],
        "implementationGuide": [
            f"{codes.FR_CORE}/ImplementationGuide/hl7.fhir.fr.core|{codes.FR_CORE_VERSION}"
        ],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                            "text": "Jeton d'accès de l'API v1 (Authorization: Bearer).",
                        }
                    ],
                    "description": "Mêmes jetons, même politique d'accès et même traçabilité "
                    "que l'API v1.",
                },
                "resource": RESOURCES,
                "documentation": (
                    "Recherche : en-tête Prefer: handling=strict pour refuser les paramètres "
                    "non pris en charge (400) ; sinon ils sont ignorés et listés dans un "
                    "avertissement du Bundle. POST <type>/_search (formulaire) partout."
                ),
            }
        ],
    }
