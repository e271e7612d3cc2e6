"""The keyed chain: how a sealed row is linked to the one before it.

``chain_hash = HMAC-SHA256(chain key, "sisra-audit-v1" ‖ previous chain_hash ‖ canonical row)``
where the canonical row is a JSON array of every field, the row's ``seal_seq`` and ``seq``
included, so that changing, moving or renumbering a row breaks its link. Without the chain
key (kept outside the database) nobody can recompute a chain that verifies.
"""

import json
import uuid

from sisra.platform.audit.keys import AuditKey
from sisra.platform.models import AuditEvent

GENESIS = "0" * 64
_DOMAIN = b"sisra-audit-v1\n"


def _uuid(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def canonical(row: AuditEvent, seal_seq: int | None = None) -> bytes:
    """The row's fields as canonical JSON (``seal_seq`` overrides the stored one)."""
    payload = [
        row.seal_seq if seal_seq is None else seal_seq,
        row.seq,
        row.at.isoformat(timespec="microseconds"),
        _uuid(row.actor_id),
        row.actor_label,
        row.action,
        row.outcome,
        _uuid(row.patient_id),
        _uuid(row.document_id),
        row.ip,
        row.user_agent,
        row.details,
    ]
    return json.dumps(payload, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode()


def link(key: AuditKey, prev: str, row: AuditEvent, seal_seq: int | None = None) -> str:
    """The ``chain_hash`` of ``row`` sealed after a row whose chain hash is ``prev``."""
    return key.mac(_DOMAIN + prev.encode("ascii", "replace") + b"\n" + canonical(row, seal_seq))
