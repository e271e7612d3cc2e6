"""What the platform's logs must never hold: one-time login links, tokens, patient traits.

The access log line of ``GET /web/ticket/<ticket>`` (or of a first-login link,
``/premiere-connexion/<token>``) would otherwise hold a link that opens a
session (for 60 seconds, once): anyone reading the log before the professional clicked could
use it. The ticket and any ``ticket``/``token``-like query value are masked before the line is
written.

Patient traits belong in request bodies (every search of the platform has a POST form), but
FHIR clients may still search with ``GET /fhir/r4/Patient?family=…&birthdate=…``: the whole
query of a patient search address is masked, and so are trait-like query values anywhere
(``family``, ``given``, ``birthdate``, ``identifier``, ``patient.identifier``, ``ins``…).
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


# addresses whose whole query string is patient traits (searches): kept as ``path?[masqué]``
_PATIENT_SEARCH = re.compile(
    r"((?:/fhir/r4/Patient(?:/_search)?/?|/api/v1/patients(?:/search)?/?|/envoyer/?"
    r"|/identites-a-rapprocher/[^/?#\s\"]+/?)\?)[^#\s\"]*",
    re.IGNORECASE,
)
# query values that are patient traits on any address
_TRAIT_QUERY = re.compile(
    r"([?&](?:family|given|name|birthdate|birth_date|naissance|gender|ins|identifier"
    r"|patient\.identifier|patient\.family|patient\.given|patient\.birthdate)"
    r"(?::[a-z-]+)?=)[^&#\s\"]*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with one-time links, token values and patient traits masked."""
    text = _TICKET_PATH.sub(rf"\g<1>{MASK}", text)
    text = _PATIENT_SEARCH.sub(rf"\g<1>{MASK}", text)
    text = _TRAIT_QUERY.sub(rf"\g<1>{MASK}", text)
    return _SECRET_QUERY.sub(rf"\g<1>{MASK}", text)


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
