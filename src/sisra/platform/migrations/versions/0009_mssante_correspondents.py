"""Directory: MSSanté correspondents of other operators

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 04:20:00

A professional row may stand for a correspondent on another MSSanté operator, reached by
mail (``external``); addresses are looked up case-insensitively.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("professionals") as batch:
        batch.add_column(
            sa.Column("external", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_professionals_mssante_lower", "professionals", [sa.text("lower(mssante)")])


def downgrade() -> None:
    op.drop_index("ix_professionals_mssante_lower", table_name="professionals")
    with op.batch_alter_table("professionals") as batch:
        batch.drop_column("external")
