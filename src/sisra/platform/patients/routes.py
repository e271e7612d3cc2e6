import uuid

from fastapi import APIRouter, status

from sisra.platform.apidocs import error_response
from sisra.platform.deps import AppSettings, DbSession, ProContext
from sisra.platform.patients import service
from sisra.platform.patients.schemas import PatientIn, PatientOut, PatientSearchIn

router = APIRouter(prefix="/api/v1", tags=["patients"])


# A POST: names, birth dates and INS never appear in a URL, hence never in an access log,
# a proxy's log or a browser history (the former ``GET /patients?q=`` is gone).
@router.post(
    "/patients/search",
    response_model=list[PatientOut],
    responses={
        400: error_response("search_too_broad : pas assez de traits pour désigner un patient"),
        429: error_response("search_rate_limited : trop de recherches dans l'heure"),
    },
)
def search_patients(
    session: DbSession, ctx: ProContext, settings: AppSettings, body: PatientSearchIn
) -> list[PatientOut]:
    """Find one patient: by INS, or by the start of the birth or used name with the birth date
    (2 letters) or with the start of the first given name (3 letters each). At most
    ``SISRA_PATIENT_SEARCH_MAX_RESULTS`` patients (20); searches are limited per hour and
    audited."""
    criteria = service.Criteria(
        q=body.q, given=body.given, birth_date=body.birth_date, ins=body.ins
    )
    found = service.search(session, ctx, settings, criteria)
    return [PatientOut.model_validate(p) for p in found.patients]


@router.post(
    "/patients",
    response_model=PatientOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "identity_exists, with the matching candidates"}},
)
def create_patient(session: DbSession, ctx: ProContext, body: PatientIn) -> PatientOut:
    """Create an identity; an existing match is proposed instead of creating a duplicate."""
    try:
        patient = service.create(session, ctx, service.NewPatient(**body.model_dump()))
    except service.DuplicateIdentity as exc:
        exc.extra["candidates"] = [
            PatientOut.model_validate(p).model_dump(mode="json") for p in exc.candidates
        ]
        raise
    return PatientOut.model_validate(patient)


@router.get("/patients/{patient_id}", response_model=PatientOut)
def get_patient(session: DbSession, ctx: ProContext, patient_id: uuid.UUID) -> PatientOut:
    """The identity only; clinical documents go through the record's access policy."""
    return PatientOut.model_validate(service.get(session, patient_id))
