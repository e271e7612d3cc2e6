"""The ``sisra`` command."""

if __name__ == "__main__":  # ``python -m sisra.cli …``: the ``sisra`` program's entry, which
    # starts ``sisra desktop`` before the imports below (sisra.cli_entry)
    import sys

    from sisra.cli_entry import main

    sys.exit(main())

import getpass
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sisra.cli_french import french_app
from sisra.platform.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from sisra.devtools.smtp_sink import SmtpSink
    from sisra.platform.demo.place import DemoPlace

app = french_app(
    help="sisra : plateforme régionale d'échange de documents médicaux.", no_args_is_help=True
)
db_app = french_app(help="Base de données.", no_args_is_help=True)
admin_app = french_app(help="Administration de l'annuaire et de l'audit.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
dev_app = french_app(help="Outils de développement et de démonstration.", no_args_is_help=True)
app.add_typer(dev_app, name="dev")


LoginArg = Annotated[
    str, typer.Argument(metavar="IDENTIFIANT", help="Identifiant de connexion du professionnel")
]


def _client_app() -> typer.Typer:
    from sisra.client.cli import app as client_cli

    return client_cli


app.add_typer(_client_app(), name="client")


@app.command()
def desktop(
    server: Annotated[
        str | None, typer.Option(help="Adresse de la plateforme proposée aux nouveaux utilisateurs")
    ] = None,
    startup_time: Annotated[
        bool, typer.Option("--startup-time", help="Mesure : quitter dès la première fenêtre")
    ] = False,
) -> None:
    """MonSisra, l'application de bureau (documents reçus, alertes, envoi)."""
    from sisra.desktop.launch import MISSING, qt_installed

    if not qt_installed():  # a server's install: no Qt (the `desktop` extra)
        _fail(MISSING)
    from sisra.desktop.app import run

    argv = [sys.argv[0], *(["--startup-time"] if startup_time else [])]
    raise typer.Exit(run(argv, server))


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def open_files_for_streams() -> int:
    """Raise this process's limit of open files to what the system allows; the limit now.

    Every MonSisra running keeps an event stream open, one socket each, all day: the usual
    default of 1,024 open files would refuse connections long before a server is busy
    (docs/deploy.md). The workers inherit the limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):  # the system's own ceiling is lower: keep what we have
        return soft
    return target


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Adresse d'écoute")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port d'écoute")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Nombre de processus (plusieurs : PostgreSQL obligatoire)")
    ] = 1,
    upgrade: Annotated[
        bool,
        typer.Option(
            help="Migrer la base avant de démarrer (plusieurs nœuds : --no-upgrade, et "
            "`sisra db upgrade` une seule fois avant)"
        ),
    ] = True,
) -> None:
    """Démarrer la plateforme (réglages : variables SISRA_*, voir docs/deploy.md)."""
    import uvicorn

    settings = Settings()
    if workers < 1:
        _fail("Le nombre de processus (--workers) doit être d'au moins 1.")
    if workers > 1 and not settings.effective_database_url.startswith("postgresql"):
        _fail(
            "Plusieurs processus (--workers) demandent PostgreSQL : SQLite ne sert qu'un seul "
            "processus. Indiquez SISRA_DATABASE_URL=postgresql+psycopg://… ou lancez la "
            "plateforme avec --workers 1."
        )
    if settings.blob_store == "s3" and settings.master_key is None:
        typer.secho(
            "Attention : stockage S3 sans SISRA_MASTER_KEY(_FILE) — chaque nœud doit utiliser "
            "la même clé maîtresse, sinon il ne pourra pas lire les documents des autres.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    open_files_for_streams()
    if upgrade:
        from sisra.platform.migrate import upgrade as do_upgrade

        do_upgrade(settings.effective_database_url)
    typer.echo(
        f"Plateforme sisra sur http://{host}:{port} (API : /docs), "
        f"{workers} processus, documents : {settings.blob_store}"
    )
    uvicorn.run(
        "sisra.platform.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=False,
        # event streams stay open until the client leaves: without a bound, SIGTERM waited for
        # them (25–60 s); beyond it they are ended, and the lifespan shutdown still runs
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


# --- MSSanté: the incoming mail gateway (docs/interop.md) --------------------------------
@app.command("mssante-gateway")
def mssante_gateway(
    host: Annotated[str | None, typer.Option(help="Adresse d'écoute LMTP")] = None,
    port: Annotated[int | None, typer.Option(help="Port d'écoute LMTP")] = None,
) -> None:
    """Recevoir les messages MSSanté des autres opérateurs (LMTP, depuis le relais)."""
    import logging
    import signal
    import threading

    from sisra.platform.mssante.gateway import serve_forever

    overrides = {k: v for k, v in (("mssante_lmtp_host", host), ("mssante_lmtp_port", port)) if v}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo(
        f"Passerelle MSSanté : LMTP sur {settings.mssante_lmtp_host}:{settings.mssante_lmtp_port}, "
        f"relais acceptés : {', '.join(settings.mssante_relays)}"
    )
    serve_forever(settings, stop)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[
        str, typer.Option(help="Révision à atteindre (head : la dernière)")
    ] = "head",
) -> None:
    """Appliquer les migrations."""
    from sisra.platform.migrate import upgrade as do_upgrade

    url = Settings().effective_database_url
    do_upgrade(url, revision)
    typer.echo("Base de données à jour.")


@db_app.command("check")
def db_check() -> None:
    """Vérifier que les migrations correspondent aux modèles."""
    from sisra.platform.migrate import pending_differences

    diffs = pending_differences(Settings().effective_database_url)
    if diffs:
        _fail("Les migrations ne correspondent pas aux modèles :\n" + "\n".join(map(str, diffs)))
    typer.echo("Migrations conformes aux modèles.")


@app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Démarrer la plateforme ensuite")
    ] = False,
    documents: Annotated[int, typer.Option(help="Nombre de documents à créer")] = 1000,
    patients: Annotated[int, typer.Option(help="Nombre de patients à créer")] = 300,
    seed: Annotated[
        int, typer.Option(help="Graine du tirage (la même graine donne la même région)")
    ] = 2026,
    port: Annotated[int, typer.Option(help="Port de la plateforme de démonstration")] = 8000,
    smtp_port: Annotated[int, typer.Option(help="Port du serveur de courriel de démo")] = 2525,
) -> None:
    """Charger la région de démonstration (si la base est vide) et afficher les identifiants."""
    from sisra.platform.demo.load import load_demo, print_logins
    from sisra.platform.demo.place import record
    from sisra.platform.migrate import upgrade as do_upgrade

    settings = Settings()
    do_upgrade(settings.effective_database_url)
    summary = load_demo(
        settings,
        n_documents=documents,
        n_patients=patients,
        seed=seed,
        progress=lambda msg: typer.echo(msg),
    )
    place = record(settings.data_dir, port, smtp_port)  # for « sisra dev … », from anywhere
    print_logins(summary, echo=typer.echo, url=place.url)
    _demo_cards(settings, summary.card_holders, place.url)
    if serve_after:
        sink = _start_demo_mail_sink(settings, smtp_port, port)
        typer.echo(
            f"Courriels (codes de connexion) captés sur 127.0.0.1:{sink.port} : "
            f"http://127.0.0.1:{port}/demo/courriels ou « sisra dev mails »."
        )
        try:
            serve(port=port, upgrade=False)
        finally:
            sink.stop()


def _demo_cards(settings: Settings, holders: list[tuple[str, str, str, str]], url: str) -> None:
    """Test CPS cards (SoftHSM2) for the demo's card holders, and the CA the demo trusts.

    Missing cards are made at every start, so installing SoftHSM2 after a first demo gives
    cards on the next start; ``cartes.txt`` lists them with this run's address."""
    import os

    from sisra.devtools import cards

    if not cards.softhsm_available():
        typer.echo(
            "Cartes CPS de démonstration : installez SoftHSM2 (paquet softhsm2) pour les "
            "créer au prochain démarrage ; la connexion par code e-mail fonctionne sans."
        )
        return
    os.environ.update(cards.demo_trust_env(settings.data_dir))
    if not holders:
        return
    missing = [h for h in holders if cards.saved_demo_card(settings.data_dir, h[0]) is None]
    if missing:
        typer.echo(f"Création de {len(missing)} cartes CPS de test (SoftHSM2)…")
        for login, nid, first, last in missing:
            cards.make_demo_card(settings.data_dir, nid, first, last, login)
    made = [
        card
        for login, _nid, first, last in holders
        if (card := cards.saved_demo_card(settings.data_dir, login, f"{first} {last}"))
    ]
    notes = settings.data_dir / "softhsm" / "cartes.txt"
    notes.write_text("\n".join(c.instructions(url) for c in made) + "\n", encoding="utf-8")
    typer.echo("Cartes CPS de test (code PIN 1234), par exemple :")
    for line in notes.read_text(encoding="utf-8").splitlines()[:6]:  # two cards
        typer.echo("  " + line)
    typer.echo(f"  … liste complète dans {notes}")


def _start_demo_mail_sink(settings: Settings, smtp_port: int, port: int) -> "SmtpSink":
    """The demo's SMTP server: codes are kept in <data dir>/mails instead of being sent."""
    import os

    from sisra.devtools.smtp_sink import SmtpSink

    sink = SmtpSink(port=smtp_port, directory=settings.data_dir / "mails").start()
    # the server (created by uvicorn from the environment) sends its mail to the sink
    os.environ.update(
        SISRA_SMTP_HOST="127.0.0.1",
        SISRA_SMTP_PORT=str(smtp_port),
        SISRA_SMTP_SECURITY="none",
        SISRA_DEMO_MODE="1",
    )
    os.environ.setdefault("SISRA_PUBLIC_URL", f"http://127.0.0.1:{port}")
    return sink


def _session(settings: Settings | None = None) -> AbstractContextManager["Session"]:
    from sisra.platform.db import make_engine, make_session_factory, unit_of_work

    settings = settings or Settings()
    return unit_of_work(
        make_session_factory(make_engine(settings.effective_database_url, settings))
    )


@admin_app.command("create-professional")
def create_professional(
    login: LoginArg,
    first_name: Annotated[str, typer.Argument(metavar="PRÉNOM", help="Prénom")],
    last_name: Annotated[str, typer.Argument(metavar="NOM", help="Nom")],
    profession: Annotated[
        str, typer.Argument(metavar="PROFESSION", help="Profession (par exemple Médecin)")
    ],
    email: Annotated[
        str, typer.Argument(metavar="COURRIEL", help="Adresse électronique (codes de connexion)")
    ],
    rpps: Annotated[str | None, typer.Option(help="Numéro RPPS (11 chiffres)")] = None,
    adeli: Annotated[str | None, typer.Option(help="Numéro ADELI (9 chiffres)")] = None,
    specialty: Annotated[str | None, typer.Option(help="Spécialité")] = None,
    structure: Annotated[str | None, typer.Option(help="Structure d'exercice")] = None,
    city: Annotated[str | None, typer.Option(help="Commune d'exercice")] = None,
    administrator: Annotated[
        bool, typer.Option(help="Administrateur de la plateforme (et non professionnel)")
    ] = False,
    password: Annotated[bool, typer.Option(help="Demander un mot de passe portail")] = False,
) -> None:
    """Ajouter un professionnel (ou un administrateur) à l'annuaire."""
    from sisra.platform.context import SYSTEM
    from sisra.platform.directory import service
    from sisra.platform.errors import SisraError
    from sisra.platform.models import Role

    secret = _ask_password() if password else None
    try:
        with _session() as session:
            pro = service.create(
                session,
                SYSTEM,
                service.NewProfessional(
                    first_name=first_name,
                    last_name=last_name,
                    profession=profession,
                    email=email,
                    login=login,
                    rpps=rpps,
                    adeli=adeli,
                    specialty=specialty,
                    structure=structure,
                    city=city,
                    role=Role.administrator if administrator else Role.professional,
                    password=secret,
                ),
            )
            typer.echo(f"Créé : {pro.display_name} ({pro.login}) id={pro.id}")
    except SisraError as exc:
        _fail(exc.message)


def _ask_password() -> str:
    if sys.stdin is None or not sys.stdin.isatty():  # a script: one line (closed → None)
        line = sys.stdin.readline() if sys.stdin is not None else ""
        if not line:
            _fail("Mot de passe portail attendu sur l'entrée standard (aucune donnée reçue).")
        return line.rstrip("\r\n")
    first = getpass.getpass("Mot de passe portail : ")
    if getpass.getpass("Confirmez : ") != first:
        _fail("Les deux saisies diffèrent.")
    return first


@admin_app.command("set-password")
def set_password(login: LoginArg) -> None:
    """Définir le mot de passe portail d'un professionnel (lu sur l'entrée standard)."""
    from sisra.platform.context import SYSTEM
    from sisra.platform.directory import service
    from sisra.platform.errors import SisraError

    secret = _ask_password()
    try:
        with _session() as session:
            service.set_password(session, SYSTEM, service.by_login(session, login), secret)
    except SisraError as exc:
        _fail(exc.message)
    typer.echo("Mot de passe enregistré.")


@admin_app.command("disable")
def disable(login: LoginArg) -> None:
    """Désactiver un professionnel (il ne peut plus se connecter ni recevoir)."""
    _set_active(login, False)


@admin_app.command("enable")
def enable(login: LoginArg) -> None:
    """Réactiver un professionnel."""
    _set_active(login, True)


def _set_active(login: str, active: bool) -> None:
    from sisra.platform.context import SYSTEM
    from sisra.platform.directory import service
    from sisra.platform.errors import SisraError

    try:
        with _session() as session:
            service.set_active(session, SYSTEM, service.by_login(session, login), active)
    except SisraError as exc:
        _fail(exc.message)
    typer.echo("Compte activé." if active else "Compte désactivé.")


@admin_app.command("verify-audit")
def verify_audit(
    seal: Annotated[
        bool, typer.Option("--seal/--no-seal", help="Sceller d'abord les lignes en attente")
    ] = True,
    reviewed_up_to: Annotated[
        int,
        typer.Option(
            "--reviewed-up-to",
            help="Lignes hors de l'ordre chronologique déjà examinées jusqu'à cette position "
            "de la chaîne : encore listées, mais sans code de sortie 2",
        ),
    ] = 0,
) -> None:
    """Vérifier la piste d'audit : chaîne à clé et points de contrôle signés.

    Code de sortie : 0 intègre, 1 altérée, 2 intègre mais des lignes hors de l'ordre
    chronologique (antidatées ou postdatées) restent à examiner.
    """
    import base64
    from datetime import timedelta

    from sisra.platform.audit.sealer import Sealer, SealRefused
    from sisra.platform.audit.verify import MAX_LISTED, verify, when
    from sisra.platform.db import make_engine, make_session_factory

    settings = Settings()
    engine = make_engine(settings.effective_database_url, settings)
    try:
        factory = make_session_factory(engine)
        try:
            sealer = Sealer.from_settings(settings, factory, create_key=False)
        except ValueError as exc:
            _fail(str(exc))
        if seal:
            try:
                sealer.seal(wait=True)
            except SealRefused as exc:
                typer.secho(f"Attention : {exc.message}", fg=typer.colors.YELLOW, err=True)
            except OSError as exc:
                _fail(
                    f"Impossible d'écrire le point de contrôle dans {sealer.checkpoint_dir} : "
                    f"{exc.strerror or exc}."
                )
        report = verify(
            factory,
            sealer.key,
            sealer.checkpoint_dir,
            unsealed_warn_after=timedelta(minutes=settings.audit_unsealed_warn_minutes),
            tolerance=sealer.tolerance,
        )
    finally:
        engine.dispose()
    for warning in report.warnings:
        typer.secho(f"Attention : {warning}", fg=typer.colors.YELLOW, err=True)
    late = report.out_of_order
    if late:
        minutes = f"{sealer.tolerance.total_seconds() / 60:g}"
        typer.secho(
            f"Lignes hors de l'ordre chronologique ({len(late)}, tolérance {minutes} min) : "
            "chaîne intacte, mais ces lignes n'ont pas été écrites au moment qu'elles "
            "indiquent (insérées directement dans la base, ou horloge du serveur déréglée) :\n"
            + "\n".join(f"  - {o.describe()}" for o in late[:MAX_LISTED])
            + (f"\n  … et {len(late) - MAX_LISTED} autres." if len(late) > MAX_LISTED else ""),
            fg=typer.colors.YELLOW,
            err=True,
        )
    if not report.ok:
        _fail(
            f"Piste d'audit ALTÉRÉE ({report.rows} lignes scellées lues) :\n"
            + "\n".join(f"  - {p}" for p in report.problems)
        )
    last = report.last_checkpoint
    attested = (
        f"le dernier atteste la position n° {last.seal_seq}, le {when(last.at)}"
        if last
        else "aucun"
    )
    typer.echo(
        f"Piste d'audit intègre : {report.rows} ligne(s) scellée(s) vérifiée(s) avec la clé "
        f"d'audit {sealer.key.key_id} ; point(s) de contrôle signé(s) concordant(s) : "
        f"{report.checkpoints} ({attested}) ; {report.unsealed} ligne(s) en attente de "
        "scellement."
    )
    public = base64.b64encode(sealer.key.public_key).decode()
    typer.echo(f"Clé publique des points de contrôle (Ed25519) : {public}")
    if any(o.seal_seq > reviewed_up_to for o in late):
        typer.secho(
            "À examiner : des lignes hors de l'ordre chronologique (ci-dessus). Une fois "
            "examinées, --reviewed-up-to <position> ne les compte plus dans le code de "
            "sortie.",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(2)


@admin_app.command("send-care-team-digest")
def send_care_team_digest(
    jour: Annotated[
        str | None,
        typer.Option(help="Jour des déclarations (AAAA-MM-JJ) ; défaut : hier"),
    ] = None,
) -> None:
    """Envoyer le récapitulatif quotidien des nouvelles déclarations de prise en charge.

    Sans risque de double envoi : chaque récapitulatif (jour, destinataire) n'est envoyé
    qu'une fois, même si les serveurs l'envoient aussi.
    """
    from datetime import date

    from sisra.platform.db import make_engine, make_session_factory
    from sisra.platform.record.digest import send_digests, yesterday

    try:
        day = date.fromisoformat(jour) if jour else yesterday()
    except ValueError:
        _fail("Date invalide : indiquez-la au format AAAA-MM-JJ (par exemple 2026-12-05).")
        return
    settings = Settings()
    engine = make_engine(settings.effective_database_url, settings)
    try:
        sent = send_digests(make_session_factory(engine), settings, day)
    finally:
        engine.dispose()
    typer.echo(
        f"Récapitulatif des déclarations du {day.strftime('%d/%m/%Y')} : {sent} message(s) "
        "envoyé(s)."
    )


@admin_app.command("sweep-blobs")
def sweep_blobs(
    grace_minutes: Annotated[
        int | None,
        typer.Option(help="Âge minimal d'un fichier orphelin (minutes) ; défaut : le réglage"),
    ] = None,
) -> None:
    """Supprimer les fichiers de documents qu'aucun document ne référence (envoi interrompu)."""
    from sisra.platform.db import make_engine, make_session_factory
    from sisra.platform.documents.sweep import sweep
    from sisra.platform.storage import blobs_from_settings, load_master_key

    settings = Settings()
    if grace_minutes is not None:
        if grace_minutes < 1:
            _fail("Le délai de grâce doit être d'au moins 1 minute (un envoi peut être en cours).")
        settings = settings.model_copy(update={"blob_sweep_grace_minutes": grace_minutes})
    engine = make_engine(settings.effective_database_url, settings)
    master = load_master_key(
        settings.master_key.get_secret_value() if settings.master_key else None,
        settings.master_key_file,
    )
    blobs = blobs_from_settings(settings, master)
    try:
        report = sweep(make_session_factory(engine), blobs, settings)
    except NotImplementedError:
        _fail("Ce stockage ne sait pas lister ses fichiers : nettoyage impossible.")
        return
    finally:
        engine.dispose()
    typer.echo(
        f"{report.blobs_seen} fichier(s) examiné(s) : {report.orphans_removed} orphelin(s) "
        f"supprimé(s), {report.temporaries_removed} fichier(s) temporaire(s) supprimé(s), "
        f"{report.expired_keys} clé(s) d'idempotence expirée(s) supprimée(s)."
    )


@admin_app.command("devices")
def admin_devices(login: LoginArg) -> None:
    """Lister les appareils (ordinateurs MonSisra, navigateurs) d'un professionnel."""
    from sisra.platform.auth import service as auth_service
    from sisra.platform.directory import service
    from sisra.platform.errors import SisraError

    try:
        with _session() as session:
            pro = service.by_login(session, login)
            rows = auth_service.list_devices(session, pro.id)
            for d in rows:
                state = "révoqué" if d.revoked_at else "actif"
                strong = d.strong_auth_at.strftime("%d/%m/%Y") if d.strong_auth_at else "-"
                typer.echo(f"{d.id}  {state:<8} {d.auth_method:<4} forte:{strong}  {d.name}")
            if not rows:
                typer.echo("Aucun appareil.")
    except SisraError as exc:
        _fail(exc.message)


@admin_app.command("revoke-device")
def admin_revoke_device(
    device_id: Annotated[
        str, typer.Argument(metavar="APPAREIL", help="Identifiant de l'appareil (admin devices)")
    ],
) -> None:
    """Révoquer un appareil : ses jetons cessent de fonctionner immédiatement."""
    import uuid

    from sisra.platform.auth import service as auth_service
    from sisra.platform.context import SYSTEM, Actor
    from sisra.platform.errors import SisraError
    from sisra.platform.models import Role

    try:
        with _session() as session:
            ctx = SYSTEM.with_actor(Actor(uuid.UUID(int=0), Role.administrator, "sisra admin"))
            auth_service.revoke_device(session, ctx, uuid.UUID(device_id))
    except (SisraError, ValueError) as exc:
        _fail(getattr(exc, "message", "Identifiant d'appareil invalide."))
    typer.echo("Appareil révoqué.")


def _demo_settings(required: bool = True) -> tuple[Settings, "DemoPlace | None"]:
    """The settings of the demo found from any folder (see sisra.platform.demo.place), and
    what it recorded; when there is none, the settings as they are, or (``required``) a
    French error naming the folders tried."""
    from sisra.platform.demo.place import find_data_dir, recorded

    settings = Settings()
    folder, tried = find_data_dir(settings)
    if folder is None and not required:
        return settings, None
    if folder is None:
        _fail(
            "Aucune démonstration trouvée. Dossiers examinés : "
            + ", ".join(str(t) for t in tried)
            + ". Lancez la démonstration (« make demo » ou « sisra demo --serve ») ou "
            "indiquez son dossier de données avec SISRA_DATA_DIR."
        )
        raise AssertionError  # _fail exits
    if "data_dir" not in settings.model_fields_set:
        settings = Settings(data_dir=folder)
    return settings, recorded(folder)


@dev_app.command("make-card")
def dev_make_card(
    login: LoginArg,
    pin: Annotated[str, typer.Option(help="Code PIN de la carte de test")] = "1234",
    pki_dir: Annotated[Path | None, typer.Option(help="Dossier de l'AC de test")] = None,
    softhsm_dir: Annotated[Path | None, typer.Option(help="Dossier des cartes SoftHSM2")] = None,
    server: Annotated[
        str | None,
        typer.Option(
            help="Adresse de la plateforme dans les commandes affichées (par défaut : celle "
            "de la démonstration lancée)"
        ),
    ] = None,
) -> None:
    """Créer une carte CPS de test (SoftHSM2) pour un professionnel de l'annuaire."""
    from sisra.client.api import DEMO_SERVER
    from sisra.devtools.cards import make_demo_card, softhsm_available

    if not softhsm_available():
        _fail("SoftHSM2 est introuvable : installez le paquet softhsm2.")
    settings, place = _demo_settings(required=False)  # a database without a demo: as set
    from sisra.platform.directory import service
    from sisra.platform.errors import SisraError

    try:
        with _session(settings) as session:
            pro = service.by_login(session, login)
            nid, first, last = pro.national_id, pro.first_name, pro.last_name
    except SisraError as exc:
        _fail(exc.message)
        return
    if not nid:
        _fail("Ce compte n'a pas d'identifiant national (RPPS ou ADELI).")
        return
    made = make_demo_card(settings.data_dir, nid, first, last, login, pin, pki_dir, softhsm_dir)
    typer.echo(made.instructions(server or (place.url if place else DEMO_SERVER)))


@dev_app.command("mails")
def dev_mails(
    limit: Annotated[int, typer.Option(help="Nombre de courriels affichés")] = 10,
) -> None:
    """Afficher les derniers courriels captés par la démo (codes et liens de connexion)."""
    from datetime import datetime

    from sisra.platform.demo.mails import read_mail_dir

    settings, _place = _demo_settings()
    folder = settings.data_dir / "mails"
    mails = read_mail_dir(folder, limit)
    if not mails:
        typer.echo(f"Aucun courriel capté pour l'instant (dossier {folder.resolve()}).")
    for mail in mails:
        when = datetime.fromtimestamp(mail.received_at).strftime("%d/%m %H:%M:%S")
        code = mail.code()
        typer.echo(
            f"{when}  {', '.join(mail.to)}  {mail.subject}" + (f"  code {code}" if code else "")
        )
        for link in mail.links():
            typer.echo(f"    lien : {link}")
