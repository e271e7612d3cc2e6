"""Inbox: cursors given after commit by the sequencer; recipient index for listings

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 01:40:00

``notifications.seq`` becomes nullable: a share inserts its notifications without a cursor
and the inbox sequencer numbers them once the share has committed (decision 66). Existing
rows keep their cursor. The index on (recipient_id, seq) serves the inbox listing and the
event replay (``recipient_id = ? AND seq > ? ORDER BY seq``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=True)
        batch.create_index("ix_notifications_recipient_seq", ["recipient_id", "seq"])


def downgrade() -> None:
    # Fails while some rows have no cursor yet: start the server once (the sequencer numbers
    # them within a second), then downgrade.
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_recipient_seq")
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
