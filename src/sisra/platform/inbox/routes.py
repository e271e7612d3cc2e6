import uuid
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic_core import to_json

from sisra.platform.deps import Blobs, DbSession, ProContext
from sisra.platform.documents import content
from sisra.platform.documents import service as documents
from sisra.platform.inbox import service
from sisra.platform.inbox.schemas import (
    InboxItem,
    InboxPage,
    ReceiptIn,
    ReceiptsIn,
    ReceiptsOut,
)
from sisra.platform.inputs import Cursor, limit_query

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"])


def _json(data: Any) -> Response:
    """Data built once from typed columns, serialised once (the response model documents it)."""
    return Response(to_json(data), media_type="application/json")


@router.get("", response_model=InboxPage)
def list_inbox(
    session: DbSession,
    ctx: ProContext,
    after: Cursor = 0,
    limit: int = limit_query(100, service.MAX_PAGE),
) -> Response:
    """Received documents after the cursor, in server order (oldest first)."""
    return _json(service.list_after_json(session, ctx, after, limit))


@router.post("/receipts", response_model=ReceiptsOut)
def post_receipts(session: DbSession, ctx: ProContext, body: ReceiptsIn) -> Response:
    """Receipts of one kind for several received documents at once, all or nothing: when one
    of them is not yours (or no longer in your inbox), none is recorded and the answer is
    the one its own receipt would get."""
    return _json(service.receipts_json(session, ctx, body.ids, body.kind))


@router.get("/{notification_id}", response_model=InboxItem)
def get_item(session: DbSession, ctx: ProContext, notification_id: uuid.UUID) -> Response:
    return _json(service.get_item_json(session, ctx, notification_id))


@router.get(
    "/{notification_id}/content",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def item_content(
    request: Request, session: DbSession, ctx: ProContext, blobs: Blobs, notification_id: uuid.UUID
) -> Response:
    """The received PDF (ETag = SHA-256; Range supported to resume a download)."""
    _note, doc = service.own_with_document(session, ctx, notification_id)
    # the caller's own notification of it is in hand: no query to find that it exists
    documents.open_content(session, ctx, doc, via="inbox", known_recipient=True)
    return content.respond(request, session, ctx, blobs, doc)


@router.post("/{notification_id}/receipts", response_model=InboxItem)
def post_receipt(
    session: DbSession, ctx: ProContext, notification_id: uuid.UUID, body: ReceiptIn
) -> Response:
    """Delivery ('downloaded') or read receipt, seen by the sender."""
    return _json(service.receipt_json(session, ctx, notification_id, body.kind))


@router.delete("/{notification_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(session: DbSession, ctx: ProContext, notification_id: uuid.UUID) -> Response:
    """Hide the notification; the document stays in the patient record."""
    service.delete(session, ctx, notification_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
