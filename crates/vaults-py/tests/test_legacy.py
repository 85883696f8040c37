"""Files written by the original module: recognised, refused, migrated."""

import hashlib
import math
import os
import pickle
import shutil
import sqlite3
import subprocess

import pytest

import vaults
from conftest import PYTHON
import legacy_writer
from legacy_writer import SAMPLE, read_rows, serialize, write_legacy

pytestmark = pytest.mark.new

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "legacy-original.db")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def folder_state(folder):
    return {name: digest(os.path.join(folder, name)) for name in sorted(os.listdir(folder))}


def expected(value):
    """What the original itself returns for a msgpack value: tuples as lists."""
    if isinstance(value, (list, tuple)):
        return [expected(x) for x in value]
    if isinstance(value, dict):
        return {k: expected(x) for k, x in value.items()}
    return value


def same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


def legacy(root, name, items, **kw):
    return write_legacy(os.path.join(str(root), f"{name}.db"), items, **kw)


# -- the writer matches the original -------------------------------------------------


def test_the_writer_writes_what_the_original_wrote(tmp_path):
    # fixtures/legacy-original.db was written by the original module from SAMPLE
    # (and one set, which it pickled): the writer produces the same rows.
    ours = write_legacy(tmp_path / "ours.db", SAMPLE)
    theirs = {k: val for k, val in read_rows(FIXTURE)}
    mine = {k: val for k, val in read_rows(ours)}
    pickled_key = serialize("pickled_set")
    assert theirs.pop(pickled_key)[:1] == b"P"
    assert theirs == mine
    con = sqlite3.connect(FIXTURE)
    [(sql,)] = con.execute("SELECT sql FROM sqlite_master WHERE name = 'dict'").fetchall()
    con.close()
    assert sql == "CREATE TABLE dict (key BLOB PRIMARY KEY, value BLOB)"


# -- recognised and refused -----------------------------------------------------------


def test_opening_a_legacy_file_raises_legacy_format_error(root):
    path = legacy(root, "old", {"a": 1})
    before = folder_state(str(root))
    with pytest.raises(vaults.LegacyFormatError) as e:
        vaults.Vault("old")
    assert "migrate_legacy" in str(e.value)
    assert isinstance(e.value, vaults.VaultError)
    with pytest.raises(vaults.LegacyFormatError):
        vaults.Vault("old", to_create=False)
    assert folder_state(str(root)) == before
    assert read_rows(path) == [(serialize("a"), serialize(1))]


def test_the_fixture_written_by_the_original_is_recognised(root):
    shutil.copy(FIXTURE, os.path.join(str(root), "fixture.db"))
    with pytest.raises(vaults.LegacyFormatError):
        vaults.Vault("fixture")


def test_an_empty_legacy_file_is_recognised(root):
    legacy(root, "empty", {})
    with pytest.raises(vaults.LegacyFormatError):
        vaults.Vault("empty")
    assert vaults.migrate_legacy("empty") == 0
    assert len(vaults.Vault("empty")) == 0


def test_opening_a_legacy_file_as_encrypted_raises(root):
    legacy(root, "old", {"a": 1})
    before = folder_state(str(root))
    with pytest.raises(vaults.VaultError):
        vaults.EncryptedVault("old", passphrase="pw", kdf="fast")
    assert folder_state(str(root)) == before


# -- migration ---------------------------------------------------------------------------------


def test_migrate_converts_every_msgpack_value_exactly(root):
    path = legacy(root, "old", SAMPLE)
    original = digest(path)
    assert vaults.migrate_legacy("old") == len(SAMPLE)
    assert os.path.exists(path + ".legacy")
    assert digest(path + ".legacy") == original
    v = vaults.Vault("old", to_create=False)
    assert sorted(v.keys()) == sorted(SAMPLE)
    items = dict(v.items())
    for k, val in SAMPLE.items():
        assert same(items[k], expected(val)), k
        if val is not None:
            assert same(v[k], expected(val)), k
    assert items["none"] is None
    assert v["bytes_keys"] == {b"k1": 1, b"k2": [b"v"]}


def test_migrate_the_fixture_written_by_the_original(root):
    path = os.path.join(str(root), "fixture.db")
    shutil.copy(FIXTURE, path)
    before = folder_state(str(root))
    # It holds one pickled set: refused by default, and not storable even when allowed.
    with pytest.raises(vaults.LegacyFormatError):
        vaults.migrate_legacy("fixture")
    assert folder_state(str(root)) == before
    with pytest.raises((vaults.VaultError, TypeError)):
        vaults.migrate_legacy("fixture", allow_pickle=True)
    assert folder_state(str(root)) == before
    # Without that row, everything the original wrote converts exactly.
    con = sqlite3.connect(path)
    con.execute("DELETE FROM dict WHERE key = ?", (serialize("pickled_set"),))
    con.commit()
    con.close()
    assert vaults.migrate_legacy("fixture") == len(SAMPLE)
    items = dict(vaults.Vault("fixture").items())
    assert sorted(items) == sorted(SAMPLE)
    for k, val in SAMPLE.items():
        assert same(items[k], expected(val)), k


def test_migrate_by_path(tmp_path):
    folder = tmp_path / "elsewhere" / "vaults"
    path = write_legacy(folder / "by-path.db", {"a": [1, 2], "b": "two"})
    assert vaults.migrate_legacy(path) == 2
    assert os.path.exists(path + ".legacy")
    vaults.set_root_path(tmp_path / "elsewhere")
    assert dict(vaults.Vault("by-path").items()) == {"a": [1, 2], "b": "two"}


def test_migrate_by_pathlike(tmp_path):
    path = tmp_path / "pl" / "vaults" / "p.db"
    write_legacy(path, {"a": 1})
    assert vaults.migrate_legacy(path) == 1
    vaults.set_root_path(tmp_path / "pl")
    assert vaults.Vault("p")["a"] == 1


def test_migrated_vault_is_a_normal_vault(root):
    legacy(root, "old", {"a": 1})
    vaults.migrate_legacy("old")
    v = vaults.Vault("old")
    v["b"] = 2
    v.put("c", 3, ttl=60)
    with v.transaction():
        del v["a"]
    assert dict(v.items()) == {"b": 2, "c": 3}


def test_migrating_twice_raises_vault_error(root):
    legacy(root, "old", {"a": 1})
    vaults.migrate_legacy("old")
    path = os.path.join(str(root), "old.db")
    before = (digest(path), digest(path + ".legacy"))
    with pytest.raises(vaults.VaultError):
        vaults.migrate_legacy("old")
    assert (digest(path), digest(path + ".legacy")) == before
    assert vaults.Vault("old")["a"] == 1


def test_migrating_a_new_format_vault_raises_vault_error(root):
    v = vaults.Vault("new")
    v["a"] = 1
    v.close()
    before = digest(v.db_path)
    with pytest.raises(vaults.VaultError):
        vaults.migrate_legacy("new")
    assert digest(v.db_path) == before
    assert not os.path.exists(v.db_path + ".legacy")
    assert vaults.Vault("new")["a"] == 1


def test_migrating_an_encrypted_vault_raises_vault_error(root):
    e = vaults.EncryptedVault("enc", passphrase="pw", kdf="fast")
    e["a"] = 1
    e.close()
    with pytest.raises(vaults.VaultError):
        vaults.migrate_legacy("enc")
    assert vaults.EncryptedVault("enc", passphrase="pw", kdf="fast")["a"] == 1


def test_migrating_something_else_raises_vault_error(root, tmp_path):
    with pytest.raises(vaults.VaultError):
        vaults.migrate_legacy("does-not-exist")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(vaults.VaultError):
        vaults.migrate_legacy(junk)
    assert junk.read_bytes() == b"not a database at all" * 100
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(vaults.VaultError):
        vaults.migrate_legacy(other)


# -- pickle -----------------------------------------------------------------------------------


def test_pickle_is_refused_by_default_and_nothing_changes(root):
    path = legacy(root, "mixed", {"ok": 1, "pickled": {"a": 1}, "also": "x"}, pickled={"pickled"})
    before = folder_state(str(root))
    with pytest.raises(vaults.LegacyFormatError):
        vaults.migrate_legacy("mixed")
    assert folder_state(str(root)) == before
    assert not os.path.exists(path + ".legacy")
    with pytest.raises(vaults.LegacyFormatError):
        vaults.Vault("mixed")


def test_a_pickled_key_is_refused_by_default(root):
    legacy(root, "pkey", {"a": 1}, key_fmt="P")
    before = folder_state(str(root))
    with pytest.raises(vaults.LegacyFormatError):
        vaults.migrate_legacy("pkey")
    assert folder_state(str(root)) == before


class _Marker:
    """Unpickling this creates a directory: proof that pickle code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_malicious_pickle_is_never_run_by_default(root, tmp_path):
    marker = str(tmp_path / "pwned")
    path = os.path.join(str(root), "evil.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE IF NOT EXISTS dict (key BLOB PRIMARY KEY, value BLOB)")
    con.execute("INSERT INTO dict VALUES (?, ?)", (serialize("k"), b"P" + pickle.dumps(_Marker(marker))))
    con.commit()
    con.close()
    with pytest.raises(vaults.LegacyFormatError):
        vaults.migrate_legacy("evil")
    with pytest.raises(vaults.LegacyFormatError):
        vaults.Vault("evil")
    assert not os.path.exists(marker)
    # The check can fail: unpickling it does create the marker.
    pickle.loads(read_rows(path)[0][1][1:])
    assert os.path.isdir(marker)


def test_allow_pickle_converts_pickled_values_and_keys(root):
    # A file written where msgpack was not installed: every key and value pickled.
    items = {"str": "s", "int": 5, "big": 2**70, "list": [1, (2, 3)], "dict": {"a": b"b"}, "none": None}
    legacy(root, "allp", items, key_fmt="P", value_fmt="P")
    assert vaults.migrate_legacy("allp", allow_pickle=True) == len(items)
    v = vaults.Vault("allp")
    got = dict(v.items())
    assert got == {"str": "s", "int": 5, "big": 2**70, "list": [1, [2, 3]], "dict": {"a": b"b"}, "none": None}


def test_allow_pickle_with_mixed_formats(root):
    path = legacy(root, "mixed", {"ok": 1, "pickled": {"a": 1}}, pickled={"pickled"})
    assert vaults.migrate_legacy("mixed", allow_pickle=True) == 2
    assert dict(vaults.Vault("mixed").items()) == {"ok": 1, "pickled": {"a": 1}}
    assert os.path.exists(path + ".legacy")


def test_a_pickled_value_that_cannot_be_stored_leaves_the_file_unchanged(root):
    legacy(root, "set", {"ok": 1, "s": {1, 2, 3}})  # the original pickles a set
    before = folder_state(str(root))
    with pytest.raises((vaults.VaultError, TypeError)):
        vaults.migrate_legacy("set", allow_pickle=True)
    assert folder_state(str(root)) == before


# -- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [5, b"bytes-key", (1, 2), None], ids=repr)
def test_a_non_str_key_is_refused_and_nothing_changes(root, key):
    legacy(root, "keys", [("fine", 1), (key, 2)])
    before = folder_state(str(root))
    with pytest.raises(vaults.LegacyFormatError):
        vaults.migrate_legacy("keys")
    assert folder_state(str(root)) == before


def test_the_writer_runs_as_a_script(tmp_path, child_env, root):
    # Another process writes the legacy file: a real file from a real process.
    path = os.path.join(str(root), "script.db")
    r = subprocess.run([PYTHON, legacy_writer.__file__, path], env=child_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert vaults.migrate_legacy("script") == len(SAMPLE)
    assert vaults.Vault("script")["emoji"] == "👋"
