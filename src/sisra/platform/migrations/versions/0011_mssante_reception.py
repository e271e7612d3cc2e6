"""MSSanté reception: documents received by mail whose patient is still to be found

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 04:40:00

A document received by MSSanté whose identity matches no patient, or several, waits in
``mssante_pending`` (« identité à rapprocher ») for one of its recipients to pick the patient
or create the identity; ``mssante_pending_recipients`` lists whom it was addressed to;
``mssante_deliveries`` remembers each message delivered to each recipient (no double filing
when the relay hands a message over again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sisra.platform.models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mssante_pending",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "no_match",
                "several",
                "unstructured",
                name="pendingreason",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("sender_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("ins", sa.String(length=15), nullable=True),
        sa.Column("ins_oid", sa.String(length=40), nullable=True),
        sa.Column("birth_name", sa.String(length=100), nullable=True),
        sa.Column("used_name", sa.String(length=100), nullable=True),
        sa.Column("first_given_name", sa.String(length=100), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("birth_place_code", sa.String(length=5), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("type_code", sa.String(length=40), nullable=False),
        sa.Column("loinc", sa.String(length=20), nullable=False),
        sa.Column("clinical_date", sa.Date(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("blob_key", sa.String(length=100), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(length=200), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_by_id", sa.Uuid(), nullable=True),
        sa.Column(
            "resolved_at", sisra.platform.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sisra.platform.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_mssante_pending_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["professionals.id"],
            name=op.f("fk_mssante_pending_resolved_by_id_professionals"),
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["professionals.id"],
            name=op.f("fk_mssante_pending_sender_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mssante_pending")),
        sa.UniqueConstraint("blob_key", name=op.f("uq_mssante_pending_blob_key")),
        sa.UniqueConstraint("document_id", name=op.f("uq_mssante_pending_document_id")),
    )
    op.create_index(
        op.f("ix_mssante_pending_resolved_at"), "mssante_pending", ["resolved_at"], unique=False
    )
    op.create_table(
        "mssante_pending_recipients",
        sa.Column("pending_id", sa.Uuid(), nullable=False),
        sa.Column("professional_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pending_id"],
            ["mssante_pending.id"],
            name=op.f("fk_mssante_pending_recipients_pending_id_mssante_pending"),
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_mssante_pending_recipients_professional_id_professionals"),
        ),
        sa.PrimaryKeyConstraint(
            "pending_id", "professional_id", name=op.f("pk_mssante_pending_recipients")
        ),
    )
    op.create_index(
        op.f("ix_mssante_pending_recipients_professional_id"),
        "mssante_pending_recipients",
        ["professional_id"],
        unique=False,
    )

    op.create_table(
        "mssante_deliveries",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sisra.platform.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_mssante_deliveries")),
    )
    op.create_index(
        op.f("ix_mssante_deliveries_created_at"),
        "mssante_deliveries",
        ["created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_mssante_deliveries_created_at"), table_name="mssante_deliveries")
    op.drop_table("mssante_deliveries")
    op.drop_index(
        op.f("ix_mssante_pending_recipients_professional_id"),
        table_name="mssante_pending_recipients",
    )
    op.drop_table("mssante_pending_recipients")
    op.drop_index(op.f("ix_mssante_pending_resolved_at"), table_name="mssante_pending")
    op.drop_table("mssante_pending")
