"""Directory: structure identifiers (FINESS, SIRET) for exports

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 00:50:00

A professional's structure gets its FINESS and SIRET numbers, so exported documents name
their author's institution with an identifier (XDS authorInstitution, XON form).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("professionals") as batch:
        batch.add_column(sa.Column("finess", sa.String(length=9), nullable=True))
        batch.add_column(sa.Column("siret", sa.String(length=14), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("professionals") as batch:
        batch.drop_column("siret")
        batch.drop_column("finess")
