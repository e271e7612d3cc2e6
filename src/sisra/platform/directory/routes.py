from fastapi import APIRouter, Query

from sisra.platform.deps import Context, DbSession
from sisra.platform.directory import service
from sisra.platform.directory.schemas import Me, ProfessionalOut
from sisra.platform.inputs import limit_query

router = APIRouter(prefix="/api/v1", tags=["directory"])


@router.get("/professionals", response_model=list[ProfessionalOut])
def search_professionals(
    session: DbSession,
    ctx: Context,
    q: str = Query("", max_length=100),
    limit: int = limit_query(20, 100),
    rpps: str | None = Query(None, max_length=11, description="Exactly this RPPS number"),
    adeli: str | None = Query(None, max_length=9, description="Exactly this ADELI number"),
    mssante: str | None = Query(
        None, max_length=254, description="Exactly this MSSanté address (case ignored)"
    ),
) -> list[ProfessionalOut]:
    """Search the directory by name, city or specialty (accents and case ignored); with
    ``rpps``, ``adeli`` or ``mssante``, only the professional holding exactly that identifier
    (MonSisra's outbox names recipients so)."""
    ids = service.Identifiers(rpps=rpps, adeli=adeli, mssante=mssante)
    found = service.search(session, q, limit, identifiers=ids)
    return [ProfessionalOut.model_validate(p) for p in found]


@router.get("/me", response_model=Me)
def me(session: DbSession, ctx: Context) -> Me:
    assert ctx.actor is not None
    return Me.model_validate(service.get(session, ctx.actor.id))
