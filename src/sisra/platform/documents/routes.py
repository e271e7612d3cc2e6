import uuid

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import Response
from pydantic import ValidationError

from sisra.common.doctypes import DOCUMENT_TYPES
from sisra.platform.deps import AppSettings, Blobs, Context, DbSession, Hub, ProContext
from sisra.platform.documents import content, pdf, service
from sisra.platform.documents.schemas import DocumentDetail, ShareMetadata, ShareResult
from sisra.platform.errors import Invalid
from sisra.platform.inputs import parse_uint

router = APIRouter(prefix="/api/v1", tags=["documents"])


@router.get("/document-types")
def document_types(ctx: Context) -> list[dict[str, str]]:
    return [{"code": t.code, "label": t.label, "loinc": t.loinc} for t in DOCUMENT_TYPES]


@router.post("/documents", response_model=ShareResult, status_code=status.HTTP_201_CREATED)
def share_document(
    request: Request,
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
) -> ShareResult:
    """Share a PDF about a patient: the document and one notification per recipient."""
    declared = parse_uint(request.headers.get("content-length"))
    if declared is not None and declared > settings.max_document_bytes + 64 * 1024:
        raise pdf.too_large(settings.max_document_bytes)
    try:
        meta = ShareMetadata.model_validate_json(metadata)
    except ValidationError as exc:
        raise Invalid(
            "Les informations du document sont incomplètes ou invalides.",
            code="invalid_metadata",
            extra={
                "errors": [
                    {"field": ".".join(map(str, e["loc"])), "error": e["msg"]} for e in exc.errors()
                ]
            },
        ) from exc
    doc, notes = service.share(session, settings, ctx, blobs, hub, meta, file.file)
    return ShareResult(document=service.to_out(doc), notifications=[n.id for n in notes])


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
    return content.respond(request, blobs, doc)
