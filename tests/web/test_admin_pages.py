"""Administration pages, clicked through in Chromium: directory, import, devices, audit,
duplicate identities, and the refusal of non-administrators."""

import csv
import io
import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from sisra.common.identifiers import luhn_complete
from sisra.platform.models import AuditEvent, Device, Document, Patient, Professional, Role

ADMIN_PAGES = [
    "/admin/annuaire",
    "/admin/annuaire/nouveau",
    "/admin/annuaire-import",
    "/admin/appareils",
    "/admin/audit",
    "/admin/audit/export.csv",
    "/admin/identites",
    "/admin/equipes-de-soins",
]


@pytest.fixture
def admin(make_pro):
    return make_pro("admin.web", role=Role.administrator, first_name="Alice", last_name="Admin")


def _api_me(live_server, persona) -> int:
    return httpx.get(
        f"{live_server.url}/api/v1/me", headers=persona.headers, timeout=30
    ).status_code


def test_admin_creates_a_professional_with_field_errors(admin, web_as, db):
    page: Page = web_as(admin, "/admin/annuaire/nouveau")
    page.get_by_label("Numéro RPPS").fill("10000000001")  # wrong Luhn key
    page.get_by_label(re.compile(r"^Nom\b")).fill("Durand")
    page.get_by_label("Prénom").fill("Inès")
    page.get_by_label("Profession").fill("Médecin")
    page.get_by_label("Spécialité").fill("Cardiologie")
    page.get_by_label("Ville").fill("Grenoble")
    page.get_by_label("Adresse e-mail").fill("ines.durand@demo.sisra.test")
    page.get_by_label("Identifiant de connexion").fill("admin.web")  # already used
    page.get_by_role("button", name="Ajouter à l'annuaire").click()

    rpps = page.get_by_label("Numéro RPPS")
    expect(rpps).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-rpps")).to_contain_text("clé du numéro RPPS est incorrecte")
    expect(page.locator("#e-login")).to_contain_text("déjà utilisé")
    expect(page.get_by_label(re.compile(r"^Nom\b"))).to_have_value("Durand")

    good = luhn_complete("1000000099")
    rpps.fill(good)
    page.get_by_label("Identifiant de connexion").fill("ines.durand")
    page.get_by_role("button", name="Ajouter à l'annuaire").click()
    expect(page.get_by_role("status")).to_contain_text("ajouté à l'annuaire")
    expect(page.get_by_role("heading", name="Inès DURAND")).to_be_visible()

    page.goto(page.url.split("/admin/")[0] + "/admin/annuaire?q=grenoble cardio")
    expect(page.get_by_role("link", name="Inès DURAND")).to_be_visible()
    with db() as s:
        pro = s.scalar(select(Professional).where(Professional.login == "ines.durand"))
        assert pro is not None and pro.rpps == good and pro.active
        assert s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "directory.create", AuditEvent.actor_id == admin.id
            )
        )


def test_admin_edits_and_disables_a_professional(admin, make_pro, web_as, live_server):
    target = make_pro("bob.pro", first_name="Bob", last_name="Perrin", city="Lyon")
    assert _api_me(live_server, target) == 200
    page: Page = web_as(admin, "/admin/annuaire?q=perrin")
    page.get_by_role("link", name="Bob PERRIN").click()
    page.get_by_label("Ville").fill("Valence")
    page.get_by_label("Adresse MSSanté").fill("bob.perrin@pro.mssante.fr")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("modifications ont été enregistrées")
    expect(page.get_by_label("Ville")).to_have_value("Valence")

    page.get_by_role("button", name="Désactiver le compte").click()
    expect(page.get_by_role("status")).to_contain_text("Le compte est désactivé")
    assert _api_me(live_server, target) == 401

    page.goto(f"{live_server.url}/admin/annuaire?q=valence")
    expect(page.get_by_role("row", name="Bob PERRIN")).to_contain_text("Désactivé")


def test_admin_imports_a_csv_extract(admin, make_pro, web_as, db, tmp_path):
    make_pro("deja.la", first_name="Déjà", last_name="Present")
    r1, r2 = luhn_complete("1000000201"), luhn_complete("1000000202")
    lines = [
        "rpps;adeli;nom;prenom;profession;specialite;structure;ville;email;identifiant",
        f"{r1};;Roux;Émile;Médecin;Pédiatrie;CH Valence;Valence;"
        "emile.roux@demo.sisra.test;emile.roux",
        "10000000001;;Faux;Paul;Médecin;;;Lyon;paul.faux@demo.sisra.test;paul.faux",
        f"{r2};;Blanc;Zoé;Infirmière;;;Annecy;zoe.blanc@demo.sisra.test;zoe.blanc",
        ";;Present;Déjà;Médecin;;;Lyon;deja.la@demo.sisra.test;deja.la",
    ]
    path = tmp_path / "extraction.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))

    page: Page = web_as(admin, "/admin/annuaire-import")
    page.get_by_label("Fichier CSV").set_input_files(str(path))
    page.get_by_role("button", name="Importer").click()
    expect(page.get_by_role("status")).to_contain_text("2 créé(s), 1 déjà présent(s), 1 en erreur")
    expect(page.get_by_role("row", name="3 Paul Faux")).to_contain_text("clé du numéro RPPS")
    expect(page.get_by_role("row", name="2 Émile Roux")).to_contain_text("créé")
    expect(page.get_by_role("row", name="5 Déjà Present")).to_contain_text("déjà présent")

    with db() as s:
        logins = set(s.scalars(select(Professional.login)))
        assert {"emile.roux", "zoe.blanc"} <= logins
        assert "paul.faux" not in logins
        emile = s.scalar(select(Professional).where(Professional.login == "emile.roux"))
        assert emile is not None and emile.structure == "CH Valence"
        imp = s.scalar(select(AuditEvent).where(AuditEvent.action == "directory.import"))
        assert imp is not None and imp.details["created"] == 2 and imp.details["errors"] == 1


def test_admin_revokes_a_device(admin, make_pro, web_as, live_server, db):
    target = make_pro("carl.pro", first_name="Carl", last_name="Mercier")
    assert _api_me(live_server, target) == 200
    page: Page = web_as(admin, "/admin/appareils")
    page.get_by_label("Identifiant du professionnel").fill("carl.pro")
    page.get_by_role("button", name="Afficher").click()
    expect(page.get_by_role("heading", name="Carl MERCIER (carl.pro)")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Actif")
    rows.first.get_by_role("button", name="Révoquer").click()
    expect(page.get_by_role("status")).to_contain_text("révoqué")
    expect(page.locator("tbody tr").first).to_contain_text("Révoqué le")
    assert _api_me(live_server, target) == 401
    with db() as s:
        device = s.scalar(select(Device).where(Device.professional_id == target.id))
        assert device is not None and device.revoked_at is not None


def test_admin_searches_the_audit_and_exports_csv(admin, make_pro, web_as, live_server, db):
    make_pro("dora.pro", first_name="Dora", last_name="Lemoine")
    page: Page = web_as(admin, "/admin/audit")
    page.get_by_label("Identifiant de l'acteur").fill("dora.pro")
    page.get_by_label("Action").fill("auth.")
    page.get_by_role("button", name="Rechercher").click()
    body = page.locator("tbody")
    expect(body).to_contain_text("(dora.pro)")
    expect(body).not_to_contain_text("admin.web")
    expect(page.get_by_label("Identifiant de l'acteur")).to_have_value("dora.pro")

    with page.expect_download() as info:
        page.get_by_role("button", name="Exporter en CSV").click()
    raw = info.value.path().read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["n°", "date", "acteur", "action"]
    assert len(rows) > 1
    assert all("(dora.pro)" in r[2] and r[3].startswith("auth.") for r in rows[1:])

    page.get_by_label("Identifiant de l'acteur").fill("personne")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#ae-acteur")).to_contain_text("Aucun professionnel")

    with db() as s:
        reads = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "audit.read")))
        assert any(r.details.get("export") == "csv" for r in reads)
        assert all(r.actor_id == admin.id for r in reads)


def test_admin_merges_duplicate_identities(
    admin, make_pro, make_patient, web_as, db, app_client, share, pdf
):
    author = make_pro("eve.pro", first_name="Ève", last_name="Garnier")
    rec = make_pro("fred.pro", first_name="Fred", last_name="Bonnet")
    keep_id = make_patient("DUPUIS")
    remove_id = make_patient("Dupuis")
    make_patient("AUTRE")
    with db() as s:
        keep = s.get(Patient, keep_id)
        s.get(Patient, remove_id).birth_date = keep.birth_date
    for _ in range(2):
        r = share(app_client, author, remove_id, [rec], pdf())
        assert r.status_code in (200, 201), r.text

    page: Page = web_as(admin, "/admin/identites")
    groups = page.locator("fieldset.group")
    expect(groups).to_have_count(1)
    group = groups.first
    group.get_by_label("Identité à conserver").select_option(str(keep_id))
    group.get_by_label("Identité à fusionner (supprimée)").select_option(str(keep_id))
    group.get_by_label("Motif de la fusion").fill("Doublon créé par erreur")
    group.get_by_role("button", name="Fusionner").click()
    expect(page.get_by_role("alert")).to_contain_text("avec elle-même")

    group = page.locator("fieldset.group").first
    group.get_by_label("Identité à conserver").select_option(str(keep_id))
    group.get_by_label("Identité à fusionner (supprimée)").select_option(str(remove_id))
    group.get_by_label("Motif de la fusion").fill("Doublon créé par erreur")
    group.get_by_role("button", name="Fusionner").click()
    expect(page.get_by_role("status")).to_contain_text("fusionnées")
    expect(page.get_by_text("Aucun doublon probable.")).to_be_visible()

    with db() as s:
        assert s.get(Patient, remove_id) is None
        docs = list(s.scalars(select(Document.patient_id)))
        assert docs == [keep_id, keep_id]
        row = s.scalar(select(AuditEvent).where(AuditEvent.action == "patient.merge"))
        assert row is not None and row.outcome == "ok" and row.actor_id == admin.id
        assert row.details["kept"] == str(keep_id)
        assert row.details["removed"] == str(remove_id)
        assert row.details["reason"] == "Doublon créé par erreur"
        assert row.details["documents"] == 2


def test_merge_refuses_identities_with_different_ins(db, make_patient):
    from sisra.platform.context import SYSTEM
    from sisra.platform.errors import SisraError
    from sisra.platform.patients.merge import merge

    a, b = make_patient("MARTIN"), make_patient("MARTIN")
    with db() as s:
        s.get(Patient, a).ins = "255081416802538"
        s.get(Patient, b).ins = "155081416802538"
    with db() as s, pytest.raises(SisraError, match="INS différents"):
        merge(s, SYSTEM, a, b, "test")
    with db() as s:
        assert s.get(Patient, b) is not None


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_professional_is_refused_every_admin_page(make_pro, web_as, path):
    pro = make_pro("gaby.pro", first_name="Gaby", last_name="Roche")
    page: Page = web_as(pro, "/accueil")
    response = page.goto(page.url.split("/accueil")[0] + path)
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Accès réservé aux administrateurs")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("vous n'avez pas l'autorisation")
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)


def test_a_professional_cannot_post_to_admin_actions(make_pro, web_as, live_server, db):
    pro = make_pro("hugo.pro", first_name="Hugo", last_name="Lambert")
    other = make_pro("ines.pro", first_name="Inès", last_name="Moreau")
    page: Page = web_as(pro, "/accueil")
    for path, form in [
        (f"/admin/annuaire/{other.id}/activation", {"active": "0", "csrf": "x"}),
        ("/admin/identites/fusion", {"keep_id": str(uuid.uuid4()), "csrf": "x"}),
    ]:
        r = page.request.post(live_server.url + path, form=form)
        assert r.status == 403
        assert "réservée aux administrateurs" in r.text()
    with db() as s:
        target = s.get(Professional, other.id)
        assert target is not None and target.active
        refused = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "admin.refused")))
        assert len(refused) == 2 and all(r.outcome == "refused" for r in refused)


# --- care teams ----------------------------------------------------------------------------


def _declare(live_server, persona, patient, context="suivi de médecine générale") -> None:
    r = httpx.post(
        f"{live_server.url}/api/v1/patients/{patient}/care-team",
        headers=persona.headers,
        json={
            "attestation": True,
            "reason": "consultation",
            "consent": True,
            "context": context,
        },
        timeout=30,
    )
    assert r.status_code == 201, r.text


def _record_status(live_server, persona, patient) -> int:
    return httpx.get(
        f"{live_server.url}/api/v1/patients/{patient}/documents",
        headers=persona.headers,
        timeout=30,
    ).status_code


def test_admin_reviews_declarations_per_professional_and_removes_one(
    admin, make_pro, make_patient, web_as, live_server, db
):
    eager = make_pro("zoe.hardy", first_name="Zoé", last_name="Hardy")
    other = make_pro("paul.simon", first_name="Paul", last_name="Simon")
    p1, p2 = make_patient("ABADIE", "Anne"), make_patient("BRUN", "Berthe")
    _declare(live_server, eager, p1, "consultation de dépannage")
    _declare(live_server, eager, p2, "curiosité personnelle")
    _declare(live_server, other, p1)
    page: Page = web_as(admin, "/admin/annuaire")
    page.get_by_role("link", name="Équipes de soins").click()
    expect(page.get_by_role("heading", name="Équipes de soins", level=1)).to_be_visible()
    page.get_by_label("Professionnel (identifiant ou nom)").fill("zoe.hardy")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("status")).to_have_text("2 appartenances")
    rows = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Zoé HARDY"))
    expect(rows).to_have_count(2)
    expect(page.get_by_role("row").filter(has_text="Paul SIMON")).to_have_count(0)
    suspicious = rows.filter(has_text="BRUN")
    expect(suspicious).to_contain_text("J'atteste prendre en charge ce patient")
    expect(suspicious).to_contain_text("curiosité")
    expect(suspicious).to_contain_text("déclaré par le professionnel")
    suspicious.get_by_label("Motif du retrait").fill("Aucune prise en charge réelle")
    suspicious.get_by_role("button", name=re.compile("^Retirer Zoé HARDY")).click()
    expect(page.get_by_role("status").first).to_contain_text("retiré de l'équipe de soins")
    expect(page).to_have_url(re.compile(r"professionnel=zoe.hardy"))
    expect(page.get_by_role("row").filter(has_text="BRUN")).to_have_count(0)
    page.get_by_label("Inclure les appartenances terminées").check()
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("row").filter(has_text="BRUN")).to_contain_text(
        "Aucune prise en charge réelle"
    )
    assert _record_status(live_server, eager, p2) == 403
    assert _record_status(live_server, eager, p1) == 200
    with db() as s:
        (row,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "care_team.remove"))
        assert row.actor_id == admin.id and row.patient_id == p2
        assert row.details["reason"] == "Aucune prise en charge réelle"
        reviews = s.scalars(select(AuditEvent).where(AuditEvent.action == "care_team.review"))
        assert any(r.details.get("professional_id") == str(eager.id) for r in reviews)


def test_admin_adds_a_professional_to_a_care_team(
    admin, make_pro, make_patient, web_as, live_server, db
):
    locum = make_pro("remi.blanc", first_name="Rémi", last_name="Blanc")
    patient = make_patient("COLIN", "Claire")
    assert _record_status(live_server, locum, patient) == 403
    page: Page = web_as(admin, "/admin/equipes-de-soins")
    page.get_by_label("Patient (INS ou identifiant)", exact=True).last.fill(str(patient))
    page.get_by_label("Professionnel (identifiant de connexion)").fill("inconnu.total")
    page.get_by_label("Motif de l'ajout").fill("Remplacement du médecin traitant")
    page.get_by_role("button", name="Ajouter à l'équipe de soins").click()
    expect(page.get_by_role("alert")).to_contain_text("Professionnel introuvable")
    page.get_by_label("Professionnel (identifiant de connexion)").fill("remi.blanc")
    page.get_by_role("button", name="Ajouter à l'équipe de soins").click()
    expect(page.get_by_role("status").first).to_contain_text("ajouté à l'équipe de soins")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Rémi BLANC"))
    expect(row).to_contain_text("ajouté par un administrateur (Alice ADMIN)")
    expect(row).to_contain_text("Remplacement du médecin traitant")
    assert _record_status(live_server, locum, patient) == 200
    with db() as s:
        (row_audit,) = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "care_team.add", AuditEvent.outcome == "ok"
            )
        )
        assert row_audit.details["professional_id"] == str(locum.id)


def test_a_professional_cannot_add_or_remove_members_on_the_web(
    make_pro, make_patient, web_as, live_server, db
):
    from sisra.platform.models import CareTeamMember

    pro = make_pro("hugo.pro", first_name="Hugo", last_name="Lambert")
    member = make_pro("ines.pro", first_name="Inès", last_name="Moreau")
    patient = make_patient()
    _declare(live_server, member, patient)
    with db() as s:
        (m,) = s.scalars(select(CareTeamMember))
        member_id = m.id
    page: Page = web_as(pro, "/accueil")
    for path, form in [
        (f"/admin/equipes-de-soins/{member_id}/retirer", {"motif": "au revoir", "csrf": "x"}),
        (
            "/admin/equipes-de-soins/ajouter",
            {"patient": str(patient), "professionnel": "hugo.pro", "motif": "moi", "csrf": "x"},
        ),
    ]:
        r = page.request.post(live_server.url + path, form=form)
        assert r.status == 403
        assert "réservée aux administrateurs" in r.text()
    assert _record_status(live_server, member, patient) == 200
    assert _record_status(live_server, pro, patient) == 403


def test_admin_records_the_structure_identifiers(admin, make_pro, web_as, db):
    """FINESS and SIRET of a professional's structure: checked, then saved (exports use
    them as the author's institution identifier)."""
    target = make_pro("eve.pro", first_name="Eve", last_name="Roux")
    page: Page = web_as(admin, f"/admin/annuaire/{target.id}")
    page.get_by_label("N° FINESS de la structure").fill("69001")
    page.get_by_label("N° SIRET de la structure").fill("73282932000075")  # wrong Luhn key
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#e-finess")).to_contain_text("9 caractères")
    expect(page.locator("#e-siret")).to_contain_text("clé du numéro SIRET")
    page.get_by_label("N° FINESS de la structure").fill("690 012 345")
    page.get_by_label("N° SIRET de la structure").fill("732 829 320 00074")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("modifications ont été enregistrées")
    expect(page.get_by_label("N° FINESS de la structure")).to_have_value("690012345")
    with db() as s:
        pro = s.get(Professional, target.id)
        assert (pro.finess, pro.siret) == ("690012345", "73282932000074")


def _many_memberships(db, make_pro, counts: dict[str, int]) -> dict[str, Professional]:
    """``counts`` memberships per professional login, each with a patient of its own."""
    from datetime import date, timedelta

    from sisra.platform.context import SYSTEM
    from sisra.platform.models import CareTeamHow, CareTeamMember, utcnow
    from sisra.platform.patients import service as patients

    pros = {
        login: make_pro(login, first_name=login.split(".")[0].title(), last_name="Volume")
        for login in counts
    }
    now = utcnow()
    n = 0
    with db() as s:
        for login, count in counts.items():
            for _ in range(count):
                n += 1
                p = patients.create(
                    s,
                    SYSTEM,
                    patients.NewPatient(
                        birth_name=f"PATIENT{n:04d}",
                        birth_given_names=["Anne"],
                        birth_date=date(1950, 1, 1) + timedelta(days=n),
                        sex="F",
                    ),
                )
                s.add(
                    CareTeamMember(
                        patient_id=p.id,
                        professional_id=pros[login].id,
                        how=CareTeamHow.admin,
                        since=now - timedelta(minutes=n),
                    )
                )
    return pros


def test_care_teams_are_paged_with_the_true_count(admin, make_pro, web_as, db):
    _many_memberships(db, make_pro, {"nina.volume": 530, "omar.volume": 14})
    page: Page = web_as(admin, "/admin/equipes-de-soins")
    status = page.get_by_role("status")
    expect(status).to_have_text("544 appartenances : page 1 sur 11")
    expect(page.get_by_role("row").filter(has_text=re.compile(r"PATIENT\d{4}"))).to_have_count(50)
    # the filter by professional is kept from page to page
    page.get_by_label("Professionnel (identifiant ou nom)").fill("nina.volume")
    page.get_by_role("button", name="Rechercher").click()
    expect(status).to_have_text("530 appartenances : page 1 sur 11")
    page.get_by_role("link", name="Page suivante").first.click()
    expect(page).to_have_url(re.compile(r"professionnel=nina.volume.*page=2"))
    expect(status).to_have_text("530 appartenances : page 2 sur 11")
    rows = page.get_by_role("row").filter(has_text=re.compile(r"PATIENT\d{4}"))
    expect(rows).to_have_count(50)
    expect(rows.filter(has_text="Omar VOLUME")).to_have_count(0)
    first_of_page_2 = rows.first.inner_text()
    page.get_by_role("link", name="Page précédente").first.click()
    expect(status).to_have_text("530 appartenances : page 1 sur 11")
    assert first_of_page_2 not in page.get_by_role("table").last.inner_text()
    page.goto(
        page.url.replace("page=1", "page=11") if "page=1" in page.url else page.url + "&page=11"
    )
    expect(status).to_have_text("530 appartenances : page 11 sur 11")
    expect(page.get_by_role("row").filter(has_text=re.compile(r"PATIENT\d{4}"))).to_have_count(30)
    expect(page.get_by_role("link", name="Page suivante")).to_have_count(0)


def test_the_audit_page_shows_details_in_french_with_names(
    admin, make_pro, make_patient, web_as, live_server
):
    zoe = make_pro("zoe.hardy", first_name="Zoé", last_name="Hardy")
    patient = make_patient("ABADIE", "Anne")
    _declare(live_server, zoe, patient)
    web_as(zoe, "/documents-recus")  # « unread_only » in the details of inbox.list
    page: Page = web_as(admin, f"/admin/equipes-de-soins?professionnel={zoe.login}")
    expect(page.get_by_role("status").last).to_have_text("1 appartenance")
    page.goto(f"{live_server.url}/admin/audit")
    table = page.get_by_role("table").last
    review = page.get_by_role("row").filter(has_text="Équipe de soins : revue des déclarations")
    expect(review.first).to_contain_text("Professionnel")
    expect(review.first).to_contain_text("Zoé HARDY")
    declare = page.get_by_role("row").filter(has_text="déclaration de prise en charge")
    expect(declare.first).to_contain_text("ABADIE Anne")
    text = table.inner_text()
    for raw in ("member_id", "professional_id", "unread_only", "include_ended", "True", "False"):
        assert raw not in text, raw
    assert str(zoe.id) not in text and str(patient) not in text
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-", text), text
