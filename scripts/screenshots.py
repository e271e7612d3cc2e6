"""Screenshots of the web pages, on real demo data, in Chromium: docs/screenshots/*.png.

Run: .venv/bin/python scripts/screenshots.py  (needs Debian's chromium; takes ~1 minute)
It loads a small demo region into a temporary folder, starts `sisra demo --serve` with its
mail sink, logs in as the demo's GP and as the administrator through the real two-step
login, and photographs each page.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PASSWORD = "Demo-Sisra-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def code_for(data_dir: Path, email: str) -> str:
    from sisra.platform.demo.mails import read_mail_dir

    for _ in range(100):
        for mail in read_mail_dir(data_dir / "mails", 10):
            if email in " ".join(mail.to) and mail.code():
                return str(mail.code())
        time.sleep(0.1)
    raise RuntimeError(f"no code mailed to {email}")


def api_login(base: str, data_dir: Path, login: str) -> dict[str, str]:
    before = (
        {p.name for p in (data_dir / "mails").glob("*.eml")}
        if (data_dir / "mails").exists()
        else set()
    )
    flow = httpx.post(
        f"{base}/api/v1/auth/login", json={"identifier": login, "password": PASSWORD}
    ).json()
    for _ in range(100):
        new = [p for p in (data_dir / "mails").glob("*.eml") if p.name not in before]
        if new:
            break
        time.sleep(0.1)
    from sisra.platform.demo.mails import read_mail_dir

    code = next(m.code() for m in read_mail_dir(data_dir / "mails", 5) if m.code())
    tokens = httpx.post(
        f"{base}/api/v1/auth/otp/verify", json={"flow_id": flow["flow_id"], "code": code}
    ).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def open_logged_in(page: Page, base: str, headers: dict[str, str], target: str) -> None:
    url = httpx.post(
        f"{base}/api/v1/auth/web-ticket", headers=headers, json={"target": target}
    ).json()["url"]
    page.goto(base + "/web/ticket/" + url.split("/web/ticket/", 1)[1])
    page.wait_for_load_state("networkidle")


def shot(page: Page, name: str, full_page: bool = True) -> None:
    """The whole page, or only the first screen of a long list (``full_page=False``)."""
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full_page)
    print(f"  docs/screenshots/{name}.png")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sisra-shots-"))
    data_dir = work / "var"
    port, smtp = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SISRA_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sisra.cli",
            "demo",
            "--serve",
            "--documents",
            "300",
            "--patients",
            "40",
            "--port",
            str(port),
            "--smtp-port",
            str(smtp),
        ],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        gp = api_login(base, data_dir, "elodie.lefevre")
        admin = api_login(base, data_dir, "admin")
        inbox = httpx.get(f"{base}/api/v1/inbox?limit=5", headers=gp).json()["items"]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="fr-FR")
            page.goto(f"{base}/connexion")
            page.get_by_text("Mot de passe oublié ?").click()  # its answer, unfolded
            shot(page, "connexion")
            page.goto(f"{base}/telecharger")
            shot(page, "telecharger-monsisra")
            open_logged_in(page, base, gp, "/accueil")
            shot(page, "accueil")
            open_logged_in(page, base, gp, "/documents-recus")
            shot(page, "documents-recus", full_page=False)
            page.locator("nav.pager").scroll_into_view_if_needed()
            shot(page, "documents-recus-pages", full_page=False)
            # a period typed backwards: explained, the dates kept
            page.locator("#inbox-du").fill("2026-03-12")
            page.locator("#inbox-au").fill("2026-03-01")
            page.get_by_role("button", name="Rechercher").click()
            shot(page, "documents-recus-periode")
            open_logged_in(page, base, gp, "/documents-envoyes")
            shot(page, "documents-envoyes", full_page=False)
            if inbox:
                patient = inbox[-1]["patient"]
                open_logged_in(page, base, gp, f"/patients/{patient['id']}")
                shot(page, "dossier-patient", full_page=False)
                page.get_by_role("heading", name="Équipe de soins").scroll_into_view_if_needed()
                shot(page, "dossier-equipe-de-soins", full_page=False)
                open_logged_in(page, base, gp, f"/repondre/{inbox[-1]['id']}")
                shot(page, "repondre")
                open_logged_in(page, base, gp, "/patients/rechercher")
                page.get_by_label("Nom du patient").fill(patient["birth_name"][:4])
                page.get_by_label("Prénom", exact=True).fill(patient["first_given_name"][:3])
                page.get_by_role("button", name="Rechercher").click()
                shot(page, "rechercher-patient")
            open_logged_in(page, base, gp, "/envoyer")
            shot(page, "envoyer")
            open_logged_in(page, base, gp, "/patients/nouveau")
            shot(page, "creer-identite")
            page.get_by_label("Nom de naissance", exact=True).fill("Fontaine")
            page.get_by_label("Prénoms de naissance").fill("Léa Marie")
            page.get_by_label("Date de naissance").fill("1984-05-17")
            page.get_by_label("Sexe").select_option("F")
            page.get_by_role("button", name="Créer l'identité").click()
            page.get_by_text("Identité créée").wait_for()
            shot(page, "identite-creee", full_page=False)
            open_logged_in(page, base, gp, "/mon-compte/mot-de-passe")
            shot(page, "changer-mot-de-passe")
            page.get_by_label("Mot de passe actuel").fill(PASSWORD)
            page.get_by_label("Nouveau mot de passe", exact=True).fill("Nouveau-2026")
            page.get_by_label("Confirmez le nouveau mot de passe").fill("Nouveau-2027")
            page.get_by_role("button", name="Changer mon mot de passe").click()
            shot(page, "changer-mot-de-passe-erreur")
            open_logged_in(page, base, admin, "/admin/annuaire")
            shot(page, "admin-annuaire")
            open_logged_in(page, base, admin, "/admin/annuaire/nouveau")
            shot(page, "admin-nouveau-professionnel")
            # a first-login link, for the demo mails page
            open_logged_in(page, base, admin, "/admin/annuaire")
            page.locator("table a[href^='/admin/annuaire/']").nth(1).click()
            page.get_by_role("button", name="Envoyer un lien pour choisir son mot de passe").click()
            open_logged_in(page, base, admin, "/admin/audit")
            shot(page, "admin-audit")
            open_logged_in(page, base, admin, "/admin/equipes-de-soins")
            shot(page, "admin-equipes-de-soins", full_page=False)
            page.goto(f"{base}/demo/courriels")
            shot(page, "demo-courriels", full_page=False)
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
