"""Inbox: index notifications by recipient and cursor

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-30 01:50:00

« Documents reçus » pages (keyset on the cursor) and counts one recipient's notifications;
without this index both scan every professional's notifications.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_notifications_recipient_id_seq", "notifications", ["recipient_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_notifications_recipient_id_seq", table_name="notifications")
