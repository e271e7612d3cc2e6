"""Document intake: idempotent sharing, orphan blob sweeping

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 00:50:00

``share_idempotency_keys`` keeps the first answer to a share sent with an
``Idempotency-Key`` (per professional), so that a retry after a lost answer gets that answer
instead of creating a second document. Orphan blobs need no table (the sweeper compares the
blob store with ``documents.blob_key``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sisra.platform.models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_idempotency_keys",
        sa.Column("professional_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at", sisra.platform.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_share_idempotency_keys_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_share_idempotency_keys_professional_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("professional_id", "key", name=op.f("pk_share_idempotency_keys")),
    )
    with op.batch_alter_table("share_idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_idempotency_keys_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("share_idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_idempotency_keys_created_at"))
    op.drop_table("share_idempotency_keys")
