"""Auth: one-time links to choose one's portal password

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 05:30:00

Professionals without a card, imported or created by an administrator, choose their first
portal password through a link e-mailed by the administrator (single use, hashed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sisra.platform.models.base import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "password_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("professional_id", sa.Uuid(), nullable=False),
        sa.Column("issued_by_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issued_by_id"], ["professionals.id"]),
        sa.ForeignKeyConstraint(["professional_id"], ["professionals.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(
        "ix_password_links_professional_id", "password_links", ["professional_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_password_links_professional_id", table_name="password_links")
    op.drop_table("password_links")
