"""Auth: known devices keep their own login throttle counter

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 19:30:00

A browser that completed a two-step login keeps a long-lived cookie (stored hashed in
``known_devices``); a login flow remembers the known device that started it, so that its
code tries count in that device's counter, not in the ones strangers' failures fill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sisra.platform.models.base import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "known_devices",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("professional_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["professional_id"], ["professionals.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(
        "ix_known_devices_professional_id", "known_devices", ["professional_id"], unique=False
    )
    with op.batch_alter_table("login_flows") as batch:
        batch.add_column(sa.Column("known_device", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_flows") as batch:
        batch.drop_column("known_device")
    op.drop_index("ix_known_devices_professional_id", table_name="known_devices")
    op.drop_table("known_devices")
