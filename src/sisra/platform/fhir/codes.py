"""Systems, codes and profiles of the FHIR R4 API (FHIR 4.0.1, FR Core 2.2.0).

Sources: the FHIR R4 specification (4.0.1) and the « Guide d'implémentation FR Core » of
Interop'Santé, release 2.2.0 (its profiles, its identifier-type code system
``fr-core-cs-v2-0203``, its identity-reliability extension, its RNIV identity-status code
system ``fr-core-cs-identity-status`` — PROV, RECUP, VALI, QUAL — and its e-mail type
extension ``fr-core-contact-point-email-type``, bound to the NOS TRE_R256-TypeMessagerie).
The platform claims 2.2.0 because it uses those 2.2.0 code systems (decision 108, 138).
"""

from sisra.common.ins import OID_NIA, OID_NIR, OID_NIR_DEMO, OID_NIR_TEST
from sisra.platform.models import IdentityStatus, Sex

FHIR_VERSION = "4.0.1"
FR_CORE_VERSION = "2.2.0"
MEDIA_TYPE = "application/fhir+json"

FR_CORE = "https://hl7.fr/ig/fhir/core"
PROFILE_PATIENT = f"{FR_CORE}/StructureDefinition/fr-core-patient"
PROFILE_PATIENT_INS = f"{FR_CORE}/StructureDefinition/fr-core-patient-ins"
PROFILE_PRACTITIONER = f"{FR_CORE}/StructureDefinition/fr-core-practitioner"

EXT_IDENTITY_RELIABILITY = f"{FR_CORE}/StructureDefinition/fr-core-identity-reliability"
EXT_BIRTH_LIST_GIVEN_NAME = f"{FR_CORE}/StructureDefinition/fr-core-patient-birth-list-given-name"
EXT_INSEE_CODE = f"{FR_CORE}/StructureDefinition/fr-core-address-insee-code"
# ContactPoint e-mail type (FR Core 2.2.0 fr-core-contact-point): an MSSanté mailbox
EXT_EMAIL_TYPE = f"{FR_CORE}/StructureDefinition/fr-core-contact-point-email-type"
CS_EMAIL_TYPE = (
    "https://mos.esante.gouv.fr/NOS/TRE_R256-TypeMessagerie/FHIR/TRE-R256-TypeMessagerie"
)
EMAIL_TYPE_MSSANTE = (
    "MSSANTE",
    "Espace de confiance des messageries sécurisées de santé se conformant aux exigences "
    "du contrat opérateur MSSanté",
)
EXT_BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"

CS_IDENTIFIER_TYPE = f"{FR_CORE}/CodeSystem/fr-core-cs-v2-0203"
CS_IDENTITY_STATUS = f"{FR_CORE}/CodeSystem/fr-core-cs-identity-status"
CS_COMMUNE = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
LOINC = "http://loinc.org"
# the CI-SIS document class (XDS classCode, JDV_J06 drawn from TRE_A03), the same codes the
# XDM archives use; the code system's URL as the ANS publishes it (decision 137)
CS_DOCUMENT_CLASS = (
    "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
)
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
# The platform's stable error codes (the API v1 ``code``) in OperationOutcome.issue.details.
CS_ERROR = "urn:sisra:fhir:error-code"

# Practitioner identifiers (FR Core fr-core-practitioner: slices idNatPs and rpps)
SYSTEM_IDNPS = "urn:oid:1.2.250.1.71.4.2.1"  # « 8 » + RPPS, « 0 » + ADELI
SYSTEM_RPPS = "https://rpps.esante.gouv.fr"

# INS: the OID of the matricule's kind -> (identifier type code, identifier use), as the
# slices of fr-core-patient-ins. The ANS names 1.2.250.1.213.1.4.11 the NIR of
# demonstration (INS-NIR-DEMO).
INS_TYPES: dict[str, tuple[str, str]] = {
    OID_NIR: ("INS-NIR", "official"),
    OID_NIA: ("INS-NIA", "temp"),
    OID_NIR_TEST: ("INS-NIR-TEST", "official"),
    OID_NIR_DEMO: ("INS-NIR-DEMO", "official"),
}

IDENTITY_STATUS: dict[IdentityStatus, tuple[str, str]] = {
    IdentityStatus.provisoire: ("PROV", "Identité provisoire"),
    IdentityStatus.recuperee: ("RECUP", "Identité récupérée"),
    IdentityStatus.validee: ("VALI", "Identité validée"),
    IdentityStatus.qualifiee: ("QUAL", "Identité qualifiée"),
}

# FR Core's INS gender value set is male | female | unknown; « I » (indéterminé) is unknown.
GENDER: dict[Sex, str] = {Sex.M: "male", Sex.F: "female", Sex.I: "unknown"}
SEX_OF_GENDER: dict[str, Sex] = {"male": Sex.M, "female": Sex.F, "unknown": Sex.I}


def urn_oid(oid: str) -> str:
    return f"urn:oid:{oid}"
