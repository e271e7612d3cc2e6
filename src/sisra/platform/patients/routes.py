import uuid

from fastapi import APIRouter, status

from sisra.platform.deps import DbSession, ProContext
from sisra.platform.patients import service
from sisra.platform.patients.schemas import PatientIn, PatientOut, PatientSearchIn

router = APIRouter(prefix="/api/v1", tags=["patients"])


# A POST: names, birth dates and INS never appear in a URL, hence never in an access log,
# a proxy's log or a browser history (the former ``GET /patients?q=`` is gone).
@router.post("/patients/search", response_model=list[PatientOut])
def search_patients(session: DbSession, ctx: ProContext, body: PatientSearchIn) -> list[PatientOut]:
    """Search by the start of the birth or used name (+ birth date), or by INS."""
    found = service.search(session, ctx, q=body.q, birth_date=body.birth_date, ins=body.ins)
    return [PatientOut.model_validate(p) for p in found]


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
