"""``sisra client sync``, ``daemon``, ``status``: the engine that synchronises, for one user
or as this computer's service."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sisra.client.accounts import AccountError
from sisra.client.api import ApiError
from sisra.client.cli.common import (
    AccountOpt,
    _account,
    _api_fail,
    _fail,
    _say_status,
    _secret,
    _store,
)
from sisra.client.lock import hold_sync
from sisra.common.french import de

if TYPE_CHECKING:
    from sisra.client.state import ItemState


def _document_log(prefix: str) -> Callable[[str, ItemState | None], None]:
    """One line per document exported or failed, for a service's log (journal).

    The patient's name is left out: the line gives the document's reference, title, sender
    and file name(s) — a file name follows the practice software's naming template, so it may
    hold the patient's name; the log then needs the care of the export folder itself.
    """

    def log(kind: str, st: ItemState | None) -> None:
        if st is None or kind not in ("exported", "failed"):
            return
        doc, sender = st.item.document, st.item.sender
        what = f"{st.id[:8]} « {doc.title} » {de(sender.name)}"
        if kind == "exported":
            files = ", ".join(Path(f).name for f in st.files)
            typer.echo(f"{prefix}Document enregistré : {what} → {files}")
        else:
            typer.echo(
                f"{prefix}Document non enregistré : {what} — {st.error_message} "
                f"(essai {st.attempts}, nouvel essai automatique)"
            )

    return log


def sync(
    account: AccountOpt = None,
    follow: Annotated[bool, typer.Option(help="Continuer (documents en direct)")] = False,
) -> None:
    """Synchroniser les documents reçus (mot de passe MonSisra sur l'entrée standard)."""
    from sisra.client.engine import open_engine
    from sisra.client.sync import Offline

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
    running = open_engine(
        unlocked, on_change=_document_log(""), outbox_log=typer.echo, headless=True
    )
    try:
        if follow:
            stop = threading.Event()
            running.engine.run(stop, _say_status)
        else:
            running.engine.catch_up()
            report = running.engine.process_due()
            typer.echo(f"{report.exported} document(s) enregistré(s), {report.failed} en échec.")
            if (sent := running.engine.outbox_pass()) is not None:
                typer.echo(
                    f"Dossier d'envoi : {len(sent.sent)} courrier(s) envoyé(s), "
                    f"{len(sent.set_aside)} mis de côté, {sent.waiting} en attente."
                )
    except Offline as exc:
        _api_fail(ApiError(exc.code, exc.message))
    except ApiError as exc:
        _api_fail(exc)
    finally:
        running.close()
        lock.release()


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


def status() -> None:
    """Où en est le service MonSisra de cet ordinateur, utilisateur par utilisateur."""
    from sisra.client.daemon import describe, read_status

    for line in describe(read_status(_store())):
        typer.echo(line)
