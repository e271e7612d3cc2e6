"""MSSanté addresses: who on this platform has one, and correspondents of other operators.

A document may go to, or come from, a professional who is not on this platform but has an
MSSanté mailbox elsewhere (a hospital, a colleague on another operator). Such a correspondent is
a directory row marked ``external``: listed, searchable, the recipient of a share (its
notification holds the delivery and read receipts that come back by mail), the author of a
document received by mail; it never logs in here.
"""

import re
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sisra.platform.directory.service import search_text
from sisra.platform.errors import Invalid
from sisra.platform.models import Professional, Role

# RFC 5321 dot-atom local part and a domain of labels; MSSanté addresses are plain ASCII.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def normalise_address(address: str) -> str:
    """The address as stored and compared: trimmed, lower case; refused when malformed."""
    value = address.strip().strip("<>").strip().lower()
    if len(value) > 254 or not _ADDRESS.match(value):
        raise Invalid(
            f"« {address.strip()[:80]} » n'est pas une adresse de messagerie valide.",
            code="invalid_mssante_address",
        )
    return value


def by_address(session: Session, address: str) -> Professional | None:
    """The directory row with this MSSanté address (a local professional first)."""
    value = normalise_address(address)
    stmt = (
        select(Professional)
        .where(func.lower(Professional.mssante) == value)
        .order_by(Professional.external, Professional.created_at)
        .limit(1)
    )
    return session.scalar(stmt)


def local_by_address(session: Session, address: str) -> Professional | None:
    """The active professional of this platform whose MSSanté mailbox this is."""
    pro = by_address(session, address)
    if pro is None or pro.external or not pro.active or pro.role != Role.professional:
        return None
    return pro


def correspondent_for(
    session: Session,
    address: str,
    first_name: str = "",
    last_name: str = "",
    profession: str = "Correspondant MSSanté",
) -> Professional:
    """The directory row for ``address``; an external correspondent is added when unknown.

    The name, when the caller knows none (an address typed by hand, a bare ``From:``), is the
    address itself (no first name, the address as last name, shown as is): it is not split
    into name parts a writer would take for a person's (decision 136).
    """
    value = normalise_address(address)
    found = by_address(session, value)
    if found is not None:
        return found
    first, last = first_name.strip(), last_name.strip()
    if not first and not last:
        last = value
    pro = Professional(
        first_name=first[:100],
        last_name=last[:100],
        profession=profession[:100],
        email=value,
        mssante=value,
        login=f"mssante-{uuid.uuid4().hex}",
        role=Role.professional,
        active=True,
        external=True,
    )
    pro.search_text = f"{search_text(pro)} {value}"[:600]
    session.add(pro)
    session.flush()
    return pro
