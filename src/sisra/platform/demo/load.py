"""Load the demo region into the database through the real services (same rules as the API)."""

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from sisra.common import doctypes
from sisra.platform.context import Actor, RequestContext
from sisra.platform.db import make_engine, make_session_factory, unit_of_work
from sisra.platform.demo import exchanges, region
from sisra.platform.demo.pdfs import render_pdf
from sisra.platform.directory import service as directory
from sisra.platform.documents import service as documents
from sisra.platform.documents.schemas import ShareMetadata
from sisra.platform.events.hub import EventHub
from sisra.platform.models import (
    CareTeamDeclaration,
    Document,
    Notification,
    Patient,
    Professional,
    Role,
    utcnow,
)
from sisra.platform.patients import service as patients
from sisra.platform.record import care_team
from sisra.platform.settings import Settings
from sisra.platform.storage import EncryptedBlobs, blobs_from_settings, load_master_key

# Printed by `make demo`; the demo database is for trying the product, never for real data.
DEMO_PASSWORD = "Demo-Sisra-2026"  # noqa: S105
ADMIN_LOGIN = "admin"

DEMO_CTX = RequestContext(actor=None, ip=None, user_agent="sisra-demo")


@dataclass
class DemoSummary:
    created: bool
    professionals: list[tuple[str, str, str]] = field(default_factory=list)  # login, name, job
    patients: int = 0
    documents: int = 0
    # professionals who hold a CPS card in the demo: login, national id, first, last name
    card_holders: list[tuple[str, str, str, str]] = field(default_factory=list)


def _blobs(settings: Settings) -> EncryptedBlobs:
    key = settings.master_key.get_secret_value() if settings.master_key else None
    master = load_master_key(key, settings.master_key_file)
    return blobs_from_settings(settings, master)


def load_demo(
    settings: Settings,
    *,
    n_documents: int = 1000,
    n_patients: int = 300,
    seed: int = 2026,
    progress: Callable[[str], None] = print,
) -> DemoSummary:
    """Fill an empty database with the demo region; leave a non-empty one as it is."""
    engine = make_engine(settings.effective_database_url, settings)
    factory = make_session_factory(engine)
    try:
        with unit_of_work(factory) as session:
            existing = session.scalar(select(func.count()).select_from(Professional)) or 0
        if existing:
            progress("Base déjà peuplée : la région de démonstration n'est pas rechargée.")
            return _summary(factory, created=False, seed=seed)
        rng = random.Random(seed)
        pros = region.make_professionals(rng)
        pats = region.make_patients(rng, n_patients)
        docs = exchanges.make_documents(rng, pros, pats, n_documents)
        progress(f"Annuaire : {len(pros)} professionnels et un administrateur…")
        pro_ids = []
        with unit_of_work(factory) as session:
            directory.create(
                session,
                DEMO_CTX,
                directory.NewProfessional(
                    first_name="Admin",
                    last_name="Régional",
                    profession="Administrateur",
                    email="admin@demo.sisra.test",
                    login=ADMIN_LOGIN,
                    role=Role.administrator,
                    password=DEMO_PASSWORD,
                ),
            )
            for p in pros:
                created = directory.create(
                    session,
                    DEMO_CTX,
                    directory.NewProfessional(
                        first_name=p.first_name,
                        last_name=p.last_name,
                        profession=p.profession,
                        specialty=p.specialty,
                        structure=p.structure,
                        city=p.city,
                        email=p.email,
                        mssante=p.mssante,
                        login=p.login,
                        rpps=p.rpps,
                        adeli=p.adeli,
                        password=DEMO_PASSWORD,
                    ),
                )
                pro_ids.append((created.id, created.role, created.display_name))
        progress(f"Identités : {len(pats)} patients…")
        pat_ids = []
        with unit_of_work(factory) as session:
            for pt in pats:
                pat_ids.append(
                    patients.create(
                        session,
                        DEMO_CTX,
                        patients.NewPatient(
                            birth_name=pt.birth_name,
                            used_name=pt.used_name,
                            birth_given_names=pt.birth_given_names,
                            first_given_name=pt.first_given_name,
                            birth_date=pt.birth_date,
                            sex=pt.sex,
                            birth_place_code=pt.birth_place_code,
                            ins=pt.ins,
                            ins_oid=pt.ins_oid,
                            identity_status=pt.identity_status,
                        ),
                    ).id
                )
        _share_all(settings, factory, rng, pros, pats, docs, pro_ids, pat_ids, progress)
        _declare_all(settings, factory, pros, docs, pro_ids, pat_ids, progress)
        return _summary(factory, created=True, seed=seed)
    finally:
        engine.dispose()


def _share_all(
    settings: Settings,
    factory: sessionmaker[Session],
    rng: random.Random,
    pros: list[region.DemoProfessional],
    pats: list[region.DemoPatient],
    docs: list[region.DemoDocument],
    pro_ids: list[tuple[uuid.UUID, Role, str]],
    pat_ids: list[uuid.UUID],
    progress: Callable[[str], None],
) -> None:
    blobs, hub = _blobs(settings), EventHub()
    relaxed = settings.model_copy(update={"max_document_bytes": 50 * 1024 * 1024})
    order = sorted(range(len(docs)), key=lambda i: -docs[i].created_days_ago)  # oldest first
    doc_ids: dict[int, uuid.UUID] = {}
    now = utcnow()
    for n, i in enumerate(order, 1):
        d = docs[i]
        author, patient = pros[d.author_index], pats[d.patient_index]
        author_id, author_role, author_name = pro_ids[d.author_index]
        dtype = doctypes.BY_CODE[d.type_code]
        data = render_pdf(
            title=d.title,
            type_label=dtype.label,
            author_name=author_name,
            author_profession=author.specialty or author.profession,
            author_structure=author.structure,
            author_city=author.city,
            patient_name=f"{patient.used_name or patient.birth_name} {patient.first_given_name}",
            patient_birth_date=patient.birth_date,
            patient_ins=patient.ins,
            patient_identity_status=patient.identity_status,
            clinical_date=d.clinical_date,
            rng=rng,
        )
        ctx = RequestContext(Actor(author_id, author_role, author_name), None, "sisra-demo")
        reply_to = d.in_reply_to_index
        meta = ShareMetadata(
            patient_id=pat_ids[d.patient_index],
            title=d.title,
            type_code=d.type_code,
            clinical_date=d.clinical_date,
            recipients=[pro_ids[r][0] for r in d.recipient_indexes],
            in_reply_to=doc_ids.get(reply_to) if reply_to is not None else None,
        )
        with unit_of_work(factory) as session:
            doc, notes = documents.share(session, relaxed, ctx, blobs, hub, meta, BytesIO(data))
            when = now - timedelta(days=d.created_days_ago)
            session.execute(update(Document).where(Document.id == doc.id).values(created_at=when))
            for note in notes:
                age = d.created_days_ago
                delivered = when + timedelta(minutes=rng.randint(1, 240)) if age > 1 else None
                read = (
                    delivered + timedelta(hours=rng.randint(1, 48))
                    if (delivered and age > 3 and rng.random() < 0.8)
                    else None
                )
                session.execute(
                    update(Notification)
                    .where(Notification.id == note.id)
                    .values(created_at=when, delivered_at=delivered, read_at=read)
                )
            doc_ids[i] = doc.id
        if n % 100 == 0 or n == len(order):
            progress(f"Documents partagés : {n}/{len(order)}")


def _declare_all(
    settings: Settings,
    factory: sessionmaker[Session],
    pros: list[region.DemoProfessional],
    docs: list[region.DemoDocument],
    pro_ids: list[tuple[uuid.UUID, Role, str]],
    pat_ids: list[uuid.UUID],
    progress: Callable[[str], None],
) -> None:
    """Seed the care teams through the real declaration (same rule and audit as the API).

    One transaction per declaration, as a request would (the declaration is counted in a
    transaction of its own first); the counted attempt and the membership are then dated
    back to the professional's first document, so the administrators' alerts see a normal
    past rate and the daily digest has nothing new to tell.
    """
    members = exchanges.make_declared_members(pros, docs)
    # the history of a whole region is loaded at once: no per-hour limit for it
    relaxed = settings.model_copy(
        update={"care_team_declarations_per_hour": 10**9, "care_team_declarations_per_day": 10**9}
    )
    now = utcnow()
    for m in members:
        pro_id, role, name = pro_ids[m.professional_index]
        patient_id = pat_ids[m.patient_index]
        ctx = RequestContext(Actor(pro_id, role, name), None, "sisra-demo")
        with unit_of_work(factory) as session:
            member, _outcome = care_team.declare(
                session,
                relaxed,
                ctx,
                patient_id,
                attested=True,
                reason=m.reason,
                details=m.context,
                consent=True,
            )
            when = now - timedelta(days=m.since_days_ago)
            member.since = member.created_at = member.declared_at = when
            session.execute(
                update(CareTeamDeclaration)
                .where(
                    CareTeamDeclaration.professional_id == pro_id,
                    CareTeamDeclaration.patient_id == patient_id,
                )
                .values(at=when)
            )
    progress(f"Équipes de soins : {len(members)} prises en charge déclarées.")


def _summary(factory: sessionmaker[Session], created: bool, seed: int) -> DemoSummary:
    with unit_of_work(factory) as session:
        rows = list(
            session.execute(select(Professional).order_by(Professional.created_at)).scalars()
        )
        summary = DemoSummary(created=created)
        summary.professionals = [
            (p.login, p.display_name, p.specialty or p.profession) for p in rows
        ]
        # the card holders of the region this seed draws, for every start (not only the
        # first): SoftHSM2 may have been installed since, and the cards are made then
        by_login = {p.login: p for p in rows}
        summary.card_holders = [
            (p.login, by_login[p.login].national_id or "", p.first_name, p.last_name)
            for p in region.make_professionals(random.Random(seed))
            if p.has_card and p.login in by_login and by_login[p.login].national_id
        ]
        summary.patients = session.scalar(select(func.count()).select_from(Patient)) or 0
        summary.documents = session.scalar(select(func.count()).select_from(Document)) or 0
    return summary


def print_logins(
    summary: DemoSummary, echo: Callable[[str], None] = print, url: str = "http://127.0.0.1:8000"
) -> None:
    echo("")
    echo(
        f"Région de démonstration : {len(summary.professionals)} comptes, "
        f"{summary.patients} patients, {summary.documents} documents."
    )
    echo(f"API et documentation : {url}/docs")
    echo(f"Mot de passe de tous les comptes de démonstration : {DEMO_PASSWORD}")
    for login, name, job in summary.professionals[:6]:
        echo(f"  {login:<22} {name} — {job}")
    if len(summary.professionals) > 6:
        others = len(summary.professionals) - 6
        echo(f"  … et {others} autres (voir GET /api/v1/professionals)")
    if summary.professionals:  # commands that work as printed, whatever the port
        users = [login for login, _name, job in summary.professionals if job != "Administrateur"]
        login = (users or [summary.professionals[0][0]])[0]
        echo(f"MonSisra (application de bureau) : SISRA_SERVER_URL={url} .venv/bin/sisra desktop")
        echo(
            "MonSisra en ligne de commande : .venv/bin/sisra client add-user "
            f"--identifier {login} --server {url}"
        )
    echo("")
