import pytest

from sisra.common.identifiers import (
    InvalidIdentifier,
    luhn_complete,
    national_id,
    validate_adeli,
    validate_rpps,
)
from sisra.common.ins import InvalidINS, ins_key, validate_ins, with_key
from sisra.common.text import fold


def test_ins_key_is_97_minus_mod():
    first13 = "1850375123456"
    assert ins_key(first13) == 97 - int(first13) % 97
    assert validate_ins(with_key(first13)) == with_key(first13)


def test_ins_accepts_spaces_and_rejects_a_wrong_key():
    good = with_key("2690549588157")
    spaced = f"{good[0]} {good[1:3]} {good[3:5]} {good[5:7]} {good[7:10]} {good[10:13]} {good[13:]}"
    assert validate_ins(spaced) == good
    wrong = good[:13] + f"{(int(good[13:]) % 97) + 1:02d}"
    with pytest.raises(InvalidINS, match="clé"):
        validate_ins(wrong)


@pytest.mark.parametrize(("dept", "substitute"), [("2A", "19"), ("2B", "18")])
def test_corsican_departments_are_replaced_for_the_key(dept, substitute):
    first13 = f"18003{dept}004012"
    expected = 97 - int(first13.replace(dept, substitute)) % 97
    assert ins_key(first13) == expected
    assert validate_ins(with_key(first13).lower()) == with_key(first13)


@pytest.mark.parametrize(
    "bad", ["", "123", "5850375123456xx", "18503751234567890", "1850375ABC45612"]
)
def test_malformed_ins(bad):
    with pytest.raises(InvalidINS):
        validate_ins(bad)


def test_rpps_luhn():
    rpps = luhn_complete("1000123456")
    assert validate_rpps(rpps) == rpps
    broken = rpps[:-1] + str((int(rpps[-1]) + 1) % 10)
    with pytest.raises(InvalidIdentifier):
        validate_rpps(broken)
    with pytest.raises(InvalidIdentifier):
        validate_rpps("12345")


def test_national_id_prefixes():
    assert national_id("10001234567", None) == "810001234567"
    assert national_id(None, "691234567") == "0691234567"
    assert validate_adeli("2a1234567") == "2A1234567"
    with pytest.raises(InvalidIdentifier):
        national_id(None, None)


def test_fold_ignores_accents_case_and_separators():
    assert fold("Élodie  D'Aubigné-Lévêque") == "elodie d aubigne leveque"
    assert fold("CŒUR") == "coeur"


def test_only_a_qualified_identity_gives_its_ins_out() -> None:
    from sisra.common.ins import (
        DEFAULT_PATIENT_ID_OID,
        IDENTITY_STATUSES,
        OID_NIR_TEST,
        outgoing_patient_id,
        shareable_ins,
    )

    ins = "269046912304567"
    for status in IDENTITY_STATUSES:
        ident = outgoing_patient_id(
            ins=ins, ins_oid=OID_NIR_TEST, identity_status=status, local_id="p-1"
        )
        if status == "qualifiée":
            assert (ident.value, ident.oid, ident.is_ins) == (ins, OID_NIR_TEST, True)
        else:
            assert (ident.value, ident.oid, ident.is_ins) == ("p-1", DEFAULT_PATIENT_ID_OID, False)
            assert shareable_ins(ins, status) is None
    assert shareable_ins(ins, None) is None  # a status not given is not « qualifiée »


def test_the_platform_patient_oid_setting_is_checked() -> None:
    import pytest
    from pydantic import ValidationError

    from sisra.platform.settings import Settings

    assert Settings(patient_id_oid=" 1.2.250.1.999.1.1 ").patient_id_oid == "1.2.250.1.999.1.1"
    for bad in ("1.2.250.1.213.1.4.8", "pas un oid", "1." + "2" * 70):
        with pytest.raises(ValidationError, match="SISRA_PATIENT_ID_OID"):
            Settings(patient_id_oid=bad)
