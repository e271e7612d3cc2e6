"""Real Postfix and Dovecot for the MSSanté gateway's tests, shared by the whole run."""

from collections.abc import Iterator
from typing import Any

import pytest

from needs import need
from sisra.devtools.mailservers import MailServers
from sisra.platform.settings import Settings
from support.mssante import EXTERNAL_DOMAIN, PLATFORM_DOMAIN


@pytest.fixture(scope="session")
def mail_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServers]:
    """The MSSanté space on loopback: Postfix (entrance on ``smtp_port``, the operator's relay
    on ``relay_port``) and Dovecot (IMAP on ``imap_port``). Until the platform's own gateway
    receives by LMTP, mail for the platform's domain (DSNs, MDNs) lands in Dovecot too, where
    the tests read it."""
    need("postfix")
    servers = MailServers(
        tmp_path_factory.mktemp("mail"),
        PLATFORM_DOMAIN,
        EXTERNAL_DOMAIN,
        None,
        platform_mailbox=True,
    )
    with servers:
        yield servers


@pytest.fixture
def mssante_relay(settings: Settings, mail_servers: MailServers) -> Any:
    """The platform's operator relay is the test Postfix (set before the app starts)."""
    settings.mssante_relay_host = "127.0.0.1"
    settings.mssante_relay_port = mail_servers.relay_port
    settings.mssante_client_cert = mail_servers.client_cert
    settings.mssante_client_key = mail_servers.client_key
    settings.mssante_ca_file = mail_servers.ca_cert
    settings.mssante_poll_s = 0.2
    settings.mssante_retry_base_s = 0.2
    settings.mssante_max_attempts = 3
    return settings
