"""Migration 0013 folds the titles of the documents already stored."""

from datetime import date

import pytest
import sqlalchemy as sa

from sisra.platform.context import SYSTEM
from sisra.platform.db import make_engine, make_session_factory, unit_of_work
from sisra.platform.migrate import downgrade, upgrade
from sisra.platform.models import Document, Professional
from sisra.platform.patients import service as patients


@pytest.fixture
def own_url(scratch_url):
    upgrade(scratch_url, "head")
    return scratch_url


def test_existing_titles_are_folded_by_the_upgrade(own_url):
    engine = make_engine(own_url)
    titles = ["Échographie cardiaque", "Compte rendu opératoire — Œsophage", "plain"]
    with unit_of_work(make_session_factory(engine)) as session:
        author = Professional(
            first_name="A",
            last_name="B",
            profession="Médecin",
            email="a@b.fr",
            login="ab",
            search_text="b a",
        )
        session.add(author)
        patient = patients.create(
            session,
            SYSTEM,
            patients.NewPatient(
                birth_name="DUPONT",
                birth_given_names=["Jeanne"],
                first_given_name="Jeanne",
                birth_date=date(1950, 1, 1),
                sex="F",
            ),
        )
        for i, title in enumerate(titles):
            session.add(
                Document(
                    patient_id=patient.id,
                    author_id=author.id,
                    title=title,
                    type_code="CR",
                    loinc="11488-4",
                    clinical_date=date(2026, 1, 1),
                    sha256="0" * 64,
                    size=1,
                    page_count=1,
                    blob_key=f"k{i}",
                    wrapped_key=b"\0",
                )
            )
    engine.dispose()
    downgrade(own_url, "0012")  # the column goes away, as before 0013
    upgrade(own_url, "head")  # and comes back filled from the titles
    engine = sa.create_engine(own_url)
    with engine.connect() as conn:
        folded = dict(conn.execute(sa.text("SELECT title, title_fold FROM documents")).all())
    engine.dispose()
    assert folded == {
        "Échographie cardiaque": "echographie cardiaque",
        "Compte rendu opératoire — Œsophage": "compte rendu operatoire — oesophage",
        "plain": "plain",
    }
