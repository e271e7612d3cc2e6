"""Authentication hardening: atomic throttles, single rotation, revocation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:50:00

- ``login_throttle.not_before``: progressive delay on an account under attack (no hard lock).
- ``web_sessions.device_id``: the device whose one-time link opened a browser session, so
  revoking the device closes it.
- counter ``revocations``: a generation number bumped by every revocation; open event streams
  re-check their token when it moves.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sisra.platform.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "not_before", sisra.platform.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_web_sessions_device_id"), ["device_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_web_sessions_device_id_devices"), "devices", ["device_id"], ["id"]
        )
    op.execute(
        "INSERT INTO counters (name, value, last_hash) "
        "SELECT 'revocations', 0, '" + "0" * 64 + "' "
        "WHERE NOT EXISTS (SELECT 1 FROM counters WHERE name = 'revocations')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'revocations'")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_web_sessions_device_id_devices"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_web_sessions_device_id"))
        batch_op.drop_column("device_id")
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_column("not_before")
