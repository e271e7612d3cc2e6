"""System programs some tests need, and what to do when one is missing.

`make test` must pass on a fresh Debian machine set up as the README says. Tests that need a
program the README lists as optional (Postfix and Dovecot, Chromium, SoftHSM2, HAProxy, Xvfb…)
skip with one line naming the Debian packages to install, and the run ends with one summary
line per missing program. CI sets ``SISRA_REQUIRE_SYSTEM=1`` (`.ci/run`): there a missing
program fails the tests that need it instead, so CI never goes green by skipping.

``SISRA_TEST_PRETEND_MISSING=postfix,chromium`` makes programs look missing: how the test of
this module proves the skip and the failure without uninstalling anything.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE_ENV = "SISRA_REQUIRE_SYSTEM"
PRETEND_ENV = "SISRA_TEST_PRETEND_MISSING"


def _which(*names: str) -> bool:
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/local/sbin"
    return all(shutil.which(name, path=path) for name in names)


def _qt() -> bool:
    try:
        from PySide6 import QtWidgets  # noqa: F401  (loads libEGL, libxkbcommon, fontconfig…)
    except ImportError:
        return False
    return True


def _softhsm() -> bool:
    from sisra.devtools import cards

    return cards.softhsm_available()


def _chromium() -> bool:
    return _which("chromium") or Path("/usr/bin/chromium").exists()


@dataclass(frozen=True)
class Program:
    label: str
    packages: str
    present: Callable[[], bool]


PROGRAMS: dict[str, Program] = {
    "postfix": Program(
        "Postfix et Dovecot (serveurs de messagerie MSSanté de test)",
        "postfix dovecot-core dovecot-imapd dovecot-lmtpd",
        lambda: (
            _which("postfix", "postconf", "dovecot")
            and Path("/usr/lib/postfix/sbin/master").exists()
        ),
    ),
    "chromium": Program("Chromium (pages web)", "chromium", _chromium),
    "cups": Program(
        "CUPS et cups-filters (file d'impression MonSisra ; tests lancés en root)",
        "cups cups-bsd cups-filters",
        lambda: (
            _which("cupsd", "lp", "lpadmin", "lpstat")
            and Path("/usr/lib/cups/filter/pdftopdf").exists()
            and os.geteuid() == 0
        ),
    ),
    "softhsm": Program("SoftHSM2 (cartes CPS de test)", "softhsm2", _softhsm),
    "haproxy": Program("HAProxy (plusieurs nœuds)", "haproxy", lambda: _which("haproxy")),
    "xvfb": Program(
        "Xvfb, trayer et xdotool (zone de notification réelle)",
        "xvfb trayer xdotool",
        lambda: _which("Xvfb", "trayer", "xdotool"),
    ),
    "qt": Program(
        "les bibliothèques de Qt (MonSisra)",
        "libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon-x11-0 libxcb-cursor0 "
        "libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 "
        "libxcb-randr0 libxcb-xinerama0",
        _qt,
    ),
    "node": Program(
        "Node.js et npm (Pro Santé Connect de test)", "nodejs npm", lambda: _which("node", "npm")
    ),
    "deb": Program(
        "dpkg-deb, objdump et xvfb-run (paquet MonSisra)",
        "binutils xvfb xdotool",
        lambda: (
            _which("dpkg-deb", "dpkg", "objdump", "xvfb-run", "xdotool")
            and importlib.util.find_spec("PyInstaller") is not None
        ),
    ),
}

_cache: dict[str, bool] = {}
missing_seen: dict[str, int] = {}


def present(name: str) -> bool:
    pretend = {p.strip() for p in os.environ.get(PRETEND_ENV, "").split(",") if p.strip()}
    if name in pretend:
        return False
    if name not in _cache:
        _cache[name] = PROGRAMS[name].present()
    return _cache[name]


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") == "1"


def message(name: str) -> str:
    program = PROGRAMS[name]
    return f"{program.label} manque : apt-get install {program.packages}"


def need(*names: str) -> None:
    """Skip the calling test (fail it under ``SISRA_REQUIRE_SYSTEM=1``) unless every program
    named is installed. For fixtures and test bodies."""
    for name in names:
        if not present(name):
            missing_seen[name] = missing_seen.get(name, 0) + 1
            if required():
                pytest.fail(f"{message(name)} ({REQUIRE_ENV}=1)", pytrace=False)
            pytest.skip(message(name))


def summary_lines() -> list[str]:
    return [
        f"{count} test(s) sautés : {message(name)}" for name, count in sorted(missing_seen.items())
    ]
