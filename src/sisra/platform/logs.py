"""What the platform's logs must never hold: one-time login links and tokens.

The access log line of ``GET /web/ticket/<ticket>`` (or of a first-login link,
``/premiere-connexion/<token>``) would otherwise hold a link that opens a
session (for 60 seconds, once): anyone reading the log before the professional clicked could
use it. The ticket and any ``ticket``/``token``-like query value are masked before the line is
written. Patient traits never reach a URL (searches are POST bodies), so need no masking.
"""

import logging
import re

MASK = "[masqué]"

# one-time links that carry their secret in the path: web tickets, first-login links
_TICKET_PATH = re.compile(r"(/web/ticket/|/premiere-connexion/)[^/?#\s\"]+")
_SECRET_QUERY = re.compile(
    r"([?&](?:ticket|token|access_token|refresh_token|code|csrf|session)=)[^&#\s\"]*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with one-time links and token values masked."""
    return _SECRET_QUERY.sub(rf"\g<1>{MASK}", _TICKET_PATH.sub(rf"\g<1>{MASK}", text))


class RedactSecrets(logging.Filter):
    """Masks secrets in a record's message and arguments (uvicorn passes the path as one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


ACCESS_LOGGER = "uvicorn.access"


def install_log_redaction() -> None:
    """Attach the filter to uvicorn's access log (once, however many apps are created)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())
