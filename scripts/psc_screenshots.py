"""Screenshots of the Pro Santé Connect (e-CPS) login: docs/screenshots/connexion-ecps.png (the
web login page, Chromium) and monsisra-assistant-ecps.png (MonSisra's wizard waiting for the
browser, Qt offscreen).

Run: .venv/bin/python scripts/psc_screenshots.py  (needs Debian's chromium and Node.js; ~20 s)

A platform on a temporary SQLite database, registered with the test OpenID Connect provider
(`sisra.devtools.oidc_provider`); nothing is left behind.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def web_shot(url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu"],
        )
        page = browser.new_page(viewport={"width": 1000, "height": 760}, locale="fr-FR")
        page.goto(f"{url}/connexion")
        page.screenshot(path=str(OUT / "connexion-ecps.png"), full_page=True)
        browser.close()
    print("  docs/screenshots/connexion-ecps.png")


def wizard_shot(url: str) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication, QCommandLinkButton, QPushButton

    from sisra.client.accounts import AccountStore
    from sisra.desktop.enrol import EnrolWizard

    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as home:
        wizard = EnrolWizard(AccountStore(Path(home)), url)
        wizard.show()
        opened = threading.Event()
        wizard.auth.panel.open_browser = lambda _url: opened.set()
        wizard.welcome.findChild(QCommandLinkButton, "choose_psc").click()
        wizard.auth.panel.findChild(QPushButton, "psc_submit").click()
        deadline = time.monotonic() + 20
        while not opened.is_set() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.05)
        app.processEvents()
        wizard.grab().save(str(OUT / "monsisra-assistant-ecps.png"))
        wizard.auth.panel.cancel_psc()
        while wizard.auth.panel.is_busy() and time.monotonic() < deadline + 10:
            app.processEvents()
            time.sleep(0.05)
        wizard.close()
    print("  docs/screenshots/monsisra-assistant-ecps.png")


def main() -> int:
    import uvicorn
    from pydantic import SecretStr

    from sisra.devtools.oidc_provider import OidcProvider, TestClientRegistration
    from sisra.platform.app import create_app
    from sisra.platform.migrate import upgrade
    from sisra.platform.settings import Settings

    client = TestClientRegistration("sisra-demo")
    with tempfile.TemporaryDirectory() as work, OidcProvider([client]) as op:
        port = free_port()
        settings = Settings(
            data_dir=Path(work),
            master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
            public_url=f"http://127.0.0.1:{port}",
            psc_issuer=op.issuer,
            psc_client_id=client.client_id,
            psc_client_secret=SecretStr(client.client_secret),
            _env_file=None,  # type: ignore[call-arg]
        )
        upgrade(settings.effective_database_url)
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = settings.public_url
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:  # uvicorn's own flag
            time.sleep(0.05)
        try:
            web_shot(url)
            wizard_shot(url)
        finally:
            server.should_exit = True
            thread.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
