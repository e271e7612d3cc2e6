"""``sisra client …``: MonSisra's engine on the command line (and on practice servers).

Accounts live in the user's data folder (``MONSISRA_HOME`` overrides it); each has its local
password, which unlocks its vault. In scripts, secrets are read from standard input, one per
line, in the order they are asked.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import sys
import threading
import webbrowser
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from sisra.client import auth
from sisra.client.accounts import (
    Account,
    AccountError,
    AccountSettings,
    AccountStore,
    UnlockedAccount,
)
from sisra.client.api import DEMO_SERVER, SERVER_ENV, ApiError, PlatformClient
from sisra.client.lock import hold_sync
from sisra.client.region import display_zone
from sisra.common import clock
from sisra.common.french import de

if TYPE_CHECKING:
    from sisra.client.export.permissions import FileAccess
    from sisra.client.state import ItemState

T = TypeVar("T")

app = typer.Typer(help="MonSisra en ligne de commande.", no_args_is_help=True)

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
    if exc.code == "server_unreachable":
        _fail(
            f"{exc.message.split(' Vérifiez', 1)[0]} Vérifiez l'adresse de la plateforme "
            f"(--server ou {SERVER_ENV}) et votre connexion à Internet, puis relancez la "
            "commande."
        )
    _fail(exc.message)


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


@app.command("add-user")
def add_user(
    server: ServerOpt = DEMO_SERVER,
    card: Annotated[bool, typer.Option("--card", help="J'ai une carte de la famille CPS")] = False,
    identifier: Annotated[
        str | None, typer.Option(help="J'ai obtenu mes identifiants de connexion")
    ] = None,
    module: Annotated[str | None, typer.Option(help="Bibliothèque PKCS#11 (cryptolib CPS)")] = None,
    psc: Annotated[bool, typer.Option("--psc", help=PSC_HELP)] = False,
    browser: Annotated[bool, typer.Option(help=BROWSER_HELP)] = True,
    profile: Annotated[str | None, typer.Option(help=PROFILE_HELP)] = None,
    folder: Annotated[Path | None, typer.Option(help="Répertoire d'enregistrement")] = None,
    group: Annotated[str | None, typer.Option(help=GROUP_HELP)] = None,
    days: Annotated[
        int | None, typer.Option(help="Jours de documents à récupérer (0 = aucun)")
    ] = None,
    autostart: Annotated[
        bool, typer.Option(help="Lancer « sisra client daemon » à l'ouverture de session")
    ] = False,
) -> None:
    """Ajouter un utilisateur : carte CPS, ou identifiants + code reçu par e-mail.

    Adresse de la plateforme : --server, sinon SISRA_SERVER_URL, sinon celle de la démo.
    """
    from sisra.client.export.profiles import load_profiles

    if [card, bool(identifier), psc].count(True) != 1:
        _fail("Choisissez --card (carte CPS), --identifier IDENTIFIANT ou --psc (e-CPS).")
    profiles = {p.id: p for p in load_profiles()}
    if profile is not None and profile not in profiles:  # before any password or code
        _fail(f"Profil « {profile} » inconnu. Choix : {', '.join(profiles)}.")
    access = _access(group)
    with PlatformClient(server) as client:
        try:
            if psc:
                creds = _psc_login(client, browser)
            elif card:
                creds = _card_login(client, module)
            else:
                creds = _code_login(client, identifier or "")
            me = client.get_json("/api/v1/me", token=creds.access_token)
        except ApiError as exc:
            _api_fail(exc)
            return
    password = _secret(
        "Choisissez votre mot de passe MonSisra (demandé à chaque lancement) : ", confirm=True
    )
    if profile is None:
        typer.echo(
            "Logiciels métier : " + ", ".join(f"{k} ({p.label})" for k, p in profiles.items())
        )
        profile = _line("Votre logiciel métier", "pdf")
    if profile not in profiles:
        _fail(f"Profil « {profile} » inconnu. Choix : {', '.join(profiles)}.")
    if folder is None:
        folder = Path(
            _line(
                "Répertoire d'enregistrement des documents", str(profiles[profile].default_folder())
            )
        )
    if days is None:
        answer = _line("Nombre de jours de documents à récupérer (0 = aucun)", "0") or "0"
        if not answer.isdigit():
            _fail(f"Nombre de jours attendu (0 = aucun), reçu « {answer} ».")
        days = int(answer)
    settings = AccountSettings(
        display_name=f"{me['first_name']} {me['last_name']}",
        login=me["login"],
        professional_id=me["id"],
        server_url=server,
        software_profile_id=profile,
        export_folder=folder.expanduser(),
        backfill_days=days,
        launch_at_startup=autostart,
        export_group=group or None,
    )
    store = _store()
    try:
        account = store.create(settings, password, creds.to_dict())
    except AccountError as exc:
        _fail(exc.message)
        return
    access.make_folder(folder.expanduser())  # 0700, or 2750 of the practice's group
    if autostart:
        _set_autostart(True)
    typer.echo(f"Utilisateur {settings.display_name} ajouté (compte {account.id}).")
    # even with 0 days: what is already in the inbox is recorded as « not to fetch », or the
    # first sync would export the whole history (« Sinon indiquez 0 »)
    _backfill(store, account, password, days)
    typer.echo("C'est terminé ! MonSisra vous alertera lorsque vous recevrez un nouveau document.")


def _set_autostart(enabled: bool) -> None:
    from sisra.client.autostart import set_launch_at_startup

    problem = set_launch_at_startup(
        enabled, [sys.executable, "-m", "sisra.cli", "client", "daemon"]
    )
    if problem:
        typer.echo(problem)


def _backfill(store: AccountStore, account: Account, password: str, days: int) -> None:
    from sisra.client.engine import open_engine
    from sisra.client.sync import since_days

    unlocked = store.unlock(account.id, password)
    running = open_engine(unlocked)
    try:
        running.engine.catch_up(since=since_days(days))
        due = len(running.state.due())
        if due:
            with typer.progressbar(length=due, label="Récupération des documents") as bar:
                report = running.engine.process_due(lambda p: bar.update(1))
            typer.echo(f"{report.exported} document(s) enregistré(s), {report.failed} en échec.")
    finally:
        running.close()


def _card_login(
    client: PlatformClient, module: str | None, device_id: str | None = None
) -> auth.Credentials:
    from sisra.client.cps import CardError, locate_module, open_card

    try:
        path = locate_module(module)
        typer.echo("Insérez votre carte CPS dans le lecteur.")
        pin = _secret("Code PIN de la carte : ")
        with open_card(path, pin) as session:
            typer.echo(f"Carte {de(session.holder_name())} lue.")
            return auth.enrol_with_card(client, session, device_id=device_id)
    except CardError as exc:
        _fail(exc.message)
        raise AssertionError from exc


# --- « Je me connecte avec e-CPS (Pro Santé Connect) » (sisra.client.psc) ----------------


def _psc_login(
    client: PlatformClient, browser: bool, device_id: str | None = None
) -> auth.Credentials:
    from sisra.client.psc import default_opener, enrol_with_psc

    def show(url: str) -> None:
        # the answer comes back to this computer's loopback: a browser on this computer
        typer.echo("Connectez-vous avec e-CPS dans un navigateur de cet ordinateur :")
        typer.echo(url)
        if browser:
            with contextlib.suppress(ApiError):  # no browser to open: the address is enough
                default_opener(url)

    typer.echo("En attente de la connexion Pro Santé Connect (5 minutes au plus)…")
    return enrol_with_psc(client, show, device_id=device_id)


def _code_login(
    client: PlatformClient,
    identifier: str,
    device_id: str | None = None,
    refresh_token: str | None = None,
) -> auth.Credentials:
    password = _secret("Mot de passe du portail : ")
    sent = auth.start_two_step(client, identifier, password, refresh_token)
    typer.echo(f"Un code à usage unique a été envoyé à {sent.email_hint}.")
    code = _line("Code reçu par e-mail")
    return auth.finish_two_step(client, sent, code, device_id=device_id)


@app.command("list")
def list_documents(account: AccountOpt = None) -> None:
    """Les documents reçus, les plus récents d'abord (réception, patient, expéditeur, état)."""
    from sisra.client.state import LocalState

    acc = _account(_store(), account)
    zone = display_zone(acc.folder)  # the platform's, as MonSisra's table shows it
    state = LocalState(acc.state_path)
    items = [s for s in state.all() if s.status != "deleted"]
    state.close()
    if not items:
        typer.echo("Aucun document reçu.")
        return
    labels = {
        "pending": "à récupérer",
        "exported": "enregistré",
        "failed": "ÉCHEC",
        "skipped": "non récupéré",
    }
    typer.echo(
        f"{'Réf.':<8}  {'Reçu le':<16}  {'Date':<10}  {'Patient':<24} {'Expéditeur':<20} "
        f"{'Titre':<40} État"
    )
    for st in sorted(items, key=lambda s: (_received(s), s.cursor), reverse=True):
        i = st.item
        p = i["patient"]
        name = f"{p.get('used_name') or p['birth_name']} {p['first_given_name']}"
        typer.echo(
            f"{st.id[:8]}  {clock.fr_datetime(_received(st), zone, sep=' '):<16}  "
            f"{_date_fr(i['document']['clinical_date'])}  {name[:24]:<24} "
            f"{i['sender']['name'][:20]:<20} {i['document']['title'][:40]:<40} "
            f"{labels.get(st.status, st.status)}"
        )


def _received(st: ItemState) -> datetime:
    """When the platform received the document (an aware instant, for ordering)."""
    return clock.instant(str(st.item["created_at"]))


def _date_fr(iso: object) -> str:
    text = str(iso or "")
    return f"{text[8:10]}/{text[5:7]}/{text[:4]}" if len(text) >= 10 else text


def _document_log(prefix: str) -> Callable[[str, ItemState | None], None]:
    """One line per document exported or failed, for a service's log (journal).

    The patient's name is left out: the line gives the document's reference, title, sender
    and file name(s) — a file name follows the practice software's naming template, so it may
    hold the patient's name; the log then needs the care of the export folder itself.
    """

    def log(kind: str, st: ItemState | None) -> None:
        if st is None or kind not in ("exported", "failed"):
            return
        doc, sender = st.item["document"], st.item["sender"]
        what = f"{st.id[:8]} « {doc['title']} » {de(str(sender['name']))}"
        if kind == "exported":
            files = ", ".join(Path(f).name for f in st.files)
            typer.echo(f"{prefix}Document enregistré : {what} → {files}")
        else:
            typer.echo(
                f"{prefix}Document non enregistré : {what} — {st.error_message} "
                f"(essai {st.attempts}, nouvel essai automatique)"
            )

    return log


@app.command()
def failures(
    account: AccountOpt = None,
    retry: Annotated[bool, typer.Option(help="Réessayer maintenant")] = False,
) -> None:
    """Les documents non enregistrés, avec la raison ; --retry pour réessayer."""
    from sisra.client.state import LocalState

    acc = _account(_store(), account)
    state = LocalState(acc.state_path)
    failed = state.failures()
    for st in failed:
        typer.echo(
            f"{st.id[:8]}  {st.item['document']['title'][:40]:<40} "
            f"{st.error_message} ({st.attempts} essai(s))"
        )
    if not failed:
        typer.echo("Aucun échec.")
    if retry and failed:
        typer.echo(
            f"{state.retry_now()} document(s) seront réessayés à la prochaine synchronisation."
        )
    state.close()


@app.command()
def sync(
    account: AccountOpt = None,
    follow: Annotated[bool, typer.Option(help="Continuer (documents en direct)")] = False,
) -> None:
    """Synchroniser les documents reçus (mot de passe MonSisra sur l'entrée standard)."""
    from sisra.client.engine import open_engine

    store = _store()
    acc = _account(store, account)
    try:
        unlocked = store.unlock(acc.id, _secret("Mot de passe MonSisra : "))
    except AccountError as exc:
        _fail(exc.message)
        return
    try:
        lock = hold_sync(acc)  # not beside MonSisra or another sync of this account
    except AccountError as exc:
        unlocked.lock()
        _fail(exc.message)
        return
    running = open_engine(unlocked, on_change=_document_log(""))
    try:
        if follow:
            stop = threading.Event()
            running.engine.run(stop, lambda code, msg: typer.echo(f"[{code}] {msg}"))
        else:
            running.engine.catch_up()
            report = running.engine.process_due()
            typer.echo(f"{report.exported} document(s) enregistré(s), {report.failed} en échec.")
    except auth.StrongAuthRequired as exc:
        _fail(exc.message)
    except ApiError as exc:
        _api_fail(exc)
    finally:
        running.close()
        lock.release()


@app.command()
def settings(
    account: AccountOpt = None,
    folder: Annotated[Path | None, typer.Option(help="Répertoire d'enregistrement")] = None,
    profile: Annotated[str | None, typer.Option(help=PROFILE_HELP)] = None,
    server: Annotated[str | None, typer.Option(help="Adresse de la plateforme")] = None,
    group: Annotated[str | None, typer.Option(help=GROUP_HELP + " ; « » pour l'enlever")] = None,
    autostart: Annotated[bool | None, typer.Option(help="Lancer au démarrage")] = None,
    ascii_names: Annotated[
        bool | None,
        typer.Option(
            "--noms-ascii/--noms-accentues",
            help="Noms de fichiers sans accents ni « Œ » (sinon : selon le logiciel métier)",
        ),
    ] = None,
) -> None:
    """Afficher ou modifier les paramétrages."""
    store = _store()
    acc = _account(store, account)
    changes: dict[str, object] = {}
    if folder is not None:
        changes["export_folder"] = folder.expanduser()
    if profile is not None:
        changes["software_profile_id"] = profile
    if server is not None:
        changes["server_url"] = server
    if group is not None:
        _access(group or None)
        changes["export_group"] = group or None
    if autostart is not None:
        changes["launch_at_startup"] = autostart
        _set_autostart(autostart)
    if ascii_names is not None:
        changes["ascii_names"] = ascii_names
    if changes:
        try:
            acc = store.update_settings(acc.id, **changes)
        except AccountError as exc:
            _fail(exc.message)
    s = acc.settings
    typer.echo(f"Utilisateur : {s.display_name} ({s.login})")
    typer.echo(f"Plateforme : {s.server_url}")
    typer.echo(f"Logiciel métier : {s.software_profile_id}")
    typer.echo(f"Répertoire d'enregistrement des documents : {s.export_folder}")
    readers = f"ce compte et le groupe « {s.export_group} »" if s.export_group else "ce compte"
    typer.echo(f"Documents enregistrés lisibles par : {readers}")
    names = {None: "selon le logiciel métier", True: "sans accents", False: "avec accents"}
    typer.echo(f"Noms de fichiers : {names[s.ascii_names]}")
    typer.echo(f"Lancement au démarrage : {'oui' if s.launch_at_startup else 'non'}")


@app.command("open")
def open_document(
    document: str,
    account: AccountOpt = None,
    receipt: Annotated[
        bool,
        typer.Option(
            "--accuse-lecture/--sans-accuse-lecture",
            help="Envoyer « lu » à l'expéditeur une fois la visionneuse lancée",
        ),
    ] = True,
) -> None:
    """Ouvrir un document reçu (déjà enregistré) avec la visionneuse PDF.

    L'expéditeur reçoit « lu » seulement si une visionneuse a bien démarré (le mot de passe
    MonSisra est alors demandé pour l'envoyer).
    """
    from sisra.client import opener
    from sisra.client.state import LocalState

    acc = _account(_store(), account)
    state = LocalState(acc.state_path)
    match = [st for st in state.all() if st.id.startswith(document)]
    state.close()
    if len(match) != 1 or not match[0].files:
        _fail("Document introuvable ou pas encore enregistré (voir « sisra client list »).")
        return
    st = match[0]
    path = Path(next((f for f in st.files if f.lower().endswith(".pdf")), st.files[0]))
    if path.suffix.lower() == ".zip":  # an XDM archive holds the PDF: open that, not the zip
        from sisra.client.export import XdmError, read_xdm
        from sisra.common.xdm.cda import archive_pdf

        try:  # the CDA R2 N1 document of the archive carries the PDF (decision 138)
            data = archive_pdf(read_xdm(path))
        except (XdmError, OSError) as exc:
            _fail(f"L'archive « {path} » est illisible : {exc}")
        cache = acc.folder / "cache"
        cache.mkdir(mode=0o700, exist_ok=True)
        path = cache / f"{st.id}.pdf"
        path.write_bytes(data)
    try:
        opener.open_file(path)
    except opener.OpenFailed as exc:
        _fail(exc.message)
    typer.echo(path)
    if not receipt or st.item.get("read_at") is not None:
        return
    unlocked = _unlock(account)
    _call(
        unlocked,
        lambda client, token: client.post_json(
            f"/api/v1/inbox/{st.id}/receipts", {"kind": "read"}, token=token
        ),
    )
    state = LocalState(acc.state_path)
    state.mark_read(st.id)
    state.close()
    typer.echo("Accusé de lecture « lu » envoyé à l'expéditeur.")


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
        except auth.StrongAuthRequired as exc:
            _fail(exc.message + " Lancez « sisra client reauth ».")
        except ApiError as exc:
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


@app.command()
def delete(document: str, account: AccountOpt = None) -> None:
    """Supprimer une notification (le document reste dans le dossier régional du patient)."""
    from sisra.client.state import LocalState

    unlocked = _unlock(account)
    st = _item(unlocked, document)
    _call(
        unlocked,
        lambda client, token: client.request("DELETE", f"/api/v1/inbox/{st.id}", token=token),
    )
    state = LocalState(unlocked.account.state_path)
    state.mark_deleted(st.id)
    state.close()
    typer.echo(
        "Notification supprimée. Le document reste consultable dans le dossier régional du patient."
    )


@app.command()
def reply(
    document: str,
    account: AccountOpt = None,
    browser: Annotated[bool, typer.Option(help="Ouvrir le navigateur")] = True,
) -> None:
    """Répondre à une notification (page web, l'expéditeur déjà destinataire)."""
    _item_page(account, document, browser, lambda st: f"/repondre/{st.id}")


@app.command()
def send(
    account: AccountOpt = None,
    browser: Annotated[bool, typer.Option(help="Ouvrir le navigateur")] = True,
) -> None:
    """Envoyer un document (page web)."""
    _ticket(account, "/envoyer", browser)


@app.command()
def record(
    document: str,
    account: AccountOpt = None,
    browser: Annotated[bool, typer.Option(help="Ouvrir le navigateur")] = True,
) -> None:
    """Ouvrir le dossier régional du patient d'un document reçu (page web)."""
    _item_page(account, document, browser, lambda st: f"/patients/{st.item['patient']['id']}")


def _item_page(
    account: str | None, document: str, browser: bool, target: Callable[[ItemState], str]
) -> None:
    """The web page of one received document, opened already logged in."""
    unlocked = _unlock(account)
    _ticket(account, target(_item(unlocked, document)), browser, unlocked)


@app.command()
def password(
    account: AccountOpt = None,
    forgotten: Annotated[
        bool, typer.Option("--forgotten", help="Mot de passe oublié : authentification forte")
    ] = False,
    card: Annotated[bool, typer.Option("--card")] = False,
    module: Annotated[str | None, typer.Option()] = None,
    psc: Annotated[bool, typer.Option("--psc", help=PSC_HELP)] = False,
    browser: Annotated[bool, typer.Option(help=BROWSER_HELP)] = True,
) -> None:
    """« Nouveau mot de passe » : le changer, ou, oublié, le refaire après la carte ou le code."""
    store = _store()
    acc = _account(store, account)
    if not forgotten:
        old = _secret("Mot de passe actuel : ")
        new = _secret("Nouveau mot de passe : ", confirm=True)
        try:
            store.change_password(acc.id, old, new)
        except AccountError as exc:
            _fail(exc.message)
        typer.echo("Mot de passe changé.")
        return
    creds = _strong_auth(
        acc.settings.server_url, card, module, acc.settings.login, None, psc=psc, browser=browser
    )
    new = _secret("Nouveau mot de passe MonSisra : ", confirm=True)
    try:
        store.reset_password(acc.id, new, creds.to_dict())
    except AccountError as exc:
        _fail(exc.message)
    typer.echo("Nouveau mot de passe enregistré ; vos réglages et vos documents sont conservés.")


@app.command()
def reauth(
    account: AccountOpt = None,
    card: Annotated[bool, typer.Option("--card")] = False,
    module: Annotated[str | None, typer.Option()] = None,
    psc: Annotated[bool, typer.Option("--psc", help=PSC_HELP)] = False,
    browser: Annotated[bool, typer.Option(help=BROWSER_HELP)] = True,
) -> None:
    """Authentification forte redemandée : carte CPS, e-CPS ou code, pour le même ordinateur."""
    unlocked = _unlock(account)
    acc = unlocked.account
    held = auth.Credentials.from_dict(unlocked.credentials)
    creds = _strong_auth(
        acc.settings.server_url,
        card,
        module,
        acc.settings.login,
        held.device_id,
        psc=psc,
        browser=browser,
        refresh_token=held.refresh_token,
    )
    unlocked.save_credentials(creds.to_dict())
    typer.echo("Authentification renouvelée : la synchronisation reprend.")


def _strong_auth(
    server: str,
    card: bool,
    module: str | None,
    login: str,
    device_id: str | None,
    *,
    psc: bool = False,
    browser: bool = True,
    refresh_token: str | None = None,
) -> auth.Credentials:
    with PlatformClient(server) as client:
        try:
            if psc:
                return _psc_login(client, browser, device_id)
            if card:
                return _card_login(client, module, device_id)
            return _code_login(client, login, device_id, refresh_token)
        except ApiError as exc:
            _api_fail(exc)
            raise AssertionError from exc


@app.command("open-page")
def open_page(
    target: Annotated[str, typer.Argument(help="Page à ouvrir")] = "/accueil",
    account: AccountOpt = None,
    browser: Annotated[bool, typer.Option(help="Ouvrir le navigateur")] = True,
) -> None:
    """Ouvrir une page des services Sisra déjà connecté (lien à usage unique)."""
    _ticket(account, target, browser)


@app.command()
def daemon(
    keyfile: Annotated[
        Path | None, typer.Option(help="Fichier « identifiant: mot de passe » (chmod 600)")
    ] = None,
) -> None:
    """Synchroniser tous les utilisateurs de cet ordinateur (poste ou serveur de cabinet).

    Tourne sans fin : reprend seul après « sisra client reauth », suit les utilisateurs
    ajoutés ou retirés ; « sisra client status » dit où en est chacun."""
    from sisra.client.daemon import Daemon, ask_password_on_terminal, read_keyfile

    store = _store()
    if not store.list():
        _fail("Aucun utilisateur sur cet ordinateur : lancez « sisra client add-user ».")
    path = keyfile or (
        Path(os.environ["MONSISRA_KEYFILE"]) if "MONSISRA_KEYFILE" in os.environ else None
    )
    if path is not None:
        try:
            read_keyfile(path)
        except AccountError as exc:
            _fail(exc.message)
        except OSError as exc:
            _fail(f"Fichier de clés illisible ({path}) : {exc.strerror}.")
    service = Daemon(
        store,
        typer.echo,
        _document_log,
        keyfile=path,
        ask_password=ask_password_on_terminal(_secret) if path is None else None,
    )
    if not service.start():
        service.shutdown()
        _fail("Aucun utilisateur n'a pu être déverrouillé.")
    stop = threading.Event()
    # a service manager stops with SIGTERM: end the engines cleanly, as Ctrl+C does
    signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.set())
    try:
        service.run(stop)
    except KeyboardInterrupt:
        stop.set()


@app.command()
def status() -> None:
    """Où en est le service MonSisra de cet ordinateur, utilisateur par utilisateur."""
    from sisra.client.daemon import describe, read_status

    for line in describe(read_status(_store())):
        typer.echo(line)
