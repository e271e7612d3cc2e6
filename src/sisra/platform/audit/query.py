"""Finding audit rows by what an administrator knows: a patient's INS or name, a French label.

The patient is resolved to patient ids here (the audit stores only ids); the words typed are
patient traits, so the pages send them in POST bodies and the audit of the search keeps the
resolved ids, never the words.
"""

import re
import uuid
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sisra.common.text import fold
from sisra.platform.models import Patient

MAX_PATIENTS = 200
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class PatientNotFound(Exception):
    """No patient matches (French message)."""


def patient_ids(session: Session, text: str) -> list[uuid.UUID]:
    """Ids of the patients ``text`` designates: an id, an INS (13 or 15 digits, spaces
    allowed) or name words with an optional birth date (``JJ/MM/AAAA``)."""
    text = text.strip()
    try:
        return [uuid.UUID(text)]
    except ValueError:
        pass
    digits = text.replace(" ", "")
    if digits.isdigit():
        if len(digits) not in (13, 15):
            raise PatientNotFound("Un INS comporte 13 ou 15 chiffres (avec la clé).")
        stmt = select(Patient.id).where(
            or_(Patient.ins == digits, Patient.ins.startswith(digits[:13], autoescape=True))
        )
        found = list(session.scalars(stmt.limit(MAX_PATIENTS)))
        if not found:
            raise PatientNotFound(f"Aucun patient avec l'INS {digits}.")
        return found
    stmt = select(Patient.id)
    words = []
    for part in text.split():
        if m := _DATE.match(part):
            try:
                day = date(int(m[3]), int(m[2]), int(m[1]))
            except ValueError as exc:
                raise PatientNotFound(f"Date de naissance invalide : {part}.") from exc
            stmt = stmt.where(Patient.birth_date == day)
        else:
            words.extend(fold(part).split())
    if not words and stmt.whereclause is None:
        raise PatientNotFound("Indiquez un nom, un INS ou un identifiant patient.")
    for w in words:
        stmt = stmt.where(
            or_(
                Patient.birth_name_fold.startswith(w, autoescape=True),
                Patient.used_name_fold.startswith(w, autoescape=True),
                Patient.first_given_name_fold.startswith(w, autoescape=True),
            )
        )
    found = list(session.scalars(stmt.limit(MAX_PATIENTS)))
    if not found:
        raise PatientNotFound("Aucun patient ne correspond à ce nom.")
    return found


def patient_labels(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """« NOM Prénom, né(e) le JJ/MM/AAAA » for the rows of an audit page."""
    if not ids:
        return {}
    return {
        p.id: f"{p.used_name or p.birth_name} {p.first_given_name}, né(e) le "
        f"{p.birth_date.strftime('%d/%m/%Y')}"
        for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))
    }
