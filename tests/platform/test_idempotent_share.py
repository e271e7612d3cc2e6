"""Sharing is idempotent: a retry with the same Idempotency-Key returns the first answer."""

import json
import re
import threading
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from sisra.platform.models import Document, Notification, ShareIdempotencyKey, utcnow


def _share(
    client: Any,
    sender: Any,
    patient: Any,
    recipients: list[Any],
    data: bytes,
    key: str | None,
    **meta: Any,
) -> Any:
    metadata = {
        "patient_id": str(patient),
        "title": meta.pop("title", "Compte rendu"),
        "type_code": "cr_consultation",
        "clinical_date": date.today().isoformat(),
        "recipients": [str(r.id) for r in recipients],
        **meta,
    }
    headers = {**sender.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return client.post(
        "/api/v1/documents",
        headers=headers,
        data={"metadata": json.dumps(metadata)},
        files={"file": ("document.pdf", data, "application/pdf")},
    )


def _counts(db: Any) -> tuple[int, int]:
    with db() as s:
        return (
            s.scalar(select(func.count()).select_from(Document)),
            s.scalar(select(func.count()).select_from(Notification)),
        )


def test_a_retry_with_the_same_key_returns_the_first_answer(
    app_client, make_pro, make_patient, pdf, db, settings
):
    author, r1, r2 = make_pro(), make_pro(), make_pro()
    patient, data = make_patient(), pdf("Bilan")
    first = _share(app_client, author, patient, [r1, r2], data, "envoi-7f3a")
    assert first.status_code == 201, first.text
    again = _share(app_client, author, patient, [r1, r2], data, "envoi-7f3a")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _counts(db) == (1, 2)
    assert len(app_client.get("/api/v1/inbox", headers=r1.headers).json()["items"]) == 1
    # without a key, or with another one, it is a new share
    assert _share(app_client, author, patient, [r1], data, "envoi-8b1c").status_code == 201
    assert _share(app_client, author, patient, [r1], data, None).status_code == 201
    assert _counts(db)[0] == 3


def test_the_same_key_for_another_request_is_refused(app_client, make_pro, make_patient, pdf, db):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    assert _share(app_client, author, patient, [rec], pdf("A"), "k1").status_code == 201
    for other in (
        _share(app_client, author, patient, [rec], pdf("B"), "k1"),  # another PDF
        _share(app_client, author, patient, [rec], pdf("A"), "k1", title="Autre titre"),
    ):
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert "clé" in other.json()["message"]
    assert _counts(db) == (1, 1)


def test_keys_belong_to_their_professional_and_expire(
    app_client, make_pro, make_patient, pdf, db, settings
):
    a, b, rec = make_pro(), make_pro(), make_pro()
    patient = make_patient()
    assert _share(app_client, a, patient, [rec], pdf("A"), "shared-key").status_code == 201
    assert _share(app_client, b, patient, [rec], pdf("A"), "shared-key").status_code == 201
    assert _counts(db)[0] == 2
    # 25 hours later the key is free again, even for another request
    with db() as s:
        s.execute(update(ShareIdempotencyKey).values(created_at=utcnow() - timedelta(hours=25)))
    later = _share(app_client, a, patient, [rec], pdf("C"), "shared-key")
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert _counts(db)[0] == 3


def test_a_failed_share_does_not_spend_its_key(app_client, make_pro, make_patient, pdf, db):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    bad = _share(app_client, author, patient, [rec], b"pas un PDF", "k-retry")
    assert bad.status_code == 422 and bad.json()["code"] == "not_a_pdf"
    good = _share(app_client, author, patient, [rec], pdf(), "k-retry")
    assert good.status_code == 201 and "idempotent-replayed" not in good.headers
    for key in ("", "a b", "tab\there", "x" * 256):
        r = _share(app_client, author, patient, [rec], pdf(), key)
        if key == "":
            assert r.status_code == 201  # an empty header is no key
        else:
            assert r.status_code == 422 and r.json()["code"] == "invalid_idempotency_key", key


def test_parallel_retries_share_once(live_server, make_pro, make_patient, pdf, db):
    """A client that times out and retries while the first request still runs."""
    author, rec = make_pro(), make_pro()
    patient, data = make_patient(), pdf("Scanner", padding=400_000)
    barrier = threading.Barrier(4)
    answers: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            barrier.wait()
            answers.append(_share(client, author, patient, [rec], data, "parallel-1"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert sum(1 for a in answers if "idempotent-replayed" in a.headers) == 3
    assert _counts(db) == (1, 1)


def _csrf_and_key(html: str) -> tuple[str, str]:
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert csrf and key, "the share form carries a CSRF token and an idempotency key"
    return csrf.group(1), key.group(1)


def test_the_web_share_form_shares_once_when_sent_twice(
    app_client, make_pro, make_patient, pdf, db
):
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    r = app_client.post(
        "/api/v1/auth/web-ticket", headers=author.headers, json={"target": f"/envoyer/{patient}"}
    )
    form = app_client.get("/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1])
    assert form.status_code == 200
    csrf, key = _csrf_and_key(form.text)
    assert _csrf_and_key(app_client.get(f"/envoyer/{patient}").text)[1] != key  # per render
    fields = {
        "csrf": csrf,
        "mode": "joindre",
        "title": "Échographie",
        "type_code": "cr_imagerie",
        "clinical_date": date.today().isoformat(),
        "recipients": str(rec.id),
        "idempotency_key": key,
    }
    data = pdf("Échographie")

    def submit(**changes: Any) -> Any:
        return app_client.post(
            f"/envoyer/{patient}",
            data={**fields, **changes},
            files={"file": ("echo.pdf", data, "application/pdf")},
        )

    first, second = submit(), submit()  # double click, or « Renvoyer le formulaire »
    for page in (first, second):
        assert page.status_code == 200 and "Document partagé avec" in page.text
    assert _counts(db) == (1, 1)
    reused = submit(title="Autre document")
    assert reused.status_code == 422
    assert "déjà servi" in reused.text
    _csrf, fresh = _csrf_and_key(reused.text)
    assert fresh != key  # the form comes back ready to send the new document
    assert submit(title="Autre document", idempotency_key=fresh).status_code == 200
    assert _counts(db) == (2, 2)


@pytest.mark.parametrize("mode", ["creer"])
def test_the_letter_editor_is_idempotent_too(app_client, make_pro, make_patient, db, mode):
    """The letter is rendered anew each time (its bytes differ): its text is what counts."""
    author, rec = make_pro(), make_pro()
    patient = make_patient()
    r = app_client.post(
        "/api/v1/auth/web-ticket", headers=author.headers, json={"target": f"/envoyer/{patient}"}
    )
    form = app_client.get("/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1])
    csrf, key = _csrf_and_key(form.text)
    fields = {
        "csrf": csrf,
        "mode": mode,
        "title": "Lettre",
        "type_code": "courrier",
        "clinical_date": date.today().isoformat(),
        "recipients": str(rec.id),
        "body": "Cher confrère, merci de recevoir ce patient.",
        "idempotency_key": key,
    }
    for _ in range(2):
        page = app_client.post(f"/envoyer/{patient}", data=fields)
        assert page.status_code == 200 and "Document partagé avec" in page.text
    assert _counts(db) == (1, 1)
