"""``sisra client …``: MonSisra's engine on the command line (enrolment for now).

Credentials are kept in a 0600 file of the user's data folder until the encrypted local vault
arrives with the sync engine.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from sisra.client import auth
from sisra.client.api import ApiError, PlatformClient

app = typer.Typer(help="MonSisra en ligne de commande.", no_args_is_help=True)

DEFAULT_SERVER = os.environ.get("SISRA_SERVER_URL", "http://127.0.0.1:8000")


def credentials_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("MonSisra", "Sisra")) / "credentials.json"


def _save(creds: auth.Credentials) -> Path:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(creds.to_dict(), fh)
    os.replace(tmp, path)
    return path


def _load() -> auth.Credentials:
    path = credentials_path()
    if not path.exists():
        _fail("Aucun compte enregistré sur cet ordinateur : lancez « sisra client login ».")
    return auth.Credentials.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\n")


@app.command()
def login(
    server: Annotated[str, typer.Option(help="Adresse de la plateforme Sisra")] = DEFAULT_SERVER,
    card: Annotated[bool, typer.Option("--card", help="J'ai une carte de la famille CPS")] = False,
    identifier: Annotated[
        str | None, typer.Option(help="J'ai obtenu mes identifiants de connexion")
    ] = None,
    module: Annotated[str | None, typer.Option(help="Bibliothèque PKCS#11 (cryptolib CPS)")] = None,
    device_name: Annotated[str | None, typer.Option(help="Nom de cet ordinateur")] = None,
) -> None:
    """Installer MonSisra sur cet ordinateur : carte CPS, ou identifiants + code par e-mail."""
    if card == bool(identifier):
        _fail("Choisissez --card (carte CPS) ou --identifier IDENTIFIANT.")
    previous = None
    if credentials_path().exists():
        previous = _load().device_id
    with PlatformClient(server) as client:
        try:
            if card:
                creds = _card_login(client, module, device_name, previous)
            else:
                assert identifier is not None
                creds = _code_login(client, identifier, device_name, previous)
        except ApiError as exc:
            _fail(exc.message)
    path = _save(creds)
    typer.echo(f"MonSisra est installé sur cet ordinateur (appareil {creds.device_id}).")
    typer.echo(f"Identifiants de l'appareil enregistrés dans {path}.")


def _card_login(
    client: PlatformClient, module: str | None, device_name: str | None, device_id: str | None
) -> auth.Credentials:
    from sisra.client.cps import CardError, locate_module, open_card

    try:
        path = locate_module(module)
        typer.echo("Insérez votre carte CPS dans le lecteur.")
        pin = _secret("Code PIN de la carte : ")
        with open_card(path, pin) as session:
            typer.echo(f"Carte de {session.holder_name()} lue.")
            return auth.enrol_with_card(client, session, device_name, device_id)
    except CardError as exc:
        _fail(exc.message)
        raise AssertionError from exc  # unreachable: _fail exits


def _code_login(
    client: PlatformClient, identifier: str, device_name: str | None, device_id: str | None
) -> auth.Credentials:
    password = _secret("Mot de passe : ")
    sent = auth.start_two_step(client, identifier, password)
    typer.echo(f"Un code à usage unique a été envoyé à {sent.email_hint}.")
    code = typer.prompt("Code reçu par e-mail") if sys.stdin.isatty() else sys.stdin.readline()
    return auth.finish_two_step(client, sent, code.strip(), device_name, device_id)


@app.command("open-page")
def open_page(
    target: Annotated[str, typer.Argument(help="Page à ouvrir")] = "/accueil",
    browser: Annotated[bool, typer.Option(help="Ouvrir le navigateur")] = True,
) -> None:
    """Ouvrir une page des services Sisra déjà connecté (lien à usage unique)."""
    creds = _load()
    with PlatformClient(creds.server_url) as client:
        try:
            try:
                url = auth.web_ticket(client, creds, target)
            except ApiError as exc:
                if exc.status != 401:
                    raise
                creds = auth.refresh(client, creds)
                _save(creds)
                url = auth.web_ticket(client, creds, target)
        except auth.StrongAuthRequired as exc:
            _fail(exc.message + " Lancez « sisra client login ».")
            return
        except ApiError as exc:
            _fail(exc.message)
            return
    if browser:
        webbrowser.open(url)
    typer.echo(url)
