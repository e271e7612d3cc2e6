"""Every route that touches patient data refuses an outsider.

Two kinds of outsider: nobody logged in (every API route but login, refresh and health), and a
logged-in professional who is neither author, recipient nor in the patient's care team.
"""

import re
import uuid

from support.documents import share_request

# the steps of authentication itself, the health check and MonSisra's update check
PUBLIC = {
    "/api/v1/auth/login",
    "/api/v1/auth/otp/verify",
    "/api/v1/auth/otp/resend",
    "/api/v1/auth/cps/challenge",
    "/api/v1/auth/cps/verify",
    # Pro Santé Connect (e-CPS): login steps, refused without their one-time code
    "/api/v1/auth/psc/start",
    "/api/v1/auth/psc/token",
    "/api/v1/auth/refresh",
    "/api/v1/auth/methods",  # which of these steps the platform offers (no personal data)
    "/api/v1/platform",  # who runs the platform: name, contact, address, time zone
    "/api/v1/health",
    "/api/v1/monsisra/latest",
    "/fhir/r4/metadata",  # the FHIR CapabilityStatement
}


def test_every_api_route_needs_a_token(app_client):
    paths = app_client.app.openapi()["paths"]
    checked = 0
    for template, operations in paths.items():
        if template in PUBLIC:
            continue
        path = re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), template)
        for method in operations:
            r = app_client.request(method, path, headers={"Authorization": "Bearer sat_forged"})
            assert r.status_code == 401, (method, template, r.status_code)
            anonymous = app_client.request(method, path)
            assert anonymous.status_code in (401, 422), (method, template)
            assert anonymous.status_code == 401 or anonymous.json()["code"] == "invalid_request"
            checked += 1
    assert checked > 15


def test_a_logged_in_outsider_is_refused_on_each_patient_data_route(
    app_client, make_pro, make_patient, pdf
):
    author, recipient, outsider = make_pro(), make_pro(), make_pro()
    patient = make_patient()
    r = share_request(app_client, author, patient, [recipient], pdf(), type_code="biologie")
    doc = r.json()["document"]["id"]
    note = r.json()["notifications"][0]
    h = outsider.headers
    refused = {
        ("GET", f"/api/v1/inbox/{note}"): 404,
        ("GET", f"/api/v1/inbox/{note}/content"): 404,
        ("POST", f"/api/v1/inbox/{note}/receipts"): 404,
        ("DELETE", f"/api/v1/inbox/{note}"): 404,
        ("GET", f"/api/v1/documents/{doc}"): 403,
        ("GET", f"/api/v1/documents/{doc}/content"): 403,
        ("GET", f"/api/v1/patients/{patient}/documents"): 403,
    }
    for (method, path), status in refused.items():
        body = {"kind": "read"} if method == "POST" else None
        resp = app_client.request(method, path, headers=h, json=body)
        assert resp.status_code == status, (method, path, resp.text)
        assert resp.json()["message"]
    # the group receipt (decision 207) refuses the same way
    group = {"kind": "read", "ids": [note]}
    resp = app_client.post("/api/v1/inbox/receipts", headers=h, json=group)
    assert resp.status_code == 404 and resp.json()["code"] == "notification_not_found"
    # nothing leaked into the outsider's inbox, and the recipient's copy is untouched
    assert app_client.get("/api/v1/inbox", headers=h).json()["items"] == []
    item = app_client.get(f"/api/v1/inbox/{note}", headers=recipient.headers).json()
    assert item["delivered_at"] is None
    # the outsider's own audit view does not show other people's actions either
    own = app_client.get("/api/v1/audit", headers=h).json()
    assert all(row["actor_id"] == str(outsider.id) for row in own)
    assert not any(row["document_id"] == doc for row in own if row["outcome"] == "ok")
