"""Professional identifiers: RPPS (11 digits, Luhn key) and ADELI (9 characters).

On a CPS card the national id in the certificate subject is ``8`` + RPPS or ``0`` + ADELI.
"""

import re

_RPPS_RE = re.compile(r"^[0-9]{11}$")
_ADELI_RE = re.compile(r"^[0-9][0-9AB][0-9]{7}$")


class InvalidIdentifier(ValueError):
    """An RPPS or ADELI number that is malformed."""


def luhn_valid(digits: str) -> bool:
    """Luhn check over a string of digits (the last digit is the key)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(prefix: str) -> str:
    """Append the Luhn key to ``prefix``."""
    for key in range(10):
        if luhn_valid(prefix + str(key)):
            return prefix + str(key)
    raise AssertionError("unreachable: one Luhn key always fits")


def validate_rpps(value: str) -> str:
    rpps = value.strip()
    if not _RPPS_RE.match(rpps):
        raise InvalidIdentifier("Le numéro RPPS doit comporter 11 chiffres.")
    if not luhn_valid(rpps):
        raise InvalidIdentifier("La clé du numéro RPPS est incorrecte : vérifiez la saisie.")
    return rpps


def validate_adeli(value: str) -> str:
    adeli = value.strip().upper()
    if not _ADELI_RE.match(adeli):
        raise InvalidIdentifier("Le numéro ADELI doit comporter 9 caractères.")
    return adeli


_FINESS_RE = re.compile(r"^(?:[0-9]{2}|2A|2B)[0-9]{7}$")
_SIRET_RE = re.compile(r"^[0-9]{14}$")
# La Poste's establishments: SIREN 356000000, the SIRET's digits sum to a multiple of 5.
_LA_POSTE = "356000000"


def validate_finess(value: str) -> str:
    """A FINESS number (9 characters: department, then 7 digits, the last one a key)."""
    finess = re.sub(r"\s", "", value).upper()
    if not _FINESS_RE.match(finess):
        raise InvalidIdentifier(
            "Le numéro FINESS doit comporter 9 caractères (département puis 7 chiffres)."
        )
    return finess


def validate_siret(value: str) -> str:
    """A SIRET number (14 digits, Luhn key; La Poste's follow their own rule)."""
    siret = re.sub(r"\s", "", value)
    if not _SIRET_RE.match(siret):
        raise InvalidIdentifier("Le numéro SIRET doit comporter 14 chiffres.")
    valid = (
        sum(int(c) for c in siret) % 5 == 0 if siret.startswith(_LA_POSTE) else luhn_valid(siret)
    )
    if not valid:
        raise InvalidIdentifier("La clé du numéro SIRET est incorrecte : vérifiez la saisie.")
    return siret


def national_id(rpps: str | None, adeli: str | None) -> str:
    """The national id a CPS card carries: ``8``+RPPS, else ``0``+ADELI."""
    if rpps:
        return "8" + rpps
    if adeli:
        return "0" + adeli
    raise InvalidIdentifier("Un professionnel doit avoir un numéro RPPS ou ADELI.")
