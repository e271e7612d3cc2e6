"""What the ``sisra client`` commands share: reading secrets, finding the account, calling
the platform with its token, their French options and failures."""

from __future__ import annotations

import getpass
import sys
import webbrowser
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from sisra.client import auth
from sisra.client.accounts import Account, AccountError, AccountStore, UnlockedAccount
from sisra.client.api import SERVER_ENV, ApiError, PlatformClient
from sisra.client.errors import advice, explain

if TYPE_CHECKING:
    from sisra.client.export.permissions import FileAccess
    from sisra.client.state import ItemState


T = TypeVar("T")


ServerOpt = Annotated[
    str,
    typer.Option(
        envvar=SERVER_ENV,
        help="Adresse de la plateforme Sisra (par défaut : celle de la démo)",
    ),
]


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _api_fail(exc: ApiError) -> None:
    """A failed call in a one-shot command: the command stops, so no « réessaiera »."""
    _fail(explain(exc, "command"))


def _say_status(code: str, message: str) -> None:
    """``sync --follow``: the engine's state, with what to do about it."""
    todo = advice(code, "service")
    typer.echo(f"[{code}] {message}{' ' + todo if todo else ''}")


def _terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _read_line(prompt: str, required: bool = True) -> str:
    """One line of standard input (scripts, services). The prompt goes to the error output
    so a script's log shows what was asked; a missing line is said in French, never sent
    to the platform as an empty value."""
    label = prompt.strip().rstrip(":").strip()
    typer.echo(prompt.rstrip(), err=True)
    raw = sys.stdin.readline() if sys.stdin is not None else ""
    if not raw:
        _fail(f"{label} attendu sur l'entrée standard (aucune donnée reçue).")
    value = raw.rstrip("\r\n")
    if required and not value.strip():
        _fail(f"{label} attendu sur l'entrée standard (ligne vide reçue).")
    return value


def _secret(prompt: str, confirm: bool = False) -> str:
    if not _terminal():
        return _read_line(prompt)
    value = getpass.getpass(prompt)
    if not value:
        _fail(f"{prompt.strip().rstrip(':').strip()} : aucune saisie.")
    if confirm and getpass.getpass("Confirmez : ") != value:
        _fail("Les deux saisies diffèrent.")
    return value


def _line(prompt: str, default: str | None = None) -> str:
    if _terminal():
        return str(typer.prompt(prompt, default=default))
    if default is None:
        return _read_line(f"{prompt} :").strip()
    typer.echo(f"{prompt} [{default}] :", err=True)
    raw = sys.stdin.readline() if sys.stdin is not None else ""
    return raw.strip() or default


def _store() -> AccountStore:
    return AccountStore()


def _account(store: AccountStore, name: str | None) -> Account:
    accounts = store.list()
    if not accounts:
        _fail("Aucun utilisateur sur cet ordinateur : lancez « sisra client add-user ».")
    if name is None:
        if len(accounts) > 1:
            _fail("Plusieurs utilisateurs : précisez --account (identifiant ou nom de connexion).")
        return accounts[0]
    for acc in accounts:
        if name in (acc.id, acc.settings.login):
            return acc
    _fail(f"Utilisateur « {name} » inconnu sur cet ordinateur.")
    raise AssertionError


AccountOpt = Annotated[str | None, typer.Option("--account", help="Utilisateur (identifiant)")]


DocumentArg = Annotated[
    str,
    typer.Argument(metavar="DOCUMENT", help="Son identifiant ou ses premiers caractères (list)"),
]


CardOpt = Annotated[bool, typer.Option("--card", help="J'ai une carte de la famille CPS")]


ModuleOpt = Annotated[str | None, typer.Option(help="Bibliothèque PKCS#11 (cryptolib CPS)")]


def _profile_help() -> str:
    from sisra.client.export.profiles import load_profiles

    return "Logiciel métier (profil d'import) : " + ", ".join(
        f"{p.id} ({p.label})" for p in load_profiles()
    )


PROFILE_HELP = _profile_help()


GROUP_HELP = (
    "Groupe du logiciel métier, s'il lit les documents sous un autre compte (serveur de "
    "cabinet) : fichiers 0640 de ce groupe ; sinon 0600, lisibles par ce seul compte"
)


def _access(group: str | None) -> FileAccess:
    from sisra.client.export.permissions import FileAccess, GroupError

    try:
        return FileAccess.for_group(group)
    except GroupError as exc:
        _fail(str(exc))
        raise AssertionError from exc


PSC_HELP = "Je me connecte avec e-CPS (Pro Santé Connect)"


BROWSER_HELP = "e-CPS : ouvrir le navigateur (sinon, l'adresse est seulement affichée)"


def _unlock(account: str | None) -> UnlockedAccount:
    store = _store()
    acc = _account(store, account)
    try:
        return store.unlock(acc.id, _secret("Mot de passe MonSisra : "))
    except AccountError as exc:
        _fail(exc.message)
        raise AssertionError from exc


def _call(unlocked: UnlockedAccount, call: Callable[[PlatformClient, str], T]) -> T:
    """An API call with the account's token, refreshed (and saved) once if it expired."""
    from sisra.client.sync import CredentialTokens

    creds = auth.Credentials.from_dict(unlocked.credentials)
    with PlatformClient(creds.server_url) as client:
        tokens = CredentialTokens(
            client, creds, on_change=lambda c: unlocked.save_credentials(c.to_dict())
        )
        try:
            return tokens.call(lambda token: call(client, token))
        except ApiError as exc:  # strong authentication due, account disabled… with what to do
            _api_fail(exc)
        raise AssertionError


def _item(unlocked: UnlockedAccount, prefix: str) -> ItemState:
    from sisra.client.state import LocalState

    state = LocalState(unlocked.account.state_path)
    found = state.find(prefix)
    state.close()
    if len(found) != 1:
        _fail(
            "Document introuvable (voir « sisra client list »)."
            if not found
            else "Plusieurs documents correspondent : donnez plus de caractères."
        )
    return found[0]


def _ticket(
    account: str | None, target: str, browser: bool, unlocked: UnlockedAccount | None = None
) -> None:
    unlocked = unlocked or _unlock(account)
    url = _call(
        unlocked,
        lambda client, token: str(
            client.post_json("/api/v1/auth/web-ticket", {"target": target}, token=token)["url"]
        ),
    )
    if browser:
        webbrowser.open(url)
    typer.echo(url)
