"""The ``monsisra`` CUPS backend: a printed document becomes a PDF in the user's outbox.

CUPS runs a backend with no argument to discover its devices (one line on stdout), or with
``job user title copies options [file]`` to print: the job is read from ``file`` or stdin. The
MonSisra queue's PPD makes CUPS convert whatever the application printed to PDF
(``packaging/linux/monsisra.ppd``, with cups-filters' pdftopdf; decision 184), so the job is
a PDF here.

The PDF is written to ``<outbox>/imprimes/imprime-AAAAMMJJ-HHMMSS-<job>.pdf`` of the printing
user's MonSisra account (:mod:`sisra.client.printing.jobs`, decision 185). CUPS starts a
backend as root when its file is 0700 (decision 186): the job is read, then the process takes
the printing user's identity (groups, gid, uid) before it touches their home folder, so the
file is theirs (0600, folders 0700) and nothing outside their rights can be written.

Exit codes are CUPS's (backend(7)): ``CUPS_BACKEND_OK`` (0), ``CUPS_BACKEND_FAILED`` (1: the
queue's error policy, ``abort-job``, drops the job). Messages go to stderr as
``ERROR: …`` / ``INFO: …`` lines, which CUPS shows as the job's and the queue's state.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from sisra.client.printing import jobs

CUPS_BACKEND_OK = 0
CUPS_BACKEND_FAILED = 1
SCHEME = "monsisra"
DEVICE_LINE = (
    f'direct {SCHEME}:/ "MonSisra" "MonSisra (envoi par la plateforme Sisra)" '
    '"MFG:Sisra;MDL:MonSisra;CMD:PDF;CLS:PRINTER;"'
)
MAX_JOB_BYTES = 200 * 1024 * 1024
# the packaged MonSisra executable run as this backend (packaging/linux/entry.py)
BACKEND_FLAG = "--cups-backend"
# /usr/lib/cups/backend/monsisra in the package: 0700 root, so CUPS runs it as root
WRAPPER = f"""#!/bin/sh
# MonSisra's CUPS backend: printed documents go to the printing user's MonSisra outbox.
exec /opt/monsisra/monsisra {BACKEND_FLAG} "$@"
"""


class JobRefused(Exception):
    """A job that cannot be delivered; ``message`` is French (the queue shows it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_job(path: str | None, stdin: BinaryIO) -> bytes:
    try:
        if path:
            with open(path, "rb") as f:
                data = f.read(MAX_JOB_BYTES + 1)
        else:
            data = stdin.read(MAX_JOB_BYTES + 1)
    except OSError as exc:
        raise JobRefused(f"Lecture du travail d'impression impossible : {exc.strerror}.") from exc
    if len(data) > MAX_JOB_BYTES:
        raise JobRefused("Document trop volumineux pour MonSisra (plus de 200 Mo).")
    start = data.find(b"%PDF-", 0, 4096)  # after a printer-language (PJL) preamble, if any
    if start < 0:
        raise JobRefused(
            "Le travail reçu n'est pas un PDF : la file MonSisra doit utiliser le pilote "
            "« MonSisra » (réinstallez MonSisra)."
        )
    return data[start:]


def become(user: str) -> pwd.struct_passwd:
    """Take the printing user's identity when running as root; their account entry."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise JobRefused(f"Utilisateur « {user} » inconnu sur cet ordinateur.") from None
    if os.geteuid() == 0 and entry.pw_uid != 0:
        os.setgroups(os.getgrouplist(entry.pw_name, entry.pw_gid))
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
    os.environ["HOME"] = entry.pw_dir
    return entry


def monsisra_root(entry: pwd.struct_passwd) -> Path:
    """``MONSISRA_HOME`` when the print server sets it (``SetEnv`` in cupsd.conf: tests and
    single-user kiosks), else the user's own MonSisra folder."""
    configured = os.environ.get("MONSISRA_HOME")
    if configured:
        return Path(configured)
    return jobs.root_for_home(Path(entry.pw_dir))


def deliver(data: bytes, folder: Path, name: str) -> Path:
    """Write ``data`` to ``folder/name`` whole or not at all: a temporary file (0600),
    flushed to disk, then renamed (the window never sees half a PDF)."""
    previous = os.umask(0o077)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = folder / name
        tmp = folder / f".{name}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    finally:
        os.umask(previous)
    return target


def print_job(job_id: str, user: str, data: bytes, now: datetime | None = None) -> Path:
    entry = become(user)
    root = monsisra_root(entry)
    try:
        account = jobs.receiving_account(root)
    except OSError as exc:
        raise JobRefused(
            f"Dossier MonSisra de « {user} » illisible ({root}) : {exc.strerror}."
        ) from exc
    if account is None:
        raise JobRefused(
            f"Aucun compte MonSisra pour l'utilisateur « {user} » : ouvrez MonSisra et "
            "connectez-vous une première fois."
        )
    when = now or datetime.now()
    try:
        return deliver(data, jobs.printed_dir(account), jobs.job_file_name(job_id, when))
    except OSError as exc:
        raise JobRefused(
            f"Écriture impossible dans le dossier d'envoi de MonSisra ({exc.filename}) : "
            f"{exc.strerror}."
        ) from exc


def main(
    argv: Sequence[str] | None = None, stdin: BinaryIO | None = None, err: TextIO | None = None
) -> int:
    args = list(sys.argv if argv is None else argv)
    err = err or sys.stderr
    if len(args) == 1:
        print(DEVICE_LINE, flush=True)
        return CUPS_BACKEND_OK
    if len(args) not in (6, 7):
        print("Usage: monsisra job-id user title copies options [file]", file=err, flush=True)
        return CUPS_BACKEND_FAILED
    job_id, user = args[1], args[2]
    try:
        data = read_job(args[6] if len(args) == 7 else None, stdin or sys.stdin.buffer)
        path = print_job(job_id, user, data)
    except JobRefused as exc:
        print(f"ERROR: {exc.message}", file=err, flush=True)
        return CUPS_BACKEND_FAILED
    except OSError as exc:  # taking the user's identity failed
        print(f"ERROR: Impossible d'agir pour « {user} » : {exc.strerror}.", file=err, flush=True)
        return CUPS_BACKEND_FAILED
    print(f"INFO: Document déposé pour MonSisra : {path.name}", file=err, flush=True)
    return CUPS_BACKEND_OK


if __name__ == "__main__":
    sys.exit(main())
