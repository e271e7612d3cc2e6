"""Synthetic inbox items, shaped like the platform's ``InboxItem``, for the desktop's
large-table test and benchmark (no server involved: they are written to a LocalState)."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sisra.client.accounts import Account, AccountSettings, AccountStore
from sisra.client.items import InboxItem
from sisra.client.state import LocalState
from sisra.common.doctypes import DOCUMENT_TYPES

_LAST = (
    "MARTIN",
    "BERNARD",
    "THOMAS",
    "PETIT",
    "ROBERT",
    "RICHARD",
    "DURAND",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
    "LEFÈVRE",
    "LEROY",
    "ROUX",
    "DAVID",
    "BERTRAND",
    "MOREL",
    "FOURNIER",
    "GIRARD",
    "BONNET",
    "DUPONT",
    "LAMBERT",
    "FONTAINE",
    "ROUSSEAU",
)
_FIRST = (
    "Jeanne",
    "Louis",
    "Léa",
    "Hugo",
    "Chloé",
    "Gabriel",
    "Emma",
    "Raphaël",
    "Zoé",
    "Jules",
    "Manon",
    "Arthur",
    "Inès",
    "Noé",
    "Élise",
    "Paul",
    "Camille",
    "Adam",
)
_SENDERS = (
    "Dr Hélène FAURE",
    "Dr Paul MARTIN",
    "Laboratoire Bio-Lyon",
    "CH de Valence",
    "Dr Noémie GIRARD",
    "Clinique du Parc",
    "Dr Karim BENALI",
    "Cabinet de radiologie",
)


def synthetic_item(i: int, rng: random.Random, now: datetime) -> dict[str, Any]:
    doc_type = rng.choice(DOCUMENT_TYPES)
    created = now - timedelta(minutes=7 * i + rng.randint(0, 6))
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "cursor": i + 1,
        "created_at": created.isoformat(),
        "document": {
            "id": str(uuid.uuid4()),
            "title": f"{doc_type.label} du {created:%d/%m/%Y}",
            "type_code": doc_type.code,
            "type_label": doc_type.label,
            "loinc": doc_type.loinc,
            "clinical_date": created.date().isoformat(),
            "size": 50_000 + i,
            "sha256": hashlib.sha256(str(i).encode()).hexdigest(),
            "page_count": 2,
            "in_reply_to": None,
        },
        "patient": {
            "id": str(uuid.uuid4()),
            "birth_name": rng.choice(_LAST),
            "used_name": None,
            "first_given_name": rng.choice(_FIRST),
            "birth_date": date(
                1930 + rng.randint(0, 90), rng.randint(1, 12), rng.randint(1, 28)
            ).isoformat(),
            "sex": rng.choice("FM"),
            "ins": None,
        },
        "sender": {
            "id": str(uuid.uuid4()),
            "name": rng.choice(_SENDERS),
            "profession": "Médecin",
            "specialty": None,
            "structure": None,
        },
        "delivered_at": created.isoformat(),
        "read_at": created.isoformat() if i % 3 else None,
    }


def fill_state(path: Path, count: int, seed: int = 6) -> LocalState:
    """A LocalState with ``count`` received documents, most exported, a few failed."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    state = LocalState(path)
    with state.batch():
        for i in range(count):
            item = InboxItem.from_json(synthetic_item(i, rng, now))
            state.record(item)
            if i % 97 == 5:
                state.mark_failed(item.id, "folder_missing", "Dossier d'export absent.", 60)
            else:
                state.mark_exported(item.id, [path.parent / "export" / f"{item.id}.pdf"])
        state.set_cursor(count)
    return state


UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers


def offline_account(store: AccountStore, password: str, login: str = "dr.test") -> Account:
    """An enrolled-looking account whose platform is never contacted (its tokens are fake):
    for measuring or testing the windows over a local state, without syncing."""
    creds = {
        "server_url": UNREACHABLE,
        "professional_id": f"pro-{login}",
        "device_id": f"device-{login}",
        "access_token": "not-a-token",
        "refresh_token": "not-a-token",
        "expires_at": "2030-01-01T00:00:00+00:00",
    }
    settings = AccountSettings(
        "Dr Test", login, f"pro-{login}", UNREACHABLE, launch_at_startup=False
    )
    return store.create(settings, password, creds)
