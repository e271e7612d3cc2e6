"""``GET /api/v1/platform`` (who runs the platform, for « À propos ») and ``SISRA_TIMEZONE``:
the zone every time a person reads is shown in."""

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from sisra.common import clock
from sisra.platform.app import create_app
from sisra.platform.settings import Settings
from support.documents import share_request


@pytest.fixture
def cayenne(settings: Settings) -> Iterator[TestClient]:
    app = create_app(
        settings.model_copy(
            update={
                "timezone": "America/Cayenne",
                "contact_email": "support@guyane.example",
                "platform_name": "Sisra Guyane",
                "public_url": "http://sisra.guyane.example/",
            }
        )
    )
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()
    clock.set_platform_zone(clock.DEFAULT_ZONE)


def test_the_platform_says_who_runs_it_without_login(app_client: TestClient) -> None:
    body = app_client.get("/api/v1/platform").json()
    assert body == {
        "name": "Sisra, plateforme régionale d'échange de documents de santé",
        "contact_email": "contact@sisra.local",
        "public_url": "http://127.0.0.1:8000",
        "timezone": "Europe/Paris",
        "max_document_bytes": 2 * 1024 * 1024,
    }


def test_times_are_shown_in_the_configured_zone(
    cayenne: TestClient, make_pro, make_patient, pdf
) -> None:
    assert cayenne.get("/api/v1/platform").json() == {
        "name": "Sisra Guyane",
        "contact_email": "support@guyane.example",
        "public_url": "http://sisra.guyane.example",
        "timezone": "America/Cayenne",
        "max_document_bytes": 2 * 1024 * 1024,
    }
    recipient = make_pro("dr.cayenne", log_in=True)
    r = share_request(cayenne, make_pro(), make_patient(), [recipient], pdf("Heure"))
    assert r.status_code == 201
    created = datetime.fromisoformat(
        cayenne.get("/api/v1/inbox", headers=recipient.headers).json()["items"][0]["created_at"]
    )
    local = created.astimezone(ZoneInfo("America/Cayenne"))
    ticket = cayenne.post(
        "/api/v1/auth/web-ticket", headers=recipient.headers, json={"target": "/documents-recus"}
    )
    assert ticket.status_code == 200, ticket.text
    page = cayenne.get("/web/ticket/" + ticket.json()["url"].split("/web/ticket/", 1)[1])
    assert page.status_code == 200
    import re

    assert "Documents reçus" in page.text
    assert f"{local:%d/%m/%Y} à {local:%H}h{local:%M}" in page.text, re.findall(
        r"\d\d/\d\d/\d{4}[^<]*", page.text
    )


def test_an_unknown_zone_is_refused_in_french(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="Fuseau horaire inconnu"):
        settings.model_validate({**settings.model_dump(), "timezone": "Europe/Lutece"})
    assert Settings(timezone="Europe/Paris").timezone == "Europe/Paris"
