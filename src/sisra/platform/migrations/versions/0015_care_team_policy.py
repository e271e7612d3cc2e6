"""Care team: reasons, consent, expiry, declaration limits and the daily digest

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 19:30:00

A declaration names a reason from a closed list and attests the patient's consent; a declared
membership ends by itself (``expires_at``); every declaration attempt is counted per
professional (``care_team_declarations``); the daily digest of new declarations is claimed
per (day, recipient) (``care_team_digests``). Decisions 117-119.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sisra.platform.models.base import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("care_team_members") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("consent", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("declared_at", UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_care_team_members_declared_at", ["declared_at"], unique=False)
    op.create_table(
        "care_team_declarations",
        sa.Column("professional_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["professional_id"], ["professionals.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_care_team_declarations_pro_at",
        "care_team_declarations",
        ["professional_id", "at"],
        unique=False,
    )
    op.create_table(
        "care_team_digests",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("professional_id", sa.Uuid(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("declarations", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["professional_id"], ["professionals.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "professional_id"),
    )


def downgrade() -> None:
    op.drop_table("care_team_digests")
    op.drop_index("ix_care_team_declarations_pro_at", table_name="care_team_declarations")
    op.drop_table("care_team_declarations")
    with op.batch_alter_table("care_team_members") as batch:
        batch.drop_index("ix_care_team_members_declared_at")
        batch.drop_column("declared_at")
        batch.drop_column("expires_at")
        batch.drop_column("consent")
        batch.drop_column("reason")
