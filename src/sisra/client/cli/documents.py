"""``sisra client list``, ``failures``, ``open``, ``delete`` and the web pages of a received
document (``reply``, ``record``, ``send``, ``open-page``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sisra.client.cli.common import (
    AccountOpt,
    DocumentArg,
    _account,
    _call,
    _fail,
    _item,
    _store,
    _ticket,
    _unlock,
)
from sisra.client.region import display_zone
from sisra.common import clock

if TYPE_CHECKING:
    from sisra.client.state import ItemState


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
        p = i.patient
        name = f"{p.used_name or p.birth_name} {p.first_given_name}"
        typer.echo(
            f"{st.id[:8]}  {clock.fr_datetime(_received(st), zone, sep=' '):<16}  "
            f"{_date_fr(i.document.clinical_date)}  {name[:24]:<24} "
            f"{i.sender.name[:20]:<20} {i.document.title[:40]:<40} "
            f"{labels.get(st.status, st.status)}"
        )


def _received(st: ItemState) -> datetime:
    """When the platform received the document (an aware instant, for ordering)."""
    return st.item.created_at


def _date_fr(iso: object) -> str:
    text = str(iso or "")
    return f"{text[8:10]}/{text[5:7]}/{text[:4]}" if len(text) >= 10 else text


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
            f"{st.id[:8]}  {st.item.document.title[:40]:<40} "
            f"{st.error_message} ({st.attempts} essai(s))"
        )
    if not failed:
        typer.echo("Aucun échec.")
    if retry and failed:
        typer.echo(
            f"{state.retry_now()} document(s) seront réessayés à la prochaine synchronisation."
        )
    state.close()


def open_document(
    document: DocumentArg,
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
    if not receipt or st.item.read_at is not None:
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


def delete(document: DocumentArg, account: AccountOpt = None) -> None:
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


def reply(
    document: DocumentArg,
    account: AccountOpt = None,
    browser: Annotated[bool, typer.Option(help="Ouvrir le navigateur")] = True,
) -> None:
    """Répondre à une notification (page web, l'expéditeur déjà destinataire)."""
    _item_page(account, document, browser, lambda st: f"/repondre/{st.id}")


def send(
    account: AccountOpt = None,
    browser: Annotated[bool, typer.Option(help="Ouvrir le navigateur")] = True,
) -> None:
    """Envoyer un document (page web)."""
    _ticket(account, "/envoyer", browser)


def record(
    document: DocumentArg,
    account: AccountOpt = None,
    browser: Annotated[bool, typer.Option(help="Ouvrir le navigateur")] = True,
) -> None:
    """Ouvrir le dossier régional du patient d'un document reçu (page web)."""
    _item_page(account, document, browser, lambda st: f"/patients/{st.item.patient.id}")


def _item_page(
    account: str | None, document: str, browser: bool, target: Callable[[ItemState], str]
) -> None:
    """The web page of one received document, opened already logged in."""
    unlocked = _unlock(account)
    _ticket(account, target(_item(unlocked, document)), browser, unlocked)


def open_page(
    target: Annotated[str, typer.Argument(help="Page à ouvrir")] = "/accueil",
    account: AccountOpt = None,
    browser: Annotated[bool, typer.Option(help="Ouvrir le navigateur")] = True,
) -> None:
    """Ouvrir une page des services Sisra déjà connecté (lien à usage unique)."""
    _ticket(account, target, browser)
