"""Letters as a practice software drops them in MonSisra's outbox, and the people they name."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sisra.client.api import PlatformClient
from sisra.client.auth import Credentials
from sisra.client.outbox import OutboxWatcher, Platform
from sisra.client.sync import CredentialTokens
from support.personas import otp_login

CRLF = "\r\n"


def hprim(
    last_name: str,
    first_name: str,
    birth: date | None,
    recipients: str,
    *,
    nss: str = "",
    title: str = "Courrier au confrère",
    when: date | None = None,
    sender: str = "Dr Paul EXPÉDITEUR",
) -> bytes:
    """An HPRIM Net header in the convention's 12-line layout, ISO-8859-1, CRLF."""
    lines = [
        "P123",
        last_name,
        first_name,
        "",
        "",
        "",
        f"{birth:%d/%m/%Y}" if birth else "",
        f"{nss[:13]} {nss[13:]}" if nss else "",
        "D456",
        f"{(when or date.today()):%d/%m/%Y}",
        sender,
        recipients,
        title,
        "Suite de la lettre.",
        "****FIN****",
        "****FINFICHIER****",
    ]
    return (CRLF.join(lines) + CRLF).encode("iso-8859-1")


def drop(folder: Path, name: str, pdf: bytes | None, header: bytes | None = None) -> list[Path]:
    """Write the letter's files as a practice software would (PDF first)."""
    written = []
    if pdf is not None:
        (folder / f"{name}.pdf").write_bytes(pdf)
        written.append(folder / f"{name}.pdf")
    if header is not None:
        (folder / f"{name}.hpr").write_bytes(header)
        written.append(folder / f"{name}.hpr")
    return written


def new_patient(
    db: Callable[[], Any],
    birth_name: str,
    given: str,
    birth: date,
    sex: str = "F",
    ins: str | None = None,
    status: str = "provisoire",
) -> uuid.UUID:
    from sisra.common.ins import OID_NIR_TEST
    from sisra.platform.context import SYSTEM
    from sisra.platform.patients import service as patients

    with db() as session:
        p = patients.create(
            session,
            SYSTEM,
            patients.NewPatient(
                birth_name=birth_name,
                birth_given_names=[given],
                first_given_name=given,
                birth_date=birth,
                sex=sex,
                ins=ins,
                ins_oid=OID_NIR_TEST if ins else None,
                identity_status=status,
            ),
        )
        return p.id


def rpps_of(db: Callable[[], Any], pro_id: uuid.UUID) -> str:
    from sisra.platform.models import Professional

    with db() as session:
        pro = session.get(Professional, pro_id)
        assert pro is not None and pro.rpps
        return str(pro.rpps)


def platform_for(url: str, smtp_sink: Any, login: str) -> Platform:
    """The platform as MonSisra reaches it for ``login`` (a device of its own)."""
    client = PlatformClient(url)
    tokens = otp_login(client._http, smtp_sink, login, f"{login}@demo.sisra.test")
    creds = Credentials.from_tokens(url, tokens)
    return Platform(client, CredentialTokens(client, creds))


def watcher(folder: Path, platform: Platform, lines: list[str]) -> OutboxWatcher:
    """A watcher with no waiting: two scans make a file complete, a lone file is at once."""
    return OutboxWatcher(folder, platform, lines.append, settle_s=0.0, companion_wait_s=0.0)


def two_passes(w: OutboxWatcher) -> Any:
    w.scan_once()
    return w.scan_once()


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o7777
