"""The web pages keep the toolkit's discipline (web/kit.py): the caller comes from a
dependency (``kit.LoggedIn``/``kit.Admin``) that checks CSRF on state-changing methods, never
from a hand lookup; pages do not import each other's private helpers; no module grows huge."""

import ast
import importlib
import pkgutil
import uuid
from pathlib import Path

from fastapi import APIRouter
from fastapi.routing import APIRoute

from sisra.platform.models import Role
from sisra.platform.web import kit

WEB = Path(kit.__file__).parent
MAX_LINES = 800
# what only the toolkit does: read the session cookie, look the session up, compare tokens
HAND_CHECKS = ("SESSION_COOKIE", "current_session", "check_csrf", "same_secret")
# pages without a logged-in caller (login, first login, downloads, demo mails: the anonymous
# forms' token comes from kit.AnonymousCsrf); the record's preview looks its caller up in its
# own transaction (kit.own_transaction)
ANONYMOUS = {
    "login_page",
    "login_submit",
    "code_submit",
    "code_resend",
    "psc_login",
    "psc_return",
    "open_ticket",
    "demo_mails",
    "choose_page",
    "choose_submit",
    "download_page",
    "download_file",
    "platform",  # public APIs served with the download page: /api/v1/platform…
    "latest",  # …and /api/v1/monsisra/latest
    "record_preview",
}


def _modules() -> list[Path]:
    return sorted(p for p in WEB.rglob("*.py") if p.name != "kit.py")


def test_no_page_looks_up_its_caller_or_checks_csrf_by_hand():
    found = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            name = (
                node.attr
                if isinstance(node, ast.Attribute)
                else node.id
                if isinstance(node, ast.Name)
                else None
            )
            if name in HAND_CHECKS:
                found.append(f"{path.relative_to(WEB)}:{node.lineno} {name}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "cookies"
                and isinstance(node.value, ast.Name)
                and node.value.id == "request"
                and path.name != "routes.py"  # the login pages set and read their own cookies
            ):
                found.append(f"{path.relative_to(WEB)}:{node.lineno} request.cookies")
    assert not found, "use kit.LoggedIn / kit.Admin instead:\n" + "\n".join(found)


def test_pages_do_not_import_each_others_private_helpers():
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "sisra.platform.web"
            ):
                module = node.module or ""
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private or ".pages_" in module or module.endswith(".routes"):
                    found.append(f"{path.relative_to(WEB)}: from {module} import …")
    assert not found, "\n".join(found)


def test_no_web_module_is_over_800_lines():
    long = {
        str(p.relative_to(WEB)): n
        for p in WEB.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long


def _page_routes() -> list[APIRoute]:
    """Every route declared in the web package (its modules' ``router``)."""
    out: list[APIRoute] = []
    for info in pkgutil.walk_packages([str(WEB)], "sisra.platform.web."):
        router = getattr(importlib.import_module(info.name), "router", None)
        if isinstance(router, APIRouter):
            out.extend(r for r in router.routes if isinstance(r, APIRoute))
    return out


def _callers(route: APIRoute) -> set[object]:
    return {d.call for d in route.dependant.dependencies}


def test_every_page_takes_its_caller_from_the_toolkit():
    routes = _page_routes()
    assert len(routes) > 40
    missing = [
        f"{sorted(r.methods)} {r.path}"
        for r in routes
        if r.endpoint.__name__ not in ANONYMOUS and not {kit.logged_in, kit.admin} & _callers(r)
    ]
    assert not missing, missing
    admin_pages = [r for r in routes if r.path.startswith("/admin")]
    assert admin_pages and all(kit.admin in _callers(r) for r in admin_pages)


def _web_session(app_client, persona) -> None:
    """Log ``app_client`` in on the web, through a one-time ticket (as MonSisra does)."""
    r = app_client.post(
        "/api/v1/auth/web-ticket", headers=persona.headers, json={"target": "/accueil"}
    )
    assert r.status_code == 200, r.text
    ticket = "/web/ticket/" + r.json()["url"].split("/web/ticket/", 1)[1]
    assert app_client.get(ticket, follow_redirects=False).status_code == 303


def test_every_state_changing_page_refuses_a_form_without_its_csrf_token(app_client, make_pro):
    """Logged in, every POST page refuses a form without the session's token (403, French),
    and with a wrong one, before doing anything."""
    any_id = str(uuid.uuid4())
    checked = 0
    for role in (Role.professional, Role.administrator):
        persona = make_pro(f"csrf.{role.value}", role=role)
        app_client.cookies.clear()
        _web_session(app_client, persona)
        for route in _page_routes():
            if "POST" not in route.methods or route.endpoint.__name__ in ANONYMOUS:
                continue
            if route.path.startswith("/admin") != (role == Role.administrator):
                continue
            path = route.path
            for name in route.param_convertors:
                path = path.replace("{" + name + "}", any_id)
                path = path.replace("{" + name + ":uuid}", any_id)
            for form in ({}, {"csrf": "not-the-token"}):
                r = app_client.post(path, data=form, follow_redirects=False)
                assert r.status_code == 403, (path, form, r.status_code)
                assert "La page a expiré" in r.text, path
                checked += 1
    assert checked > 40


def test_anonymous_forms_take_their_token_from_the_toolkit(app_client):
    """The login and first-login forms (no session yet) take their double-submit token from
    kit.AnonymousCsrf: a POST without it, or with one that is not the cookie's, is refused
    (403, French) before anything is read or counted."""
    anonymous_posts = [
        r for r in _page_routes() if "POST" in r.methods and r.endpoint.__name__ in ANONYMOUS
    ]
    assert len(anonymous_posts) >= 4
    for route in anonymous_posts:
        assert kit.anonymous_csrf in _callers(route), route.path
        path = route.path.replace("{token}", "not-a-link")
        app_client.cookies.clear()
        app_client.get("/connexion")  # the browser now holds a token cookie
        for form in ({"flow_id": str(uuid.uuid4())}, {"csrf": "forged"}):
            r = app_client.post(path, data=form, follow_redirects=False)
            assert r.status_code == 403, (path, form, r.status_code)
            assert "La page a expiré" in r.text, path
