"""MonSisra in tests: an account enrolled as the wizard leaves it, and the window's openers."""

from pathlib import Path

from sisra.client.accounts import AccountSettings
from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from support.personas import otp_login

LOCAL_PASSWORD = "Mon-mot-de-passe-local"


WAIT = 20_000


def enrol(live_server, smtp_sink, store, persona, folder: Path, profile="pdf", days=0):
    """An account as the wizard leaves it (the wizard itself is tested in test_enrol)."""
    with PlatformClient(live_server.url) as client:
        tokens = otp_login(
            client._http, smtp_sink, persona.login, f"{persona.login}@demo.sisra.test"
        )
    creds = Credentials.from_tokens(live_server.url, tokens)
    return store.create(
        AccountSettings(
            display_name=persona.name,
            login=persona.login,
            professional_id=str(persona.id),
            server_url=live_server.url,
            software_profile_id=profile,
            export_folder=folder,
            backfill_days=days,
            launch_at_startup=False,
        ),
        LOCAL_PASSWORD,
        creds.to_dict(),
    )


class Opened:
    """Where MonSisra sends files and pages: the system viewer / browser do not exist on a
    test machine, so the window's openers record what they were given."""

    def __init__(self) -> None:
        self.files: list[Path] = []
        self.urls: list[str] = []
