"""Demo CPS cards: a test CA under the data folder and one SoftHSM2 token per professional.

``sisra dev make-card`` and the demo use it; the platform of the demo trusts that CA (see
:func:`demo_trust_env`). Development only: real cards come from the ANS.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from sisra.client.api import DEMO_SERVER
from sisra.common.french import de
from sisra.devtools.pki import TestCA, load_or_create_ca, make_crl
from sisra.devtools.softhsm import SOFTHSM_MODULE, SOFTHSM_UTIL, make_card, make_softhsm_env

DEMO_PIN = "1234"


def softhsm_available() -> bool:
    return Path(SOFTHSM_MODULE).exists() and shutil.which(SOFTHSM_UTIL) is not None


def demo_pki(data_dir: Path, pki_dir: Path | None = None) -> tuple[TestCA, Path, Path]:
    """The demo CA (created once), its certificate file and a fresh CRL file."""
    directory = (pki_dir or data_dir / "pki").resolve()
    ca = load_or_create_ca(directory)
    crl_path = directory / "ca.crl"
    crl_path.write_bytes(make_crl(ca, []).public_bytes(serialization.Encoding.PEM))
    return ca, directory / "ca.pem", crl_path


def demo_trust_env(data_dir: Path) -> dict[str, str]:
    """Environment for a platform that trusts the demo CA."""
    _ca, cert, crl = demo_pki(data_dir)
    return {"SISRA_CPS_TRUST_ANCHORS": f'["{cert}"]', "SISRA_CPS_CRLS": f'["{crl}"]'}


@dataclass(frozen=True)
class DemoCard:
    login: str
    holder: str
    pin: str
    conf_path: Path

    def instructions(self, server_url: str = DEMO_SERVER) -> str:
        """How to enrol with this card, as commands that work as printed against
        ``server_url`` (the address the demo serves)."""
        return (
            f"Carte CPS de test {de(self.holder)} ({self.login}), code PIN {self.pin}.\n"
            f"  MonSisra : SOFTHSM2_CONF={self.conf_path} SISRA_PKCS11_MODULE={SOFTHSM_MODULE} "
            f"SISRA_SERVER_URL={server_url} .venv/bin/sisra desktop\n"
            f"  en ligne de commande : SOFTHSM2_CONF={self.conf_path} .venv/bin/sisra client "
            f"add-user --card --module {SOFTHSM_MODULE} --server {server_url}"
        )


def saved_demo_card(data_dir: Path, login: str, holder: str = "") -> DemoCard | None:
    """The card ``make_demo_card`` left for ``login`` in the data folder (None: not made)."""
    conf = (data_dir / "softhsm" / login / "softhsm2.conf").resolve()
    tokens = conf.parent / "tokens"
    if not conf.exists() or not tokens.is_dir() or not any(tokens.iterdir()):
        return None
    return DemoCard(login, holder or login, DEMO_PIN, conf)


def make_demo_card(
    data_dir: Path,
    national_id: str,
    first_name: str,
    last_name: str,
    login: str,
    pin: str = DEMO_PIN,
    pki_dir: Path | None = None,
    softhsm_dir: Path | None = None,
) -> DemoCard:
    """A SoftHSM2 token holding a key generated on it and the professional's certificate."""
    ca, _cert, _crl = demo_pki(data_dir, pki_dir)
    # one store per holder, as one card per reader: the client opens the card it finds
    env = make_softhsm_env((softhsm_dir or data_dir / "softhsm" / login).resolve())
    os.environ["SOFTHSM2_CONF"] = str(env.conf_path)
    import pkcs11

    pkcs11.lib(SOFTHSM_MODULE).reinitialize()
    make_card(
        env,
        ca,
        label=f"CPS {login}"[:32],
        pin=pin,
        national_id=national_id,
        first_name=first_name,
        last_name=last_name,
    )
    return DemoCard(login, f"{first_name} {last_name}", pin, env.conf_path)
