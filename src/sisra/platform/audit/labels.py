"""French labels of the audit actions and of their details, for the administration pages.

Every action code written by ``audit.record`` has a label here (a test greps the sources to
keep the table complete); a code missing from the table is shown as it is.
"""

import uuid
from typing import Any

from sisra.common.text import fold

ACTIONS: dict[str, str] = {
    "admin.refused": "Administration : accès refusé",
    "audit.migration": "Journal : migration de la base",
    "audit.out_of_order": "Journal : ligne hors de l'ordre chronologique (antidatée ?)",
    "audit.read": "Journal : consultation",
    "auth.cps": "Connexion par carte CPS",
    "auth.device_enrolled": "Appareil enregistré",
    "auth.device_renewed": "Appareil renouvelé",
    "auth.device_revoked": "Appareil révoqué",
    "auth.login": "Connexion : identifiant et mot de passe",
    "auth.logout": "Déconnexion",
    "auth.otp_sent": "Connexion : code envoyé par e-mail",
    "auth.password_changed": "Mot de passe changé (par le professionnel)",
    "auth.password_chosen": "Mot de passe choisi (lien de première connexion)",
    "auth.password_link_issued": "Lien de première connexion envoyé",
    "auth.otp_verify": "Connexion : vérification du code",
    "auth.refresh": "Connexion : renouvellement de session",
    # Pro Santé Connect (e-CPS)
    "auth.psc.start": "Connexion Pro Santé Connect (e-CPS) : demande",
    "auth.psc.login": "Connexion Pro Santé Connect (e-CPS) : identité reçue",
    "auth.psc.redeem": "Connexion Pro Santé Connect (e-CPS) : code de MonSisra utilisé",
    "auth.web_login": "Connexion au portail web",
    "auth.web_ticket": "Lien vers le portail web créé",
    "auth.web_ticket_use": "Lien vers le portail web utilisé",
    "care_team.add": "Équipe de soins : ajout par l'administrateur",
    "care_team.declare": "Équipe de soins : déclaration de prise en charge",
    "care_team.leave": "Équipe de soins : départ",
    "care_team.list": "Équipe de soins : consultation",
    "care_team.remove": "Équipe de soins : retrait par l'administrateur",
    "care_team.review": "Équipe de soins : revue des déclarations",
    "directory.create": "Annuaire : création d'un professionnel",
    "directory.disable": "Annuaire : compte désactivé",
    "directory.enable": "Annuaire : compte réactivé",
    "directory.import": "Annuaire : import d'une extraction",
    "directory.instructions_sent": "Annuaire : instructions de connexion envoyées",
    "directory.set_password": "Annuaire : mot de passe défini",
    "directory.update": "Annuaire : modification d'un professionnel",
    "document.download": "Document : téléchargement",
    "document.integrity_failure": "Document : contenu endommagé",
    "document.read_metadata": "Document : consultation des informations",
    "document.share": "Document : envoi",
    "events.connect": "Notifications en direct : connexion",
    "inbox.delete": "Documents reçus : suppression",
    "inbox.list": "Documents reçus : liste",
    "documents.sent_list": "Documents envoyés : liste",
    "inbox.read": "Documents reçus : consultation",
    "inbox.receipt.downloaded": "Documents reçus : accusé de téléchargement",
    "inbox.receipt.read": "Documents reçus : accusé de lecture",
    # MSSanté gateway, outgoing mail
    "mssante.delivered": "MSSanté : accusé de réception d'un autre opérateur",
    "mssante.failed": "MSSanté : envoi en échec",
    "mssante.queued": "MSSanté : message à envoyer à un autre opérateur",
    "mssante.read": "MSSanté : accusé de lecture d'un autre opérateur",
    "mssante.retry": "MSSanté : envoi reporté, nouvelle tentative prévue",
    "mssante.sent": "MSSanté : message remis au relais de l'opérateur",
    # MSSanté reception (the gateway and « Identités à rapprocher »)
    "mssante.duplicate": "MSSanté : message déjà reçu, non classé une seconde fois",
    "mssante.pending": "MSSanté : document reçu, identité à rapprocher",
    "mssante.pending_list": "MSSanté : liste des identités à rapprocher",
    "mssante.pending_pdf": "MSSanté : document à rapprocher ouvert",
    "mssante.pending_read": "MSSanté : identité à rapprocher consultée",
    "mssante.receive": "MSSanté : document reçu et classé",
    "mssante.refused": "MSSanté : message refusé",
    "mssante.report": "MSSanté : rapport reçu sans suite",
    "mssante.resolve": "MSSanté : identité rapprochée",
    "patient.create": "Patient : création d'une identité",
    "patient.merge": "Patient : fusion d'identités",
    "patient.search": "Patient : recherche",
    "record.break_glass": "Dossier : accès en urgence (bris de glace)",
    "record.read": "Dossier : consultation",
}

OUTCOMES = {
    "ok": "réussi",
    "refused": "refusé",
    "failed": "échec",
    "error": "erreur",
    "limited": "refusé : limite atteinte",
    "throttled": "refusé : trop de tentatives",
    "renewed": "renouvelé",
    "already_member": "déjà membre",
    "warning": "à examiner",
    "emergency": "accès en urgence",
}

# Detail keys shown to the administrator, in this order. Every key an ``audit.record`` call of
# the sources writes has a label here (a test walks the calls to keep the table complete).
DETAILS: dict[str, str] = {
    "reason": "Motif",
    "grounds": "Fondement",
    "break_glass": "Bris de glace",
    "care_team": "Équipe de soins",
    "attestation": "Attestation",
    "how": "Comment",
    "method": "Méthode",
    "via": "Par",
    "path": "Page",
    "professional": "Professionnel",
    "professional_id": "Professionnel",
    "patient_id": "Patient",
    "patients": "Patients",
    "target": "Cible",
    "login": "Identifiant",
    "fields": "Champs",
    "hours": "Durée (h)",
    "expires_at": "Jusqu'au",
    "count": "Nombre",
    "results": "Résultats",
    "criteria": "Critères",
    "by": "Recherche par",
    "truncated": "Résultats tronqués",
    "search": "Avec recherche",
    "type": "Type de document",
    "unread_only": "Non lus seulement",
    "after": "Depuis",
    "documents": "Documents",
    "include_ended": "Appartenances terminées comprises",
    "limits": "Limites",
    "last_hour": "Déclarations (dernière heure)",
    "last_day": "Déclarations (24 h)",
    "rows": "Lignes",
    "export": "Export",
    "actor": "Acteur recherché",
    "action": "Action recherchée",
    "from": "Du",
    "to": "Au",
    "address": "Adresse MSSanté",
    "attempt": "Tentative",
    "during": "Pendant",
    "disposition": "Accusé",
    "recipients": "Destinataires",
    "in_reply_to": "En réponse à",
    "mssante": "Par MSSanté",
    "size": "Taille (octets)",
    "sha256": "Empreinte SHA-256",
    "sender": "Expéditeur",
    "message_id": "Identifiant du message",
    "matched_by": "Patient retrouvé par",
    "candidates": "Patients candidats",
    "applied": "Appliqué",
    "kept": "Identité conservée",
    "removed": "Identité supprimée",
    "device": "Appareil",
    "device_revoked": "Appareil révoqué",
    "others_ended": "Autres connexions fermées",
    "known_device": "Appareil connu",
    "step": "Étape",
    "flow": "Connexion n°",
    "resend": "Renvois du code",
    "purpose": "Pour",
    "acr": "Niveau d'authentification",
    "national_id": "Identifiant national",
    "provider_error": "Erreur de Pro Santé Connect",
    "challenge": "Défi n°",
    "serial": "N° de série de la carte",
    "subject": "Titulaire de la carte",
    "created": "Créés",
    "present": "Déjà présents",
    "lines": "Lignes lues",
    "errors": "Erreurs",
    "encoding": "Encodage",
    "format": "Format",
    "pending": "Identité à rapprocher n°",
    "outbox": "Envoi n°",
    # the sealer's flag on a row out of time order (audit.out_of_order)
    "kind": "Anomalie",
    "seq": "Ligne n°",
    "row_action": "Action de la ligne",
    "row_at": "Date de la ligne",
    "head_at": "Piste déjà scellée jusqu'au",
    "sealed_at": "Scellée le",
}

# Keys whose value is a professional's, a patient's or a document's id: shown by name.
PROFESSIONAL_KEYS = frozenset({"professional", "professional_id", "recipients"})
PATIENT_KEYS = frozenset({"kept", "removed", "patient_id", "patients"})

_YES_NO = {"True": "oui", "False": "non", "true": "oui", "false": "non", "1": "oui", "0": "non"}

# Coded detail values shown in French.
_VALUES: dict[str, dict[str, str]] = {
    "kind": {
        "backdated": "antidatée : plus ancienne que la piste déjà scellée",
        "future": "postdatée : datée après son scellement",
    },
    "grounds": {
        "author": "auteur du document",
        "recipient": "destinataire du document",
        "care_team": "membre de l'équipe de soins",
        "break_glass": "accès en urgence (bris de glace)",
    },
    "how": {
        "declared": "déclarée par le professionnel",
        "admin": "ajoutée par un administrateur",
        "history": "reprise de l'historique",
        "creation": "identité créée",
        "choix": "patient choisi",
        "CareTeamHow.declared": "déclarée par le professionnel",
        "CareTeamHow.admin": "ajoutée par un administrateur",
        "CareTeamHow.history": "reprise de l'historique",
    },
    "via": {
        "web_inbox": "portail web, documents reçus",
        "web_record": "portail web, dossier du patient",
        "web_preview": "portail web, aperçu",
        "inbox": "MonSisra, documents reçus",
        "record": "dossier du patient (API)",
        "fhir": "interface FHIR",
        "password_link": "lien de première connexion",
    },
    "method": {"otp": "code par e-mail", "psc": "Pro Santé Connect (e-CPS)", "cps": "carte CPS"},
    "purpose": {"web": "portail web", "app": "MonSisra"},
    "step": {"password": "mot de passe", "code": "code"},
    "by": {"ins": "INS", "traits": "traits d'identité"},
    "matched_by": {
        "ins": "INS",
        "traits": "traits d'identité",
        "no_match": "aucun patient ne correspond",
        "several": "plusieurs patients correspondent",
        "unstructured": "message sans identité structurée",
    },
    "criteria": {
        "ins": "INS",
        "q": "nom",
        "name": "nom",
        "given": "prénom",
        "birth_date": "date de naissance",
        "sex": "sexe",
    },
    "export": {"csv": "fichier CSV"},
    "disposition": {"displayed": "lu", "deleted": "supprimé sans lecture"},
    "reason": {
        "relay_not_accepted": "relais non autorisé",
        "sender_outside_trust_space": "expéditeur hors de l'espace de confiance",
        "local_sender_from_outside": "adresse de la plateforme venue de l'extérieur",
        "bad_credentials": "identifiant ou mot de passe incorrect",
        "inactive": "compte désactivé",
        "expired_or_revoked": "session expirée ou révoquée",
        "reused": "jeton déjà utilisé",
        "strong_auth_required": "authentification forte requise",
        "throttled": "trop de tentatives",
        "wrong_current": "mot de passe actuel incorrect",
        "unknown": "inconnu",
    },
}

# Technical ids with no name to show: the row's other columns already say who and what.
HIDDEN = frozenset({"web", "page", "member_id"})


def action_label(code: str) -> str:
    return ACTIONS.get(code, code)


def outcome_label(outcome: str) -> str:
    return OUTCOMES.get(outcome, outcome)


def matching_codes(text: str) -> tuple[list[str], str]:
    """Codes whose French label contains every word of ``text`` (accent-blind), and the
    raw-code prefix to match as well (``text`` as typed, for codes not in the table)."""
    words = fold(text).split()
    codes = [
        code for code, label in ACTIONS.items() if all(w in fold(f"{label} {code}") for w in words)
    ]
    return codes, text.strip()


def _value(value: Any, key: str = "", names: dict[str, str] | None = None) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ", ".join(_value(v, key, names) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{DETAILS.get(k, k)} : {_value(v, k, names)}" for k, v in value.items())
    text = str(value)
    if names and text in names:
        return names[text]
    if key in _SHORT_ID_KEYS and _is_uuid(text):
        return text[:8]  # a technical id with no name: its start is enough to match rows
    coded = _VALUES.get(key, {}).get(text)
    if coded is not None:
        return coded
    if text in _YES_NO and key in _BOOLEAN_KEYS:
        return _YES_NO[text]
    return text


_SHORT_ID_KEYS = frozenset({"flow", "challenge", "pending", "outbox", "device", "in_reply_to"})


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


_BOOLEAN_KEYS = frozenset(
    {"include_ended", "unread_only", "search", "truncated", "break_glass", "care_team", "mssante"}
    | {"known_device", "device_revoked", "applied"}
)


def _shown(key: str, value: Any, names: dict[str, str] | None) -> str:
    if key == "row_action":
        return action_label(str(value))
    return _value(value, key, names)


def ids_named(raws: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The professional ids and the patient ids these details name (to resolve in one query
    each for a page of rows)."""
    pros: set[str] = set()
    patients: set[str] = set()
    for raw in raws:
        for key, value in raw.items():
            into = pros if key in PROFESSIONAL_KEYS else patients if key in PATIENT_KEYS else None
            if into is None:
                continue
            for v in value if isinstance(value, list) else [value]:
                into.add(str(v))
    return pros, patients


def details(raw: dict[str, Any], names: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs in French, the reason and grounds first; ``names`` maps the ids
    of professionals and patients to their names."""
    return [
        (DETAILS.get(k, k), _shown(k, raw[k], names))
        for k in sorted(raw, key=lambda k: _ORDER.get(k, len(_ORDER)))
        if k not in HIDDEN and raw[k] not in ("", None)
    ]


_ORDER = {k: i for i, k in enumerate(DETAILS)}
