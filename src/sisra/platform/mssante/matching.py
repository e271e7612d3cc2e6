"""Which patient a received identity is about: the INS first, the strict traits otherwise.

Never a guess: exactly one patient must match, or the document waits for its recipient
(« identité à rapprocher »).

* An INS with its OID (the same digits under another INS authority are not that INS) that a
  patient of the platform carries decides, provided the
  traits sent beside it do not contradict that patient (birth date and sex): a mistyped INS
  would otherwise file a document in a stranger's record.
* Otherwise the strict traits: birth name, first given name, birth date and sex, compared
  without accents or case; the birth place too when both sides have one. A patient already
  carrying a *different* INS is not that person.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sisra.common.ins import OID_NIR
from sisra.common.text import fold
from sisra.platform.models import Patient, PendingReason
from sisra.platform.mssante.inbound import Identity


@dataclass(frozen=True)
class Match:
    patient: Patient | None
    by: str  # "ins", "traits", or why not: a PendingReason value
    candidates: tuple[uuid.UUID, ...] = ()

    @property
    def reason(self) -> PendingReason | None:
        return None if self.patient is not None else PendingReason(self.by)


def _consistent(patient: Patient, identity: Identity) -> bool:
    if identity.birth_date and patient.birth_date != identity.birth_date:
        return False
    return not (identity.sex and patient.sex.value != identity.sex)


def _ins_of(patient: Patient) -> tuple[str, str] | None:
    """The patient's INS with its authority (a row without an OID holds a production NIR or
    NIA, as the platform stored them before it kept the OID)."""
    if not patient.ins:
        return None
    return patient.ins, patient.ins_oid or OID_NIR


def find(session: Session, identity: Identity | None) -> Match:
    if identity is None:
        return Match(None, PendingReason.unstructured.value)
    received = (identity.ins, identity.ins_oid or OID_NIR) if identity.ins else None
    if received is not None:
        # the same digits under another authority (a test or demonstration NIR, …4.10 or
        # …4.11, against a production NIR, …4.8) are another person's, or nobody's
        holder = session.scalar(select(Patient).where(Patient.ins == identity.ins))
        by_ins = holder if holder is not None and _ins_of(holder) == received else None
        if by_ins is not None and _consistent(by_ins, identity):
            return Match(by_ins, "ins")
        if by_ins is not None:  # the INS is known but the traits disagree: a human decides
            return Match(None, PendingReason.several.value, (by_ins.id,))
    if not identity.has_traits:
        return Match(None, PendingReason.no_match.value)
    assert identity.birth_name and identity.first_given_name
    stmt = select(Patient).where(
        Patient.birth_name_fold == fold(identity.birth_name),
        Patient.first_given_name_fold == fold(identity.first_given_name),
        Patient.birth_date == identity.birth_date,
        Patient.sex == identity.sex,
    )
    found = [
        p
        for p in session.scalars(stmt.limit(20))
        if not (
            identity.birth_place_code
            and p.birth_place_code
            and p.birth_place_code != identity.birth_place_code
        )
        and not (received and p.ins and _ins_of(p) != received)
    ]
    if len(found) == 1:
        return Match(found[0], "traits")
    if not found:
        return Match(None, PendingReason.no_match.value)
    return Match(None, PendingReason.several.value, tuple(p.id for p in found))
