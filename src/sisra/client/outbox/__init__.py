"""Sending from the practice software: the outbox folder it drops letters into.

Public API (MonSisra's « Envoyer ce document » window and the printer use it too):

* :func:`pending` — the letters set aside in ``DIR/a-completer``, each with its reason;
* :func:`share_pdf` — share one PDF with a patient and directory recipients, idempotently
  (:func:`idempotency_key`), through a :class:`Platform` (the account's client and tokens);
* :func:`file_as_sent` / :func:`set_aside` — move a letter's files to ``DIR/envoyes/AAAA-MM``
  or to ``DIR/a-completer`` with the note saying why;
* :func:`find_patient` / :func:`find_recipient` — the strict matching the outbox applies;
* :class:`OutboxWatcher` — the engine's pass over the folder (:mod:`sisra.client.engine`).

A window sends one letter so (``Platform(session.client, session.tokens)`` in the desktop)::

    sent = share_pdf(Platform(client, tokens), pdf_bytes, patient_id=…, recipients=[…],
                     title=…, type_code="courrier", clinical_date=date.today())
    file_as_sent(outbox_dir, [pdf_path, header_path])

``share_pdf`` raises :class:`TryLater` (offline: keep the files), :class:`Unreadable` (a
refusal trying again will not cure: its ``reason`` is French) or ``ApiError`` (the session).
"""

from sisra.client.outbox.folder import (
    SENT_DIR,
    SET_ASIDE_DIR,
    PendingLetter,
    file_as_sent,
    pending,
    set_aside,
)
from sisra.client.outbox.letters import Letter, Patient, Recipient, Unreadable, check_pdf
from sisra.client.outbox.sending import (
    Platform,
    Sent,
    TryLater,
    find_patient,
    find_recipient,
    idempotency_key,
    share_pdf,
)
from sisra.client.outbox.watcher import OutboxWatcher, PassReport

__all__ = [
    "SENT_DIR",
    "SET_ASIDE_DIR",
    "Letter",
    "OutboxWatcher",
    "PassReport",
    "Patient",
    "PendingLetter",
    "Platform",
    "Recipient",
    "Sent",
    "TryLater",
    "Unreadable",
    "check_pdf",
    "file_as_sent",
    "find_patient",
    "find_recipient",
    "idempotency_key",
    "pending",
    "set_aside",
    "share_pdf",
]
