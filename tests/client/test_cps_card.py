"""The MonSisra CPS card library against real SoftHSM2 tokens standing in for cards."""

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, CertificateType, KeyType, MechanismFlag, ObjectClass, TokenFlag

from sisra.client import cps
from sisra.client.cps import (
    CardError,
    CardSlot,
    default_module_paths,
    list_cards,
    locate_module,
    open_card,
    tries_left_from_flags,
)
from sisra.common.identifiers import luhn_complete
from sisra.devtools.pki import TestCA, make_ca, make_intermediate
from sisra.devtools.softhsm import (
    SOFTHSM_MODULE,
    CardInfo,
    SoftHSMEnv,
    make_card,
    make_softhsm_env,
    remove_card,
)

MODULE = Path(SOFTHSM_MODULE)
NATIONAL_ID = "8" + luhn_complete("1000054321")
PIN = "4321"

pytestmark = pytest.mark.needs("softhsm")


@pytest.fixture(scope="module")
def issuing_ca() -> TestCA:
    return make_intermediate(make_ca())


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SoftHSMEnv]:
    env = make_softhsm_env(tmp_path / "softhsm")
    monkeypatch.setenv("SOFTHSM2_CONF", str(env.conf_path))
    monkeypatch.delenv(cps.MODULE_ENV, raising=False)
    pkcs11.lib(SOFTHSM_MODULE).reinitialize()
    yield env


@pytest.fixture
def card(hsm: SoftHSMEnv, issuing_ca: TestCA) -> CardInfo:
    return make_card(
        hsm,
        issuing_ca,
        label="CPS Jeanne Martin",
        pin=PIN,
        national_id=NATIONAL_ID,
        first_name="Jeanne",
        last_name="Martin",
    )


def _verify(certificate: x509.Certificate, signature: bytes, challenge: bytes) -> None:
    public = certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())


def test_list_open_read_and_sign(card: CardInfo) -> None:
    cards = list_cards(MODULE)
    assert cards == [
        CardSlot(slot_id=card.slot_id, reader=card.reader, label=card.label, serial=card.serial)
    ]

    with open_card(MODULE, PIN, cards[0]) as session:
        assert session.card == cards[0]
        assert session.certificate() == card.certificate
        assert session.certificate_der() == card.certificate.public_bytes(
            serialization.Encoding.DER
        )
        assert session.national_id() == NATIONAL_ID
        assert session.holder_name() == "Jeanne Martin"

        challenge = os.urandom(32)
        signature = session.sign(challenge)
        assert len(signature) == 256
        _verify(session.certificate(), signature, challenge)
        with pytest.raises(InvalidSignature):
            _verify(session.certificate(), signature, challenge + b"x")
    assert session.closed


def test_first_card_is_used_when_no_slot_is_given(card: CardInfo) -> None:
    with open_card(MODULE, PIN) as session:
        assert session.card.serial == card.serial
        assert session.national_id() == NATIONAL_ID


def test_the_chosen_card_is_opened_among_several(
    card: CardInfo, hsm: SoftHSMEnv, issuing_ca: TestCA
) -> None:
    other = make_card(
        hsm,
        issuing_ca,
        label="CPS Paul Durand",
        pin="9999",
        national_id="0751234567",
        first_name="Paul",
        last_name="Durand",
        profession="Pharmacien",
    )
    cards = {c.label: c for c in list_cards(MODULE)}
    assert set(cards) == {card.label, other.label}
    with open_card(MODULE, "9999", cards[other.label]) as session:
        assert session.national_id() == "0751234567"
        assert session.holder_name() == "Paul Durand"
        challenge = b"\x00" * 16 + os.urandom(16)
        _verify(other.certificate, session.sign(challenge), challenge)


def test_wrong_pin_reports_tries_left_and_the_right_pin_still_works(card: CardInfo) -> None:
    slot = list_cards(MODULE)[0]
    with pytest.raises(CardError) as caught:
        open_card(MODULE, "0000", slot)
    error = caught.value
    assert error.code == "wrong_pin"
    # SoftHSM2 raises CKF_USER_PIN_COUNT_LOW after a failure: 2 tries left on a CPS card
    assert error.tries_left == 2
    assert error.message == "Code PIN incorrect. Il vous reste 2 essais."
    assert str(error) == error.message

    with open_card(MODULE, PIN, slot) as session:
        challenge = os.urandom(32)
        _verify(card.certificate, session.sign(challenge), challenge)
    # a success clears the "count low" flag
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=card.label)
    assert not token.flags & TokenFlag.USER_PIN_COUNT_LOW


def test_empty_pin_is_refused_without_trying_it(card: CardInfo) -> None:
    with pytest.raises(CardError) as caught:
        open_card(MODULE, "")
    assert caught.value.code == "wrong_pin"
    assert caught.value.tries_left is None
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=card.label)
    assert not token.flags & TokenFlag.USER_PIN_COUNT_LOW  # the card was not asked


def test_no_card_present(hsm: SoftHSMEnv) -> None:
    assert list_cards(MODULE) == []  # SoftHSM2's blank "free" slot is not a card
    with pytest.raises(CardError) as caught:
        open_card(MODULE, PIN)
    assert caught.value.code == "no_card"
    assert caught.value.message == (
        "Aucune carte CPS détectée : insérez votre carte dans le lecteur."
    )


def test_card_removed_between_listing_and_opening(card: CardInfo, hsm: SoftHSMEnv) -> None:
    slot = list_cards(MODULE)[0]
    remove_card(hsm, card.label)
    # SoftHSM2 still lists the slot but C_GetTokenInfo now fails: no card is listed
    assert list_cards(MODULE) == []
    with pytest.raises(CardError) as caught:
        open_card(MODULE, PIN, slot)
    assert caught.value.code == "card_removed"
    assert "réinsérez" in caught.value.message


def test_another_card_in_the_same_reader_is_not_the_listed_one(
    card: CardInfo, hsm: SoftHSMEnv, issuing_ca: TestCA
) -> None:
    stale = list_cards(MODULE)[0]
    forged = CardSlot(slot_id=stale.slot_id, reader=stale.reader, label=stale.label, serial="x")
    with pytest.raises(CardError) as caught:
        open_card(MODULE, PIN, forged)
    assert caught.value.code == "card_removed"


def test_card_removed_during_the_session(card: CardInfo, hsm: SoftHSMEnv) -> None:
    session = open_card(MODULE, PIN)
    certificate = session.certificate()  # read while the card was there
    remove_card(hsm, card.label)
    with pytest.raises(CardError) as caught:
        session.sign(b"defi")
    assert caught.value.code == "card_removed"
    assert caught.value.message == (
        "La carte a été retirée pendant l'opération : réinsérez-la et recommencez."
    )
    assert session.certificate() == certificate
    session.close()  # does not raise although the card is gone
    session.close()


def test_closed_session_refuses_to_work(card: CardInfo) -> None:
    with open_card(MODULE, PIN) as session:
        pass
    with pytest.raises(CardError) as caught:
        session.sign(b"defi")
    assert caught.value.code == "card_error"
    with pytest.raises(CardError):
        session.certificate_der()


def test_sign_rejects_an_empty_challenge(card: CardInfo) -> None:
    with open_card(MODULE, PIN) as session, pytest.raises(ValueError):
        session.sign(b"")


def test_digest_info_fallback_gives_the_same_signature(card: CardInfo) -> None:
    """Modules without CKM_SHA256_RSA_PKCS get a DigestInfo through CKM_RSA_PKCS."""
    challenge = os.urandom(32)
    with open_card(MODULE, PIN) as session:
        expected = session.sign(challenge)
        key = session._key
        assert key is not None
        raw = key.sign(
            cps._SHA256_DIGEST_INFO + hashlib.sha256(challenge).digest(),
            mechanism=pkcs11.Mechanism.RSA_PKCS,
        )
    assert raw == expected


def test_authentication_certificate_is_preferred_to_the_signature_one(
    card: CardInfo, issuing_ca: TestCA
) -> None:
    """A real CPS also holds a signature (non-repudiation) key and certificate."""
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=card.label)
    with token.open(rw=True, user_pin=PIN) as rw:
        public, _ = rw.generate_keypair(
            KeyType.RSA,
            2048,
            id=b"\x02",
            label="CPS signature",
            store=True,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
        )
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
            int.from_bytes(public[Attribute.MODULUS], "big"),
        )
        signing_key: PublicKeyTypes = numbers.public_key()
        assert isinstance(signing_key, rsa.RSAPublicKey)
        now = datetime.now(UTC)
        signature_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SIGNATURE/123")]))
            .issuer_name(issuing_ca.cert.subject)
            .public_key(signing_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(issuing_ca.key, hashes.SHA256())
        )
        rw.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.ID: b"\x02",
                Attribute.LABEL: "CPS signature",
                Attribute.SUBJECT: signature_cert.subject.public_bytes(),
                Attribute.VALUE: signature_cert.public_bytes(serialization.Encoding.DER),
            }
        )

    with open_card(MODULE, PIN) as session:
        assert session.certificate() == card.certificate
        assert session.national_id() == NATIONAL_ID
        challenge = os.urandom(32)
        _verify(card.certificate, session.sign(challenge), challenge)


def test_card_without_certificate(hsm: SoftHSMEnv) -> None:
    """A blank but initialised token is not a CPS card."""
    init = ["--init-token", "--free", "--label", "vierge", "--pin", PIN, "--so-pin", "12345678"]
    subprocess.run(["softhsm2-util", *init], env=hsm.environ(), check=True, capture_output=True)
    pkcs11.lib(SOFTHSM_MODULE).reinitialize()
    with pytest.raises(CardError) as caught:
        open_card(MODULE, PIN)
    assert caught.value.code == "no_certificate"


# --- locating the cryptolib ---------------------------------------------------------------


def test_missing_module_path(tmp_path: Path) -> None:
    missing = tmp_path / "libcps3_pkcs11_lux.so"
    with pytest.raises(CardError) as caught:
        locate_module(str(missing))
    assert caught.value.code == "cryptolib_missing"
    assert "cryptolib CPS" in caught.value.message and "ATSAM" in caught.value.message
    assert str(missing) in caught.value.message

    for call in (lambda: list_cards(missing), lambda: open_card(missing, PIN)):
        with pytest.raises(CardError) as caught:
            call()
        assert caught.value.code == "cryptolib_missing"


def test_module_that_is_not_pkcs11(tmp_path: Path) -> None:
    bogus = tmp_path / "cps3_pkcs11_w64.dll"
    bogus.write_bytes(b"pas une bibliotheque")
    with pytest.raises(CardError) as caught:
        list_cards(bogus)
    assert caught.value.code == "cryptolib_missing"
    assert "n'a pas pu être chargée" in caught.value.message


def test_locate_module_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_env = tmp_path / "env.so"
    from_env.write_bytes(b"")
    explicit = tmp_path / "explicit.so"
    explicit.write_bytes(b"")

    monkeypatch.setenv("SISRA_PKCS11_MODULE", str(from_env))
    assert locate_module(str(explicit)) == explicit
    assert locate_module() == from_env

    monkeypatch.setenv("SISRA_PKCS11_MODULE", str(tmp_path / "absent.so"))
    with pytest.raises(CardError) as caught:
        locate_module()
    assert caught.value.code == "cryptolib_missing"

    monkeypatch.delenv("SISRA_PKCS11_MODULE")
    if any(path.is_file() for path in default_module_paths()):
        pytest.skip("une cryptolib CPS est installée sur ce poste")
    with pytest.raises(CardError) as caught:
        locate_module()
    assert caught.value.code == "cryptolib_missing"
    assert caught.value.message.startswith("La cryptolib CPS est introuvable sur ce poste.")


def test_default_module_paths_per_platform() -> None:
    windows = [str(p) for p in default_module_paths("win32")]
    assert any(p.endswith("cps3_pkcs11_w64.dll") for p in windows)
    assert any(p.endswith("cps3_pkcs11_w32.dll") for p in windows)
    assert any(p.endswith("cps_pkcs11_w32.dll") for p in windows)
    assert all("System32" in p for p in windows)
    mac = default_module_paths("darwin")
    assert Path("/usr/local/lib/libcps3_pkcs11_osx.dylib") in mac
    linux = default_module_paths("linux")
    assert linux[:3] == [
        Path("/usr/local/lib/libcps3_pkcs11_lux.so"),
        Path("/usr/lib/libcps3_pkcs11_lux.so"),
        Path("/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so"),
    ]


# --- PIN tries ----------------------------------------------------------------------------


def test_tries_left_from_flags() -> None:
    base = TokenFlag.TOKEN_INITIALIZED | TokenFlag.LOGIN_REQUIRED
    assert tries_left_from_flags(base) is None
    assert tries_left_from_flags(base | TokenFlag.USER_PIN_COUNT_LOW) == 2
    assert (
        tries_left_from_flags(base | TokenFlag.USER_PIN_COUNT_LOW | TokenFlag.USER_PIN_FINAL_TRY)
        == 1
    )
    assert tries_left_from_flags(base | TokenFlag.USER_PIN_FINAL_TRY) == 1
    assert tries_left_from_flags(base | TokenFlag.USER_PIN_LOCKED) == 0
    assert tries_left_from_flags(int(TokenFlag.USER_PIN_LOCKED | TokenFlag.USER_PIN_FINAL_TRY)) == 0
    # SO PIN flags say nothing about the user PIN
    assert tries_left_from_flags(base | TokenFlag.SO_PIN_COUNT_LOW) is None


def test_wrong_pin_messages() -> None:
    assert cps.wrong_pin_error(2).message == "Code PIN incorrect. Il vous reste 2 essais."
    one = cps.wrong_pin_error(1)
    assert one.message.startswith("Code PIN incorrect. Il vous reste 1 essai")
    assert one.tries_left == 1
    unknown = cps.wrong_pin_error(None)
    assert unknown.message == (
        "Code PIN incorrect. Attention : après plusieurs erreurs la carte se bloque."
    )
    assert unknown.code == "wrong_pin" and unknown.tries_left is None


def test_a_second_login_while_the_card_is_open_is_reported(card: CardInfo) -> None:
    with open_card(MODULE, PIN) as first:
        with pytest.raises(CardError) as caught:
            open_card(MODULE, PIN)
        assert caught.value.code == "card_error"
        assert "déjà ouverte" in caught.value.message
        challenge = os.urandom(32)
        _verify(card.certificate, first.sign(challenge), challenge)
    with open_card(MODULE, PIN) as again:
        assert again.national_id() == NATIONAL_ID


def test_card_library_does_not_pull_the_platform_in() -> None:
    code = (
        "import sys, sisra.client.cps; "
        "bad = [m for m in sys.modules if m.startswith(('sisra.platform', 'sisra.devtools'))]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
