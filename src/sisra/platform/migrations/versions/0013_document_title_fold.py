"""Documents: a folded title for accent-insensitive search

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 05:00:00

« echographie » must find « Échographie cardiaque » in the web inbox search: the title is
kept folded (lower case, no accents, ligatures expanded) beside the original, as patients'
names already are. Existing rows are folded here, in batches, with the same function.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sisra.common.text import fold

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(
            sa.Column("title_fold", sa.String(length=250), nullable=False, server_default="")
        )
    bind = op.get_bind()
    docs = sa.table(
        "documents", sa.column("id", sa.Uuid()), sa.column("title"), sa.column("title_fold")
    )
    last = None
    while True:
        stmt = sa.select(docs.c.id, docs.c.title).order_by(docs.c.id).limit(BATCH)
        if last is not None:
            stmt = stmt.where(docs.c.id > last)
        rows = bind.execute(stmt).all()
        if not rows:
            break
        bind.execute(
            docs.update().where(docs.c.id == sa.bindparam("doc")),
            [{"doc": row.id, "title_fold": fold(row.title)[:250]} for row in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("title_fold")
