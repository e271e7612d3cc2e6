"""No input produces a 500: bounded integers, NUL characters and lone surrogates refused, CSRF
tokens compared as bytes, headers parsed defensively (found by an outside test)."""

import json
import re

import httpx
import pytest

from sisra.platform.models import Role

HUGE = str(2**64)


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/inbox?after={HUGE}",
        f"/api/v1/inbox?limit={HUGE}",
        "/api/v1/inbox?limit=-1",
        f"/api/v1/professionals?limit={HUGE}",
        "/api/v1/professionals?limit=-1",
        "/api/v1/professionals?limit=0",
        f"/api/v1/audit?before={HUGE}",
        f"/api/v1/audit?limit={HUGE}",
        "/api/v1/audit?limit=-1",
    ],
)
def test_integers_beyond_64_bits_or_negative_limits_are_refused(app_client, make_pro, url):
    pro = make_pro()
    r = app_client.get(url, headers=pro.headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_request"


def test_the_largest_64_bit_cursor_is_accepted(app_client, make_pro):
    pro = make_pro()
    r = app_client.get(f"/api/v1/inbox?after={2**63 - 1}", headers=pro.headers)
    assert r.status_code == 200, r.text
    assert r.json()["items"] == []


def test_negative_limit_no_longer_lists_the_whole_directory(app_client, make_pro):
    pro = make_pro()
    for _ in range(3):
        make_pro(log_in=False)
    r = app_client.get("/api/v1/professionals?limit=-1", headers=pro.headers)
    assert r.status_code == 422


def _refused(r: httpx.Response) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_characters"
    assert "caractère interdit" in body["message"]


def test_nul_characters_are_refused_in_query_json_form_and_headers(app_client, make_pro):
    pro = make_pro()
    _refused(app_client.get("/api/v1/professionals?q=Mar%00tin", headers=pro.headers))
    identity = {
        "birth_name": "DUP\u0000ONT",
        "birth_given_names": ["Jeanne"],
        "birth_date": "1970-01-01",
        "sex": "F",
    }
    _refused(app_client.post("/api/v1/patients", headers=pro.headers, json=identity))
    # an escaped key is refused as well
    raw = '{"identifier": "a", "password\\u0000": "b"}'
    headers = {"Content-Type": "application/json"}
    _refused(app_client.post("/api/v1/auth/login", content=raw, headers=headers))
    _refused(app_client.post("/connexion", data={"identifier": "a\x00b", "csrf": "x"}))
    _refused(app_client.post("/api/v1/patients/search", headers=pro.headers, json={"q": "\x00"}))


def test_a_json_escape_of_a_backslash_is_ordinary_text(app_client, make_pro):
    pro = make_pro()
    # the six characters \u0000, not a NUL
    raw = json.dumps({"q": "du\\u0000", "birth_date": "1970-01-01"})
    r = app_client.post(
        "/api/v1/patients/search",
        headers={**pro.headers, "Content-Type": "application/json"},
        content=raw,
    )
    assert r.status_code == 200, r.text


def test_a_lone_surrogate_is_refused(app_client, make_pro):
    pro = make_pro()
    raw = '{"birth_name": "DUP\\ud800", "birth_given_names": ["J"], "birth_date": "1970-01-01"}'
    r = app_client.post(
        "/api/v1/patients",
        headers={**pro.headers, "Content-Type": "application/json"},
        content=raw,
    )
    _refused(r)


def test_nul_inside_a_multipart_json_field_stops_at_the_database(
    app_client, make_pro, make_patient, share, pdf
):
    """Multipart bodies are not read by the guard (uploads stream): the database backstop
    answers the same 422 on SQLite and PostgreSQL (psycopg refuses NUL: a 500 before)."""
    sender, dest = make_pro(), make_pro()
    patient = make_patient()
    r = share(app_client, sender, patient, [dest], pdf(), title="Compte\u0000rendu")
    _refused(r)
    inbox = app_client.get("/api/v1/inbox", headers=dest.headers).json()
    assert inbox["items"] == []


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_a_non_ascii_csrf_token_is_a_clean_refusal(app_client, make_pro, password):
    make_pro("camille", log_in=False)
    app_client.get("/connexion")  # sets the anonymous CSRF cookie
    r = app_client.post(
        "/connexion", data={"identifier": "camille", "password": password, "csrf": "é"}
    )
    assert r.status_code == 403
    assert r.json()["code"] == "csrf_failed"


def test_a_non_ascii_csrf_token_on_a_logged_in_form(live_server, make_pro):
    pro = make_pro()
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        ticket = client.post(
            "/api/v1/auth/web-ticket", headers=pro.headers, json={"target": "/accueil"}
        ).json()["url"]
        client.get("/web/ticket/" + ticket.split("/web/ticket/", 1)[1])
        assert "sisra_session" in client.cookies
        r = client.post("/deconnexion", data={"csrf": "jéton"})
        assert r.status_code == 403
        assert client.get("/accueil").status_code == 200  # still logged in


def _raw(value: str) -> bytes:
    """A header as a client may send it: Latin-1 when it can be (HTTP's historical charset,
    how the server decodes it: « ² » is then a digit to ``str.isdigit``), else UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


@pytest.mark.parametrize("value", ["²", "٣", "1" * 40, "-1", "é", "7x"])
def test_an_odd_last_event_id_is_ignored_not_a_crash(live_server, make_pro, value):
    pro = make_pro()
    headers = {**pro.headers, "Last-Event-ID": _raw(value)}
    with (
        httpx.Client(timeout=httpx.Timeout(30, read=30)) as client,
        client.stream("GET", f"{live_server.url}/api/v1/events", headers=headers) as resp,
    ):
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line.startswith(": connected"):
                assert line == ": connected, cursor 0"
                break


def test_a_bounded_range_header(app_client, make_pro, make_patient, share, pdf):
    sender, dest = make_pro(), make_pro()
    doc = share(app_client, sender, make_patient(), [dest], pdf()).json()["document"]["id"]
    url = f"/api/v1/documents/{doc}/content"
    for value in ("bytes=٣-", "bytes=" + "9" * 40 + "-", "bytes=²-3"):
        r = app_client.get(url, headers={**sender.headers, "Range": _raw(value)})
        assert r.status_code == 416, value


def test_every_integer_of_the_api_is_bounded_to_64_bits(app_client):
    """Whatever route is added, an unbounded integer parameter shows here."""
    schema = app_client.get("/openapi.json").json()
    unbounded = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "integer" and not (
                "maximum" in node and node["maximum"] <= 2**63 - 1 and "minimum" in node
            ):
                unbounded.append(where)
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    for path, item in schema["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                walk(p.get("schema", {}), f"{method.upper()} {path} {p['name']}")
            walk(op.get("requestBody", {}), f"{method.upper()} {path} body")
    for name, component in schema["components"]["schemas"].items():
        if name.endswith(("In", "Body")) or name.startswith("Body_"):
            walk(component, name)
    assert unbounded == []


def test_admin_persona_has_the_same_guards(app_client, make_pro):
    admin = make_pro(role=Role.administrator)
    r = app_client.get(f"/api/v1/audit?before={HUGE}", headers=admin.headers)
    assert r.status_code == 422
    _refused(app_client.get("/api/v1/professionals?q=%00", headers=admin.headers))


def _web_session(base_url: str, persona, target: str) -> tuple[httpx.Client, str]:
    """An httpx client logged in to the web pages through a one-time ticket; the page's CSRF."""
    client = httpx.Client(base_url=base_url, timeout=30)
    link = client.post(
        "/api/v1/auth/web-ticket", headers=persona.headers, json={"target": target}
    ).json()["url"]
    page = client.get("/web/ticket/" + link.split("/web/ticket/", 1)[1], follow_redirects=True)
    assert page.status_code == 200, page.text
    return client, _csrf(page.text)


def test_a_too_long_name_in_the_identity_form_is_a_form_error(live_server, make_pro, db):
    """The web form has no length limit: SQLite stored any length, PostgreSQL answered 500."""
    from sqlalchemy import func, select

    from sisra.platform.models import Patient

    client, csrf = _web_session(live_server.url, make_pro(), "/patients/nouveau")
    r = client.post(
        "/patients/nouveau",
        data={
            "csrf": csrf,
            "birth_name": "A" * 150,
            "birth_given_names": "Jeanne",
            "birth_date": "1970-01-01",
            "sex": "F",
        },
    )
    client.close()
    assert r.status_code == 422
    assert "dépasse 100 caractères" in r.text
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Patient)) == 0


@pytest.mark.postgres_only
def test_a_value_too_long_for_its_column_is_a_422_not_a_500(live_server, make_pro, is_postgres):
    """Backstop for forms that miss a length check: PostgreSQL's refusal is the user's 422."""
    if not is_postgres:
        pytest.skip("SQLite does not enforce column lengths")
    admin = make_pro(role=Role.administrator)
    client, csrf = _web_session(live_server.url, admin, "/admin/annuaire/nouveau")
    r = client.post(
        "/admin/annuaire/nouveau",
        data={
            "csrf": csrf,
            "last_name": "Durand",
            "first_name": "Alix",
            "profession": "Administrateur",
            "email": "alix@demo.sisra.test",
            "login": "alix",
            "role": "administrator",
            "city": "x" * 150,
        },
    )
    client.close()
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_value"


NONCHARACTERS = ["\ufffe", "\uffff", "\ufdd0", "\ufdef", "\U0001fffe", "\U0010ffff"]


@pytest.mark.parametrize("char", NONCHARACTERS)
def test_a_noncharacter_in_a_shared_title_is_refused_at_intake(
    app_client, make_pro, make_patient, share, pdf, char
):
    """A title holding U+FFFE was stored and then stopped its XDM export on every recipient's
    MonSisra; now it is refused like a NUL character (multipart: the database backstop)."""
    sender, dest = make_pro(), make_pro()
    r = share(app_client, sender, make_patient(), [dest], pdf(), title=f"Bilan{char}sanguin")
    _refused(r)
    assert app_client.get("/api/v1/inbox", headers=dest.headers).json()["items"] == []


def test_noncharacters_are_refused_in_json_written_raw_or_escaped_and_in_forms(
    app_client, make_pro
):
    pro = make_pro()
    headers = {**pro.headers, "Content-Type": "application/json"}
    identity = {
        "birth_name": "DUPONT\ufffe",
        "birth_given_names": ["J"],
        "birth_date": "1970-01-01",
    }
    raw = json.dumps(identity, ensure_ascii=False).encode()  # U+FFFE as its UTF-8 bytes
    escaped = json.dumps(identity).encode()  # as \ufffe
    _refused(app_client.post("/api/v1/patients", headers=headers, content=raw))
    _refused(app_client.post("/api/v1/patients", headers=headers, content=escaped))
    _refused(app_client.post("/connexion", data={"identifier": "a\U0001ffff", "csrf": "x"}))
    _refused(app_client.get("/api/v1/professionals?q=Mar%EF%BF%BEtin", headers=pro.headers))
    # ordinary non-ASCII text still passes: accents, U+FFFD, emoji, CJK
    ok = app_client.post(
        "/api/v1/patients/search",
        headers=pro.headers,
        json={"q": "Hélène \ufffd 😀 漢", "birth_date": "1970-01-01"},  # enough traits
    )
    assert ok.status_code == 200, ok.text


def test_the_web_send_page_refuses_a_noncharacter_in_the_title(
    app_client, make_pro, make_patient, pdf, db
):
    from sqlalchemy import func, select

    from sisra.platform.models import Document

    author, rec = make_pro(), make_pro()
    patient = make_patient()
    r = app_client.post(
        "/api/v1/auth/web-ticket", headers=author.headers, json={"target": f"/envoyer/{patient}"}
    )
    form = app_client.get("/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1])
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
    assert csrf and key
    page = app_client.post(
        f"/envoyer/{patient}",
        data={
            "csrf": csrf.group(1),
            "mode": "joindre",
            "title": "Échographie\ufffe",
            "type_code": "cr_imagerie",
            "clinical_date": "2026-11-30",
            "recipients": str(rec.id),
            "idempotency_key": key.group(1),
        },
        files={"file": ("echo.pdf", pdf(), "application/pdf")},
    )
    assert page.status_code == 422, page.text[:500]
    assert "caractère interdit" in page.text
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 0


def test_a_directory_import_line_with_a_noncharacter_is_refused_alone(app_client, make_pro, db):
    """An imported file is not read by the input guard: the directory service refuses the
    line (it used to reach the database backstop mid-import and fail the whole page)."""
    from sqlalchemy import select

    from sisra.common.identifiers import luhn_complete
    from sisra.platform.models import Professional

    admin = make_pro("admin.import", role=Role.administrator)
    r = app_client.post(
        "/api/v1/auth/web-ticket", headers=admin.headers, json={"target": "/admin/annuaire-import"}
    )
    form = app_client.get("/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1])
    head = "rpps;adeli;nom;prenom;profession;specialite;structure;ville;email;identifiant"
    r1, r2 = luhn_complete("1000000311"), luhn_complete("1000000312")
    rows = [
        f"{r1};;Durand\ufffe;Inès;Médecin;;;Lyon;ines.durand@demo.sisra.test;ines.durand",
        f"{r2};;Martin;Paul;Médecin;;;Lyon;paul.martin@demo.sisra.test;paul.martin",
    ]
    page = app_client.post(
        "/admin/annuaire-import",
        data={"csrf": _csrf(form.text)},
        files={"fichier": ("annuaire.csv", "\n".join([head, *rows]).encode(), "text/csv")},
    )
    assert page.status_code == 200, page.text[:300]
    assert "caractère interdit" in page.text
    with db() as s:
        logins = set(s.scalars(select(Professional.login)))
    assert "paul.martin" in logins and "ines.durand" not in logins
