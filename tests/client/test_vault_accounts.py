"""The encrypted vault and the local accounts of MonSisra, on real files."""

import base64
import hashlib
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sisra.client.accounts import AccountError, AccountSettings, AccountStore
from sisra.client.auth import Credentials
from sisra.client.vault import (
    KdfParams,
    Vault,
    VaultError,
    change_password,
    create_vault,
    open_vault,
    save_vault,
    unlock_vault,
)

FAST = KdfParams(time_cost=1, memory_cost=1024, parallelism=1)  # tests only
SERVER = "https://sisra.example.fr"
PW = "correct horse battery"


def creds(professional_id: str = "pro-1", server: str = SERVER, token: str = "at-1") -> dict:  # noqa: S107
    return Credentials(
        server_url=server,
        professional_id=professional_id,
        device_id=f"dev-{professional_id}",
        access_token=token,
        refresh_token=f"rt-{token}",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    ).to_dict()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def header(path: Path) -> dict:
    return json.loads(path.read_bytes().partition(b"\n")[0])


def reseal(raw: bytes) -> bytes:
    """Recompute the plain checksum, as someone tampering on purpose would."""
    body = raw[:-32]
    return body + hashlib.sha256(body).digest()


posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


# --- vault ------------------------------------------------------------------------------


@posix_only
def test_vault_roundtrip_with_the_default_costs(tmp_path):
    path = tmp_path / "vault.bin"
    payload = {"credentials": creds(token="secret-access-token"), "note": "é à ü"}
    create_vault(path, PW, payload)

    assert open_vault(path, PW) == payload
    head = header(path)
    assert (head["v"], head["kdf"], head["t"], head["m"], head["p"]) == (
        1,
        "argon2id",
        3,
        64 * 1024,
        2,
    )
    assert len(base64.b64decode(head["salt"])) == 16
    assert len(base64.b64decode(head["nonce"])) == 12
    assert mode(path) == 0o600
    raw = path.read_bytes()
    assert PW.encode() not in raw
    assert b"secret-access-token" not in raw
    assert [p.name for p in tmp_path.iterdir()] == ["vault.bin"]  # no temporary file left


def test_weak_password_is_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "vault.bin"
    with pytest.raises(VaultError) as err:
        create_vault(path, "court", {"a": 1}, kdf=FAST)
    assert err.value.code == "weak_password"
    assert "8 caractères" in err.value.message
    assert not path.exists()


def test_wrong_password_missing_and_existing_vault(tmp_path):
    path = tmp_path / "vault.bin"
    with pytest.raises(VaultError) as err:
        open_vault(path, PW)
    assert err.value.code == "vault_missing"

    create_vault(path, PW, {"a": 1}, kdf=FAST)
    with pytest.raises(VaultError) as err:
        open_vault(path, PW + "x")
    assert (err.value.code, err.value.message) == ("wrong_password", "Mot de passe incorrect.")

    with pytest.raises(VaultError) as err:
        create_vault(path, PW, {"a": 2}, kdf=FAST)
    assert err.value.code == "vault_exists"
    assert open_vault(path, PW) == {"a": 1}


def test_the_password_is_compared_after_unicode_normalisation(tmp_path):
    path = tmp_path / "vault.bin"
    create_vault(path, "Noe\u0301mie-2026", {"a": 1}, kdf=FAST)  # e + combining acute
    assert open_vault(path, "No\u00e9mie-2026") == {"a": 1}  # precomposed é


def test_a_tampered_header_is_detected(tmp_path):
    path = tmp_path / "vault.bin"
    create_vault(path, PW, {"a": 1}, kdf=FAST)
    original = path.read_bytes()

    # lower the memory cost in place
    path.write_bytes(original.replace(b'"m":1024', b'"m":2048', 1))
    with pytest.raises(VaultError) as err:
        open_vault(path, PW)
    assert err.value.code == "vault_corrupted"

    # even with the checksum recomputed the vault does not open: the key no longer matches
    path.write_bytes(reseal(original.replace(b'"m":1024', b'"m":2048', 1)))
    with pytest.raises(VaultError) as err:
        open_vault(path, PW)
    assert err.value.code in {"wrong_password", "vault_corrupted"}

    # absurd costs are refused before deriving anything
    path.write_bytes(reseal(original.replace(b'"m":1024', b'"m":999999999', 1)))
    with pytest.raises(VaultError) as err:
        open_vault(path, PW)
    assert err.value.code == "vault_corrupted"

    path.write_bytes(original)
    assert open_vault(path, PW) == {"a": 1}


def test_a_tampered_ciphertext_is_detected(tmp_path):
    path = tmp_path / "vault.bin"
    create_vault(path, PW, {"a": 1}, kdf=FAST)
    original = bytearray(path.read_bytes())
    start = original.index(b"\n") + 1

    flipped = bytearray(original)
    flipped[start + 3] ^= 0x01
    path.write_bytes(bytes(flipped))
    with pytest.raises(VaultError) as err:
        open_vault(path, PW)
    assert err.value.code == "vault_corrupted"

    # checksum recomputed: the password is right (check value) but the GCM tag is not
    path.write_bytes(reseal(bytes(flipped)))
    with pytest.raises(VaultError) as err:
        open_vault(path, PW)
    assert err.value.code == "vault_corrupted"

    for garbage in (b"", b"not a vault", bytes(original[: start + 5])):
        path.write_bytes(garbage)
        with pytest.raises(VaultError) as err:
            open_vault(path, PW)
        assert err.value.code == "vault_corrupted"


@posix_only
def test_save_uses_a_fresh_nonce_and_needs_the_password(tmp_path):
    path = tmp_path / "vault.bin"
    create_vault(path, PW, {"a": 1}, kdf=FAST)
    before = header(path)

    save_vault(path, PW, {"a": 2})
    after = header(path)
    assert open_vault(path, PW) == {"a": 2}
    assert after["salt"] == before["salt"] and after["nonce"] != before["nonce"]
    assert (after["t"], after["m"], after["p"]) == (1, 1024, 1)  # costs read from the file
    assert mode(path) == 0o600

    raw = path.read_bytes()
    with pytest.raises(VaultError) as err:
        save_vault(path, "not the password", {"a": 3})
    assert err.value.code == "wrong_password"
    assert path.read_bytes() == raw


@posix_only
def test_an_unlocked_vault_saves_with_its_cached_key(tmp_path):
    path = tmp_path / "vault.bin"
    unlocked = Vault(path, kdf=FAST).create(PW, {"n": 0})
    nonces = set()
    for n in range(1, 4):
        unlocked.save({"n": n})
        nonces.add(header(path)["nonce"])
        assert unlocked.payload == {"n": n}
    assert len(nonces) == 3
    assert open_vault(path, PW) == {"n": 3}
    assert mode(path) == 0o600

    again = unlock_vault(path, PW)
    assert again.payload == {"n": 3}
    assert repr(again) == f"UnlockedVault(path={str(path)!r}, unlocked)"

    # the password changed elsewhere: the cached key must not bring the old one back
    change_password(path, PW, "another password", kdf=FAST)
    with pytest.raises(VaultError) as err:
        again.save({"n": 4})
    assert err.value.code == "vault_changed"
    assert open_vault(path, "another password") == {"n": 3}

    again.lock()
    with pytest.raises(VaultError) as err:
        again.save({"n": 5})
    assert err.value.code == "vault_locked"


def test_change_password(tmp_path):
    path = tmp_path / "vault.bin"
    create_vault(path, PW, {"a": 1}, kdf=FAST)
    old_salt = header(path)["salt"]

    with pytest.raises(VaultError) as err:
        change_password(path, PW, "short", kdf=FAST)
    assert err.value.code == "weak_password"
    with pytest.raises(VaultError) as err:
        change_password(path, "wrong password", "new password 1", kdf=FAST)
    assert err.value.code == "wrong_password"

    change_password(path, PW, "new password 1", kdf=FAST)
    assert header(path)["salt"] != old_salt
    assert open_vault(path, "new password 1") == {"a": 1}
    with pytest.raises(VaultError) as err:
        open_vault(path, PW)
    assert err.value.code == "wrong_password"


def test_kdf_params_are_checked():
    with pytest.raises(ValueError):
        KdfParams(time_cost=0)
    with pytest.raises(ValueError):
        KdfParams(memory_cost=4, parallelism=1)


# --- accounts -----------------------------------------------------------------------------


def settings(
    name: str = "Dr Noémie Girard", pro: str = "pro-1", server: str = SERVER
) -> AccountSettings:
    return AccountSettings(
        display_name=name, login=f"{pro}@example.fr", professional_id=pro, server_url=server
    )


@pytest.fixture
def store(tmp_path) -> AccountStore:
    return AccountStore(tmp_path / "MonSisra", kdf=FAST)


@posix_only
def test_accounts_are_private_files(store):
    previous = os.umask(0o022)  # a usual umask: the store must not depend on it
    try:
        account = store.create(settings(), PW, creds())
    finally:
        os.umask(previous)

    assert account.folder == store.root / "accounts" / account.id
    assert mode(store.root) == 0o700
    assert mode(store.root / "accounts") == 0o700
    assert mode(account.folder) == 0o700
    assert mode(account.settings_path) == 0o600
    assert mode(account.vault_path) == 0o600
    assert account.state_path == account.folder / "state.db"
    assert sorted(p.name for p in account.folder.iterdir()) == ["account.json", "vault.bin"]
    assert sorted(p.name for p in (store.root / "accounts").iterdir()) == [account.id]

    data = json.loads(account.settings_path.read_text(encoding="utf-8"))
    assert data["display_name"] == "Dr Noémie Girard"
    assert data["launch_at_startup"] is True and data["notifications"] is True
    assert PW not in account.settings_path.read_text(encoding="utf-8")
    for path in account.folder.iterdir():
        assert b"at-1" not in path.read_bytes()
        assert PW.encode() not in path.read_bytes()


def test_two_accounts_on_one_root_stay_separate(store):
    girard = store.create(settings("Dr Noémie Girard", "pro-1"), "girard-password", creds("pro-1"))
    blanc = store.create(
        settings("Dr Arthur Blanc", "pro-2"), "blanc-password", creds("pro-2", token="at-2")
    )

    assert [a.id for a in store.list()] == [blanc.id, girard.id]  # by display name
    assert [a.display_name for a in AccountStore(store.root, kdf=FAST).list()] == [
        "Dr Arthur Blanc",
        "Dr Noémie Girard",
    ]

    assert store.unlock(girard.id, "girard-password").credentials["access_token"] == "at-1"
    assert store.unlock(blanc.id, "blanc-password").credentials["access_token"] == "at-2"
    for account_id, password in ((girard.id, "blanc-password"), (blanc.id, "girard-password")):
        with pytest.raises(AccountError) as err:
            store.unlock(account_id, password)
        assert (err.value.code, err.value.message) == (
            "wrong_password",
            "Mot de passe incorrect.",
        )


def test_a_second_account_for_the_same_professional_is_refused(store):
    store.create(settings(), PW, creds())
    duplicate = AccountSettings(
        display_name="Autre nom",
        login="autre",
        professional_id="pro-1",
        server_url=SERVER + "/",
    )
    with pytest.raises(AccountError) as err:
        store.create(duplicate, PW, creds())
    assert err.value.code == "account_exists"
    assert len(store.list()) == 1

    other_platform = "https://autre-plateforme.example.fr"
    store.create(
        settings("Autre plateforme", server=other_platform), PW, creds(server=other_platform)
    )
    assert len(store.list()) == 2


def test_create_checks_password_and_credentials(store):
    with pytest.raises(AccountError) as err:
        store.create(settings(), "short", creds())
    assert err.value.code == "weak_password"
    with pytest.raises(AccountError) as err:
        store.create(settings(pro="pro-1"), PW, creds("pro-9"))
    assert err.value.code == "credentials_mismatch"
    with pytest.raises(AccountError) as err:
        store.create(settings(), PW, {"access_token": "x"})
    assert err.value.code == "invalid_credentials"
    assert store.list() == []
    assert not store.root.exists()  # checked before anything is written

    # a failure halfway (secrets that JSON cannot hold) leaves no half-created account
    with pytest.raises(TypeError):
        store.create(settings(), PW, creds() | {"extra": object()})
    assert list((store.root / "accounts").iterdir()) == []


def test_reset_password_keeps_settings_and_local_state(store):
    account = store.create(settings(), PW, creds(token="old-token"))
    unlocked = store.unlock(account.id, PW)
    unlocked.set_secret("smtp", {"password": "x"})
    account.state_path.write_bytes(b"SQLite format 3\x00 pretend sync state")
    settings_before = account.settings_path.read_bytes()
    state_before = account.state_path.read_bytes()
    vault_before = account.vault_path.read_bytes()

    with pytest.raises(AccountError) as err:  # someone else's strong authentication
        store.reset_password(account.id, "brand new password", creds("pro-2"))
    assert err.value.code == "credentials_mismatch"
    with pytest.raises(AccountError) as err:
        store.reset_password(account.id, "short", creds(token="new-token"))
    assert err.value.code == "weak_password"
    assert account.vault_path.read_bytes() == vault_before

    reset = store.reset_password(account.id, "brand new password", creds(token="new-token"))
    assert reset.credentials["access_token"] == "new-token"
    assert reset.get_secret("smtp") is None  # nobody could read the old vault's other secrets

    assert account.settings_path.read_bytes() == settings_before
    assert account.state_path.read_bytes() == state_before
    assert account.vault_path.read_bytes() != vault_before
    with pytest.raises(AccountError) as err:
        store.unlock(account.id, PW)
    assert err.value.code == "wrong_password"
    assert store.unlock(account.id, "brand new password").credentials["access_token"] == (
        "new-token"
    )
    # a window still holding the old key cannot bring the old password back
    with pytest.raises(AccountError) as err:
        unlocked.save_credentials(creds(token="stale"))
    assert err.value.code == "vault_changed"
    assert sorted(p.name for p in account.folder.iterdir()) == [
        "account.json",
        "state.db",
        "vault.bin",
    ]


def test_settings_update_persists(store, tmp_path):
    original = creds()
    account = store.create(settings(), PW, original)
    updated = store.update_settings(
        account.id,
        display_name="Dr N. Girard",
        export_folder=str(tmp_path / "exports"),
        backfill_days=90,
        launch_at_startup=False,
        software_profile_id="hellodoc",
    )
    reread = AccountStore(store.root, kdf=FAST).get(account.id)
    assert reread == updated
    assert reread.settings.export_folder == tmp_path / "exports"
    assert reread.settings.backfill_days == 90
    assert reread.settings.launch_at_startup is False
    assert reread.settings.notifications is True
    assert reread.created_at == account.created_at.replace(microsecond=0)
    assert store.unlock(account.id, PW).credentials == original  # the vault is untouched

    for bad in (
        {"colour": "blue"},
        {"backfill_days": -1},
        {"professional_id": "pro-2"},
        {"software_profile_id": "foo"},  # `sisra client settings --profile foo`
    ):
        with pytest.raises(AccountError) as err:
            store.update_settings(account.id, **bad)
        assert err.value.code == "invalid_setting"
    assert store.get(account.id) == updated


def test_change_password_and_saved_credentials(store):
    account = store.create(settings(), PW, creds())
    unlocked = store.unlock(account.id, PW)
    unlocked.save_credentials(creds(token="refreshed"))
    with pytest.raises(AccountError) as err:
        unlocked.save_credentials(creds("pro-2"))
    assert err.value.code == "credentials_mismatch"
    assert "refreshed" not in repr(unlocked)

    store.change_password(account.id, PW, "new password 2")
    with pytest.raises(AccountError) as err:
        store.unlock(account.id, PW)
    assert err.value.code == "wrong_password"
    again = store.unlock(account.id, "new password 2")
    assert again.credentials["access_token"] == "refreshed"
    assert Credentials.from_dict(again.credentials).professional_id == "pro-1"


def test_remove_and_unknown_accounts(store):
    kept = store.create(settings("A", "pro-1"), PW, creds("pro-1"))
    gone = store.create(settings("B", "pro-2"), PW, creds("pro-2"))
    store.remove(gone.id)
    assert [a.id for a in store.list()] == [kept.id]
    assert not gone.folder.exists()
    assert sorted(p.name for p in (store.root / "accounts").iterdir()) == [kept.id]
    for account_id in (gone.id, "../../etc", "nope"):
        with pytest.raises(AccountError) as err:
            store.get(account_id)
        assert err.value.code == "account_not_found"
    with pytest.raises(AccountError) as err:
        store.remove(gone.id)
    assert err.value.code == "account_not_found"


def test_a_damaged_account_is_left_out_of_the_list(store):
    good = store.create(settings("A", "pro-1"), PW, creds("pro-1"))
    bad = store.create(settings("B", "pro-2"), PW, creds("pro-2"))
    bad.settings_path.write_text("{not json", encoding="utf-8")
    assert [a.id for a in store.list()] == [good.id]
    with pytest.raises(AccountError) as err:
        store.get(bad.id)
    assert err.value.code == "account_corrupted"

    bad.settings_path.write_text("{}", encoding="utf-8")
    good.vault_path.write_bytes(b"garbage")
    with pytest.raises(AccountError) as err:
        store.unlock(good.id, PW)
    assert err.value.code == "vault_corrupted"


def test_the_root_comes_from_monsisra_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MONSISRA_HOME", str(tmp_path / "elsewhere"))
    store = AccountStore(kdf=FAST)
    assert store.root == tmp_path / "elsewhere"
    assert store.list() == []
    store.create(settings(), PW, creds())
    assert (tmp_path / "elsewhere" / "accounts").is_dir()
