"""Reading the fields of an inbox item (the platform API's JSON) for the export formats.

The item is the shape both halves share: MonSisra gets it from the platform's inbox API, the
platform builds the same dictionary for the mail it sends to other MSSanté operators.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sisra.common.ins import PatientIdentifier, outgoing_patient_id
from sisra.common.text import named_by_address, one_line, patient_last_name, person_label

text = one_line  # one line of text (the name every export format reads it by)


def section(item: dict[str, Any], name: str) -> dict[str, Any]:
    value = item.get(name)
    return value if isinstance(value, dict) else {}


def parse_date(value: Any) -> date | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def parse_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def last_name(item: dict[str, Any]) -> str:
    """The name the patient uses (used name, else birth name), upper-case."""
    patient = section(item, "patient")
    return patient_last_name(patient.get("used_name"), patient.get("birth_name"))


def birth_name(item: dict[str, Any]) -> str:
    return text(section(item, "patient").get("birth_name")).upper()


def used_name(item: dict[str, Any]) -> str:
    return text(section(item, "patient").get("used_name")).upper()


def first_name(item: dict[str, Any]) -> str:
    return text(section(item, "patient").get("first_given_name"))


def birth_given_names(item: dict[str, Any]) -> list[str]:
    """Every first name of the birth certificate (INS trait), in order; empty when the
    item does not give them (older platforms)."""
    names = section(item, "patient").get("birth_given_names")
    if not isinstance(names, list):
        return []
    return [n for n in (text(v) for v in names) if n]


def birth_place_code(item: dict[str, Any]) -> str:
    """The INSEE code (COG) of the birth place, empty when unknown."""
    return text(section(item, "patient").get("birth_place_code")).upper()


def birth_date(item: dict[str, Any]) -> date | None:
    return parse_date(section(item, "patient").get("birth_date"))


def document_date(item: dict[str, Any]) -> date | None:
    """The clinical date of the document, else the day it was sent."""
    return parse_date(section(item, "document").get("clinical_date")) or parse_date(
        item.get("created_at")
    )


def sent_at(item: dict[str, Any]) -> datetime | None:
    return parse_datetime(item.get("created_at"))


def identity_status(item: dict[str, Any]) -> str:
    """provisoire, récupérée, validée or qualifiée; empty when the item does not say."""
    return text(section(item, "patient").get("identity_status"))


def patient_identifier(item: dict[str, Any]) -> PatientIdentifier:
    """The identifier the patient leaves under (:func:`sisra.common.ins.outgoing_patient_id`):
    the INS and its OID for a qualified identity, else the platform's patient id under the
    platform's OID (``platform.patient_id_oid``, the default one from older platforms).
    An item that does not give the identity status carries no INS out."""
    patient = section(item, "patient")
    return outgoing_patient_id(
        ins=text(patient.get("ins")),
        ins_oid=text(patient.get("ins_oid")) or None,
        identity_status=identity_status(item),
        local_id=text(patient.get("id")),
        local_oid=text(section(item, "platform").get("patient_id_oid")) or None,
    )


def ins(item: dict[str, Any]) -> str:
    """The INS as it may leave the platform: only a qualified identity's, else empty."""
    ident = patient_identifier(item)
    return ident.value if ident.is_ins else ""


def ins_oid(item: dict[str, Any]) -> str | None:
    """The OID of the INS's assigning authority (NIR, NIA, or their test ranges) as the
    platform sent it; None when the item does not say (older platforms)."""
    value = text(section(item, "patient").get("ins_oid"))
    return value or None


def patient_id(item: dict[str, Any]) -> str:
    """The INS of a qualified identity, else the platform's patient id."""
    return patient_identifier(item).value


def document_id(item: dict[str, Any]) -> str:
    return text(section(item, "document").get("id"))


def title(item: dict[str, Any]) -> str:
    return text(section(item, "document").get("title"))


def type_label(item: dict[str, Any]) -> str:
    return text(section(item, "document").get("type_label"))


def sender_name(item: dict[str, Any]) -> str:
    return text(section(item, "sender").get("name"))


def _label(person: dict[str, Any]) -> str:
    return person_label(person.get("name"), person.get("profession"))


def sender_label(item: dict[str, Any]) -> str:
    """'Dr Marc GAUTHIER' for a doctor, the plain name otherwise."""
    return _label(section(item, "sender"))


def recipient_label(item: dict[str, Any]) -> str:
    """The professional the document was sent to, as :func:`sender_label` writes a sender."""
    return _label(section(item, "recipient"))


def mssante_address(person: dict[str, Any]) -> str:
    """The person's MSSanté address, lower case; empty when the item does not give one."""
    return text(person.get("mssante")).lower()


def person_named_by_address(person: dict[str, Any]) -> bool:
    """:func:`named_by_address` for a directory person of an item."""
    return named_by_address(
        text(person.get("first_name")), text(person.get("last_name")), mssante_address(person)
    )


def split_person(person: dict[str, Any]) -> tuple[str, str]:
    """(FAMILY, Given) of a directory person: its own fields, else split from its name."""
    family, given = text(person.get("last_name")), text(person.get("first_name"))
    if family:
        return family.upper(), given
    words = text(person.get("name")).split()
    cut = len(words)
    while cut > 0 and words[cut - 1].isupper():
        cut -= 1
    if cut == len(words) or cut == 0:
        return " ".join(words), ""
    return " ".join(words[cut:]), " ".join(words[:cut])


def fr_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def compact_date(value: date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""
