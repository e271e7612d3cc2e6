"""The patient forms several pages share: the patient search (« Envoyer un document »,
« Rechercher un patient », « Identités à rapprocher ») and the identity's traits (« Créer
l'identité », and its twin from the traits an MSSanté message carried).

The rules stay in ``patients/service.py``; these read the forms and say in French what is
wrong with them.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from sisra.platform.context import RequestContext
from sisra.platform.errors import SisraError
from sisra.platform.models import IdentityStatus, Patient, Sex
from sisra.platform.patients import service as patients
from sisra.platform.settings import Settings
from sisra.platform.web import kit


def parse_date(value: str) -> date | None:
    """A date typed in a form (ISO, as ``<input type="date">`` sends it), or None."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


# --------------------------------------------------------------------------- the search


@dataclass(frozen=True)
class PatientSearch:
    """The patient search as typed (a POST form: traits never travel in a URL)."""

    q: str = ""
    given: str = ""
    birth_date: str = ""
    ins: str = ""

    def asked(self) -> bool:
        return any(v.strip() for v in (self.q, self.given, self.birth_date, self.ins))


Search = Annotated[PatientSearch, Depends(kit.typed_form(PatientSearch))]
BAD_BIRTH_DATE = "La date de naissance n'est pas valide."


@dataclass
class Found:
    """What a search found; ``error`` (French) and ``status`` when it was refused."""

    patients: list[Patient] = field(default_factory=list)
    truncated: bool = False
    error: str = ""
    status: int = 200


def search(session: Session, ctx: RequestContext, settings: Settings, form: PatientSearch) -> Found:
    """Run the search (the service's rule, limit and audit); an invalid date is refused."""
    birth = parse_date(form.birth_date) if form.birth_date.strip() else None
    if form.birth_date.strip() and birth is None:
        return Found(error=BAD_BIRTH_DATE, status=422)
    criteria = patients.Criteria(  # bounded as the forms' inputs are (maxlength)
        q=form.q.strip()[:100] or None,
        given=form.given.strip()[:100] or None,
        birth_date=birth,
        ins=form.ins.strip()[:25] or None,
    )
    try:
        result = patients.search(session, ctx, settings, criteria)
    except SisraError as exc:
        return Found(error=exc.message, status=exc.status)
    return Found(result.patients, result.truncated)


# --------------------------------------------------------------------------- the identity

IDENTITY_FIELDS = (
    "birth_name",
    "used_name",
    "birth_given_names",
    "first_given_name",
    "birth_date",
    "sex",
    "birth_place_code",
    "ins",
    "identity_status",
)
Identity = Annotated[kit.FormValues, Depends(kit.form_values(IDENTITY_FIELDS))]
SEXES = (("F", "Féminin"), ("M", "Masculin"), ("I", "Indéterminé"))


def check_identity(form: kit.FormValues) -> date | None:
    """The French errors of the traits every identity needs; the birth date if valid."""
    born = parse_date(form.values["birth_date"])
    if born is None:
        form.errors["birth_date"] = "Saisissez la date de naissance (jj/mm/aaaa)."
    form.require({"birth_name": "Le nom de naissance est obligatoire."})
    if not form.values["birth_given_names"].split():
        form.errors["birth_given_names"] = "Saisissez au moins un prénom de naissance."
    if form.values["sex"] not in {s.value for s in Sex}:
        form.errors["sex"] = "Choisissez le sexe."
    return born


def new_patient(form: kit.FormValues, born: date) -> patients.NewPatient:
    """The identity the form declares (checked by :func:`check_identity`)."""
    v = form.values
    return patients.NewPatient(
        birth_name=v["birth_name"],
        used_name=v["used_name"] or None,
        birth_given_names=v["birth_given_names"].split(),
        first_given_name=form.optional("first_given_name"),
        birth_date=born,
        sex=v["sex"],
        birth_place_code=v["birth_place_code"] or None,
        ins=form.optional("ins"),
        identity_status=v["identity_status"] or IdentityStatus.provisoire.value,
    )
