"""Audit page in Chromium: patients found by INS or name (POSTed, never in the URL), actions
by French label, reasons shown, rows linked to the patient's identity and the professional."""

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from sisra.platform.audit import labels
from sisra.platform.models import Patient, Role

INS = "285017512345678"
REASON = "Patient inconscient aux urgences, allergies à vérifier"


@pytest.fixture
def glass(live_server: Any, make_pro: Any, make_patient: Any, db: Any) -> Any:
    """Dr Noir breaks the glass on DURAND Lucie (INS known); another patient is read too."""
    admin = make_pro("admin.web", role=Role.administrator, first_name="Alice", last_name="Admin")
    doctor = make_pro("noel.noir", first_name="Noël", last_name="Noir")
    durand = make_patient("DURAND", "Lucie")
    other = make_patient("MARTIN", "Paul")
    with db() as s:
        s.execute(update(Patient).where(Patient.id == durand).values(ins=INS))
    for pid, reason in ((durand, REASON), (other, "Appel du SAMU pour ce patient en détresse")):
        r = httpx.post(
            f"{live_server.url}/api/v1/patients/{pid}/break-glass",
            headers=doctor.headers,
            json={"reason": reason},
            timeout=30,
        )
        assert r.status_code == 201, r.text
    return {"admin": admin, "doctor": doctor, "durand": durand, "other": other}


def _search(page: Page, **fields: str) -> None:
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Rechercher").click()


def test_audit_by_ins_shows_the_break_glass_reason_and_links(
    live_server: Any, web_as: Any, glass: Any
) -> None:
    page = web_as(glass["admin"], "/admin/audit")
    _search(page, **{"Patient (INS, nom ou identifiant)": INS[:3] + " " + INS[3:], "Action": ""})
    body = page.locator("tbody")
    expect(body).to_contain_text("Dossier : accès en urgence (bris de glace)")
    expect(body).to_contain_text(REASON)
    expect(body).not_to_contain_text("Appel du SAMU")
    assert INS not in page.url and "patient=" not in page.url
    row = page.get_by_role("row").filter(has_text="bris de glace")
    expect(row.get_by_role("link", name=re.compile("DURAND Lucie"))).to_have_attribute(
        "href", f"/admin/identites/{glass['durand']}"
    )
    expect(row.get_by_role("link", name=re.compile("Noël NOIR"))).to_have_attribute(
        "href", f"/admin/annuaire/{glass['doctor'].id}"
    )
    row.get_by_role("link", name=re.compile("DURAND Lucie")).click()
    expect(page.get_by_role("heading", name="Identité patient")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"INS {INS}")
    page.get_by_role("link", name="Journal d'audit de ce patient").click()
    expect(page.locator("tbody")).to_contain_text(REASON)


def test_audit_by_name_and_french_action_label(web_as: Any, glass: Any) -> None:
    page = web_as(glass["admin"], "/admin/audit")
    _search(page, **{"Patient (INS, nom ou identifiant)": "durand", "Action": "bris de glace"})
    expect(page.get_by_role("status")).to_contain_text("1 événement(s) pour 1 patient(s)")
    expect(page.locator("tbody")).to_contain_text(REASON)
    assert "durand" not in page.url.lower()
    # a prefix of the raw code still works, and French words without accents
    _search(page, **{"Patient (INS, nom ou identifiant)": "", "Action": "equipe de soins"})
    expect(page.locator("tbody")).not_to_contain_text("bris de glace")
    _search(page, **{"Action": "record."})
    expect(page.locator("tbody")).to_contain_text("Appel du SAMU")


def test_unknown_patient_is_a_field_error(web_as: Any, glass: Any) -> None:
    page = web_as(glass["admin"], "/admin/audit")
    _search(page, **{"Patient (INS, nom ou identifiant)": "Inconnu"})
    expect(page.locator("#ae-patient")).to_contain_text("Aucun patient ne correspond")
    _search(page, **{"Patient (INS, nom ou identifiant)": "12345"})
    expect(page.locator("#ae-patient")).to_contain_text("13 ou 15 chiffres")


def test_a_name_in_the_url_is_ignored(live_server: Any, web_as: Any, glass: Any) -> None:
    page = web_as(glass["admin"], "/admin/audit?patient=DURAND&action=bris")
    expect(page.get_by_role("status")).to_contain_text("2 événement(s)")


def test_every_audited_action_has_a_french_label() -> None:
    src = Path(__file__).resolve().parents[2] / "src" / "sisra"
    found = subprocess.run(
        ["grep", "-rhoE", r"\"[a-z_]+\.[a-z_.]+\"", str(src / "platform")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    audited = subprocess.run(
        ["grep", "-rhoE", "-A4", r"audit\.record\(|service\.record\(", str(src / "platform")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    codes = {c.strip('"') for c in found if c in audited}
    codes |= {"inbox.receipt.read", "inbox.receipt.downloaded", "document.integrity_failure"}
    codes |= {"audit.migration"}
    missing = sorted(c for c in codes if c not in labels.ACTIONS and "." in c)
    assert not missing, missing
