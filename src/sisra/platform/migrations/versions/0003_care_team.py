"""Care team: explicit membership of a patient's care team

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 00:50:00

Until now the care team was derived: whoever authored or received a document about a patient
read all of the patient's unrestricted documents. Membership is now explicit
(``care_team_members``). So that an existing installation keeps the access its users had,
every (patient, author) and (patient, recipient) pair found in the documents becomes a
member with ``how = 'history'``, member since their first document about the patient.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import sisra.platform.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = sisra.platform.models.base.UTCDateTime

# Frozen views of the tables this migration reads and writes (not the live models, which
# may change after this migration).
_documents = sa.table(
    "documents",
    sa.column("id", sa.Uuid()),
    sa.column("patient_id", sa.Uuid()),
    sa.column("author_id", sa.Uuid()),
    sa.column("created_at", _UTC()),
)
_notifications = sa.table(
    "notifications",
    sa.column("document_id", sa.Uuid()),
    sa.column("recipient_id", sa.Uuid()),
    sa.column("created_at", _UTC()),
)
_members = sa.table(
    "care_team_members",
    sa.column("id", sa.Uuid()),
    sa.column("created_at", _UTC()),
    sa.column("patient_id", sa.Uuid()),
    sa.column("professional_id", sa.Uuid()),
    sa.column("how", sa.String()),
    sa.column("since", _UTC()),
    sa.column("attestation", sa.String()),
    sa.column("ended_at", _UTC()),
)

HISTORY_NOTE = "Repris de l'historique des documents (auteur ou destinataire)."


def backfill_from_history(conn: sa.Connection) -> int:
    """Make every author and recipient of a document about a patient a member of its care team.

    Idempotent: a pair that already has an open membership is left alone. Returns the number
    of memberships created.
    """
    first: dict[tuple[uuid.UUID, uuid.UUID], datetime] = {}

    def keep(patient_id: uuid.UUID, pro_id: uuid.UUID, at: datetime) -> None:
        key = (patient_id, pro_id)
        if key not in first or at < first[key]:
            first[key] = at

    authored = sa.select(
        _documents.c.patient_id, _documents.c.author_id, sa.func.min(_documents.c.created_at)
    ).group_by(_documents.c.patient_id, _documents.c.author_id)
    for patient_id, pro_id, at in conn.execute(authored):
        keep(patient_id, pro_id, at)
    received = (
        sa.select(
            _documents.c.patient_id,
            _notifications.c.recipient_id,
            sa.func.min(_notifications.c.created_at),
        )
        .join(_documents, _documents.c.id == _notifications.c.document_id)
        .group_by(_documents.c.patient_id, _notifications.c.recipient_id)
    )
    for patient_id, pro_id, at in conn.execute(received):
        keep(patient_id, pro_id, at)
    existing = {
        (patient_id, pro_id)
        for patient_id, pro_id in conn.execute(
            sa.select(_members.c.patient_id, _members.c.professional_id).where(
                _members.c.ended_at.is_(None)
            )
        )
    }
    now = sisra.platform.models.base.utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "patient_id": patient_id,
            "professional_id": pro_id,
            "how": "history",
            "since": at,
            "attestation": HISTORY_NOTE,
            "ended_at": None,
        }
        for (patient_id, pro_id), at in sorted(first.items(), key=lambda kv: kv[1])
        if (patient_id, pro_id) not in existing
    ]
    for start in range(0, len(rows), 1000):
        conn.execute(_members.insert(), rows[start : start + 1000])
    return len(rows)


def upgrade() -> None:
    op.create_table(
        "care_team_members",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("professional_id", sa.Uuid(), nullable=False),
        sa.Column(
            "how",
            sa.Enum(
                "declared", "admin", "history", name="careteamhow", native_enum=False, length=10
            ),
            nullable=False,
        ),
        sa.Column("since", _UTC(timezone=True), nullable=False),
        sa.Column("attestation", sa.String(length=500), nullable=True),
        sa.Column("added_by_id", sa.Uuid(), nullable=True),
        sa.Column("ended_at", _UTC(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.Uuid(), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["professionals.id"],
            name=op.f("fk_care_team_members_added_by_id_professionals"),
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"],
            ["professionals.id"],
            name=op.f("fk_care_team_members_ended_by_id_professionals"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_care_team_members_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_care_team_members_professional_id_professionals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_team_members")),
    )
    with op.batch_alter_table("care_team_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_team_members_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_care_team_members_professional_id"), ["professional_id"], unique=False
        )
        batch_op.create_index(
            "uq_care_team_members_open",
            ["patient_id", "professional_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
    backfill_from_history(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("care_team_members", schema=None) as batch_op:
        batch_op.drop_index("uq_care_team_members_open")
        batch_op.drop_index(batch_op.f("ix_care_team_members_professional_id"))
        batch_op.drop_index(batch_op.f("ix_care_team_members_patient_id"))
    op.drop_table("care_team_members")
