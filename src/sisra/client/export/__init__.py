"""Exporting received documents into the folder of the practice software ("logiciel métier").

:func:`write_export` writes the PDF, with the companion file its profile asks for (HPRIM Net
header, or an IHE XDM archive), atomically: each file is written under a temporary hidden
name (``.sisra-….part``) in the target folder, flushed to disk, then renamed, so a software
watching the folder never sees a half-written file. The PDF is renamed first, so that a
companion file never points to a PDF not there yet.

Names come from the profile's template; when a *different* file already has the name,
`` (2)``, `` (3)``... are added; when the *same* content is already there (the document was
exported before), its name is reused and nothing is rewritten.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypedDict, Unpack

from sisra.client.errors import ExportError
from sisra.client.export.filenames import (
    MAX_NAME_LEN,
    numbered_stems,
    render_name,
    safe_filename,
    same_or_free,
    sha256_file,
    unique_path,
    unique_stem,
)
from sisra.client.export.hprim import hprim_bytes, hprim_header, parse_hprim
from sisra.client.export.permissions import PRIVATE, FileAccess
from sisra.client.export.profiles import Profile, get_profile, load_profiles
from sisra.client.items import InboxItem
from sisra.client.vault import fsync_dir
from sisra.common.xdm import (
    XdmError,
    build_xdm,
    read_xdm,
    validate_archive,
    validator_name,
    write_pdf_xdm,
)

__all__ = [
    "ExportError",
    "FolderExporter",
    "Profile",
    "StagedExport",
    "XdmError",
    "build_xdm",
    "get_profile",
    "hprim_header",
    "load_profiles",
    "parse_hprim",
    "read_xdm",
    "render_name",
    "safe_filename",
    "stage_export",
    "unique_path",
    "validator_name",
    "write_export",
]

PART_PREFIX = ".sisra-"
PART_SUFFIX = ".part"
_CHUNK = 1 << 20
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_READONLY = {errno.EACCES, errno.EPERM, errno.EROFS}


def _error_for(exc: OSError, folder: Path) -> ExportError:
    if exc.errno in _DISK_FULL:
        return ExportError(
            "disk_full",
            f"Le disque du dossier « {folder} » est plein : libérez de la place, "
            "MonSisra réessaiera l'export.",
        )
    if exc.errno in _READONLY:
        return ExportError(
            "folder_readonly",
            f"MonSisra n'a pas le droit d'écrire dans le dossier « {folder} ». "
            "Vérifiez ses autorisations ou choisissez un autre dossier d'export.",
        )
    if exc.errno == errno.ENOENT and not folder.is_dir():
        return _missing(folder)
    return ExportError(
        "export_failed",
        f"L'export dans le dossier « {folder} » a échoué ({exc.strerror or exc}). "
        "MonSisra réessaiera.",
    )


def _missing(folder: Path) -> ExportError:
    return ExportError(
        "folder_missing",
        f"Le dossier d'export « {folder} » n'existe pas ou n'est plus accessible "
        "(disque ou partage réseau déconnecté ?). Vérifiez le réglage du dossier.",
    )


@dataclass
class _Planned:
    ext: str
    sha256: str | None
    # writes the content into an open file; None when the content is already in `staged`
    write: Callable[[IO[bytes]], None] | None = None
    staged: Path | None = None


def _part_tag(item: InboxItem) -> str:
    """Temporary files carry their notification, so a retry can find what a killed attempt
    left behind (a kill between write and rename leaves a ``.part`` in the user's folder)."""
    return hashlib.sha256(item.id.encode()).hexdigest()[:12]


# The temporary files found in each folder at its first export in this process, by tag.
_STALE: dict[Path, dict[str, list[Path]]] = {}
_STALE_LOCK = threading.Lock()


def _remove_stale_parts(folder: Path, tag: str) -> None:
    """Remove what a killed attempt at this document left in ``folder``. The folder is
    listed once per process, not at each export (a listing of a folder of thousands of
    files per document): only a process killed before this one leaves such files behind —
    a running export removes its own on error — and the account's sync lock keeps each
    document to one process at a time."""
    key = Path(os.path.abspath(folder))
    with _STALE_LOCK:
        stale = _STALE.get(key)
        if stale is None:
            stale = {}
            for part in folder.glob(f"{PART_PREFIX}*{PART_SUFFIX}"):
                found_tag = part.name[len(PART_PREFIX) :].split("-", 1)[0]
                stale.setdefault(found_tag, []).append(part)
            _STALE[key] = stale
        paths = stale.pop(tag, [])
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def _stage(
    folder: Path, write: Callable[[IO[bytes]], None], tag: str, access: FileAccess = PRIVATE
) -> Path:
    """Write a new temporary ``.sisra-<tag>-….part`` file in ``folder``, flushed to disk,
    readable by the practice only (``access``: 0600, or 0640 of the practice's group)."""
    path = folder / f"{PART_PREFIX}{tag}-{secrets.token_hex(6)}{PART_SUFFIX}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, access.file_mode)
    try:
        access.apply_to_fd(fd)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _copy_from(source: Path) -> Callable[[IO[bytes]], None]:
    def write(target: IO[bytes]) -> None:
        with source.open("rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                target.write(chunk)

    return write


def _bytes(data: bytes) -> Callable[[IO[bytes]], None]:
    def write(target: IO[bytes]) -> None:
        target.write(data)

    return write


class ExportOptions(TypedDict, total=False):
    """The keyword arguments of :func:`write_export` and :func:`stage_export`."""

    oid: str | None
    ascii_names: bool | None
    access: FileAccess
    sha256: str | None
    sync_folder: bool


def write_export(
    profile: Profile,
    folder: Path,
    item: InboxItem,
    pdf_path: Path,
    **options: Unpack[ExportOptions],
) -> list[Path]:
    """Write the document of ``item`` (its PDF at ``pdf_path``) into ``folder`` as ``profile``
    says; return the final paths, the PDF first (when written on its own).

    ``oid`` overrides the INS assigning authority of XDM archives; by default it is the
    one the platform sent with the patient (``patient.ins_oid``: NIR, NIA or a test range).
    ``ascii_names`` forces or lifts plain-ASCII file names (None: the profile's choice).
    ``access``: the files are 0600, or 0640 of the practice software's group.
    ``sha256``: the PDF's SHA-256 when the caller has just verified it (the sync engine
    hashes the download as it arrives), so the PDF is read once, for the copy.
    ``sync_folder=False``: the renames are left for the caller to make durable (the sync
    engine fsyncs the folder once for a few exports, before it records them or sends their
    receipts); the files themselves are fsynced before their rename either way.
    Archives are validated against the ebRIM schemas before they are renamed into place.
    Raises :class:`ExportError` (``folder_missing``, ``folder_readonly``, ``disk_full``,
    ``export_failed``, ``invalid_content`` when the document's data cannot be written in the
    format); on error no new file, temporary or final, is left in ``folder``.

    It is :func:`stage_export` then :meth:`StagedExport.finish`, which the sync engine calls
    apart: the first in its download threads, the second in the inbox's order.
    """
    return stage_export(profile, folder, item, pdf_path, **options).finish()


def stage_export(
    profile: Profile,
    folder: Path,
    item: InboxItem,
    pdf_path: Path,
    *,
    oid: str | None = None,
    ascii_names: bool | None = None,
    access: FileAccess = PRIVATE,
    sha256: str | None = None,
    sync_folder: bool = True,
) -> StagedExport:
    """The part of :func:`write_export` that does not depend on the files' names or on the
    folder's other files: the PDF copied and the XDM archive written and validated, each
    under a temporary name in ``folder``, flushed to disk. The slow part of an export (its
    writes and fsyncs), so the sync engine does it for several documents at once, and names
    them one after the other (:meth:`StagedExport.finish`), so that two documents of the
    same name are numbered in the inbox's order. Same errors as :func:`write_export`;
    nothing is left in ``folder`` on error."""
    folder, pdf_path = Path(folder), Path(pdf_path)
    staged: list[Path] = []  # temporary files, removed on error or once renamed
    with _export_errors(folder, staged, []):
        pdf_sha256 = _check_sources(folder, pdf_path, sha256)
        tag = _part_tag(item)
        _remove_stale_parts(folder, tag)
        plan = _plan(profile, folder, item, pdf_path, pdf_sha256, oid, tag, access, staged)
        for planned in plan:  # the PDF's copy; the HPRIM file names it: written once named
            if planned.ext == ".pdf" and planned.write is not None:
                planned.staged = _stage(folder, planned.write, tag, access)
                staged.append(planned.staged)
    return StagedExport(profile, folder, item, plan, tag, access, ascii_names, sync_folder, staged)


@dataclass
class StagedExport:
    """A document's files written under temporary names in its folder (:func:`stage_export`),
    to be named and renamed into place (:meth:`finish`) or removed (:meth:`discard`)."""

    profile: Profile
    folder: Path
    item: InboxItem
    plan: list[_Planned]
    tag: str
    access: FileAccess
    ascii_names: bool | None
    sync_folder: bool
    staged: list[Path]  # temporary files, removed on error or once renamed

    def finish(self) -> list[Path]:
        """Name the files (a name free, or holding the same content), rename them into
        place, the PDF first; return the final paths. Once only."""
        profile, folder, item, staged = self.profile, self.folder, self.item, self.staged
        created: list[Path] = []  # final files this call renamed into place
        with _export_errors(folder, staged, created):
            charset = profile.names_charset(self.ascii_names)
            base = render_name(profile, item, ascii_names=self.ascii_names)
            stem = _choose_stem(folder, base, self.plan, profile, item, charset)
            results = _stage_named(
                profile, folder, item, self.plan, stem, self.tag, self.access, staged
            )
            _move_into_place(results, staged, created)
            for leftover in staged:  # a staged file identical to one already there
                leftover.unlink(missing_ok=True)
            staged.clear()
            if created and self.sync_folder:
                fsync_dir(folder)
        return [final for final, _part in results]

    def discard(self) -> None:
        """Remove the temporary files (the export will not be finished in this run)."""
        _cleanup(self.staged, [])
        self.staged.clear()


@dataclass(frozen=True)
class FolderExporter:
    """An account's practice software profile and folder, as the sync engine's exporter: a
    call writes a document's files (:func:`write_export`); :meth:`stage` and then
    :meth:`StagedExport.finish` do the same in two steps, which the engine takes apart
    (decision 208). The engine hands over a PDF it has verified against the item's SHA-256
    (decision 201), and fsyncs the folder itself, once for a few exports, before any
    receipt (decision 202)."""

    profile: Profile
    folder: Path
    ascii_names: bool | None = None
    access: FileAccess = PRIVATE

    def stage(self, item: InboxItem, pdf: Path) -> StagedExport:
        # the INS OID, the recipient and the structure ids come with the item
        return stage_export(
            self.profile,
            self.folder,
            item,
            pdf,
            ascii_names=self.ascii_names,
            access=self.access,
            sha256=item.document.sha256,
            sync_folder=False,
        )

    def __call__(self, item: InboxItem, pdf: Path) -> list[Path]:
        return self.stage(item, pdf).finish()


@contextlib.contextmanager
def _export_errors(folder: Path, staged: list[Path], created: list[Path]) -> Iterator[None]:
    """On any error, remove the files written so far; an OSError or an archive that cannot
    be produced becomes the :class:`ExportError` that says what to do."""
    try:
        yield
    except ExportError:
        _cleanup(staged, created)
        raise
    except XdmError as exc:  # the document's own data: trying again will not change it
        _cleanup(staged, created)
        raise ExportError(
            "invalid_content", f"L'archive XDM n'a pas pu être produite : {exc}"
        ) from exc
    except OSError as exc:
        _cleanup(staged, created)
        raise _error_for(exc, folder) from exc
    except BaseException:
        _cleanup(staged, created)
        raise


def _check_sources(folder: Path, pdf_path: Path, sha256: str | None = None) -> str:
    """Refuse a missing or read-only folder and an unreadable PDF before anything is written;
    return the PDF's SHA-256 (``sha256`` when the caller knows it)."""
    if not folder.is_dir():
        raise _missing(folder)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(
            "folder_readonly",
            f"MonSisra n'a pas le droit d'écrire dans le dossier « {folder} ». "
            "Vérifiez ses autorisations ou choisissez un autre dossier d'export.",
        )
    try:
        if sha256 is not None:
            if not os.access(pdf_path, os.R_OK):
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(pdf_path))
            return sha256
        return sha256_file(pdf_path)
    except OSError as exc:
        raise ExportError(
            "export_failed", f"Le document à exporter est illisible ({exc.strerror or exc})."
        ) from exc


def _plan(
    profile: Profile,
    folder: Path,
    item: InboxItem,
    pdf_path: Path,
    pdf_sha256: str,
    oid: str | None,
    tag: str,
    access: FileAccess,
    staged: list[Path],
) -> list[_Planned]:
    """The parts the profile writes, in order; an XDM archive is staged (into ``staged``) and
    validated right away, an HPRIM sidecar waits for its name."""
    plan: list[_Planned] = []
    if profile.writes_pdf:
        plan.append(_Planned(".pdf", pdf_sha256, _copy_from(pdf_path)))
    if profile.sidecar == "hprim":
        plan.append(_Planned(profile.sidecar_extension, None))  # content set once named
    if profile.sidecar == "xdm":
        # the archive does not depend on its own name: stage it first, then name it
        def xdm_writer(target: IO[bytes]) -> None:
            # the PDF inside a CDA R2 N1 document (JDV_J10 formatCode, decision 138)
            # the writer the platform shares reads the item's JSON (decision 179)
            write_pdf_xdm(target, item.to_json(), pdf_path, oid)

        archive = _stage(folder, xdm_writer, tag, access)
        staged.append(archive)
        validate_archive(archive)  # as a reader will find it, before it gets its name
        plan.append(_Planned(profile.sidecar_extension, sha256_file(archive), staged=archive))
    return plan


def _stage_named(
    profile: Profile,
    folder: Path,
    item: InboxItem,
    plan: list[_Planned],
    stem: str,
    tag: str,
    access: FileAccess,
    staged: list[Path],
) -> list[tuple[Path, Path | None]]:
    """Each part's final path and its staged file, or None when the same content is already
    there under that name."""
    results: list[tuple[Path, Path | None]] = []
    for planned in plan:
        final = folder / f"{stem}{planned.ext}"
        if planned.ext == profile.sidecar_extension and profile.sidecar == "hprim":
            data = hprim_bytes(item, f"{stem}.pdf", profile.content_charset)
            planned.sha256 = hashlib.sha256(data).hexdigest()
            planned.write = _bytes(data)
        if _holds(final, planned.sha256):
            results.append((final, None))
            continue
        if planned.staged is None:
            assert planned.write is not None
            planned.staged = _stage(folder, planned.write, tag, access)
            staged.append(planned.staged)
        results.append((final, planned.staged))
    return results


def _move_into_place(
    results: list[tuple[Path, Path | None]], staged: list[Path], created: list[Path]
) -> None:
    """Rename each staged part to its final name, never over a file that appeared meanwhile."""
    for final, part in results:
        if part is None:
            continue
        if final.exists() or final.is_symlink():  # appeared meanwhile: never overwrite
            raise ExportError(
                "export_failed",
                f"Un fichier « {final.name} » est apparu pendant l'export ; MonSisra réessaiera.",
            )
        os.replace(part, final)
        staged.remove(part)
        created.append(final)


def _holds(path: Path, sha256: str | None) -> bool:
    return (path.exists() or path.is_symlink()) and same_or_free(path, sha256)


def _choose_stem(
    folder: Path,
    base: str,
    plan: list[_Planned],
    profile: Profile,
    item: InboxItem,
    charset: str,
) -> str:
    """A stem free (or holding identical content) for every file of the export."""
    if profile.sidecar != "hprim":
        try:
            return unique_stem(folder, base, {p.ext: p.sha256 for p in plan}, charset, MAX_NAME_LEN)
        except FileExistsError as exc:
            raise ExportError("export_failed", f"Export impossible : {exc}") from exc
    # the HPRIM file names the PDF, so its content depends on the stem: try each candidate
    exts = (".pdf", profile.sidecar_extension)
    for candidate in numbered_stems(base, exts, charset, MAX_NAME_LEN):
        data = hprim_bytes(item, f"{candidate}.pdf", profile.content_charset)
        wanted = {exts[0]: plan[0].sha256, exts[1]: hashlib.sha256(data).hexdigest()}
        if all(same_or_free(folder / f"{candidate}{ext}", sha) for ext, sha in wanted.items()):
            return candidate
    raise ExportError("export_failed", f"Trop de fichiers nommés « {base} » dans {folder}.")


def _cleanup(staged: list[Path], created: list[Path]) -> None:
    for path in [*staged, *created]:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
