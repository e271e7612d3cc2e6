"""Rate limits: uses of a limited action per key and window (patient searches)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 19:30:00

Patient searches are limited per professional and per hour (docs/security.md « Patient
search »): one counter row per professional, claimed by a conditional update.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sisra.platform.models.base import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
