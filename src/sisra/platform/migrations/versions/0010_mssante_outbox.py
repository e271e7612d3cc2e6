"""MSSanté: the outbox of mail to correspondents of other operators

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 04:30:00

One row per external recipient of a share: the mail to send (and retry), then what the
delivery and disposition reports that come back say of it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sisra.platform.models.base import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mssante_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("sender_address", sa.String(length=254), nullable=False),
        sa.Column("recipient_address", sa.String(length=254), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "sent",
                "delivered",
                "read",
                "failed",
                name="outboxstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_mssante_outbox_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_mssante_outbox_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mssante_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mssante_outbox_message_id")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_mssante_outbox_notification_id")),
    )
    op.create_index(
        op.f("ix_mssante_outbox_document_id"), "mssante_outbox", ["document_id"], unique=False
    )
    op.create_index(
        "ix_mssante_outbox_due", "mssante_outbox", ["status", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_mssante_outbox_due", table_name="mssante_outbox")
    op.drop_index(op.f("ix_mssante_outbox_document_id"), table_name="mssante_outbox")
    op.drop_table("mssante_outbox")
