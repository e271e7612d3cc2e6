"""HPRIM Net's recipient line as laboratories and practice software write it: a code padded
to its field of 10 characters, then the name (docs/interop.md, « Dossier d'envoi »)."""

from datetime import date

import pytest

from sisra.client.export.hprim import parse_hprim
from sisra.client.outbox.letters import Recipient, recipient
from support.outbox import hprim


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # the forms MonSisra's own header writes, unchanged
        ("10003456789", Recipient("rpps", "10003456789")),
        ("123 456 789", Recipient("adeli", "123456789")),
        (
            "claire.martin@medecin.mssante.fr",
            Recipient("mssante", "claire.martin@medecin.mssante.fr"),
        ),
        ("Dr Claire MARTIN", Recipient("name", "Dr Claire MARTIN")),
        ("Claire MARTIN", Recipient("name", "Claire MARTIN")),
        # a code then the name: an RPPS or ADELI code is the recipient
        ("10003456789 Claire MARTIN", Recipient("rpps", "10003456789")),
        ("123456789  Luc PETIT", Recipient("adeli", "123456789")),
        # the sender's own code for its correspondent, padded to 10, then a space
        ("MARCL      Claire MARTIN", Recipient("name", "Claire MARTIN")),
        ("MARCL     Claire MARTIN", Recipient("name", "Claire MARTIN")),
        (
            "MARCL      claire.martin@medecin.mssante.fr",
            Recipient("mssante", "claire.martin@medecin.mssante.fr"),
        ),
        # not a padded field: a civility, or a double space typed inside a name
        ("Dr        Claire MARTIN", Recipient("name", "Dr        Claire MARTIN")),
        ("Claire  MARTIN", Recipient("name", "Claire  MARTIN")),
    ],
)
def test_the_recipient_of_a_line_12_part(line: str, expected: Recipient) -> None:
    assert recipient(line) == expected


def test_a_laboratory_style_header_gives_its_recipient() -> None:
    """Lines 11 and 12 as a laboratory's software writes them (code field, then name)."""
    raw = hprim(
        "DURAND",
        "Alice",
        date(1970, 5, 4),
        "10003456789 Claire MARTIN",
        sender="76         LABO.EXEMPLE",
    )
    fields = parse_hprim(raw, "iso-8859-1")
    assert fields["sender"] == "76         LABO.EXEMPLE"
    assert recipient(fields["recipient"]) == Recipient("rpps", "10003456789")
