"""File names that are valid on Windows, macOS and Linux, in the charset a software copes with.

Windows is the strictest: no ``<>:"/\\|?*`` nor control characters, no trailing dot or space,
no device names (``CON``, ``NUL``, ``COM1``...) even with an extension. Old practice software
also chokes on characters outside Windows-1252, or on any accent: profiles say which.
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sisra.common.xdm import item as _item

if TYPE_CHECKING:
    from sisra.client.export.profiles import Profile
    from sisra.client.items import InboxItem

MAX_NAME_LEN = 120
# Room left after the stem for " (99)" and a 4-character extension.
_SUFFIX_ROOM = 5

_FORBIDDEN = {"<": "", ">": "", ":": "-", '"': "'", "/": "-", "\\": "-", "|": "-", "?": "", "*": ""}
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in (*"0123456789", "¹", "²", "³")}
)
_SPACES = re.compile(r"\s+")
_EXT_RE = re.compile(r"\.[A-Za-z0-9]{1,8}")
# Characters NFKD does not decompose into ASCII, and typography French titles carry.
_TRANSLIT = {
    "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l",
    "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"',
    "«": '"', "»": '"', "‹": "'", "›": "'", "‐": "-", "‑": "-", "‒": "-", "–": "-",
    "—": "-", "―": "-", "…": "...", "€": "EUR", "•": "-", "·": ".", "×": "x", "°": "o",
    "º": "o", "ª": "a", "µ": "u", "©": "(c)", "®": "(R)", "™": "TM", "§": "par.",
}  # fmt: skip
CHARSET_NAMES = ("utf-8", "cp1252", "iso-8859-1", "ascii")


def _check_charset(charset: str) -> None:
    if charset not in CHARSET_NAMES:
        raise ValueError(f"Jeu de caractères « {charset} » non pris en charge.")


def _fits(ch: str, charset: str) -> bool:
    if charset == "utf-8":
        return True
    if "\x80" <= ch <= "\x9f":  # C1 controls: bytes 0x80-0x9F in iso-8859-1
        return False
    try:
        ch.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def _translit(ch: str) -> str:
    if ch in _TRANSLIT:
        return _TRANSLIT[ch]
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def to_charset(text: str, charset: str, replacement: str = "_") -> str:
    """``text`` with only characters ``charset`` can hold (NFC for utf-8).

    ascii: accents are removed (é -> e, œ -> oe); cp1252 and iso-8859-1: characters outside
    the charset are transliterated when possible (ő -> o, “ -> ", œ -> oe in iso-8859-1),
    else replaced. C1 controls (U+0080–U+009F) are replaced, never written.
    """
    _check_charset(charset)
    text = unicodedata.normalize("NFC", text)
    if charset == "utf-8":
        # lone surrogates cannot be written to any file system
        return "".join(replacement if unicodedata.category(c) == "Cs" else c for c in text)
    out: list[str] = []
    for ch in text:
        if _fits(ch, charset):
            out.append(ch)
            continue
        for sub in _translit(ch) or replacement:
            out.append(sub if _fits(sub, charset) else replacement)
    return "".join(out)


def _clean(text: str, charset: str) -> str:
    """Invisible characters, then charset conversion, then forbidden characters and spaces."""
    visible: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            visible.append(" ")
        elif category not in ("Cf", "Cs", "Cn", "Co"):
            # drops zero-width and bidi controls (which can disguise an extension), unassigned
            # and private-use code points
            visible.append(ch)
    # transliteration can produce forbidden characters (fullwidth solidus -> "/"): replace after
    converted = to_charset("".join(visible), charset)
    out = [_FORBIDDEN.get(ch, ch) for ch in converted]
    cleaned = _SPACES.sub(" ", "".join(out)).strip().lstrip(". ")
    if charset == "ascii":  # plain names: no space either (shares and old software split)
        cleaned = re.sub(r"_{2,}", "_", cleaned.replace(" ", "_"))
    return cleaned


def _size(text: str, charset: str) -> int:
    return len(text.encode("utf-8")) if charset == "utf-8" else len(text)


def _truncate(text: str, budget: int, charset: str) -> str:
    if budget <= 0:
        return ""
    if _size(text, charset) <= budget:
        return text
    cut, used = 0, 0
    for ch in text:
        width = _size(ch, charset)
        if used + width > budget:
            break
        used += width
        cut += 1
    # do not leave a base letter without the accent that followed it
    while 0 < cut < len(text) and unicodedata.combining(text[cut]):
        cut -= 1
    return text[:cut]


def is_reserved(name: str) -> bool:
    """Whether Windows treats ``name`` as a device (``nul``, ``COM1.pdf``, ``aux .txt``...)."""
    base = name.split(".", 1)[0].rstrip(" ")
    return base.upper() in _RESERVED


def _finish(stem: str, ext: str, charset: str, max_len: int) -> str:
    budget = max_len - _size(ext, charset)
    if budget < 1:
        ext, budget = "", max_len
    stem = stem.rstrip(". ") or "document"
    for _ in range(3):
        if is_reserved(stem):
            stem = "_" + stem
        stem = _truncate(stem, budget, charset).rstrip(". ") or _truncate(
            "document", budget, charset
        )
        if not is_reserved(stem):
            break
    return stem + ext


def _split_ext(name: str) -> tuple[str, str]:
    dot = name.rfind(".")
    if dot > 0 and _EXT_RE.fullmatch(name[dot:]):
        return name[:dot], name[dot:]
    return name, ""


def safe_filename(name: str, charset: str, max_len: int = MAX_NAME_LEN) -> str:
    """A file name valid on Windows, macOS and Linux, holding only ``charset`` characters.

    The extension (a final ``.xxx`` of letters and digits) is kept when the name is cut;
    the length is counted in UTF-8 bytes for utf-8, in characters for cp1252 and ascii.
    """
    stem, ext = _split_ext(_clean(name, charset))
    return _finish(stem, ext, charset, max_len)


def safe_stem(stem: str, charset: str, max_len: int = MAX_NAME_LEN) -> str:
    """Like :func:`safe_filename` for a name without extension (dots are not special)."""
    return _finish(_clean(stem, charset), "", charset, max_len)


# The one template language of file names, in every profile: ``{field}`` (Python format
# fields, without format spec nor conversion) with these fields.
TEMPLATE_FIELDS: frozenset[str] = frozenset(
    {"date", "nom", "prenom", "naissance", "titre", "type", "expediteur", "id8"}
)


def check_template(template: str) -> None:
    """Raise ValueError (in French) if the template uses an unknown field or a format spec."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"Modèle de nom de fichier mal formé : {template!r}.") from exc
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS or spec or conversion:
            known = ", ".join(sorted(TEMPLATE_FIELDS))
            raise ValueError(
                f"Le modèle de nom {template!r} utilise le champ « {field} » inconnu "
                f"(champs possibles : {known})."
            )


def template_fields(item: InboxItem) -> dict[str, str]:
    """The values a file-name template can use, for one inbox item."""
    document, patient = item.document, item.patient
    document_id = _item.text(document.id).replace("-", "")
    return {
        "date": _item.compact_date(item.document_date),
        "nom": patient.last_name,
        "prenom": _item.text(patient.first_given_name),
        "naissance": _item.compact_date(patient.birth_date),
        "titre": _item.text(document.title),
        "type": _item.text(document.type_label),
        "expediteur": _item.text(item.sender.name),
        "id8": document_id[:8].lower(),
    }


def render_name(
    profile: Profile,
    item: InboxItem,
    max_len: int = MAX_NAME_LEN,
    *,
    ascii_names: bool | None = None,
) -> str:
    """The file name (without extension) the profile's template gives for this item.

    Templates are the one language of every profile: ``{field}`` with the fields of
    :func:`template_fields`. ``ascii_names`` forces (True) or lifts (False) plain-ASCII
    names; None keeps the profile's choice.

    Empty fields do not leave doubled or dangling separators ("20261119_DUPONT_Jean").
    Room is kept for an extension and a " (2)" suffix.
    """
    fields = template_fields(item)
    rendered = string.Formatter().vformat(profile.template, (), fields)
    rendered = re.sub(r"_{2,}", "_", rendered).strip("_- ")
    budget = max_len - len(profile.sidecar_extension or ".pdf") - _SUFFIX_ROOM
    charset = profile.names_charset(ascii_names)
    return safe_stem(rendered or "document", charset, max(budget, 16))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def same_or_free(path: Path, sha256: str | None) -> bool:
    """Whether ``path`` is free, or already holds the content of this SHA-256."""
    if not path.exists() and not path.is_symlink():
        return True
    if sha256 is None or not path.is_file():
        return False
    try:
        return sha256_file(path) == sha256
    except OSError:
        return False


def numbered_stems(
    stem: str,
    exts: Iterable[str],
    charset: str = "utf-8",
    max_len: int = MAX_NAME_LEN,
    limit: int = 999,
) -> Iterator[str]:
    """``stem``, ``stem (2)``, ``stem (3)``... each cut so that it fits with every extension."""
    longest_ext = max((_size(ext, charset) for ext in exts), default=0)
    for n in range(1, limit + 1):
        suffix = "" if n == 1 else (f"_{n}" if charset == "ascii" else f" ({n})")
        budget = max_len - longest_ext - _size(suffix, charset)
        yield _finish(stem, "", charset, max(budget, 1)) + suffix


def unique_stem(
    folder: Path,
    stem: str,
    files: Mapping[str, str | None],
    charset: str = "utf-8",
    max_len: int = MAX_NAME_LEN,
) -> str:
    """The first of ``stem``, ``stem (2)``, ``stem (3)``... free for every extension.

    ``files`` maps each extension to the SHA-256 of the content about to be written (or
    None): a name already holding exactly that content counts as free, so exporting the same
    document twice gives the same name instead of a duplicate.
    """
    for candidate in numbered_stems(stem, files, charset, max_len):
        if all(same_or_free(folder / f"{candidate}{ext}", sha) for ext, sha in files.items()):
            return candidate
    raise FileExistsError(f"Trop de fichiers nommés « {stem} » dans {folder}.")


def unique_path(
    folder: Path,
    stem: str,
    ext: str,
    *,
    sha256: str | None = None,
    charset: str = "utf-8",
    max_len: int = MAX_NAME_LEN,
) -> Path:
    """``folder/stem.ext``, or ``folder/stem (2).ext``... when a different file is there."""
    return folder / f"{unique_stem(folder, stem, {ext: sha256}, charset, max_len)}{ext}"
