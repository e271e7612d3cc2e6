"""Practice software profiles: how and where MonSisra drops received documents.

The profiles are data (``profiles.json``, shipped in the package): the folder per operating
system, the file-name template, the companion file (none, HPRIM Net, IHE XDM archive) and the
character set the target software copes with.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

from sisra.client.export.filenames import TEMPLATE_FIELDS, check_template

Sidecar = Literal["none", "hprim", "xdm"]
Charset = Literal["utf-8", "cp1252", "ascii"]
System = Literal["windows", "macos", "linux"]

_PACKAGE = "sisra.client.export"
__all__ = ["TEMPLATE_FIELDS", "Profile", "check_template", "get_profile", "load_profiles"]

SIDECARS: frozenset[str] = frozenset({"none", "hprim", "xdm"})
CHARSETS: frozenset[str] = frozenset({"utf-8", "cp1252", "ascii"})
# The text of an HPRIM file: ISO-8859-1 as the convention (and the readers) expect.
CONTENT_CHARSETS: frozenset[str] = frozenset({"iso-8859-1", "cp1252", "ascii", "utf-8"})
SYSTEMS: tuple[System, ...] = ("windows", "macos", "linux")
_VAR_RE = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)%|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_]\w*)")


def current_system() -> System:
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


def expand_folder(template: str, env: dict[str, str] | None = None) -> Path:
    """Expand ``%VAR%``, ``$VAR``, ``${VAR}`` and a leading ``~``; unknown variables stay."""
    values = os.environ if env is None else env

    def repl(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        value = values.get(name)
        return value if value is not None else match.group(0)

    expanded = _VAR_RE.sub(repl, template)
    if expanded == "~" or expanded.startswith(("~/", "~\\")):
        home = values.get("HOME") or values.get("USERPROFILE") or str(Path.home())
        expanded = home + expanded[1:]
    return Path(expanded)


@dataclass(frozen=True)
class Profile:
    id: str
    label: str
    format: str
    description: str
    folder_windows: str
    folder_macos: str
    folder_linux: str
    template: str
    sidecar: Sidecar
    sidecar_extension: str
    charset: Charset
    pdf_in_zip: bool
    note: str | None = None
    content_charset: str = "iso-8859-1"
    ascii_names: bool = False  # plain-ASCII file names by default (the user may override)

    def folder_template(self, system: System | None = None) -> str:
        """The folder as written in the profile (variables not expanded)."""
        return {
            "windows": self.folder_windows,
            "macos": self.folder_macos,
            "linux": self.folder_linux,
        }[system or current_system()]

    def default_folder(
        self, system: System | None = None, env: dict[str, str] | None = None
    ) -> Path:
        """The folder for this computer, with ``~`` and environment variables expanded."""
        return expand_folder(self.folder_template(system), env)

    def names_charset(self, ascii_names: bool | None = None) -> Charset:
        """The charset of file names: plain ASCII when asked (the user's choice, else the
        profile's ``ascii_names``), otherwise the profile's ``charset``.

        An HPRIM profile always has plain-ASCII names: the HPRIM file names its PDF in its
        body, in the content's charset (ISO-8859-1 lacks « Œ »), and a reader must find the
        file it names; an ASCII name is the same in every charset, on disk and in the body."""
        if self.sidecar == "hprim":
            return "ascii"
        wanted = self.ascii_names if ascii_names is None else ascii_names
        if wanted:
            return "ascii"
        return "cp1252" if self.charset == "ascii" else self.charset

    @property
    def writes_pdf(self) -> bool:
        """Whether the PDF is written as a file of its own (not only inside an archive)."""
        return not (self.sidecar == "xdm" and self.pdf_in_zip)


def _fail(profile_id: str, reason: str) -> ValueError:
    return ValueError(f"Profil d'export « {profile_id} » invalide : {reason}")


def _profile_from(data: dict[str, Any]) -> Profile:
    pid = str(data.get("id", "?"))
    folders = data.get("folders")
    if not isinstance(folders, dict) or any(
        not isinstance(folders.get(s), str) or not folders[s] for s in SYSTEMS
    ):
        raise _fail(pid, "il faut un dossier pour Windows, macOS et Linux")
    sidecar, charset = data.get("sidecar"), data.get("charset")
    if sidecar not in SIDECARS:
        raise _fail(pid, f"type de fichier d'accompagnement {sidecar!r} inconnu")
    if charset not in CHARSETS:
        raise _fail(pid, f"jeu de caractères {charset!r} inconnu")
    pdf_in_zip = bool(data.get("pdf_in_zip", False))
    if pdf_in_zip and sidecar != "xdm":
        raise _fail(pid, "seule une archive XDM peut contenir le PDF")
    extension = str(data.get("sidecar_extension", ""))
    if sidecar != "none" and not re.fullmatch(r"\.[A-Za-z0-9]{1,8}", extension):
        raise _fail(pid, f"extension du fichier d'accompagnement {extension!r} invalide")
    if extension.lower() == ".pdf":
        raise _fail(pid, "le fichier d'accompagnement ne peut pas avoir l'extension .pdf")
    template = str(data.get("template", ""))
    try:
        check_template(template)
    except ValueError as exc:
        raise _fail(pid, str(exc)) from exc
    if not template.strip():
        raise _fail(pid, "modèle de nom de fichier vide")
    note = data.get("note")
    ascii_names = data.get("ascii_names", charset == "ascii")
    if not isinstance(ascii_names, bool):
        raise _fail(pid, "ascii_names doit valoir true ou false")
    content_charset = data.get("content_charset", "iso-8859-1")
    if content_charset not in CONTENT_CHARSETS:
        raise _fail(pid, f"jeu de caractères du contenu {content_charset!r} inconnu")
    return Profile(
        id=pid,
        label=str(data["label"]),
        format=str(data.get("format", pid)),
        description=str(data.get("description", "")),
        folder_windows=folders["windows"],
        folder_macos=folders["macos"],
        folder_linux=folders["linux"],
        template=template,
        sidecar=cast(Sidecar, sidecar),
        sidecar_extension=extension if sidecar != "none" else "",
        charset=cast(Charset, charset),
        pdf_in_zip=pdf_in_zip,
        note=str(note) if note else None,
        content_charset=str(content_charset),
        ascii_names=ascii_names,
    )


@cache
def _load() -> tuple[Profile, ...]:
    raw = resources.files(_PACKAGE).joinpath("profiles.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    profiles = tuple(_profile_from(p) for p in data["profiles"])
    ids = [p.id for p in profiles]
    if len(set(ids)) != len(ids):
        raise ValueError("Profils d'export : identifiants en double dans profiles.json.")
    return profiles


def load_profiles() -> list[Profile]:
    """All profiles, in the order of ``profiles.json`` (generic formats first)."""
    return list(_load())


def get_profile(profile_id: str) -> Profile:
    for profile in _load():
        if profile.id == profile_id:
            return profile
    known = ", ".join(p.id for p in _load())
    raise ValueError(f"Profil d'export « {profile_id} » inconnu (profils disponibles : {known}).")
