"""« Documents reçus » at real volume, in Chromium: pages, search, filters, preview, actions."""

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from sisra.platform.demo.volume import seed_inbox


@pytest.fixture
def big_inbox(
    live_server: Any, make_pro: Any, make_patient: Any, pdf: Any, share: Any, db: Any
) -> Any:
    """120 seeded items (every 3rd read) + one real share (newest) for Dr Blanc."""
    reader = make_pro("bruno.blanc", first_name="Bruno", last_name="Blanc")
    author = make_pro("alice.rey", first_name="Alice", last_name="Rey")
    other = make_pro("zoe.dubœuf", first_name="Zoé", last_name="Dubœuf", log_in=False)
    brechet = make_patient("BRÉCHET", "Éloïse")
    durand = make_patient("DURAND", "Lucie")
    with db() as session:
        seed_inbox(
            session,
            recipient_id=reader.id,
            sender_ids=[author.id, other.id],
            patient_ids=[brechet, durand],
            count=120,
            read_every=3,
        )
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        r = share(client, author, durand, [reader], pdf("Cardiologie"), title="Bilan cardiaque")
        assert r.status_code in (200, 201), r.text
    return {"reader": reader, "author": author}


def _count(page: Page) -> Any:
    return page.locator("#inbox-count")


def test_pages_of_fifty_newest_first_with_a_total(web_as: Any, big_inbox: Any) -> None:
    page = web_as(big_inbox["reader"], "/documents-recus")
    expect(_count(page)).to_have_text("Documents 1 à 50 sur 121")
    expect(page.locator("table.inbox tbody tr")).to_have_count(50)
    expect(page.locator("table.inbox tbody tr").first).to_contain_text("Bilan cardiaque")
    expect(page.get_by_role("button", name="Plus récents")).to_have_count(0)
    page.get_by_role("button", name="Plus anciens").click()
    expect(_count(page)).to_have_text("Documents 51 à 100 sur 121")
    page.get_by_role("button", name="Plus anciens").click()
    expect(_count(page)).to_have_text("Documents 101 à 121 sur 121")
    expect(page.locator("table.inbox tbody tr")).to_have_count(21)
    expect(page.get_by_role("rowheader").last).to_have_text("Lettre de liaison n° 1")
    expect(page.get_by_role("button", name="Plus anciens")).to_have_count(0)
    page.get_by_role("button", name="Plus récents").click()
    expect(_count(page)).to_have_text("Documents 51 à 100 sur 121")
    page.get_by_role("button", name="Plus récents").click()
    expect(_count(page)).to_have_text("Documents 1 à 50 sur 121")


def test_search_by_patient_ignores_accents_and_case_and_stays_out_of_the_url(
    web_as: Any, big_inbox: Any
) -> None:
    page = web_as(big_inbox["reader"], "/documents-recus")
    page.get_by_label("Patient, expéditeur ou titre").fill("brechet eloise")
    page.get_by_role("button", name="Rechercher").click()
    expect(_count(page)).to_have_text("Documents 1 à 50 sur 60")
    expect(page.locator("table.inbox tbody")).not_to_contain_text("DURAND")
    assert "brechet" not in page.url.lower()
    page.get_by_role("button", name="Plus anciens").click()  # the search is kept while paging
    expect(_count(page)).to_have_text("Documents 51 à 60 sur 60")
    expect(page.locator("table.inbox tbody")).not_to_contain_text("DURAND")


def test_back_after_a_search_shows_the_results_again_without_resubmitting(
    web_as: Any, big_inbox: Any
) -> None:
    """POST-redirect-GET: the results have an address (an opaque reference, no traits), so
    « Back » from the record comes back to them; that address opens nothing elsewhere."""
    page = web_as(big_inbox["reader"], "/documents-recus")
    page.get_by_label("Patient, expéditeur ou titre").fill("brechet")
    page.get_by_role("button", name="Rechercher").click()
    expect(_count(page)).to_have_text("Documents 1 à 50 sur 60")
    results = page.url
    assert "recherche=" in results and "brechet" not in results.lower()
    page.get_by_role("link", name=re.compile("^Dossier du patient")).first.click()
    expect(page).to_have_url(re.compile(r"/patients/"))
    page.go_back()  # a POST result here would be « Confirm Form Resubmission »
    expect(_count(page)).to_have_text("Documents 1 à 50 sur 60")
    expect(page.locator("table.inbox tbody")).not_to_contain_text("DURAND")
    page.reload()
    expect(_count(page)).to_have_text("Documents 1 à 50 sur 60")
    # the same address in another session (or after logout) opens nothing
    other = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        with httpx.Client(base_url=results.split("/documents-recus")[0], timeout=30) as client:
            r = client.post(
                "/api/v1/auth/web-ticket",
                headers=big_inbox["author"].headers,
                json={"target": "/documents-recus"},
            )
            ticket = "/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1]
        tab = other.new_page()
        tab.goto(results.split("/documents-recus")[0] + ticket)
        tab.goto(results)
        expect(tab.get_by_text("Cette recherche a expiré : relancez-la.")).to_be_visible()
        expect(tab.get_by_text("BRÉCHET")).to_have_count(0)
    finally:
        other.close()


def test_search_by_sender_and_by_title(web_as: Any, big_inbox: Any) -> None:
    page = web_as(big_inbox["reader"], "/documents-recus")
    page.get_by_label("Patient, expéditeur ou titre").fill("DUBOEUF")
    page.get_by_role("button", name="Rechercher").click()
    expect(_count(page)).to_have_text("Documents 1 à 50 sur 60")
    expect(page.locator("table.inbox tbody")).not_to_contain_text("Alice REY")
    page.get_by_label("Patient, expéditeur ou titre").fill("OPÉRATOIRE")
    page.get_by_role("button", name="Rechercher").click()
    expect(_count(page)).to_have_text(re.compile(r"sur 13$"))
    # typed without accents, as people do: the titles are searched folded
    page.get_by_label("Patient, expéditeur ou titre").fill("operatoire")
    page.get_by_role("button", name="Rechercher").click()
    expect(_count(page)).to_have_text(re.compile(r"sur 13$"))
    page.get_by_label("Patient, expéditeur ou titre").fill("personne inconnue")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("Aucun document reçu ne correspond à votre recherche.")).to_be_visible()


def test_unread_switch_and_type_filter(web_as: Any, big_inbox: Any) -> None:
    page = web_as(big_inbox["reader"], "/documents-recus")
    page.get_by_text("Non lus", exact=True).click()  # submits by itself
    expect(_count(page)).to_have_text("Documents 1 à 50 sur 81")  # 80 seeded + the real one
    expect(page.locator("table.inbox tbody tr.read")).to_have_count(0)
    page.get_by_label("Type").select_option(label="Courrier")  # seeded unread
    page.get_by_role("button", name="Rechercher").click()
    expect(_count(page)).to_have_text("Documents 1 à 13 sur 13")
    for cell in page.locator("table.inbox tbody tr td:nth-child(5)").all():
        expect(cell).to_contain_text("Courrier")
    page.get_by_label("Type").select_option(label="Ordonnance")  # seeded read
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("Aucun document reçu ne correspond à votre recherche.")).to_be_visible()
    page.get_by_text("Tous", exact=True).click()
    expect(_count(page)).to_have_text("Documents 1 à 13 sur 13")
    expect(page.locator("table.inbox tbody tr.unread")).to_have_count(0)


def test_bad_date_is_a_french_error_not_a_500(web_as: Any, big_inbox: Any) -> None:
    page = web_as(big_inbox["reader"], "/documents-recus?du=31-12-2026")
    expect(page.get_by_role("alert")).to_contain_text("Date « du » invalide")


def test_row_actions_fit_on_one_line(web_as: Any, big_inbox: Any) -> None:
    page = web_as(big_inbox["reader"], "/documents-recus")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Bilan cardiaque"))
    boxes = [
        row.get_by_role(role, name=name).bounding_box()
        for role, name in (
            ("link", "Ouvrir « Bilan cardiaque »"),
            ("link", "Répondre à « Bilan cardiaque »"),
            ("link", re.compile("Dossier du patient")),
            ("button", "Supprimer « Bilan cardiaque »"),
        )
    ]
    tops = {round(b["y"]) for b in boxes if b}
    assert len(boxes) == 4 and len(tops) == 1, boxes
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 6000, height  # 50 short rows, not 300 four-line ones


def test_hovering_a_title_shows_the_first_page(web_as: Any, big_inbox: Any) -> None:
    page = web_as(big_inbox["reader"], "/documents-recus")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    assert not [u for u in requests if "apercu.png" in u]  # nothing loaded before hovering
    page.get_by_role("rowheader", name="Bilan cardiaque").hover()
    tip = page.get_by_role("tooltip")
    expect(tip).to_be_visible()
    img = tip.get_by_role("img", name="Aperçu de la première page de « Bilan cardiaque »")
    expect(img).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('.preview-tip img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert len([u for u in requests if "apercu.png" in u]) == 1
    page.mouse.move(0, 0)
    expect(tip).to_have_count(0)
    # still unread: a preview is not a reading
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Bilan cardiaque"))
    expect(row).to_contain_text("Non lu")
