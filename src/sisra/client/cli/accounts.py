"""``sisra client add-user``, ``settings``, ``password``, ``reauth``: this computer's users,
their enrolment and their strong authentication."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sisra.client import auth
from sisra.client.accounts import Account, AccountError, AccountSettings, AccountStore
from sisra.client.api import DEMO_SERVER, ApiError, PlatformClient
from sisra.client.cli.common import (
    BROWSER_HELP,
    GROUP_HELP,
    PROFILE_HELP,
    PSC_HELP,
    AccountOpt,
    CardOpt,
    ModuleOpt,
    ServerOpt,
    _access,
    _account,
    _api_fail,
    _fail,
    _line,
    _secret,
    _store,
    _unlock,
)
from sisra.common.french import de

if TYPE_CHECKING:
    pass


def add_user(
    server: ServerOpt = DEMO_SERVER,
    card: CardOpt = False,
    identifier: Annotated[
        str | None, typer.Option(help="J'ai obtenu mes identifiants de connexion")
    ] = None,
    module: ModuleOpt = None,
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


def settings(
    account: AccountOpt = None,
    folder: Annotated[Path | None, typer.Option(help="Répertoire d'enregistrement")] = None,
    profile: Annotated[str | None, typer.Option(help=PROFILE_HELP)] = None,
    server: Annotated[str | None, typer.Option(help="Adresse de la plateforme")] = None,
    group: Annotated[str | None, typer.Option(help=GROUP_HELP + " ; « » pour l'enlever")] = None,
    autostart: Annotated[bool | None, typer.Option(help="Lancer au démarrage")] = None,
    outbox: Annotated[
        str | None,
        typer.Option(
            "--outbox",
            help="Dossier d'envoi : les courriers que le logiciel métier y dépose sont "
            "envoyés ; « » pour n'en plus surveiller",
        ),
    ] = None,
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
    if outbox is not None:
        changes["outbox"] = Path(outbox).expanduser() if outbox.strip() else None
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
    typer.echo(f"Dossier d'envoi : {s.outbox or 'aucun'}")
    typer.echo(f"Lancement au démarrage : {'oui' if s.launch_at_startup else 'non'}")


def password(
    account: AccountOpt = None,
    forgotten: Annotated[
        bool, typer.Option("--forgotten", help="Mot de passe oublié : authentification forte")
    ] = False,
    card: CardOpt = False,
    module: ModuleOpt = None,
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


def reauth(
    account: AccountOpt = None,
    card: CardOpt = False,
    module: ModuleOpt = None,
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
