"""Real Postfix and Dovecot for the MSSanté gateway's tests, shared by the whole run."""

from collections.abc import Iterator

import pytest

from sisra.devtools.mailservers import MailServers

PLATFORM_DOMAIN = "sisra.mssante.test"  # the platform's own MSSanté domain
EXTERNAL_DOMAIN = "chu-exemple.mssante.test"  # another operator's, read through IMAP


@pytest.fixture(scope="session")
def mail_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServers]:
    """The MSSanté space on loopback: Postfix (entrance on ``smtp_port``, the operator's relay
    on ``relay_port``) and Dovecot (IMAP on ``imap_port``). Until the platform's own gateway
    receives by LMTP, mail for the platform's domain (DSNs, MDNs) lands in Dovecot too, where
    the tests read it."""
    servers = MailServers(
        tmp_path_factory.mktemp("mail"),
        PLATFORM_DOMAIN,
        EXTERNAL_DOMAIN,
        None,
        platform_mailbox=True,
    )
    with servers:
        yield servers
