import uuid

from fastapi import APIRouter, File, Form, Header, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from sisra.common.doctypes import DOCUMENT_TYPES
from sisra.platform.deps import AppSettings, Blobs, Context, DbSession, Hub, ProContext
from sisra.platform.documents import content, idempotency, service, sharing
from sisra.platform.documents.schemas import (
    DocumentDetail,
    ShareMetadata,
    ShareResult,
    invalid_metadata,
)

router = APIRouter(prefix="/api/v1", tags=["documents"])


@router.get("/document-types")
def document_types(ctx: Context) -> list[dict[str, str]]:
    return [{"code": t.code, "label": t.label, "loinc": t.loinc} for t in DOCUMENT_TYPES]


@router.post(
    "/documents",
    response_model=ShareResult,
    status_code=status.HTTP_201_CREATED,
    responses={
        413: {"description": "`file_too_large` (checked while the body is received)"},
        422: {"description": "`idempotency_key_reused`, `not_a_pdf`, `invalid_metadata`…"},
    },
)
def share_document(
    session: DbSession,
    ctx: ProContext,
    settings: AppSettings,
    blobs: Blobs,
    hub: Hub,
    metadata: str = Form(
        ...,
        description="JSON: patient_id, title, type_code, clinical_date, "
        "recipients, in_reply_to, restricted",
    ),
    file: UploadFile = File(..., description="The PDF"),
    idempotency_key: str | None = Header(
        None,
        alias=idempotency.HEADER,
        description="Any unique string (a UUID) per document; send the same one to retry a "
        "share whose answer was lost: the first answer comes back (header "
        "`Idempotent-Replayed: true`), no second document is created. Kept 24 h.",
    ),
) -> Response:
    """Share a PDF about a patient: the document and one notification per recipient.

    The body's size is enforced while it is received (``bodies.BodyGuard``).
    """
    key = idempotency.parse_key(idempotency_key)
    try:
        meta = ShareMetadata.model_validate_json(metadata)
    except ValidationError as exc:
        raise invalid_metadata(exc) from exc
    shared = sharing.share_once(session, settings, ctx, blobs, hub, meta, file.file, key)
    return JSONResponse(shared.body, status_code=shared.status, headers=shared.headers)


@router.get("/documents/{document_id}", response_model=DocumentDetail)
def get_document(session: DbSession, ctx: ProContext, document_id: uuid.UUID) -> DocumentDetail:
    """Metadata; for the author, each recipient's delivery and read receipts."""
    return service.detail(session, ctx, document_id)


@router.get(
    "/documents/{document_id}/content",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def document_content(
    request: Request, session: DbSession, ctx: ProContext, blobs: Blobs, document_id: uuid.UUID
) -> Response:
    """The PDF, if the record policy lets the caller see it (ETag = SHA-256, Range)."""
    doc = service.get(session, document_id)
    service.open_content(session, ctx, doc, via="record")
    return content.respond(request, session, ctx, blobs, doc)
