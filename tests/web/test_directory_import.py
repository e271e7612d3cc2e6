"""Directory at real use, in Chromium: accent-blind order, Excel and ANS RPPS imports, and the
first-login e-mail through the real SMTP sink."""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from sisra.common.identifiers import luhn_complete
from sisra.platform.models import AuditEvent, Professional, Role

RPPS_HEADER = (
    "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|"
    "Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|"
    "Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|"
    "Libellé catégorie professionnelle|Code type savoir-faire|Libellé type savoir-faire|"
    "Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|"
    "Numéro SIRET site|Numéro SIREN site|Numéro FINESS site|"
    "Numéro FINESS établissement juridique|Identifiant technique de la structure|"
    "Raison sociale site|Enseigne commerciale site|"
    "Complément destinataire (coord. structure)|Libellé commune (coord. structure)|"
    "Adresse e-mail (coord. structure)|"
)


def _rpps_line(
    rpps: str, last: str, first: str, job: str, skill: str, site: str, city: str, email: str
) -> str:
    cells = ["8", rpps, "8" + rpps, "DR", "Docteur", "M", "Monsieur", last, first, "10", job]
    cells += ["C", "Civil", "S", "Spécialité ordinale", "SM54", skill, "L", "Libéral"]
    cells += ["", "", "", "", "", site, "", "", city, email]
    return "|".join(cells) + "|"


@pytest.fixture
def admin(make_pro: Any) -> Any:
    return make_pro("admin.web", role=Role.administrator, first_name="Alice", last_name="Admin")


def test_directory_is_sorted_ignoring_accents_and_ligatures(
    admin: Any, make_pro: Any, web_as: Any
) -> None:
    for n, last in enumerate(("BROSSARD", "DUBOIS", "BRÉCHET", "DUBŒUF", "DUBOC", "Éluard")):
        make_pro(f"tri{n}", first_name="Jean", last_name=last, log_in=False)
    page: Page = web_as(admin, "/admin/annuaire?q=jean")
    names = [t.strip() for t in page.locator("table a[href^='/admin/annuaire/']").all_inner_texts()]
    assert names == [
        "Jean BRÉCHET",
        "Jean BROSSARD",
        "Jean DUBOC",
        "Jean DUBŒUF",  # Œ is OE, as in French dictionaries: DUBOE… < DUBOI…
        "Jean DUBOIS",
        "Jean ÉLUARD",
    ], names


@pytest.mark.parametrize("delimiter", [";", ","])
def test_import_of_an_excel_csv_in_windows_1252(
    admin: Any, web_as: Any, db: Any, tmp_path: Any, delimiter: str
) -> None:
    r1 = luhn_complete("1000000301")
    lines = [
        delimiter.join(
            [
                "rpps",
                "adeli",
                "nom",
                "prenom",
                "profession",
                "specialite",
                "structure",
                "ville",
                "email",
                "identifiant",
            ]
        ),
        delimiter.join(
            [
                r1,
                "",
                "Lefèvre",
                "Hélène",
                "Médecin",
                "Gériatrie",
                "Clinique Sœur Thérèse",
                "Chambéry",
                "helene.lefevre@demo.sisra.test",
                "helene.lefevre",
            ]
        ),
    ]
    path = tmp_path / "excel.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    page: Page = web_as(admin, "/admin/annuaire-import")
    page.get_by_label("Fichier CSV").set_input_files(str(path))
    page.get_by_role("button", name="Importer").click()
    expect(page.get_by_role("status")).to_contain_text("1 créé(s), 0 déjà présent(s), 0 en erreur")
    row = page.get_by_role("row", name=re.compile("Hélène Lefèvre"))
    expect(row).to_contain_text("Carte CPS dans MonSisra")
    with db() as s:
        pro = s.scalar(select(Professional).where(Professional.login == "helene.lefevre"))
        assert pro is not None
        assert (pro.last_name, pro.structure, pro.city) == (
            "Lefèvre",
            "Clinique Sœur Thérèse",
            "Chambéry",
        )
        imp = s.scalar(select(AuditEvent).where(AuditEvent.action == "directory.import"))
        assert imp is not None and imp.details["encoding"] == "Windows-1252"


def test_unreadable_file_is_a_french_error(admin: Any, web_as: Any, tmp_path: Any) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"nom prenom\r\nx y\r\n")
    page: Page = web_as(admin, "/admin/annuaire-import")
    page.get_by_label("Fichier CSV").set_input_files(str(path))
    page.get_by_role("button", name="Importer").click()
    expect(page.get_by_role("alert")).to_contain_text("Séparateur non reconnu")


def test_import_of_the_ans_rpps_extract_then_first_login_mail(
    admin: Any, make_pro: Any, web_as: Any, db: Any, tmp_path: Any, smtp_sink: Any
) -> None:
    make_pro("jean.dupont", first_name="Jean", last_name="Dupont", log_in=False)
    r1, r2, r3 = (luhn_complete(f"100000040{i}") for i in (1, 2, 3))
    lines = [
        RPPS_HEADER,
        _rpps_line(
            r1,
            "LE BŒUF",
            "Éloïse",
            "Médecin",
            "Cardiologie",
            "Cabinet du Lac",
            "ANNECY",
            "eloise.leboeuf@demo.sisra.test",
        ),
        # a second activity of the same professional: one account
        _rpps_line(
            r1,
            "LE BŒUF",
            "Éloïse",
            "Médecin",
            "Cardiologie",
            "CH Annecy",
            "ANNECY",
            "eloise.leboeuf@demo.sisra.test",
        ),
        _rpps_line(
            r2,
            "DUPONT",
            "Jean",
            "Pharmacien",
            "",
            "Pharmacie du Centre",
            "CLUSES",
            "jean.dupont.pharma@demo.sisra.test",
        ),
        _rpps_line(r3, "SANS", "Courriel", "Infirmier", "", "", "THONON", ""),
    ]
    path = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    page: Page = web_as(admin, "/admin/annuaire-import")
    page.get_by_label("Fichier CSV").set_input_files(str(path))
    page.get_by_role("button", name="Importer").click()
    expect(page.get_by_role("status")).to_contain_text("2 créé(s), 1 déjà présent(s), 1 en erreur")
    expect(page.get_by_role("row", name=re.compile("Courriel SANS"))).to_contain_text("e-mail")
    with db() as s:
        eloise = s.scalar(select(Professional).where(Professional.rpps == r1))
        jean = s.scalar(select(Professional).where(Professional.rpps == r2))
        assert eloise is not None and jean is not None
        assert eloise.login == "eloise.le-boeuf" and eloise.structure == "Cabinet du Lac"
        assert (eloise.profession, eloise.specialty, eloise.city) == (
            "Médecin",
            "Cardiologie",
            "ANNECY",
        )
        assert jean.login == "jean.dupont2"  # jean.dupont was taken
    before = len(smtp_sink.messages)
    page.get_by_role("button", name=re.compile("Envoyer les instructions")).click()
    expect(page.get_by_role("status")).to_contain_text("envoyées à 2 professionnel(s)")
    mail = smtp_sink.last_to("eloise.leboeuf@demo.sisra.test")
    assert mail is not None and "eloise.le-boeuf" in mail.body and "votre carte CPS" in mail.body
    assert "mot de passe" in mail.body and len(smtp_sink.messages) == before + 2
    assert "/premiere-connexion/" in mail.body  # the link to choose it
    with db() as s:
        sent = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "directory.instructions_sent")
        ).all()
        assert len(sent) == 2
