"""Pro Santé Connect (e-CPS) in tests: the registered clients and the provider's login page."""

from collections.abc import Callable
from typing import Any

PSC_CLIENT = "sisra-test"


PSC_CLIENT_JWT = "sisra-test-jwt"  # the same, with a signed (JWT) userinfo


def national_id_of(db: Callable[[], Any], persona: Any) -> str:
    from sisra.platform.models import Professional

    with db() as session:
        nid = session.get(Professional, persona.id).national_id
    assert nid
    return str(nid)


def psc_provider_login(page: Any, national_id: str) -> None:
    """On the provider's page (it stands for the e-CPS app): type the national id, confirm."""
    page.get_by_label("Identifiant national").fill(national_id)
    page.get_by_role("button", name="Valider avec e-CPS").click()
