"""EncryptedVault: passphrases, no plaintext on disk, kinds of files kept apart.

(The shared dict interface runs on EncryptedVault through the ``kind``
fixture in the other test files.)"""

import os
import sqlite3

import pytest

import vaults
from conftest import PASSPHRASE

pytestmark = pytest.mark.new


def enc(name, passphrase=PASSPHRASE, **kw):
    kw.setdefault("kdf", "fast")
    return vaults.EncryptedVault(name, passphrase=passphrase, **kw)


@pytest.mark.parametrize(
    "create_with, open_with",
    [
        ("pässwörd", "pässwörd"),
        (b"p\xc3\xa4ssw\xc3\xb6rd", b"p\xc3\xa4ssw\xc3\xb6rd"),
        (bytearray(b"bytes-pw"), bytearray(b"bytes-pw")),
        ("pässwörd", "pässwörd".encode()),
        (b"bytes-pw", bytearray(b"bytes-pw")),
    ],
    ids=["str", "bytes", "bytearray", "str-then-utf8-bytes", "bytes-then-bytearray"],
)
def test_passphrase_types(create_with, open_with):
    v = enc("p", create_with)
    v["k"] = "v"
    v.close()
    w = enc("p", open_with, to_create=False)
    assert w["k"] == "v"


def test_bytearray_passphrase_is_zeroed():
    pw = bytearray(b"wipe me please")
    enc("z", pw)
    assert pw == bytearray(len(pw))
    pw2 = bytearray(b"wipe me please")
    w = enc("z", pw2, to_create=False)
    assert pw2 == bytearray(len(pw2))
    assert len(w) == 0


def test_wrong_passphrase_raises():
    v = enc("w", "right one")
    v["k"] = "v"
    v.close()
    with pytest.raises(vaults.WrongPassphrase) as e:
        enc("w", "wrong one")
    assert isinstance(e.value, vaults.VaultError)
    assert "wrong one" not in str(e.value)
    assert "right one" not in str(e.value)
    # Nothing was harmed by the failed attempt.
    assert enc("w", "right one")["k"] == "v"


def test_wrong_passphrase_with_another_type():
    enc("w2", "right").close()
    for wrong in [b"Right", bytearray(b"righ"), "right "]:
        with pytest.raises(vaults.WrongPassphrase):
            enc("w2", wrong)


def test_empty_vault_checks_the_passphrase_too():
    enc("empty", "one").close()
    with pytest.raises(vaults.WrongPassphrase):
        enc("empty", "two")


def test_no_passphrase_and_no_keyring_raises():
    with pytest.raises(vaults.VaultError):
        vaults.EncryptedVault("none", kdf="fast")
    with pytest.raises(vaults.VaultError):
        vaults.EncryptedVault("none", passphrase=None, keyring=False, kdf="fast")


def test_keyring_with_nothing_stored_and_no_passphrase_raises(root):
    # Whether or not this machine has a keyring, there is no key for a vault never created.
    with pytest.raises(vaults.VaultError):
        vaults.EncryptedVault("never-created", keyring=True, kdf="fast")


def test_missing_with_to_create_false(root):
    with pytest.raises(vaults.VaultError):
        enc("missing", to_create=False)
    assert not os.path.exists(os.path.join(str(root), "missing.db"))


def test_attributes(root):
    v = enc("attrs", thread_safe=True)
    assert v.vault_name == "attrs"
    assert v.db_path == os.path.join(str(root), "attrs.db")
    assert v._thread_safe is True
    assert isinstance(v, vaults.EncryptedVault)


def test_default_kdf_works():
    v = vaults.EncryptedVault("slow", passphrase="pw")
    v["k"] = [1, 2]
    v.close()
    assert vaults.EncryptedVault("slow", passphrase="pw", to_create=False)["k"] == [1, 2]
    with pytest.raises(vaults.WrongPassphrase):
        vaults.EncryptedVault("slow", passphrase="pW")


NAME_SENTINEL = "Zq7NameSentinel"
VALUE_SENTINEL = "Xw3ValueSentinel"
PASS_SENTINEL = "Pp9PassphraseSentinel"


def file_bytes(path):
    data = b""
    for suffix in ("", "-wal", "-journal"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as f:
                data += f.read()
    return data


def encodings(text):
    return [text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-16-be"), text.lower().encode()]


def test_no_name_value_or_passphrase_in_the_file(root):
    v = enc("secret", PASS_SENTINEL)
    for i in range(50):
        v[f"{NAME_SENTINEL}-{i}"] = f"{VALUE_SENTINEL}-{i}"
    v.put(NAME_SENTINEL, {"nested": [VALUE_SENTINEL, VALUE_SENTINEL.encode()]})
    v.put(NAME_SENTINEL + "-ttl", VALUE_SENTINEL, ttl=1000)
    v.put_many({NAME_SENTINEL + "-bulk": VALUE_SENTINEL.encode()})
    with v.transaction():
        v[NAME_SENTINEL + "-tx"] = VALUE_SENTINEL
    # While it is open (the -wal holds the latest pages) ...
    data = file_bytes(v.db_path)
    assert len(data) > 4096
    for s in (NAME_SENTINEL, VALUE_SENTINEL, PASS_SENTINEL):
        for needle in encodings(s):
            assert needle not in data, s
    # ... and after it is closed.
    v.close()
    data = file_bytes(v.db_path)
    for s in (NAME_SENTINEL, VALUE_SENTINEL, PASS_SENTINEL):
        for needle in encodings(s):
            assert needle not in data, s
    # The check can fail: a plain vault with the same content has them.
    p = vaults.Vault("plain-control")
    p[NAME_SENTINEL] = VALUE_SENTINEL
    p.close()
    plain = file_bytes(p.db_path)
    assert NAME_SENTINEL.encode() in plain and VALUE_SENTINEL.encode() in plain
    # And everything reads back.
    w = enc("secret", PASS_SENTINEL)
    assert w[NAME_SENTINEL + "-tx"] == VALUE_SENTINEL
    assert len(w) == 54


def test_deleted_entries_do_not_linger_in_plaintext():
    v = enc("del", PASS_SENTINEL)
    v[NAME_SENTINEL] = VALUE_SENTINEL
    del v[NAME_SENTINEL]
    data = file_bytes(v.db_path)
    assert NAME_SENTINEL.encode() not in data
    assert VALUE_SENTINEL.encode() not in data


def test_plain_file_opened_as_encrypted_raises(root):
    p = vaults.Vault("plainfile")
    p["k"] = "v"
    p.close()
    with pytest.raises(vaults.VaultError):
        enc("plainfile")
    with pytest.raises(vaults.VaultError):
        enc("plainfile", to_create=False)
    assert vaults.Vault("plainfile")["k"] == "v"


def test_encrypted_file_opened_as_plain_raises(root):
    e = enc("encfile")
    e["k"] = "v"
    e.close()
    with pytest.raises(vaults.VaultError):
        vaults.Vault("encfile")
    with pytest.raises(vaults.VaultError):
        vaults.Vault("encfile", to_create=False)
    assert enc("encfile")["k"] == "v"


def longest_blobs(path, count):
    """(table, column, rowid, bytes) of the ``count`` longest blobs in the file, longest first."""
    con = sqlite3.connect(path)
    try:
        found = []
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
            for c in cols:
                for rowid, val in con.execute(f'SELECT rowid, "{c}" FROM "{t}"'):
                    if isinstance(val, bytes):
                        found.append((len(val), t, c, rowid, val))
        found.sort(reverse=True)
        return [(t, c, rowid, val) for _, t, c, rowid, val in found[:count]]
    finally:
        con.close()


def write_blob(path, table, column, rowid, value):
    con = sqlite3.connect(path)
    try:
        con.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?', (value, rowid))
        con.commit()
    finally:
        con.close()


def test_a_tampered_value_raises_integrity_error(root):
    v = enc("tamper")
    v["k"] = "x" * 3000
    v["other"] = "fine"
    v.close()
    [(table, column, rowid, blob)] = longest_blobs(v.db_path, 1)
    assert len(blob) >= 3000
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x01
    write_blob(v.db_path, table, column, rowid, bytes(flipped))
    w = enc("tamper")
    with pytest.raises(vaults.IntegrityError):
        w["k"]
    assert w["other"] == "fine"


def test_swapped_values_raise_integrity_error(root):
    v = enc("swap")
    v["first"] = "a" * 3000
    v["second"] = "b" * 3000
    v.close()
    (t1, c1, r1, b1), (t2, c2, r2, b2) = longest_blobs(v.db_path, 2)
    assert (t1, c1) == (t2, c2) and r1 != r2
    write_blob(v.db_path, t1, c1, r1, b2)
    write_blob(v.db_path, t2, c2, r2, b1)
    w = enc("swap")
    with pytest.raises(vaults.IntegrityError):
        w["first"]
    with pytest.raises(vaults.IntegrityError):
        w["second"]


# -- the OS keyring ------------------------------------------------------------------------


def keyring_open(name, **kw):
    """Opens with keyring=True; fails (not skips) with the reason when the keyring is unusable."""
    try:
        return vaults.EncryptedVault(name, keyring=True, kdf="fast", **kw)
    except vaults.VaultError as e:
        text = str(e)
        if "keyring" in text and ("no access" in text or "no usable" in text or "unusable" in text):
            pytest.fail(
                f"the OS keyring is unusable here ({text}): run under `keyctl session -` "
                "as CI does, or deselect these tests with -m 'not keyring'"
            )
        raise


@pytest.mark.keyring
def test_a_passphrase_stores_the_key_in_the_keyring_for_later_opens():
    v = keyring_open("kr", passphrase="the passphrase")
    v["k"] = "v"
    v.close()
    w = keyring_open("kr")
    assert w["k"] == "v"
    w["k2"] = 2
    w.close()
    # The passphrase still opens it too.
    assert enc("kr", "the passphrase")["k2"] == 2


@pytest.mark.keyring
def test_a_wrong_passphrase_stores_nothing_in_the_keyring():
    enc("kr2", "right").close()
    with pytest.raises(vaults.WrongPassphrase):
        keyring_open("kr2", passphrase="wrong")
    with pytest.raises(vaults.VaultError):
        vaults.EncryptedVault("kr2", keyring=True, kdf="fast")


@pytest.mark.keyring
def test_the_keyring_key_is_per_vault():
    keyring_open("kr-a", passphrase="a").close()
    enc("kr-b", "b").close()
    with pytest.raises(vaults.VaultError):
        vaults.EncryptedVault("kr-b", keyring=True, kdf="fast")
    assert len(keyring_open("kr-a")) == 0
