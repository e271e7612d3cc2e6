"""``/docs`` serves Swagger UI from the platform itself (no CDN), under a strict CSP."""

import httpx
from playwright.sync_api import Page, expect


def test_docs_render_from_own_assets_with_no_csp_violation(live_server, page: Page):
    requested: list[str] = []
    console: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    # violations are also reported to the page itself: count them there
    page.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )

    response = page.goto(f"{live_server.url}/docs")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp

    expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
    expect(page.get_by_text("/api/v1/patients/search", exact=True)).to_be_visible()
    assert page.locator(".opblock").count() >= 20  # every operation is listed

    outside = [u for u in requested if not u.startswith((live_server.url, "data:"))]
    assert outside == []
    assert any("/docs-assets/swagger-ui-bundle.js" in u for u in requested)
    assert page.evaluate("window.__csp") == []
    problems = [m for m in console if m.startswith(("error", "pageerror")) or "Policy" in m]
    assert problems == []


def test_the_cdn_docs_routes_are_gone(live_server):
    assert httpx.get(f"{live_server.url}/redoc").status_code == 404
    html = httpx.get(f"{live_server.url}/docs").text
    assert "cdn.jsdelivr.net" not in html and "/docs-assets/" in html
