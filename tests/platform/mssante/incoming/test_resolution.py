"""« Identités à rapprocher »: the recipient picks the patient, or creates the identity from
the received traits; the document then becomes a normal one. Only its recipients may."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from sisra.platform.models import AuditEvent, Document, MailPending, Notification, Patient
from support.web import csrf_of, web_session

from .mails import SENDER, lmtp, with_pdf, with_xdm, xdm_zip
from .shared import new_patient

TRAITS = {
    "birth_name": "BERNARD",
    "first_given_name": "Louise",
    "birth_date": "1988-02-29",
    "sex": "F",
}


@pytest.fixture
def received(gateway: Any, mailbox: Any, db: Any, pdf: Any) -> dict[str, Any]:
    """A plain mail with a PDF for Claire and Paul: unstructured, waiting for them."""
    claire, paul = mailbox("claire.martin"), mailbox("paul.durand")
    data = pdf("Résultats de biologie de Mme BERNARD")
    rcpts = [claire.address, paul.address]
    replies = lmtp(gateway.port, SENDER, rcpts, with_pdf(rcpts, data, subject="Biologie"))
    assert all(code == 250 for code, _ in replies.values()), replies
    with db() as session:
        pending = session.scalars(select(MailPending)).one()
    return {"claire": claire, "paul": paul, "pending": pending.id, "data": data}


def _patient(db: Any) -> Any:
    return new_patient(
        db,
        birth_name="BERNARD",
        birth_given_names=["Louise"],
        birth_date=date(1988, 2, 29),
        sex="F",
    )


def test_the_recipient_picks_the_patient_and_both_recipients_get_it(app_client, received, db):
    patient_id = _patient(db)
    claire, paul, pending = received["claire"], received["paul"], received["pending"]
    inbox = web_session(app_client, claire, "/documents-recus")
    assert "Un document reçu par MSSanté attend que vous indiquiez" in inbox.text
    assert 'href="/identites-a-rapprocher"' in inbox.text
    page = app_client.get("/identites-a-rapprocher")
    assert page.status_code == 200
    assert "Identités à rapprocher" in page.text and "Biologie" in page.text
    shown = app_client.get(f"/identites-a-rapprocher/{pending}")
    assert shown.status_code == 200 and "Rattacher à ce patient" not in shown.text
    # the search is a POST form: the traits stay out of the URL
    search = {"q": "bernard", "birth_date": "1988-02-29", "csrf": csrf_of(shown.text)}
    item = app_client.post(f"/identites-a-rapprocher/{pending}", data=search)
    assert item.status_code == 200 and "Rattacher à ce patient" in item.text
    # the search finds one patient: a name alone is refused, with the reason
    broad = {"q": "bernard", "csrf": csrf_of(shown.text)}
    refused = app_client.post(f"/identites-a-rapprocher/{pending}", data=broad)
    assert refused.status_code == 400 and "Recherche trop large" in refused.text
    assert "Rattacher à ce patient" not in refused.text
    forged = app_client.post(f"/identites-a-rapprocher/{pending}", data={**search, "csrf": "x"})
    assert forged.status_code == 403
    pdf = app_client.get(f"/identites-a-rapprocher/{pending}/pdf")
    assert pdf.status_code == 200 and pdf.content == received["data"]
    done = app_client.post(
        f"/identites-a-rapprocher/{pending}/patient",
        data={"patient_id": str(patient_id), "csrf": csrf_of(item.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    listing = app_client.get(done.headers["location"])
    assert "Le document a été rattaché au patient" in listing.text
    assert "Aucun document n'attend de rapprochement" in listing.text
    assert "attend que vous indiquiez" not in app_client.get("/documents-recus").text
    for persona in (claire, paul):
        items = app_client.get("/api/v1/inbox", headers=persona.headers).json()["items"]
        assert [(i["patient"]["id"], i["document"]["title"]) for i in items] == [
            (str(patient_id), "Biologie")
        ]
    with db() as session:
        row = session.get(MailPending, pending)
        assert row.resolved_by_id == claire.id and row.patient_id == patient_id
        doc = session.get(Document, row.document_id)
        assert doc is not None and doc.patient_id == patient_id
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "mssante.resolve")
        ).one()
        assert event.actor_id == claire.id and event.details["how"] == "choix"
    # Paul comes second: already done, nothing filed twice
    item = web_session(app_client, paul, f"/identites-a-rapprocher/{pending}")
    assert "déjà été rattaché" in item.text
    again = app_client.post(
        f"/identites-a-rapprocher/{pending}/patient",
        data={"patient_id": str(patient_id), "csrf": csrf_of(item.text)},
    )
    assert again.status_code == 409
    with db() as session:
        assert len(session.scalars(select(Notification)).all()) == 2


def test_the_identity_is_created_from_the_received_traits(
    app_client, gateway, mailbox, db, pdf, tmp_path
):
    claire = mailbox("claire.martin")
    archive = xdm_zip(tmp_path, TRAITS, pdf())
    lmtp(gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive))
    with db() as session:
        pending = session.scalars(select(MailPending)).one()
    assert pending.reason.value == "no_match"
    page = web_session(app_client, claire, f"/identites-a-rapprocher/{pending.id}")
    assert 'value="BERNARD"' in page.text and 'value="1988-02-29"' in page.text
    form = {
        "csrf": csrf_of(page.text),
        "birth_name": "BERNARD",
        "birth_given_names": "Louise",
        "birth_date": "1988-02-29",
        "sex": "F",
    }
    done = app_client.post(
        f"/identites-a-rapprocher/{pending.id}/creer", data=form, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    with db() as session:
        patient = session.scalars(select(Patient)).one()
        assert (patient.birth_name, patient.first_given_name) == ("BERNARD", "Louise")
        assert session.scalars(select(Document)).one().patient_id == patient.id
        actions = [e.action for e in session.scalars(select(AuditEvent))]
        assert "patient.create" in actions and "mssante.resolve" in actions
    # creating it a second time is refused: the page says so, nothing changes
    archive = xdm_zip(tmp_path, {**TRAITS, "birth_date": "1988-03-01"}, pdf())
    lmtp(gateway.port, SENDER, [claire.address], with_xdm(claire.address, archive))
    with db() as session:
        second = session.scalars(select(MailPending).where(MailPending.resolved_at.is_(None))).one()
    page = app_client.get(f"/identites-a-rapprocher/{second.id}")
    refused = app_client.post(
        f"/identites-a-rapprocher/{second.id}/creer",
        data={**form, "csrf": csrf_of(page.text)},
    )
    assert refused.status_code == 409
    assert "Cette identité existe déjà" in refused.text
    with db() as session:
        assert len(session.scalars(select(Patient)).all()) == 1
        assert session.get(MailPending, second.id).resolved_at is None


def test_an_outsider_is_refused_everywhere(app_client, received, make_pro, db):
    patient_id = _patient(db)
    pending = received["pending"]
    outsider = make_pro("intrus")
    listing = web_session(app_client, outsider, "/identites-a-rapprocher")
    assert listing.status_code == 200 and "Biologie" not in listing.text
    token = csrf_of(listing.text)
    for path in (f"/identites-a-rapprocher/{pending}", f"/identites-a-rapprocher/{pending}/pdf"):
        r = app_client.get(path)
        assert r.status_code == 403 and "ne vous est pas adressé" in r.text
        assert received["data"] not in r.content
    r = app_client.post(
        f"/identites-a-rapprocher/{pending}/patient",
        data={"patient_id": str(patient_id), "csrf": token},
    )
    assert r.status_code == 403
    r = app_client.post(
        f"/identites-a-rapprocher/{pending}/creer",
        data={
            "csrf": token,
            "birth_name": "INTRUS",
            "birth_given_names": "Jean",
            "birth_date": "1970-01-01",
            "sex": "M",
        },
    )
    assert r.status_code == 403
    with db() as session:
        assert session.get(MailPending, pending).resolved_at is None
        assert len(session.scalars(select(Patient)).all()) == 1  # no identity created
        refused = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "mssante.pending_read", AuditEvent.outcome == "refused"
            )
        ).all()
        assert len(refused) == 4 and all(e.actor_id == outsider.id for e in refused)


def test_anonymous_visitors_are_sent_to_the_login(app_client, received):
    app_client.cookies.clear()
    r = app_client.get(f"/identites-a-rapprocher/{received['pending']}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/connexion")
