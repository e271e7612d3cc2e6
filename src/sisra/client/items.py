"""An inbox item as MonSisra receives it (``GET /api/v1/inbox``, the event stream), typed.

The platform's JSON is read once, where it arrives (:meth:`InboxItem.from_json`); the sync
engine, the local state, the exporters, the command line and the desktop then use attributes
that mypy checks. Reading is tolerant both ways: fields this version does not know are
ignored (a newer platform), fields an older platform did not send yet have defaults; only a
field MonSisra cannot do without (:data:`REQUIRED`) missing or of the wrong kind raises
:class:`InvalidItem`, naming it.

The JSON as received is kept (:meth:`InboxItem.to_json`): it is what the local state stores
(the same text as before the item was typed, so a previous version still reads the state
file, and fields it knows but this version does not are not lost), and what the IHE XDM
writer reads, as the platform feeds that shared writer the same shape for the MSSanté mail
(decision 179).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sisra.client.errors import ApiError
from sisra.common import clock
from sisra.common.ins import PatientIdentifier, outgoing_patient_id
from sisra.common.text import one_line, patient_last_name, person_label

INVALID_ITEM = "invalid_item"
# The fields every platform version sent and MonSisra cannot do without (the list's date and
# order, the download and its check, the patient and the sender of every view and export).
REQUIRED = frozenset(
    {
        "id",
        "cursor",
        "created_at",
        "document",
        "document.id",
        "document.title",
        "document.size",
        "document.sha256",
        "patient",
        "patient.id",
        "patient.birth_name",
        "patient.first_given_name",
        "sender",
        "sender.name",
    }
)


class InvalidItem(ApiError):
    """The platform sent an inbox item without a field MonSisra needs (or with a value of
    the wrong kind). An :class:`ApiError`: the engine says so and tries again later, as for
    any other refusal; the item is not recorded and the cursor stays before it, so nothing is
    lost once the platform (or MonSisra) is fixed."""

    def __init__(self, path: str, problem: str = "absent") -> None:
        super().__init__(
            INVALID_ITEM,
            f"La plateforme a envoyé un document reçu illisible par MonSisra\u00a0: "
            f"champ «\u00a0{path}\u00a0» {problem}. Mettez MonSisra à jour ou signalez-le "
            "au support de la plateforme.",
        )
        self.path = path


class _Reader:
    """Typed reads of one JSON object, naming the field (``section.name``) on error."""

    def __init__(self, data: object, prefix: str) -> None:
        if not isinstance(data, Mapping):
            raise InvalidItem(prefix.rstrip("."), "n'est pas un objet")
        self.data, self.prefix = data, prefix

    def _raw(self, name: str) -> Any:
        """The value, None when absent; a required field's absence raises."""
        value = self.data.get(name)
        if value is None and self.prefix + name in REQUIRED:
            raise InvalidItem(self.prefix + name)
        return value

    def text(self, name: str, default: str = "") -> str:
        value = self.data.get(name)
        if type(value) is str:  # nearly always: nothing more (thousands of rows at start)
            return value
        if value is None:
            self._raw(name)  # raises for a required field
            return default
        return self._other_text(name, value)

    def opt_text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None or type(value) is str:
            return value
        return self._other_text(name, value)

    def _other_text(self, name: str, value: object) -> str:
        """A number is taken as its text (an id, a code); an object or a list is refused."""
        if isinstance(value, bool | dict | list):
            raise InvalidItem(self.prefix + name, "n'est pas un texte")
        return str(value)

    def integer(self, name: str) -> int:
        value = self._raw(name)
        if type(value) is int:
            return value
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise InvalidItem(self.prefix + name, "n'est pas un nombre entier") from None

    def opt_integer(self, name: str) -> int | None:
        return self.integer(name) if self.data.get(name) is not None else None

    def day(self, name: str) -> date | None:
        value = self._raw(name)
        if value is None or value == "":
            return None
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise InvalidItem(self.prefix + name, "n'est pas une date") from None

    def moment(self, name: str) -> datetime | None:
        value = self._raw(name)
        if value is None or value == "":
            return None
        try:
            return clock.instant(str(value))
        except ValueError:
            raise InvalidItem(self.prefix + name, "n'est pas une date et heure") from None

    def names(self, name: str) -> tuple[str, ...] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            raise InvalidItem(self.prefix + name, "n'est pas une liste")
        return tuple(str(v) for v in value if v is not None)

    def section(self, name: str) -> _Reader | None:
        value = self._raw(name)
        return None if value is None else _Reader(value, f"{self.prefix}{name}.")


@dataclass(frozen=True)
class ItemDocument:
    """The shared document (``document``)."""

    id: str
    title: str
    size: int
    sha256: str
    type_code: str = ""
    type_label: str = ""
    loinc: str = ""
    clinical_date: date | None = None
    page_count: int | None = None
    in_reply_to: str | None = None
    restricted: bool = False

    @classmethod
    def _read(cls, r: _Reader) -> ItemDocument:
        return cls(
            id=r.text("id"),
            title=r.text("title"),
            size=r.integer("size"),
            sha256=r.text("sha256"),
            type_code=r.text("type_code"),
            type_label=r.text("type_label"),
            loinc=r.text("loinc"),
            clinical_date=r.day("clinical_date"),
            page_count=r.opt_integer("page_count"),
            in_reply_to=r.opt_text("in_reply_to"),
            restricted=r.data.get("restricted") is True,
        )


@dataclass(frozen=True)
class ItemPatient:
    """The patient's identity (``patient``): the INS only for a « qualifiée » identity."""

    id: str
    birth_name: str
    first_given_name: str
    used_name: str | None = None
    birth_date: date | None = None
    sex: str = ""
    # every birth first name (INS trait); None from platforms that did not send them
    birth_given_names: tuple[str, ...] | None = None
    birth_place_code: str | None = None
    ins: str | None = None
    ins_oid: str | None = None
    # provisoire, récupérée, validée or qualifiée; None from platforms that did not send it
    identity_status: str | None = None

    @property
    def last_name(self) -> str:
        """The name the patient uses (used name, else birth name), upper-case."""
        return patient_last_name(self.used_name, self.birth_name)

    @classmethod
    def _read(cls, r: _Reader) -> ItemPatient:
        return cls(
            id=r.text("id"),
            birth_name=r.text("birth_name"),
            first_given_name=r.text("first_given_name"),
            used_name=r.opt_text("used_name"),
            birth_date=r.day("birth_date"),
            sex=r.text("sex"),
            birth_given_names=r.names("birth_given_names"),
            birth_place_code=r.opt_text("birth_place_code"),
            ins=r.opt_text("ins"),
            ins_oid=r.opt_text("ins_oid"),
            identity_status=r.opt_text("identity_status"),
        )


@dataclass(frozen=True)
class ItemPerson:
    """A professional of the directory: the sender (author), or the recipient."""

    name: str
    id: str = ""
    first_name: str = ""
    last_name: str = ""
    profession: str = ""
    specialty: str | None = None
    structure: str | None = None
    rpps: str | None = None
    adeli: str | None = None
    finess: str | None = None
    siret: str | None = None
    city: str | None = None
    mssante: str | None = None
    sector_code: str | None = None
    sector_label: str | None = None

    @property
    def label(self) -> str:
        """« Dr Marc GAUTHIER » for a doctor, the plain name otherwise."""
        return person_label(self.name, self.profession)

    @classmethod
    def _read(cls, r: _Reader) -> ItemPerson:
        return cls(
            name=r.text("name"),
            id=r.text("id"),
            first_name=r.text("first_name"),
            last_name=r.text("last_name"),
            profession=r.text("profession"),
            specialty=r.opt_text("specialty"),
            structure=r.opt_text("structure"),
            rpps=r.opt_text("rpps"),
            adeli=r.opt_text("adeli"),
            finess=r.opt_text("finess"),
            siret=r.opt_text("siret"),
            city=r.opt_text("city"),
            mssante=r.opt_text("mssante"),
            sector_code=r.opt_text("sector_code"),
            sector_label=r.opt_text("sector_label"),
        )


@dataclass(frozen=True)
class ItemPlatform:
    """The platform that carried the document (absent from older platforms' items)."""

    name: str = ""
    url: str = ""
    contact_email: str = ""
    # None: the default OID of platform patient ids (sisra.common.ins)
    patient_id_oid: str | None = None

    @classmethod
    def _read(cls, r: _Reader) -> ItemPlatform:
        return cls(
            name=r.text("name"),
            url=r.text("url"),
            contact_email=r.text("contact_email"),
            patient_id_oid=r.opt_text("patient_id_oid"),
        )


@dataclass(frozen=True)
class InboxItem:
    """One notification of the inbox: a document shared with this professional."""

    id: str
    cursor: int
    created_at: datetime
    document: ItemDocument
    patient: ItemPatient
    sender: ItemPerson
    # the professional the document was sent to (HPRIM line 12, XDS intendedRecipient)
    recipient: ItemPerson | None = None
    platform: ItemPlatform | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    # the JSON as received (see the module's docstring)
    json_text: str = field(default="{}", repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, text: str | None = None) -> InboxItem:
        """The item from the platform's JSON object (``text``: that object's JSON text, when
        the caller has it); :class:`InvalidItem` naming the field when one MonSisra needs is
        missing or of the wrong kind."""
        r = _Reader(data, "")
        item_id, cursor, created_at = r.text("id"), r.integer("cursor"), r.moment("created_at")
        assert created_at is not None  # required
        document, patient, sender = (r.section(s) for s in ("document", "patient", "sender"))
        assert document is not None and patient is not None and sender is not None
        recipient, platform = r.section("recipient"), r.section("platform")
        return cls(
            id=item_id,
            cursor=cursor,
            created_at=created_at,
            document=ItemDocument._read(document),
            patient=ItemPatient._read(patient),
            sender=ItemPerson._read(sender),
            recipient=ItemPerson._read(recipient) if recipient else None,
            platform=ItemPlatform._read(platform) if platform else None,
            delivered_at=r.moment("delivered_at"),
            read_at=r.moment("read_at"),
            json_text=json.dumps(data) if text is None else text,
        )

    @classmethod
    def from_text(cls, text: str) -> InboxItem:
        """The item from the JSON text :meth:`to_json` gave (the local state's column)."""
        return cls.from_json(json.loads(text), text)

    def to_json(self) -> dict[str, Any]:
        """The JSON object as the platform sent it (a new copy at each call)."""
        data: dict[str, Any] = json.loads(self.json_text)
        return data

    @property
    def document_date(self) -> date:
        """The clinical date of the document, else the day it was sent."""
        return self.document.clinical_date or self.created_at.date()

    @property
    def patient_identifier(self) -> PatientIdentifier:
        """The identifier the patient leaves under: the INS and its OID for a qualified
        identity, else the platform's patient id under the platform's OID
        (:func:`sisra.common.ins.outgoing_patient_id`)."""
        patient = self.patient
        return outgoing_patient_id(
            ins=one_line(patient.ins),
            ins_oid=one_line(patient.ins_oid) or None,
            identity_status=one_line(patient.identity_status),
            local_id=one_line(patient.id),
            local_oid=one_line(self.platform.patient_id_oid if self.platform else None) or None,
        )
