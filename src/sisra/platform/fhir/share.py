"""A DocumentReference to create, read as the API v1 share it is: metadata + the PDF.

Nothing here decides who may share what: the result goes to ``documents.service.share``,
the very function behind ``POST /api/v1/documents`` (same checks, same audit, same inbox).
"""

import base64
import binascii
import hashlib
import json
import tempfile
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sisra.common import doctypes, valuesets
from sisra.platform.directory import service as directory
from sisra.platform.documents.pdf import too_large
from sisra.platform.documents.schemas import ShareMetadata, invalid_metadata
from sisra.platform.errors import Invalid, SisraError
from sisra.platform.fhir import codes, params
from sisra.platform.models import Document

Json = dict[str, Any]
_SPOOL = 1024 * 1024  # in memory up to 1 MB, then a temporary file


@dataclass
class ShareRequest:
    meta: ShareMetadata
    pdf: BinaryIO | None  # the attachment's bytes, or None when it points at a Binary
    binary_id: uuid.UUID | None = None  # Binary/<id>: an existing document's PDF, shared again
    master: tuple[str | None, str] | None = None  # the sender's masterIdentifier (system, value)


def _master(body: Json) -> tuple[str | None, str] | None:
    """The sender's ``masterIdentifier`` (kept and searchable), if it gave one."""
    if "masterIdentifier" not in body:
        return None
    ident = _dict(body.get("masterIdentifier"))
    system, value = ident.get("system"), ident.get("value")
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise _invalid(
            "masterIdentifier.value est attendu (255 caractères au plus).", "invalid_identifier"
        )
    if system is not None and (not isinstance(system, str) or len(system) > 255):
        raise _invalid("masterIdentifier.system est invalide.", "invalid_identifier")
    return (system.strip() if isinstance(system, str) else None), value.strip()


def keep_master(doc: Document, master: tuple[str | None, str] | None) -> None:
    """Store the sender's identifier on the document just shared."""
    if master is not None:
        doc.master_system, doc.master_value = master


def _matching(author_id: uuid.UUID, tok: params.Token) -> Select[Document]:
    query = select(Document).where(
        Document.author_id == author_id, Document.master_value == tok.code
    )
    if tok.system is not None:
        query = query.where(Document.master_system == (tok.system or None))
    return query


def by_identifier(session: Session, author_id: uuid.UUID, value: str) -> list[Document]:
    """The author's own documents carrying this masterIdentifier (``system|value``)."""
    tok = params.token("identifier", value)
    return list(session.scalars(_matching(author_id, tok).order_by(Document.created_at)))


def if_none_exist(session: Session, author_id: uuid.UUID, header: str) -> Document | None:
    """FHIR's conditional create: the document already shared by this author with the
    ``identifier`` of ``If-None-Exist`` (its masterIdentifier), or None to create it.

    Only ``identifier`` is supported, and only among the caller's own shares: a conditional
    create never tells a caller that someone else shared something."""
    criteria = parse_qsl(header.strip().lstrip("?"), keep_blank_values=True)
    names = {k for k, _v in criteria}
    if not criteria or names != {"identifier"} or len(criteria) != 1:
        raise Invalid(
            "En-tête If-None-Exist : seul « identifier=<système>|<valeur> » (le "
            "masterIdentifier du document) est pris en charge.",
            code="invalid_conditional_create",
        )
    found = by_identifier(session, author_id, criteria[0][1])
    if len(found) > 1:
        raise SisraError(
            "Plusieurs documents portent cet identifiant : la création conditionnelle est "
            "impossible.",
            code="multiple_matches",
            status=412,
        )
    return found[0] if found else None


def spooled(data: bytes) -> BinaryIO:
    """``data`` as the file-like upload ``documents.service.share`` reads."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 (handed over)
    spool.write(data)
    spool.seek(0)
    return spool  # type: ignore[return-value]


def _invalid(message: str, code: str = "invalid_resource") -> Invalid:
    return Invalid(message, code=code)


def parse_json(raw: bytes) -> Json:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _invalid("Le corps de la requête n'est pas un JSON valide.", "invalid_json") from exc
    if not isinstance(body, dict) or body.get("resourceType") != "DocumentReference":
        raise _invalid(
            "Une ressource DocumentReference est attendue (resourceType « DocumentReference »).",
            "invalid_resource_type",
        )
    return body


def _dict(value: Any) -> Json:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _type_code(body: Json) -> str:
    for coding in _list(_dict(body.get("type")).get("coding")):
        c = _dict(coding)
        if c.get("system") == codes.LOINC:
            found = valuesets.document_type_of(str(c.get("code") or ""))
            if found is not None:
                return found
    raise Invalid(
        "Type de document inconnu : indiquez dans « type » un code LOINC de la liste "
        "(system http://loinc.org).",
        code="invalid_document_type",
        extra={"allowed": sorted({t.loinc for t in doctypes.DOCUMENT_TYPES})},
    )


def _clinical_date(body: Json, attachment: Json) -> str:
    start = _dict(_dict(body.get("context")).get("period")).get("start")
    value = start if isinstance(start, str) else attachment.get("creation")
    if not isinstance(value, str):
        raise _invalid(
            "Indiquez la date du document (context.period.start).", "missing_clinical_date"
        )
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError as exc:
        raise _invalid("La date du document est invalide.", "invalid_date") from exc


def _recipient(session: Session, related: Json) -> str:
    """A ``Practitioner/<id>`` reference, or a logical one by national id or RPPS."""
    ref = related.get("reference")
    if isinstance(ref, str):
        return str(params.reference_id("context.related", ref, "Practitioner"))
    ident = _dict(related.get("identifier"))
    system, value = ident.get("system"), ident.get("value")
    if isinstance(value, str) and system in (codes.SYSTEM_IDNPS, codes.SYSTEM_RPPS):
        national_id = value if system == codes.SYSTEM_IDNPS else "8" + value
        pro = directory.by_national_id(session, national_id.strip())
        if pro is not None:
            return str(pro.id)
        raise Invalid(
            "Destinataire inconnu ou inactif dans l'annuaire : vérifiez la liste des "
            "destinataires.",
            code="unknown_recipient",
            extra={"recipients": [value]},
        )
    raise _invalid(
        "Chaque destinataire (context.related) doit être une référence Practitioner/<id> ou "
        f"un identifiant RPPS ({codes.SYSTEM_RPPS}) ou IdNat_PS ({codes.SYSTEM_IDNPS}).",
        "invalid_recipient",
    )


def _check_digest(attachment: Json, raw: bytes) -> None:
    """``attachment.size`` and ``attachment.hash`` (base64 SHA-1, FHIR R4), when given, must
    be the PDF's: a mismatch is a truncated or mixed-up upload, refused."""
    size = attachment.get("size")
    if size is not None and (not isinstance(size, int) or size != len(raw)):
        raise _invalid(
            f"La taille indiquée (attachment.size : {size}) n'est pas celle du document reçu "
            f"({len(raw)} octets) : le fichier est peut-être tronqué. Renvoyez-le.",
            "attachment_size_mismatch",
        )
    digest = attachment.get("hash")
    if digest is not None:
        actual = base64.b64encode(hashlib.sha1(raw).digest()).decode()  # noqa: S324 (FHIR's)
        if digest != actual:
            raise _invalid(
                "L'empreinte indiquée (attachment.hash, SHA-1 en base64) n'est pas celle du "
                "document reçu : le fichier a changé en route. Renvoyez-le.",
                "attachment_hash_mismatch",
            )


def _status(body: Json) -> None:
    """A new document is ``current`` (FHIR's DocumentReferenceStatus); anything else is
    refused rather than ignored."""
    status = body.get("status", "current")
    if status != "current":
        raise _invalid(
            f"Statut « {str(status)[:40]} » invalide : un document partagé est « current ».",
            "invalid_status",
        )


def subject_ins(body: Json) -> str | None:
    """A subject given by its INS (``subject.identifier``, ``system|value``), if so."""
    subject = _dict(body.get("subject"))
    ident = _dict(subject.get("identifier"))
    if "reference" in subject or not ident:
        return None
    system, value = ident.get("system"), ident.get("value")
    if not isinstance(value, str) or not value.strip():
        raise _invalid("Indiquez l'INS du patient (subject.identifier.value).", "missing_subject")
    return f"{system}|{value}" if isinstance(system, str) else value


def _content(body: Json, max_bytes: int) -> tuple[Json, BinaryIO | None, uuid.UUID | None]:
    contents = _list(body.get("content"))
    if len(contents) != 1:
        raise _invalid("Un document et un seul est attendu dans « content ».", "invalid_content")
    attachment = _dict(_dict(contents[0]).get("attachment"))
    if attachment.get("contentType") != "application/pdf":
        raise Invalid(
            "Le fichier n'est pas un PDF. Seuls les documents PDF peuvent être partagés "
            "(content.attachment.contentType « application/pdf »).",
            code="not_a_pdf",
        )
    data, url = attachment.get("data"), attachment.get("url")
    if isinstance(data, str):
        if len(data) > (max_bytes // 3 + 1) * 4 + 4:
            raise too_large(max_bytes)
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _invalid(
                "Le contenu du document (attachment.data) n'est pas du base64 valide.",
                "invalid_attachment",
            ) from exc
        _check_digest(attachment, raw)
        return attachment, spooled(raw), None
    if isinstance(url, str):
        return attachment, None, params.reference_id("content.attachment.url", url, "Binary")
    raise _invalid(
        "Joignez le PDF (content.attachment.data, en base64) ou une référence Binary/<id>.",
        "invalid_attachment",
    )


def _restricted(body: Json) -> bool:
    return any(
        _dict(c).get("system") == codes.CONFIDENTIALITY and _dict(c).get("code") in ("R", "V")
        for label in _list(body.get("securityLabel"))
        for c in _list(_dict(label).get("coding"))
    )


def read(session: Session, body: Json, max_bytes: int) -> ShareRequest:
    """The share the DocumentReference asks for (each mistake answered in French)."""
    _status(body)
    subject = _dict(body.get("subject")).get("reference")
    if not isinstance(subject, str):
        raise _invalid("Indiquez le patient (subject : Patient/<id>).", "missing_subject")
    patient_id = params.reference_id("subject", subject, "Patient")
    attachment, pdf, binary_id = _content(body, max_bytes)
    related = _list(_dict(body.get("context")).get("related"))
    if not related:
        raise _invalid(
            "Indiquez au moins un destinataire (context.related : Practitioner/<id>).",
            "missing_recipients",
        )
    title = body.get("description") or attachment.get("title")
    raw = {
        "patient_id": str(patient_id),
        "title": title.strip() if isinstance(title, str) else "",
        "type_code": _type_code(body),
        "clinical_date": _clinical_date(body, attachment),
        "recipients": [_recipient(session, _dict(r)) for r in related],
        "restricted": _restricted(body),
    }
    try:
        meta = ShareMetadata.model_validate(raw)
    except ValidationError as exc:
        raise invalid_metadata(exc) from exc
    return ShareRequest(meta, pdf, binary_id, _master(body))
