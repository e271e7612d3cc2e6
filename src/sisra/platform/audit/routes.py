import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from sisra.platform.audit import search, service
from sisra.platform.deps import Context, DbSession
from sisra.platform.inputs import MAX_INT64, limit_query

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_label: str | None
    action: str
    outcome: str
    patient_id: uuid.UUID | None
    document_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]
    seal_seq: int | None  # place in the keyed chain; None until the sealer has chained it


@router.get("/audit", response_model=list[AuditOut])
def list_audit(
    session: DbSession,
    ctx: Context,
    patient: uuid.UUID | None = None,
    before: int | None = Query(None, ge=1, le=MAX_INT64),
    limit: int = limit_query(100, 1000),
) -> list[AuditOut]:
    """Administrators read the whole trail; a professional reads their own actions.

    Newest first by ``seq`` (given at insertion, so rows not sealed yet are listed too and
    ``before`` pages stably); ``seal_seq`` tells each row's place in the sealed chain.
    """
    assert ctx.actor is not None
    filters = search.Filters(
        actor_id=None if ctx.actor.is_admin else ctx.actor.id,
        patient_ids=[patient] if patient else None,
        before=before,
    )
    rows = [AuditOut.model_validate(r) for r in search.newest(session, filters, limit)]
    service.record(session, ctx, "audit.read", patient_id=patient, details={"rows": len(rows)})
    return rows
