"""Reading directory extracts: our CSV, Excel's « CSV (point-virgule) », the ANS RPPS extract.

Encodings: UTF-8 (with or without BOM), else Windows-1252 (what Excel writes in France).
Delimiters: ``;``, ``,`` or ``|`` (the ANS « PS_LibreAcces » extract), read from the header.
Every format becomes rows keyed by our column names (:data:`COLUMNS`), so one import routine
checks and creates them.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sisra.common.text import fold

COLUMNS = (
    "rpps",
    "adeli",
    "nom",
    "prenom",
    "profession",
    "specialite",
    "structure",
    "ville",
    "email",
    "identifiant",
)
OPTIONAL = ("finess", "siret")

# ANS « PS_LibreAcces » (Personne_activite) header, folded -> our column.
_RPPS_HEADERS = {
    "nom d exercice": "nom",
    "prenom d exercice": "prenom",
    "libelle profession": "profession",
    "libelle savoir faire": "specialite",
    "raison sociale site": "structure",
    "enseigne commerciale site": "enseigne",
    "libelle commune (coord structure)": "ville",
    "adresse e mail (coord structure)": "email",
    "numero finess site": "finess",
    "numero siret site": "siret",
    "identifiant pp": "identifiant_pp",
    "type d identifiant pp": "type_pp",
}


class ExtractError(Exception):
    """The file cannot be read at all (French message)."""


@dataclass
class Extract:
    kind: str  # "sisra" | "rpps"
    encoding: str
    delimiter: str
    rows: list[tuple[int, dict[str, str] | str]]  # (line, row) or (line, error message)


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the encoding's French name."""
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise ExtractError(
            "Encodage du fichier non reconnu : enregistrez-le en UTF-8 ou en « CSV "
            "(séparateur : point-virgule) » depuis Excel."
        ) from exc


def _key(header: str) -> str:
    return fold(header.replace(".", "").replace("(", " (")).replace("( ", "(")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in ";|,"}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise ExtractError(
            "Séparateur non reconnu : la ligne d'en-tête doit séparer les colonnes par « ; », "
            "« , » ou « | »."
        )
    return best


def read(raw: bytes) -> Extract:
    text, encoding = decode(raw)
    if not text.strip():
        raise ExtractError("Le fichier est vide.")
    delimiter = _delimiter(text.lstrip().splitlines()[0])
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    header = next(reader)
    keys = [_key(h) for h in header]
    if "identifiant pp" in keys and "nom d exercice" in keys:
        return Extract("rpps", encoding, delimiter, list(_rpps_rows(reader, keys)))
    columns = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        raise ExtractError(
            "Colonnes manquantes dans l'en-tête : " + ", ".join(missing) + ". Formats acceptés : "
            "celui décrit ci-dessus, ou l'extraction RPPS de l'ANS (PS_LibreAcces)."
        )
    return Extract("sisra", encoding, delimiter, list(_rows(reader, columns, delimiter)))


def _rows(
    reader: Any, columns: list[str], delimiter: str
) -> Iterator[tuple[int, dict[str, str] | str]]:
    for values in reader:
        n = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(columns):
            yield (
                n,
                f"{len(values)} colonnes au lieu de {len(columns)} (séparateur « {delimiter} »)",
            )
            continue
        row = {c: v.strip() for c, v in zip(columns, values, strict=True)}
        for extra in OPTIONAL:
            row.setdefault(extra, "")
        yield n, row


def _rpps_rows(reader: Any, keys: list[str]) -> Iterator[tuple[int, dict[str, str] | str]]:
    wanted = {i: _RPPS_HEADERS[k] for i, k in enumerate(keys) if k in _RPPS_HEADERS}
    for values in reader:
        n = reader.line_num
        if not any(v.strip() for v in values):
            continue
        got = {col: values[i].strip() if i < len(values) else "" for i, col in wanted.items()}
        ident, kind = got.pop("identifiant_pp", ""), got.pop("type_pp", "")
        enseigne = got.pop("enseigne", "")
        row = dict.fromkeys(COLUMNS + OPTIONAL, "") | got
        row["structure"] = row["structure"] or enseigne
        if kind == "0":  # ADELI
            row["adeli"] = ident
        else:  # "8": RPPS
            row["rpps"] = ident
        row["nom"] = row["nom"].upper() if row["nom"].isupper() else row["nom"]
        row["identifiant"] = login_for(row["prenom"], row["nom"])
        yield n, row


def login_for(first: str, last: str) -> str:
    """``prenom.nom``, folded (« Éloïse Le Bœuf » -> ``eloise.le-boeuf``)."""
    return f"{fold(first).replace(' ', '-')}.{fold(last).replace(' ', '-')}".strip(".")
