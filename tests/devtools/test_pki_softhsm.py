"""The test PKI and the SoftHSM2 "CPS cards" (real SoftHSM2, no mocks)."""

import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pkcs11 import Attribute, CertificateType, ObjectClass

from sisra.common.identifiers import luhn_complete
from sisra.devtools.pki import (
    CA_CERT_FILE,
    CA_KEY_FILE,
    TestCA,
    issue_professional_cert,
    load_or_create_ca,
    make_ca,
    make_crl,
    make_intermediate,
    save_ca,
)
from sisra.devtools.softhsm import (
    KEY_ID,
    KEY_LABEL,
    SOFTHSM_MODULE,
    SoftHSMEnv,
    make_card,
    make_softhsm_env,
    remove_card,
)

RPPS = luhn_complete("1000012345")
NATIONAL_ID = "8" + RPPS

needs_softhsm = pytest.mark.needs("softhsm")


@pytest.fixture(scope="module")
def root_ca() -> TestCA:
    return make_ca()


@pytest.fixture(scope="module")
def intermediate_ca(root_ca: TestCA) -> TestCA:
    return make_intermediate(root_ca)


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SoftHSMEnv]:
    env = make_softhsm_env(tmp_path / "softhsm")
    monkeypatch.setenv("SOFTHSM2_CONF", str(env.conf_path))
    pkcs11.lib(SOFTHSM_MODULE).reinitialize()
    yield env


def _leaf_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --- PKI -------------------------------------------------------------------------------


def test_root_ca_is_a_self_signed_ca(root_ca: TestCA) -> None:
    cert = root_ca.cert
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "IGC-Santé TEST AC Racine"
    )
    cert.verify_directly_issued_by(cert)
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert cert.not_valid_after_utc - cert.not_valid_before_utc >= timedelta(days=3650)


def test_intermediate_chain_verifies(root_ca: TestCA, intermediate_ca: TestCA) -> None:
    inter = intermediate_ca.cert
    inter.verify_directly_issued_by(root_ca.cert)
    basic = inter.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    assert inter.not_valid_after_utc <= root_ca.cert.not_valid_after_utc

    leaf = issue_professional_cert(
        intermediate_ca,
        _leaf_key().public_key(),
        national_id=NATIONAL_ID,
        first_name="Jeanne",
        last_name="Martin",
    )
    leaf.verify_directly_issued_by(inter)
    assert leaf.issuer == inter.subject
    with pytest.raises(ValueError):  # the root did not sign the leaf directly
        leaf.verify_directly_issued_by(root_ca.cert)
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = inter.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_professional_certificate_has_the_cps_shape(root_ca: TestCA) -> None:
    key = _leaf_key()
    before = datetime.now(UTC)
    cert = issue_professional_cert(
        root_ca,
        key.public_key(),
        national_id=NATIONAL_ID,
        first_name="Jeanne",
        last_name="Martin",
        profession="Infirmier",
        serial=1234567890123,
    )
    subject = cert.subject

    def value(oid: x509.ObjectIdentifier) -> object:
        return subject.get_attributes_for_oid(oid)[0].value

    assert value(NameOID.COUNTRY_NAME) == "FR"
    assert value(NameOID.ORGANIZATION_NAME) == "CPS TEST"
    assert value(NameOID.ORGANIZATIONAL_UNIT_NAME) == "Infirmier"
    assert value(NameOID.COMMON_NAME) == f"{NATIONAL_ID}/4567890123"
    assert value(NameOID.GIVEN_NAME) == "Jeanne"
    assert value(NameOID.SURNAME) == "Martin"
    assert cert.serial_number == 1234567890123

    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.content_commitment and not usage.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)

    assert before - timedelta(hours=1, minutes=1) < cert.not_valid_before_utc < before
    assert cert.not_valid_after_utc - before > timedelta(days=3 * 365 - 1)
    cert.verify_directly_issued_by(root_ca.cert)


def test_professional_certificate_validity_can_be_chosen(root_ca: TestCA) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    end = datetime(2021, 1, 1, tzinfo=UTC)
    cert = issue_professional_cert(
        root_ca,
        _leaf_key().public_key(),
        national_id="0" + "751234567",
        first_name="Paul",
        last_name="Durand",
        not_before=start,
        not_after=end,
        card_serial="42",
    )
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (start, end)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "0751234567/42"


def test_national_id_with_a_slash_is_refused(root_ca: TestCA) -> None:
    with pytest.raises(ValueError):
        issue_professional_cert(
            root_ca, _leaf_key().public_key(), national_id="8/1", first_name="A", last_name="B"
        )


def test_crl_lists_the_revoked_serial_and_is_signed_by_the_ca(
    root_ca: TestCA, intermediate_ca: TestCA
) -> None:
    revoked = issue_professional_cert(
        intermediate_ca,
        _leaf_key().public_key(),
        national_id=NATIONAL_ID,
        first_name="Jeanne",
        last_name="Martin",
    )
    valid = issue_professional_cert(
        intermediate_ca,
        _leaf_key().public_key(),
        national_id=NATIONAL_ID,
        first_name="Jeanne",
        last_name="Martin",
    )
    crl = make_crl(intermediate_ca, [revoked.serial_number], next_update_days=7)

    assert crl.issuer == intermediate_ca.cert.subject
    assert crl.is_signature_valid(intermediate_ca.key.public_key())
    assert not crl.is_signature_valid(root_ca.key.public_key())
    entry = crl.get_revoked_certificate_by_serial_number(revoked.serial_number)
    assert entry is not None
    assert crl.get_revoked_certificate_by_serial_number(valid.serial_number) is None
    assert len(crl) == 1
    assert crl.next_update_utc is not None
    delay = crl.next_update_utc - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < delay <= timedelta(days=7)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1


def test_save_and_reload_the_ca(tmp_path: Path) -> None:
    directory = tmp_path / "pki"
    created = load_or_create_ca(directory)
    key_mode = stat.S_IMODE((directory / CA_KEY_FILE).stat().st_mode)
    assert key_mode == 0o600
    assert (directory / CA_CERT_FILE).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")

    again = load_or_create_ca(directory)
    assert again.cert == created.cert
    assert again.key.private_numbers() == created.key.private_numbers()


def test_save_ca_tightens_existing_key_file(tmp_path: Path, root_ca: TestCA) -> None:
    (tmp_path / CA_KEY_FILE).write_text("old")
    (tmp_path / CA_KEY_FILE).chmod(0o644)
    save_ca(root_ca, tmp_path)
    assert stat.S_IMODE((tmp_path / CA_KEY_FILE).stat().st_mode) == 0o600
    assert load_or_create_ca(tmp_path).cert == root_ca.cert


def test_incomplete_ca_directory_is_refused(tmp_path: Path, root_ca: TestCA) -> None:
    save_ca(root_ca, tmp_path)
    (tmp_path / CA_KEY_FILE).unlink()
    with pytest.raises(ValueError, match="incomplète"):
        load_or_create_ca(tmp_path)


def test_mismatched_ca_key_is_refused(tmp_path: Path, root_ca: TestCA) -> None:
    save_ca(root_ca, tmp_path)
    other = make_ca()
    (tmp_path / CA_KEY_FILE).write_bytes(
        other.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ValueError, match="ne correspond pas"):
        load_or_create_ca(tmp_path)


# --- SoftHSM2 cards ----------------------------------------------------------------------


def test_softhsm_env_writes_its_configuration(tmp_path: Path) -> None:
    env = make_softhsm_env(tmp_path / "hsm")
    conf = env.conf_path.read_text()
    assert f"directories.tokendir = {env.token_dir}" in conf
    assert "objectstore.backend = file" in conf
    assert "log.level = ERROR" in conf
    assert env.token_dir.is_dir()
    assert env.environ()["SOFTHSM2_CONF"] == str(env.conf_path)


@needs_softhsm
def test_make_card_puts_a_non_extractable_key_and_its_certificate_on_the_token(
    hsm: SoftHSMEnv, intermediate_ca: TestCA
) -> None:
    card = make_card(
        hsm,
        intermediate_ca,
        label="Dr Martin",
        pin="1234",
        national_id=NATIONAL_ID,
        first_name="Jeanne",
        last_name="Martin",
    )
    card.certificate.verify_directly_issued_by(intermediate_ca.cert)
    assert card.national_id == NATIONAL_ID
    assert card.serial

    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label="Dr Martin")
    assert token.serial.decode() == card.serial
    assert token.slot.slot_id == card.slot_id
    with token.open(user_pin="1234") as session:
        private = session.get_key(ObjectClass.PRIVATE_KEY, label=KEY_LABEL)
        assert private[Attribute.ID] == KEY_ID
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.NEVER_EXTRACTABLE] is True
        assert private[Attribute.ALWAYS_SENSITIVE] is True
        assert private[Attribute.SIGN] is True
        assert private[Attribute.DECRYPT] is False
        assert private[Attribute.TOKEN] is True
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            private[Attribute.PRIVATE_EXPONENT]

        certs = list(
            session.get_objects(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                }
            )
        )
        assert len(certs) == 1
        cert_obj = certs[0]
        assert cert_obj[Attribute.ID] == KEY_ID
        assert cert_obj[Attribute.LABEL] == KEY_LABEL
        assert cert_obj[Attribute.VALUE] == card.certificate.public_bytes(
            serialization.Encoding.DER
        )
        assert cert_obj[Attribute.SUBJECT] == card.certificate.subject.public_bytes()

        # the certificate certifies the key generated on the token
        challenge = b"defi-aleatoire"
        signature = private.sign(challenge, mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS)
        public = card.certificate.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        assert public.key_size == 2048
        public.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())

    # the private key stays private: not even visible without logging in
    with token.open() as anonymous:
        assert list(anonymous.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})) == []
        assert len(list(anonymous.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}))) == 1


@needs_softhsm
def test_cards_are_separate_tokens_and_labels_are_unique(hsm: SoftHSMEnv, root_ca: TestCA) -> None:
    first = make_card(
        hsm, root_ca, label="A", pin="1111", national_id=NATIONAL_ID, first_name="A", last_name="A"
    )
    second = make_card(
        hsm, root_ca, label="B", pin="2222", national_id="0751234567", first_name="B", last_name="B"
    )
    assert first.serial != second.serial
    assert first.certificate.public_key() != second.certificate.public_key()
    with pytest.raises(ValueError, match="déjà"):
        make_card(
            hsm, root_ca, label="A", pin="1", national_id=NATIONAL_ID, first_name="A", last_name="A"
        )


@needs_softhsm
def test_remove_card_deletes_the_token(hsm: SoftHSMEnv, root_ca: TestCA) -> None:
    make_card(
        hsm,
        root_ca,
        label="Gone",
        pin="1234",
        national_id=NATIONAL_ID,
        first_name="A",
        last_name="B",
    )
    remove_card(hsm, "Gone")
    lib = pkcs11.lib(SOFTHSM_MODULE)
    lib.reinitialize()
    assert [t.label for t in lib.get_tokens(token_label="Gone")] == []
    with pytest.raises(RuntimeError, match="delete-token"):
        remove_card(hsm, "Gone")


@needs_softhsm
def test_make_card_refuses_a_store_that_is_not_active(
    tmp_path: Path, hsm: SoftHSMEnv, root_ca: TestCA
) -> None:
    other = make_softhsm_env(tmp_path / "other")
    with pytest.raises(RuntimeError, match="SOFTHSM2_CONF"):
        make_card(
            other,
            root_ca,
            label="X",
            pin="1234",
            national_id=NATIONAL_ID,
            first_name="A",
            last_name="B",
        )
