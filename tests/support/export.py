"""Files and items for the practice software's exports."""

import hashlib
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from sisra.client.items import InboxItem
from sisra.common.ins import OID_NIR


def make_pdf(path: Path, text: str = "Compte rendu de consultation") -> Path:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setTitle(text)
    pdf.drawString(72, 760, text)
    pdf.drawString(72, 740, "Patiente : Hélène GAUTHIER née LEFÈVRE, le 12/04/1969")
    pdf.showPage()
    pdf.save()
    return path


def make_item(pdf_path: Path, **changes: Any) -> dict[str, Any]:
    data = pdf_path.read_bytes()
    item: dict[str, Any] = {
        "id": "6f1c1d7e-8a3b-4c2d-9e0f-123456789abc",
        "cursor": 12,
        "created_at": "2026-11-20T10:00:00Z",
        "document": {
            "id": "0b3f5a2e-1111-4222-8333-944455556666",
            "title": "Compte rendu de consultation cardiologique",
            "type_code": "cr_consultation",
            "type_label": "Compte rendu de consultation",
            "loinc": "11488-4",
            "clinical_date": "2026-11-19",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "page_count": 1,
            "in_reply_to": None,
        },
        "patient": {
            "id": "a1b2c3d4-0000-4000-8000-000000000001",
            "birth_name": "LEFÈVRE",
            "used_name": "GAUTHIER",
            "first_given_name": "Hélène",
            "birth_date": "1969-04-12",
            "sex": "F",
            "ins": "269046912304567",
            "ins_oid": OID_NIR,
            "identity_status": "qualifiée",
        },
        "sender": {
            "id": "5d9e4c1a-2222-4333-8444-955566667777",
            "name": "Marc GAUTHIER",
            "first_name": "Marc",
            "last_name": "Gauthier",
            "profession": "Cardiologue",
            "specialty": "Cardiologie et maladies vasculaires",
            "structure": "Cabinet de cardiologie de Villeurbanne",
            "rpps": "10003456789",
            "adeli": None,
            "finess": "690012345",
            "siret": None,
            "city": "Villeurbanne",
        },
        "recipient": {
            "id": "7e1f5d2b-3333-4444-8555-a66677778888",
            "name": "Claire MARTIN",
            "first_name": "Claire",
            "last_name": "Martin",
            "profession": "Médecin généraliste",
            "specialty": None,
            "structure": "Maison de santé des Pentes",
            "rpps": "10001234567",
            "adeli": None,
            "finess": None,
            "siret": "73282932000074",
            "city": "Lyon",
        },
        "platform": {
            "name": "Sisra, plateforme régionale",
            "url": "https://sisra.example.fr",
            "contact_email": "contact@sisra.example.fr",
        },
        "delivered_at": None,
        "read_at": None,
    }
    for path, value in changes.items():
        section, key = path.split("__")
        item[section][key] = value
    return item


def typed(item: dict[str, Any]) -> InboxItem:
    """The item as MonSisra reads it from the platform's JSON."""
    return InboxItem.from_json(item)


def first_platform_item(**top: Any) -> dict[str, Any]:
    """An item as the first platform version sent it: none of the fields added since
    (birth first names, INS OID, identity status, the sender's identifiers, recipient,
    platform)."""
    item: dict[str, Any] = {
        "id": "3c2b1a00-0000-4000-8000-000000000001",
        "cursor": 7,
        "created_at": "2026-11-20T10:00:00Z",
        "document": {
            "id": "0b3f5a2e-1111-4222-8333-944455556666",
            "title": "Lettre de liaison",
            "type_code": "lettre_liaison",
            "type_label": "Lettre de liaison",
            "loinc": "34133-9",
            "clinical_date": "2026-11-19",
            "size": 1234,
            "sha256": "ab" * 32,
            "page_count": 1,
            "in_reply_to": None,
        },
        "patient": {
            "id": "a1b2c3d4-0000-4000-8000-000000000001",
            "birth_name": "LEFÈVRE",
            "used_name": None,
            "first_given_name": "Hélène",
            "birth_date": "1969-04-12",
            "sex": "F",
            "ins": None,
        },
        "sender": {
            "id": "5d9e4c1a-2222-4333-8444-955566667777",
            "name": "Marc GAUTHIER",
            "profession": "Cardiologue",
            "specialty": None,
            "structure": None,
        },
        "delivered_at": None,
        "read_at": "2026-11-21T08:30:00+00:00",
    }
    item.update(top)
    return item
