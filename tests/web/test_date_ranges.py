"""« Reçus du … au … », « Envoyés du … au … »: a range typed backwards is explained in French
(nothing searched, the dates kept), a right one filters on local days."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from sisra.common import clock
from support.documents import share_request

TODAY = datetime.now(clock.platform_zone()).date()  # the platform's day, not this computer's
LAST_WEEK = (TODAY - timedelta(days=7)).isoformat()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()


def _shared(app_client: Any, make_pro: Any, make_patient: Any, pdf: Any) -> tuple[Any, Any]:
    sender = make_pro("dates.envoi", first_name="Paul", last_name="Martin")
    recipient = make_pro("dates.recoit", first_name="Claire", last_name="Roux")
    r = share_request(
        app_client, sender, make_patient("DURAND"), [recipient], pdf(), title="Bilan du jour"
    )
    assert r.status_code == 201, r.text
    return sender, recipient


def _search(page: Page, prefix: str, du: str, au: str) -> None:
    page.locator(f"#{prefix}-du").fill(du)
    page.locator(f"#{prefix}-au").fill(au)
    page.get_by_role("button", name="Rechercher").click()


def _inverted_then_right(page: Page, prefix: str, empty: str) -> None:
    _search(page, prefix, TOMORROW, LAST_WEEK)
    expect(page.get_by_role("alert")).to_contain_text("est postérieure à la date « au »")
    expect(page.get_by_role("alert")).to_contain_text("Inversez les deux dates")
    expect(page.locator(f"#{prefix}-du")).to_have_value(TOMORROW)  # what was typed is kept
    expect(page.locator(f"#{prefix}-au")).to_have_value(LAST_WEEK)
    expect(page.get_by_text(empty)).to_have_count(0)  # not a silent empty list
    expect(page.get_by_text("Bilan du jour")).to_have_count(0)
    # the same range the right way round finds the document sent today
    _search(page, prefix, LAST_WEEK, TOMORROW)
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_text("Bilan du jour")).to_be_visible()
    # a range that ends before today finds nothing, and says so
    _search(page, prefix, LAST_WEEK, YESTERDAY)
    expect(page.get_by_text(empty)).to_be_visible()


@pytest.mark.parametrize(
    ("who", "path", "prefix", "empty"),
    [
        ("recipient", "/documents-recus", "inbox", "Aucun document reçu ne correspond"),
        ("sender", "/documents-envoyes", "sent", "Aucun document envoyé ne correspond"),
    ],
)
def test_an_inverted_range_is_explained(
    app_client: Any,
    make_pro: Any,
    make_patient: Any,
    pdf: Any,
    web_as: Any,
    who: str,
    path: str,
    prefix: str,
    empty: str,
) -> None:
    sender, recipient = _shared(app_client, make_pro, make_patient, pdf)
    page: Page = web_as(sender if who == "sender" else recipient, path)
    _inverted_then_right(page, prefix, empty)
