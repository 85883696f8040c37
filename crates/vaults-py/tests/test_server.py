"""Vaults on a PostgreSQL server: a URL instead of a name, passed through
unchanged to the library, shown without its password, and the server's
failures as typed exceptions.

Needs ``VAULTS_TEST_PG_URL`` (as ``.ci/pg start DIR`` prints it). Without
it, every test here fails under ``VAULTS_TEST_ENGINE=postgres`` (the CI's
PostgreSQL step) and is skipped, saying why, otherwise; ``-m 'not server'``
deselects them.
"""

import logging
import os
import re
import uuid

import pytest

import vaults

pytestmark = [pytest.mark.new, pytest.mark.server]

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def base_url():
    """The test server's URL (no vault)."""
    url = os.environ.get("VAULTS_TEST_PG_URL")
    if not url:
        why = (
            "VAULTS_TEST_PG_URL is not set: start a throwaway server with "
            "`.ci/pg start DIR` and export the URL it prints"
        )
        if os.environ.get("VAULTS_TEST_ENGINE") == "postgres":
            pytest.fail(why)
        pytest.skip(why)
    return url


def _parts(base_url):
    m = re.fullmatch(r"postgres(?:ql)?://([^:@/]+):([^@]+)@([^?]+)", base_url)
    assert m, f"VAULTS_TEST_PG_URL is not postgres://USER:PASSWORD@HOST:PORT/DB: {m}"
    return m.group(1), m.group(2), m.group(3)


def _encoded(password):
    # Every byte percent-encoded: the server sees the same password, and the
    # URL's password part is a string no message holds by chance (the test
    # server's password, `vaults`, is also its user's name).
    return "".join(f"%{b:02X}" for b in password.encode())


@pytest.fixture
def server(base_url):
    """(url_of(name), the encoded password part, user, host/db)."""
    user, password, host_db = _parts(base_url)
    secret = _encoded(password)

    def url_of(name=None):
        name = name or f"py-{uuid.uuid4().hex}"
        return f"postgres://{user}:{secret}@{host_db}?vault={name}"

    return url_of, secret, user, host_db


def test_a_plain_vault_on_a_server(server, root, caplog):
    url_of, secret, _, _ = server
    url = url_of()
    caplog.set_level(logging.DEBUG, logger="vaults")
    v = vaults.Vault(url)
    try:
        v["api"] = {"token": "t-1", "n": [1, 2]}
        v.put("session", "s", ttl=3600)
        assert v["api"] == {"token": "t-1", "n": [1, 2]}
        assert sorted(v.keys()) == ["api", "session"]
        assert len(v) == 2
        assert 3590 < v.ttl("session") <= 3600
        assert v.expire("api", 60)
        assert v.persist("api")
        with v.transaction():
            v["a"] = 1
            v["b"] = 2
        assert v.get_many(["a", "b"]) == {"a": 1, "b": 2}
        # Another handle on the same URL sees the same vault.
        other = vaults.Vault(url, to_create=False)
        assert other["a"] == 1
        other.close()
        # Shown without the password; nothing in the root folder.
        for shown in (v.vault_name, v.db_path, repr(v)):
            assert secret not in shown, shown
            assert ":***@" in shown, shown
        assert not root.exists() or not any(root.iterdir())
    finally:
        v.delete_vault()
    with pytest.raises(vaults.VaultError):
        vaults.Vault(url, to_create=False)
    for record in caplog.records:
        assert secret not in record.getMessage(), record.getMessage()


def test_an_encrypted_vault_on_a_server(server):
    url_of, secret, _, _ = server
    url = url_of()
    v = vaults.EncryptedVault(url, passphrase=PASSPHRASE, kdf="fast")
    try:
        v["db/password"] = "hunter2"
        v.close()
        v = vaults.EncryptedVault(url, passphrase=bytearray(PASSPHRASE.encode()), to_create=False)
        assert v["db/password"] == "hunter2"
        with pytest.raises(vaults.WrongPassphrase):
            vaults.EncryptedVault(url, passphrase="not it", to_create=False)
        # A plain handle is refused: the vault is encrypted.
        with pytest.raises(vaults.VaultError):
            vaults.Vault(url, to_create=False)
    finally:
        v.delete_vault()


def test_a_closed_server_vault_is_not_deleted_behind_its_back(server):
    url_of, _, _, _ = server
    url = url_of()
    v = vaults.Vault(url)
    v["k"] = "v"
    v.close()
    with pytest.raises(vaults.VaultClosed):
        v.delete_vault()
    v = vaults.Vault(url, to_create=False)
    assert v["k"] == "v"
    v.delete_vault()


def test_an_unreachable_server_is_vault_unavailable():
    password = "unreachable-Pw-7f3a9"
    url = f"postgres://app:{password}@127.0.0.1:1/db?vault=x&connect_timeout=5"
    for open_it in (
        lambda: vaults.Vault(url),
        lambda: vaults.EncryptedVault(url, passphrase=PASSPHRASE, kdf="fast"),
    ):
        with pytest.raises(vaults.VaultUnavailable) as caught:
            open_it()
        assert isinstance(caught.value, ConnectionError)
        assert password not in str(caught.value)
        assert "postgres://app:***@127.0.0.1:1/db" in str(caught.value)


def test_a_wrong_password_is_access_denied(server, monkeypatch):
    _, _, user, host_db = server
    wrong = "not-the-Password-q8z1"
    with pytest.raises(vaults.AccessDenied) as caught:
        vaults.Vault(f"postgres://{user}:{wrong}@{host_db}?vault=x")
    assert isinstance(caught.value, PermissionError)
    assert wrong not in str(caught.value)
    # The same through PGPASSWORD, for a URL without a password.
    monkeypatch.setenv("PGPASSWORD", wrong)
    with pytest.raises(vaults.AccessDenied) as caught:
        vaults.Vault(f"postgres://{user}@{host_db}?vault=x")
    assert wrong not in str(caught.value)


def test_pgpassword_serves_a_url_without_one(server, monkeypatch, base_url):
    url_of, _, user, host_db = server
    _, password, _ = _parts(base_url)
    monkeypatch.setenv("PGPASSWORD", password)
    v = vaults.Vault(f"postgres://{user}@{host_db}?vault=py-{uuid.uuid4().hex}")
    v["k"] = 1
    assert v.vault_name.startswith(f"postgres://{user}@")
    v.delete_vault()


def test_bad_urls_are_invalid_input(server):
    _, _, user, host_db = server
    for url in (
        f"postgres://{user}:bad-Url-Pw-41@{host_db}",  # no vault=
        f"postgres://{user}:bad-Url-Pw-41@{host_db}?vault=x&pool=0",
    ):
        with pytest.raises(vaults.InvalidInput) as caught:
            vaults.Vault(url)
        assert "bad-Url-Pw-41" not in str(caught.value)
    with pytest.raises(vaults.InvalidInput):
        vaults.migrate_legacy(f"postgres://{user}@{host_db}?vault=x")
