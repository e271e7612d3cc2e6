"""What the incoming gateway's tests share: the gateway on a free loopback port over the test's
platform (its database, blobs, hub), and patient identities."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sisra.common.ins import OID_NIR, with_key
from sisra.devtools.ports import free_port
from sisra.platform.context import SYSTEM
from sisra.platform.mssante.gateway import Gateway, LmtpGateway
from sisra.platform.patients import service as patients
from sisra.platform.settings import Settings

from .mails import PLATFORM_DOMAIN


@contextmanager
def running_gateway(
    app: Any, settings: Settings, gateway_class: type[Gateway] = Gateway, **overrides: Any
) -> Iterator[LmtpGateway]:
    values = {
        "mssante_domains": [PLATFORM_DOMAIN],
        "mssante_max_message_bytes": 3 * 1024 * 1024,
        **overrides,
    }
    gw_settings = settings.model_copy(update=values)
    gateway = gateway_class(gw_settings, app.state.session_factory, app.state.blobs, app.state.hub)
    server = LmtpGateway(gateway, "127.0.0.1", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def new_patient(db: Any, *, homonym: bool = False, **traits: Any) -> Any:
    """A patient identity (id) with these traits. ``homonym``: stored although another has
    the same strict traits, as identities imported before the platform refused duplicates."""
    data = patients.NewPatient(**traits)
    with db() as session:
        if not homonym:
            return patients.create(session, SYSTEM, data).id
        row = patients._validated(data)
        session.add(row)
        session.flush()
        return row.id


# M. GARNIER, with his INS: the patient of the end-to-end tests, as the platform knows him and
# as another operator's XDM names him
GARNIER_INS = with_key("1850775056123")


GARNIER_XDM = {
    "birth_name": "GARNIER",
    "first_given_name": "Luc",
    "birth_date": "1985-07-03",
    "sex": "M",
    "ins": GARNIER_INS,
}


def garnier(db: Any) -> Any:
    return new_patient(
        db,
        birth_name="GARNIER",
        birth_given_names=["Luc"],
        birth_date=date(1985, 7, 3),
        sex="M",
        ins=GARNIER_INS,
        ins_oid=OID_NIR,
    )
