"""Importing a directory extract (CSV: the platform's template or an RPPS extract) and the
first-login instructions e-mailed to the professionals created.

One report line per CSV line: created, already present (RPPS, ADELI or login known), or the
French reason of the error. A line is validated before anything is written, so nothing is
half-imported; the whole import is audited once.
"""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sisra.common import clock
from sisra.common.identifiers import InvalidIdentifier, validate_adeli, validate_rpps
from sisra.platform.audit import service as audit
from sisra.platform.auth import first_login
from sisra.platform.auth.mailer import send_mail
from sisra.platform.context import RequestContext
from sisra.platform.directory import extract
from sisra.platform.directory import service as directory
from sisra.platform.errors import SisraError
from sisra.platform.models import Professional
from sisra.platform.settings import Settings


@dataclass
class ImportLine:
    line: int
    label: str
    status: str  # "créé" | "déjà présent" | "erreur"
    reason: str = ""
    professional_id: str = ""
    how: str = ""  # how the created professional will log in


def login_help(rpps: str | None, login: str) -> str:
    """How a professional of the directory logs in, in French (import report, first e-mail)."""
    password = (
        f"identifiant « {login} » et mot de passe (à choisir avec le lien de première connexion "
        "reçu par e-mail), puis code reçu par e-mail"
    )
    if rpps:
        return f"Carte CPS dans MonSisra (RPPS {rpps}) ; sans carte : {password}"
    return password[0].upper() + password[1:]


def _already_present(session: Session, row: dict[str, str]) -> str | None:
    rpps, adeli, login = row["rpps"], row["adeli"].upper(), row["identifiant"].lower()
    if rpps and session.scalar(select(Professional.id).where(Professional.rpps == rpps)):
        return f"RPPS {rpps} déjà dans l'annuaire"
    if adeli and session.scalar(select(Professional.id).where(Professional.adeli == adeli)):
        return f"ADELI {adeli} déjà dans l'annuaire"
    if login and _login_taken(session, login):
        return f"identifiant « {login} » déjà utilisé"
    return None


def _login_taken(session: Session, login: str) -> bool:
    found = session.scalar(select(Professional.id).where(func.lower(Professional.login) == login))
    return found is not None


def _free_login(session: Session, login: str) -> str:
    """``login``, or ``login2``, ``login3``… (generated logins of an RPPS extract)."""
    candidate, n = login, 1
    while _login_taken(session, candidate):
        n += 1
        candidate = f"{login}{n}"
    return candidate


def _import_row(session: Session, ctx: RequestContext, n: int, row: dict[str, str]) -> ImportLine:
    label = " ".join(x for x in (row["prenom"], row["nom"]) if x) or "(sans nom)"
    missing = [
        name
        for name, col in (
            ("nom", "nom"),
            ("prénom", "prenom"),
            ("profession", "profession"),
            ("e-mail", "email"),
            ("identifiant", "identifiant"),
        )
        if not row[col]
    ]
    if missing:
        return ImportLine(n, label, "erreur", "champ(s) manquant(s) : " + ", ".join(missing))
    if "@" not in row["email"]:
        return ImportLine(n, label, "erreur", "adresse e-mail invalide")
    try:
        if row["rpps"]:
            validate_rpps(row["rpps"])
        if row["adeli"]:
            validate_adeli(row["adeli"])
    except InvalidIdentifier as exc:
        return ImportLine(n, label, "erreur", str(exc))
    if reason := _already_present(session, row):
        return ImportLine(n, label, "déjà présent", reason)
    if not row["rpps"] and not row["adeli"]:
        return ImportLine(n, label, "erreur", "ni RPPS ni ADELI")
    try:
        created = directory.create(
            session,
            ctx,
            directory.NewProfessional(
                first_name=row["prenom"],
                last_name=row["nom"],
                profession=row["profession"],
                email=row["email"],
                login=row["identifiant"],
                rpps=row["rpps"] or None,
                adeli=row["adeli"] or None,
                specialty=row["specialite"] or None,
                structure=row["structure"] or None,
                finess=row.get("finess") or None,
                siret=row.get("siret") or None,
                city=row["ville"] or None,
            ),
        )
    except SisraError as exc:
        # create() validates and checks clashes before writing: nothing is half-imported.
        return ImportLine(n, label, "erreur", exc.message)
    return ImportLine(
        n,
        label,
        "créé",
        professional_id=str(created.id),
        how=login_help(created.rpps, created.login),
    )


def import_csv(session: Session, ctx: RequestContext, raw: bytes) -> list[ImportLine]:
    """Import a directory extract; one report line per CSV line. Raises on a bad file."""
    try:
        parsed = extract.read(raw)
    except extract.ExtractError as exc:
        raise SisraError(str(exc), code="bad_import") from exc
    report: list[ImportLine] = []
    for n, row in parsed.rows:
        if isinstance(row, str):
            report.append(ImportLine(n, "—", "erreur", row))
            continue
        if parsed.kind == "rpps" and row["identifiant"]:
            present = row["rpps"] and session.scalar(
                select(Professional.id).where(Professional.rpps == row["rpps"])
            )
            if not present:
                row["identifiant"] = _free_login(session, row["identifiant"])
        report.append(_import_row(session, ctx, n, row))
    counts = {s: sum(1 for r in report if r.status == s) for s in ("créé", "déjà présent")}
    audit.record(
        session,
        ctx,
        "directory.import",
        details={
            "format": parsed.kind,
            "encoding": parsed.encoding,
            "lines": len(report),
            "created": counts["créé"],
            "present": counts["déjà présent"],
            "errors": len(report) - counts["créé"] - counts["déjà présent"],
        },
    )
    return report


def _welcome_body(settings: Settings, target: Professional, link: first_login.IssuedLink) -> str:
    """The first-login e-mail: one message from the platform's operator, which names the
    platform once and never tells the reader about « an e-mail » they are reading."""
    expires = clock.fr_datetime(link.expires_at, clock.platform_zone())
    card = (
        f"Avec votre carte CPS (RPPS {target.rpps}), vous pouvez aussi vous connecter à "
        "MonSisra sans mot de passe.\n\n"
        if target.rpps
        else ""
    )
    return (
        f"Bonjour {target.first_name} {target.last_name},\n\n"
        f"Votre compte est ouvert sur {settings.platform_name}. Vous y recevrez les documents "
        "que vos correspondants vous adressent, et pourrez leur en envoyer.\n\n"
        "1. Choisissez votre mot de passe en ouvrant ce lien personnel (il ne sert qu'une "
        f"fois, jusqu'au {expires}) :\n{link.url}\n\n"
        f"2. Connectez-vous ensuite avec votre identifiant « {target.login} », ce mot de "
        "passe, puis le code à usage unique qui vous sera envoyé à cette adresse à chaque "
        "connexion.\n\n"
        f"{card}"
        "Pour recevoir vos documents sur votre ordinateur, installez MonSisra : "
        f"{settings.public_url}/telecharger\n"
        f"Une question ? Écrivez-nous : {settings.contact_email}\n"
    )


def send_welcome(
    session: Session, settings: Settings, ctx: RequestContext, target: Professional
) -> None:
    """The first-login e-mail, with a new link to choose the password; raises MailError."""
    link = first_login.issue(session, settings, ctx, target)
    send_mail(
        settings,
        target.email,
        f"Votre accès à {settings.platform_name}",
        _welcome_body(settings, target, link),
    )
    audit.record(
        session, ctx, "directory.instructions_sent", details={"professional": str(target.id)}
    )
