"""Pro Santé Connect (e-CPS) logins in progress

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 04:30:00

One row per trip to Pro Santé Connect (OpenID Connect authorization code flow), for a browser
or for MonSisra (loopback redirect and one-time code).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sisra.platform.models.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sisra.platform.models.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "psc_flows",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        _when("expires_at", nullable=False),
        _when("used_at"),
        sa.Column("next_target", sa.String(length=500), nullable=True),
        sa.Column("browser_hash", sa.String(length=64), nullable=True),
        sa.Column("app_redirect_uri", sa.String(length=200), nullable=True),
        sa.Column("app_state", sa.String(length=200), nullable=True),
        sa.Column("app_challenge", sa.String(length=100), nullable=True),
        sa.Column("app_code_hash", sa.String(length=64), nullable=True),
        _when("app_code_expires_at"),
        _when("app_code_used_at"),
        sa.Column("professional_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        _when("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_psc_flows_professional_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_psc_flows")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_psc_flows_state_hash")),
    )


def downgrade() -> None:
    op.drop_table("psc_flows")
