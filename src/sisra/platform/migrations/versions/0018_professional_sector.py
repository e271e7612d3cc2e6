"""Directory: a professional's sector of activity, as another operator's archive coded it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 20:45:00

An external correspondent keeps the ``healthcareFacilityTypeCode`` of the archives it sends
(TRE_R02-SecteurActivite), so the platform's re-exports name its sector instead of guessing it
from the structure's name.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("professionals") as batch:
        batch.add_column(sa.Column("sector_code", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("sector_label", sa.String(length=150), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("professionals") as batch:
        batch.drop_column("sector_label")
        batch.drop_column("sector_code")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column by copying the table, and the copy loses the expression index
        # of 0009 (reflection cannot read it back): put it back, or 0009's downgrade fails
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_professionals_mssante_lower "
            "ON professionals (lower(mssante))"
        )
