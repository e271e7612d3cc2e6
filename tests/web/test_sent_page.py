"""« Documents envoyés »: what one shared, each recipient's state (waiting, delivered, read),
searched in the request body, paged; nobody else's, and only to a logged-in professional."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from sisra.platform.models import AuditEvent
from support.documents import share_request


def _web_login(app_client: Any, persona: Any) -> None:
    r = app_client.post(
        "/api/v1/auth/web-ticket", headers=persona.headers, json={"target": "/documents-envoyes"}
    )
    assert r.status_code == 200, r.text
    app_client.get(r.json()["url"].split("127.0.0.1:8000", 1)[1])


def _csrf(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_sent_documents_show_each_recipients_state_and_only_ones_own(
    app_client: Any, make_pro: Any, make_patient: Any, pdf: Any, db: Any
) -> None:
    sender = make_pro("envoi.martin", first_name="Paul", last_name="Martin")
    reader = make_pro("lecteur.roux", first_name="Claire", last_name="Roux")
    waiter = make_pro("attente.blanc", first_name="Luc", last_name="Blanc")
    other = make_pro("autre.noir", first_name="Anne", last_name="Noir")
    patient = make_patient("BERTHIER")
    shared = share_request(
        app_client, sender, patient, [reader, waiter], pdf("a"), title="Bilan thyroïdien"
    )
    assert shared.status_code == 201, shared.text
    share_request(app_client, other, patient, [reader], pdf("b"), title="Lettre de quelqu'un")
    item = app_client.get("/api/v1/inbox", headers=reader.headers).json()["items"]
    mine = next(i for i in item if i["document"]["title"] == "Bilan thyroïdien")
    r = app_client.post(
        f"/api/v1/inbox/{mine['id']}/receipts", headers=reader.headers, json={"kind": "read"}
    )
    assert r.status_code == 200, r.text

    _web_login(app_client, sender)
    html = app_client.get("/documents-envoyes").text
    assert "Bilan thyroïdien" in html and "BERTHIER" in html
    assert "Lettre de quelqu&#39;un" not in html and "Lettre de quelqu'un" not in html
    assert "Claire ROUX" in html or "Claire Roux" in html
    row = html.split("Bilan thyroïdien", 1)[1]
    assert "lu le " in row and "en attente" in row
    assert 'href="/documents-envoyes"' in html  # in the menu

    # search in the body (traits never in a URL), by recipient and by patient
    found = app_client.post("/documents-envoyes", data={"csrf": _csrf(html), "q": "blanc"})
    assert "Bilan thyroïdien" in found.text
    none = app_client.post("/documents-envoyes", data={"csrf": _csrf(html), "q": "dupont"})
    assert "Aucun document envoyé ne correspond" in none.text
    refused = app_client.post("/documents-envoyes", data={"csrf": "faux", "q": "blanc"})
    assert refused.status_code in (400, 403)
    with db() as s:
        rows = s.query(AuditEvent).filter_by(action="documents.sent_list").all()
        assert rows and all("blanc" not in str(r.details) for r in rows)


def test_sent_documents_are_paged(
    app_client: Any, make_pro: Any, make_patient: Any, pdf: Any
) -> None:
    sender = make_pro("envoi.page")
    reader = make_pro("lecteur.page")
    patient = make_patient("PAGINE")
    for n in range(53):
        assert share_request(app_client, sender, patient, [reader], pdf(str(n)), title=f"Doc {n}")
    _web_login(app_client, sender)
    first = app_client.get("/documents-envoyes").text
    assert "Documents 1 à 50 sur 53" in first and "Page 1 sur 2" in first
    second = app_client.get("/documents-envoyes?page=2").text
    assert "Documents 51 à 53 sur 53" in second and "Doc 0<" in second


def test_an_outsider_is_sent_to_the_login_page(app_client: Any) -> None:
    r = app_client.get("/documents-envoyes", follow_redirects=False)
    assert r.status_code in (302, 303) and "/connexion" in r.headers["location"]
    r = app_client.post("/documents-envoyes", data={"q": "x"}, follow_redirects=False)
    assert r.status_code in (302, 303, 401, 403)


def test_the_menu_leads_to_sent_documents_in_the_browser(
    web_as: Any, make_pro: Any, make_patient: Any, pdf: Any, live_server: Any
) -> None:
    import httpx

    sender = make_pro("envoi.nav")
    reader = make_pro("lecteur.nav")
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        r = share_request(client, sender, make_patient("NAVIGUE"), [reader], pdf(), title="Écho")
        assert r.status_code == 201, r.text
    page: Page = web_as(sender, "/accueil")
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Documents envoyés"
    ).click()
    expect(page.get_by_role("heading", name="Documents envoyés")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Écho")).to_be_visible()
    expect(page.get_by_text("en attente")).to_be_visible()
