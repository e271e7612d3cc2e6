"""INS (Identifiant National de Santé): NIR or NIA, 15 characters, with its key.

The key is 97 - (first 13 characters as a number mod 97). Corsican birth departments
2A and 2B are replaced by 19 and 18 for the computation. The matricule's OID tells
whether it is a NIR, a NIA, or a NIR of the test or demonstration environments.
"""

import re
import uuid
from dataclasses import dataclass

OID_NIR = "1.2.250.1.213.1.4.8"
OID_NIA = "1.2.250.1.213.1.4.9"
OID_NIR_TEST = "1.2.250.1.213.1.4.10"
# the ANS's INS authorities: production NIR and NIA, then the NIRs of its test and
# demonstration environments (there is no test NIA: …4.11 is a NIR)
OID_NIR_DEMO = "1.2.250.1.213.1.4.11"
KNOWN_OIDS = frozenset({OID_NIR, OID_NIA, OID_NIR_TEST, OID_NIR_DEMO})

# sex digit (1 man, 2 woman, 3/4 provisional, 7/8 temporary NIA), year, month, department
# (2 digits, 2A/2B), commune or country (3), order (3), key (2)
_INS_RE = re.compile(r"^[1-478][0-9]{2}[0-9]{2}(?:[0-9]{2}|2A|2B)[0-9]{3}[0-9]{3}[0-9]{2}$")


class InvalidINS(ValueError):
    """The value is not a well-formed INS matricule or its key does not match."""


def ins_key(first13: str) -> int:
    """The two-digit control key of the first 13 characters of a NIR/NIA."""
    department = first13[5:7].upper()
    digits = first13
    if department == "2A":
        digits = first13[:5] + "19" + first13[7:]
    elif department == "2B":
        digits = first13[:5] + "18" + first13[7:]
    return 97 - (int(digits) % 97)


def normalize_ins(value: str) -> str:
    """Strip spaces and dots users type, upper-case Corsican letters."""
    return re.sub(r"[\s.]", "", value).upper()


def validate_ins(value: str) -> str:
    """Return the normalised INS, or raise :class:`InvalidINS` with a French reason."""
    ins = normalize_ins(value)
    if len(ins) != 15:
        raise InvalidINS("L'INS doit comporter 15 caractères (13 pour le numéro, 2 pour la clé).")
    if not _INS_RE.match(ins):
        raise InvalidINS("L'INS contient des caractères inattendus.")
    if int(ins[13:]) != ins_key(ins[:13]):
        raise InvalidINS("La clé de l'INS ne correspond pas au numéro : vérifiez la saisie.")
    return ins


def with_key(first13: str) -> str:
    """Complete a 13-character matricule with its key (used by the demo and tests)."""
    return f"{first13}{ins_key(first13):02d}"


@dataclass(frozen=True)
class INS:
    """A validated INS with the OID of its assigning authority."""

    value: str
    oid: str

    @classmethod
    def parse(cls, value: str, oid: str = OID_NIR) -> "INS":
        if oid not in KNOWN_OIDS:
            raise InvalidINS("L'OID de l'INS n'est pas reconnu.")
        return cls(validate_ins(value), oid)


# --------------------------------------------------------------------- what leaves the platform

# The identity statuses of the INS référentiel (RNIV), as the platform stores them.
QUALIFIED = "qualifiée"
IDENTITY_STATUSES = ("provisoire", "récupérée", "validée", QUALIFIED)
# The platform's own patient identifiers when the INS may not be given: the default OID of
# the ``SISRA_PATIENT_ID_OID`` setting, derived from a UUID (ITU-T X.667, arc 2.25) so that it
# is unique without registration; an operator with an OID of its own sets it instead.
DEFAULT_PATIENT_ID_OID = (
    f"2.25.{uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, 'urn:sisra:monsisra'), 'patients').int}"
)


@dataclass(frozen=True)
class PatientIdentifier:
    """The identifier under which a patient leaves the platform: the INS with its OID, or
    the platform's own patient id under the platform's OID (``is_ins`` False)."""

    value: str
    oid: str
    is_ins: bool


def shareable_ins(ins: str | None, identity_status: str | None) -> str | None:
    """The INS if it may leave the platform, else None.

    The INS référentiel (ANS) allows the INS (matricule and OID) to be exchanged only for an
    identity whose status is « qualifiée »; for a provisional, recovered or validated one,
    the documents carry the local identifier and the traits. This is the one rule every
    writer follows: exports, MSSanté mail, FHIR, the inbox API, printed letters.
    """
    value = (ins or "").replace(" ", "")
    return value if value and identity_status == QUALIFIED else None


def outgoing_patient_id(
    *,
    ins: str | None,
    ins_oid: str | None,
    identity_status: str | None,
    local_id: str,
    local_oid: str | None = None,
) -> PatientIdentifier:
    """The patient identifier a document, a message or an export carries (see
    :func:`shareable_ins`): the INS under its OID (the NIR's when none is known) for a
    qualified identity, otherwise ``local_id`` under ``local_oid`` (the platform's)."""
    shared = shareable_ins(ins, identity_status)
    if shared:
        return PatientIdentifier(shared, ins_oid or OID_NIR, True)
    return PatientIdentifier(local_id, local_oid or DEFAULT_PATIENT_ID_OID, False)
