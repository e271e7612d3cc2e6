"""French labels of the audit actions and of their details, for the administration pages.

Every action code written by ``audit.record`` has a label here (a test greps the sources to
keep the table complete); a code missing from the table is shown as it is.
"""

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
    "renewed": "renouvelé",
    "already_member": "déjà membre",
    "warning": "à examiner",
}

# Detail keys shown to the administrator, in this order; others are shown with their key.
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
    "target": "Cible",
    "login": "Identifiant",
    "fields": "Champs",
    "hours": "Durée (h)",
    "count": "Nombre",
    "results": "Résultats",
    "criteria": "Critères",
    "truncated": "Résultats tronqués",
    "rows": "Lignes",
    "export": "Export",
    "address": "Adresse MSSanté",
    "attempt": "Tentative",
    # the sealer's flag on a row out of time order (audit.out_of_order)
    "kind": "Anomalie",
    "seq": "Ligne n°",
    "row_action": "Action de la ligne",
    "row_at": "Date de la ligne",
    "head_at": "Piste déjà scellée jusqu'au",
    "sealed_at": "Scellée le",
}

# Coded detail values shown in French.
_VALUES: dict[str, dict[str, str]] = {
    "kind": {
        "backdated": "antidatée : plus ancienne que la piste déjà scellée",
        "future": "postdatée : datée après son scellement",
    },
}

_HIDDEN = {"web", "page"}


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


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} : {_value(v)}" for k, v in value.items())
    return str(value)


def _shown(key: str, value: Any) -> str:
    if key == "row_action":
        return action_label(str(value))
    return _VALUES.get(key, {}).get(str(value)) or _value(value)


def details(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs, the reason and grounds first."""
    known = [
        (DETAILS[k], _shown(k, raw[k])) for k in DETAILS if k in raw and raw[k] not in ("", None)
    ]
    others = [
        (k, _value(v))
        for k, v in raw.items()
        if k not in DETAILS and k not in _HIDDEN and v not in ("", None)
    ]
    return known + others
