"""Finding a letter's patient and recipients on the platform, and sharing it once.

The patient is taken only when the platform's API v1 search points at exactly one person
(decision 182): by a qualified INS, or by strict traits (the name as written, equal to the
birth or used name; the first name, equal to the first given name; the birth date; the sex
when the letter gives it), accents and case ignored. A recipient is taken only when the
directory holds exactly one active professional with that RPPS, ADELI or MSSanté address, or
exactly one professional of the platform with that name. Anything else is :class:`Unreadable`
with the French reason; the platform unreachable or refusing for a while is
:class:`TryLater`.

A share carries an ``Idempotency-Key`` made from the PDF, the patient and the recipients
(decision 181): sent again after a restart, it gets the first answer, not a second document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sisra.client.api import ApiError, PlatformClient
from sisra.client.outbox.letters import (
    MAX_PDF_BYTES,
    Letter,
    Patient,
    Recipient,
    Unreadable,
    too_large,
)
from sisra.common.ins import QUALIFIED
from sisra.common.text import fold

KEY_PREFIX = "monsisra-envoi-"
_CIVILITY = re.compile(r"^(dr|docteur|pr|professeur|m|mme|mlle|monsieur|madame)\.?\s+", re.I)
# refusals that trying again will not cure: the letter is set aside with the platform's words
_REFUSED = {400, 403, 404, 409, 413, 415, 422}


class TryLater(Exception):
    """The platform cannot answer now (offline, down, searches limited): the files stay."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Platform:
    """The platform as the account reaches it."""

    client: PlatformClient
    tokens: Any  # a TokenSource: ``call(fn)`` refreshes the access token once on 401
    _max_bytes: list[int] = field(default_factory=list)

    def max_document_bytes(self) -> int:
        """The largest PDF the platform takes (``GET /api/v1/platform``, asked once; an
        older platform that does not say: the default limit)."""
        if not self._max_bytes:
            try:
                said = self.client.get_json("/api/v1/platform", timeout=10).get(
                    "max_document_bytes"
                )
            except ApiError as exc:
                raise TryLater(exc.message) from exc
            self._max_bytes.append(said if isinstance(said, int) and said > 0 else MAX_PDF_BYTES)
        return self._max_bytes[0]

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self.tokens.call(
                lambda token: self.client.request(method, path, token=token, **kwargs)
            )
        except ApiError as exc:
            if exc.unreachable or exc.status in (408, 429) or exc.status >= 500:
                raise TryLater(exc.message) from exc
            raise


@dataclass(frozen=True)
class Sent:
    """A share's answer: the document, its notifications, and whether it was a replay."""

    document_id: str
    notifications: tuple[str, ...]
    replayed: bool
    key: str


def idempotency_key(pdf: bytes, patient_id: str, recipients: Sequence[str]) -> str:
    """The same PDF for the same patient and recipients always gets the same key."""
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(pdf).digest())
    digest.update(f"\npatient:{patient_id}".encode())
    for rid in sorted(set(recipients)):
        digest.update(f"\nrecipient:{rid}".encode())
    return KEY_PREFIX + digest.hexdigest()


def share_pdf(
    platform: Platform,
    pdf: bytes,
    *,
    patient_id: str,
    recipients: Sequence[str],
    title: str,
    type_code: str,
    clinical_date: date,
    filename: str = "document.pdf",
    key: str | None = None,
) -> Sent:
    """Share one PDF with a patient and directory recipients (their ids) through
    ``POST /api/v1/documents``; the same call again shares nothing twice (24 h on the
    platform, then the outbox's journal). Raises :class:`TryLater`, :class:`Unreadable` (a
    refusal trying again will not cure, with the platform's French message) or
    ``ApiError`` (the session: a person must act)."""
    limit = platform.max_document_bytes()
    if len(pdf) > limit:
        raise too_large(limit)
    key = key or idempotency_key(pdf, patient_id, recipients)
    metadata = {
        "patient_id": patient_id,
        "title": title,
        "type_code": type_code,
        "clinical_date": clinical_date.isoformat(),
        "recipients": list(dict.fromkeys(recipients)),
    }
    try:
        response = platform.call(
            "POST",
            "/api/v1/documents",
            headers={"Idempotency-Key": key},
            data={"metadata": json.dumps(metadata)},
            files={"file": (filename, pdf, "application/pdf")},
        )
    except ApiError as exc:
        if exc.code == "idempotency_key_reused":
            raise Unreadable(
                "ce PDF a déjà été envoyé pour ce patient à ces destinataires, avec un autre "
                "titre, un autre type ou une autre date : il n'est pas envoyé une deuxième fois"
            ) from exc
        if exc.status in _REFUSED:
            raise Unreadable(f"la plateforme a refusé l'envoi : {exc.message}") from exc
        raise
    body = response.json()
    return Sent(
        document_id=str(body["document"]["id"]),
        notifications=tuple(str(n) for n in body.get("notifications", [])),
        replayed=response.headers.get("Idempotent-Replayed") == "true",
        key=key,
    )


# --------------------------------------------------------------------------- the patient


def _names(found: dict[str, Any]) -> set[str]:
    return {fold(str(found.get(k) or "")) for k in ("birth_name", "used_name")} - {""}


def _first_names(found: dict[str, Any]) -> set[str]:
    given = found.get("birth_given_names") or []
    first = [found.get("first_given_name"), given[0] if given else None]
    return {fold(str(n)) for n in first if n}


def _matches(patient: Patient, found: dict[str, Any]) -> bool:
    names = {fold(n) for n in (patient.last_name, patient.birth_name) if n}
    if not names or not names & _names(found):
        return False
    if fold(patient.first_name) not in _first_names(found):
        return False
    if str(found.get("birth_date")) != (
        patient.birth_date.isoformat() if patient.birth_date else ""
    ):
        return False
    return not (patient.sex and found.get("sex") and patient.sex != str(found["sex"]).upper())


def _search(platform: Platform, body: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        found = platform.call("POST", "/api/v1/patients/search", json=body).json()
    except ApiError as exc:
        if exc.status == 400:  # too broad: the letter's traits say too little
            raise Unreadable(
                f"l'identité du patient est trop incomplète pour le retrouver ({exc.message})"
            ) from exc
        raise
    return list(found)


def find_patient(platform: Platform, patient: Patient) -> str:
    """The platform's id of the letter's patient, or :class:`Unreadable` saying why not."""
    who = patient.describe()

    def _doubt(reason: str) -> Unreadable:
        return Unreadable(reason, reason.replace(who, "(identité non reprise ici)"))

    if patient.ins:
        qualified = [
            p for p in _search(platform, {"ins": patient.ins})
            if p.get("identity_status") == QUALIFIED
        ]  # fmt: skip
        if len(qualified) == 1:
            found = qualified[0]
            if (
                patient.birth_date
                and str(found.get("birth_date")) != patient.birth_date.isoformat()
            ):
                raise _doubt(
                    f"l'INS de l'en-tête désigne un patient né à une autre date que {who} : "
                    "vérifiez le numéro de sécurité sociale et la date de naissance"
                )
            return str(found["id"])
    name = patient.last_name or patient.birth_name
    if not (name and patient.first_name and patient.birth_date):
        raise _doubt(
            f"identité incomplète ({who}) : il faut un INS qualifié, ou le nom, le prénom et "
            "la date de naissance du patient"
        )
    found_all = _search(platform, {"q": name, "birth_date": patient.birth_date.isoformat()})
    matching = [p for p in found_all if _matches(patient, p)]
    if patient.ins and any(p.get("ins") and str(p["ins"]).upper() != patient.ins for p in matching):
        raise _doubt(
            f"le patient {who} trouvé sur la plateforme a un autre INS que celui de "
            "l'en-tête : vérifiez le numéro de sécurité sociale"
        )
    if not matching:
        raise _doubt(
            f"aucun patient {who} sur la plateforme : vérifiez l'identité dans le logiciel "
            "métier, ou créez le patient sur la plateforme puis déposez de nouveau le courrier"
        )
    if len(matching) > 1:
        raise _doubt(
            f"plusieurs patients {who} sur la plateforme : envoyez ce courrier depuis "
            "MonSisra ou la plateforme en choisissant le bon patient"
        )
    return str(matching[0]["id"])


# --------------------------------------------------------------------------- the recipients


def find_recipient(platform: Platform, recipient: Recipient) -> tuple[str, str]:
    """The directory id and name of one recipient, or :class:`Unreadable`."""
    what = recipient.describe()
    if recipient.kind == "name":
        bare = _CIVILITY.sub("", recipient.value).strip()
        found = platform.call("GET", "/api/v1/professionals", params={"q": bare, "limit": 20})
        wanted = fold(bare)
        matching = [
            p
            for p in found.json()
            if not p.get("external")
            and wanted
            in (
                fold(f"{p.get('first_name')} {p.get('last_name')}"),
                fold(f"{p.get('last_name')} {p.get('first_name')}"),
                fold(_CIVILITY.sub("", str(p.get("display_name") or ""))),
            )
        ]
        several = "plusieurs professionnels portent ce nom : indiquez son numéro RPPS"
    else:
        found = platform.call(
            "GET", "/api/v1/professionals", params={recipient.kind: recipient.value, "limit": 2}
        )
        matching = list(found.json())
        several = "plusieurs professionnels ont cet identifiant"
    if not matching:
        raise Unreadable(
            f"destinataire {what} introuvable dans l'annuaire de la plateforme : vérifiez "
            "son numéro RPPS, son adresse MSSanté ou son nom"
        )
    if len(matching) > 1:
        raise Unreadable(f"destinataire {what} ambigu : {several}")
    return str(matching[0]["id"]), str(matching[0].get("display_name") or recipient.value)


@dataclass(frozen=True)
class Addressed:
    """A letter whose patient and recipients were all found."""

    letter: Letter
    patient_id: str
    recipients: tuple[tuple[str, str], ...]  # (id, name)


def address(platform: Platform, letter: Letter) -> Addressed:
    """Find the patient then every recipient; the first doubt stops (:class:`Unreadable`)."""
    patient_id = find_patient(platform, letter.patient)
    recipients = tuple(find_recipient(platform, r) for r in letter.recipients)
    return Addressed(letter, patient_id, recipients)
