"""Documents: the sender's own identifier (FHIR masterIdentifier)

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-06 20:30:00

A practice software creating a DocumentReference gives its own ``masterIdentifier``; it is
kept (system and value) so that a retried conditional create (``If-None-Exist``) returns the
document already shared instead of sharing it twice, and so that it can be searched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("master_system", sa.String(length=255), nullable=True))
    op.add_column("documents", sa.Column("master_value", sa.String(length=255), nullable=True))
    op.create_index("ix_documents_master_value", "documents", ["master_value"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_documents_master_value", table_name="documents")
    op.drop_column("documents", "master_value")
    op.drop_column("documents", "master_system")
