import uuid

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select

from sisra.platform.deps import AdminContext, AppSettings, Context, DbSession, ProContext
from sisra.platform.documents.service import to_out
from sisra.platform.models import CareTeamHow, Professional
from sisra.platform.patients.schemas import BreakGlassIn, PatientOut
from sisra.platform.record import care_team, policy, service
from sisra.platform.record.schemas import (
    BreakGlassOut,
    CareTeamAddIn,
    CareTeamDeclareIn,
    CareTeamMemberOut,
    CareTeamOut,
    PatientRecord,
    RecordDocument,
)

router = APIRouter(prefix="/api/v1", tags=["record"])


@router.get("/patients/{patient_id}/documents", response_model=PatientRecord)
def patient_record(session: DbSession, ctx: ProContext, patient_id: uuid.UUID) -> PatientRecord:
    """The regional record: only the documents the caller may see.

    Care-team members see every unrestricted document; others see only what they authored
    or received (``care_team`` false), or get ``403 not_in_care_team`` when that is nothing.
    """
    access = service.open_record(session, ctx, patient_id)
    patient, docs, glass = access.patient, access.documents, access.break_glass
    authors = {
        p.id: p.display_name
        for p in session.scalars(
            select(Professional).where(Professional.id.in_({d.author_id for d in docs}))
        )
    }
    return PatientRecord(
        patient=PatientOut.model_validate(patient),
        documents=[
            RecordDocument(**to_out(d).model_dump(), author_name=authors[d.author_id]) for d in docs
        ],
        break_glass=glass,
        care_team=access.care_team,
    )


@router.post(
    "/patients/{patient_id}/break-glass",
    response_model=BreakGlassOut,
    status_code=status.HTTP_201_CREATED,
)
def break_glass(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    patient_id: uuid.UUID,
    body: BreakGlassIn,
) -> BreakGlassOut:
    """Emergency access to the whole record for a few hours, with a written reason."""
    grant = service.break_glass(session, settings, ctx, patient_id, body.reason)
    return BreakGlassOut(id=grant.id, patient_id=grant.patient_id, expires_at=grant.expires_at)


# --- care team ---------------------------------------------------------------------------------


def _member_out(m: care_team.MemberView) -> CareTeamMemberOut:
    return CareTeamMemberOut(
        id=m.id,
        patient_id=m.patient_id,
        professional_id=m.professional_id,
        professional_name=m.professional_name,
        how=m.how.value,
        how_label=m.how_label,
        since=m.since,
        attestation=m.attestation,
        added_by_name=m.added_by_name,
        ended_at=m.ended_at,
        end_reason=m.end_reason,
        reason=m.reason,
        reason_label=m.reason_label,
        consent=m.consent,
        expires_at=m.expires_at,
        declared_at=m.declared_at,
        status=m.status,
        status_label=care_team.status_label(m),
    )


@router.get("/patients/{patient_id}/care-team", response_model=CareTeamOut)
def get_care_team(session: DbSession, ctx: Context, patient_id: uuid.UUID) -> CareTeamOut:
    """The patient's care team, past members included (``status``: active, expired, ended):
    for its members, break-glass holders and administrators."""
    assert ctx.actor is not None
    if not ctx.actor.is_admin and not (
        policy.in_care_team(session, ctx.actor.id, patient_id)
        or policy.active_break_glass(session, ctx.actor.id, patient_id)
    ):
        raise service.refuse(session, ctx, "care_team.list", patient_id)
    members = care_team.team(session, patient_id)
    return CareTeamOut(patient_id=patient_id, members=[_member_out(m) for m in members])


@router.post(
    "/patients/{patient_id}/care-team",
    response_model=CareTeamMemberOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": CareTeamMemberOut,
            "description": "already a member: the existing membership, renewed when it was "
            "declared (new end date)",
        },
    },
)
def declare_care(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    patient_id: uuid.UUID,
    body: CareTeamDeclareIn,
    response: Response,
) -> CareTeamMemberOut:
    """« Je déclare prendre en charge ce patient »: join the care team, with a reason from the
    closed list and the patient's consent; limited per hour and day; the membership ends
    after the configured time unless renewed (declare again)."""
    member, outcome = care_team.declare(
        session,
        settings,
        ctx,
        patient_id,
        attested=body.attestation,
        reason=body.reason,
        details=body.context,
        consent=body.consent,
        professional_id=body.professional_id,
    )
    if outcome != "created":
        response.status_code = status.HTTP_200_OK
    return _member_out(care_team.view(session, member))


@router.delete("/patients/{patient_id}/care-team/me", status_code=status.HTTP_204_NO_CONTENT)
def leave_care(session: DbSession, ctx: ProContext, patient_id: uuid.UUID) -> Response:
    """Leave the patient's care team (the documents one authored or received stay open)."""
    care_team.leave(session, ctx, patient_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/patients/{patient_id}/care-team/members",
    response_model=CareTeamMemberOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {
            "description": "The membership: created, or the professional's active one, whose "
            "end is now the one stated (``until``)"
        }
    },
)
def add_member(
    session: DbSession, ctx: Context, patient_id: uuid.UUID, body: CareTeamAddIn
) -> CareTeamMemberOut:
    """Administrators: add a professional to the care team, with a reason and an end date
    (``until``) or none. Always 201 with the membership."""
    member, _created = care_team.add(
        session, ctx, patient_id, body.professional_id, body.reason, body.until
    )
    return _member_out(care_team.view(session, member))


@router.delete(
    "/patients/{patient_id}/care-team/members/{professional_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
def remove_member(
    session: DbSession,
    ctx: Context,
    patient_id: uuid.UUID,
    professional_id: uuid.UUID,
    reason: str = Query("", max_length=400),
) -> Response:
    """Administrators: remove a professional from the care team, with a reason."""
    care_team.remove(session, ctx, patient_id, professional_id, reason)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/care-team", response_model=list[CareTeamMemberOut])
def list_memberships(
    session: DbSession,
    ctx: AdminContext,
    professional_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    how: CareTeamHow | None = None,
    include_ended: bool = False,
) -> list[CareTeamMemberOut]:
    """Administrators: memberships by professional, patient and how (declarations to review)."""
    rows = care_team.memberships(
        session,
        patient_id=patient_id,
        professional_id=professional_id,
        how=how,
        include_ended=include_ended,
    )
    return [_member_out(m) for m, _patient in rows]
