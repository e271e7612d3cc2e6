"""The two-step web login and the web ticket, clicked through in Chromium."""

import re

from playwright.sync_api import Page, expect


def test_login_in_two_steps_with_the_keyboard(live_server, make_pro, smtp_sink, page: Page):
    make_pro("lea.morel", first_name="Léa", last_name="Morel", log_in=False)
    page.goto(f"{live_server.url}/accueil")
    expect(page).to_have_url(re.compile(r"/connexion\?next=/accueil$"))
    page.get_by_label("Identifiant").fill("lea.morel")
    page.get_by_label("Mot de passe").fill("Motdepasse-2026!")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Saisissez votre code")).to_be_visible()
    code = smtp_sink.last_to("lea.morel@demo.sisra.test").code()
    page.get_by_label("Code reçu par e-mail").fill(code)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Bonjour Léa Morel")).to_be_visible()


def test_wrong_password_is_shown_next_to_the_form(live_server, make_pro, page: Page):
    make_pro("paul", log_in=False)
    page.goto(f"{live_server.url}/connexion")
    page.get_by_label("Identifiant").fill("paul")
    page.get_by_label("Mot de passe").fill("pas-le-bon-2026")
    page.get_by_role("button", name="Recevoir mon code").click()
    expect(page.get_by_role("alert")).to_contain_text("Identifiant ou mot de passe incorrect")


def test_web_ticket_opens_the_page_logged_in(make_pro, web_as):
    pro = make_pro("ticket.web", first_name="Noé", last_name="Faure")
    page = web_as(pro, "/accueil")
    expect(page.get_by_role("heading", name="Bonjour Noé Faure")).to_be_visible()
