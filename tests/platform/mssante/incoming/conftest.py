"""The gateway on a free loopback port, over the test's platform (its database, blobs, hub)."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from sisra.platform.models import Document, MailPending, Professional
from sisra.platform.mssante.gateway import LmtpGateway
from sisra.platform.settings import Settings

from .mails import PLATFORM_DOMAIN
from .shared import running_gateway


@pytest.fixture
def gateway(app_client: Any, settings: Settings) -> Iterator[LmtpGateway]:
    with running_gateway(app_client.app, settings) as server:
        yield server


@pytest.fixture
def mailbox(make_pro: Any, db: Any) -> Callable[..., Any]:
    """``mailbox(login)``: a professional of the platform with an MSSanté address."""

    def _make(login: str, **kw: Any) -> Any:
        persona = make_pro(login, **kw)
        with db() as session:
            session.get(Professional, persona.id).mssante = f"{login}@{PLATFORM_DOMAIN}"
        persona.address = f"{login}@{PLATFORM_DOMAIN}"
        return persona

    return _make


@pytest.fixture
def counts(db: Any) -> Callable[[], tuple[int, int]]:
    """(documents, pending) rows: a refused message leaves both unchanged."""

    def _counts() -> tuple[int, int]:
        with db() as session:
            return (
                session.scalar(select(func.count()).select_from(Document)) or 0,
                session.scalar(select(func.count()).select_from(MailPending)) or 0,
            )

    return _counts
