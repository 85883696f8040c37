"""Logging: records go to the logger given, and never hold a name, a value or a passphrase."""

import logging
import os
import subprocess
import traceback

import pytest

import vaults
from conftest import PYTHON
from legacy_writer import write_legacy

pytestmark = pytest.mark.new

NAME = "Kq4NameSentinel"
VALUE = "Vz8ValueSentinel"
PASS = "Pj2PassSentinel"
SENTINELS = [NAME, VALUE, PASS]


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def texts(self):
        """Everything a handler could print of each record."""
        out = []
        for r in self.records:
            parts = [r.getMessage(), str(r.msg), repr(r.args)]
            if r.exc_info:
                parts.append("".join(traceback.format_exception(*r.exc_info)))
            if r.stack_info:
                parts.append(r.stack_info)
            parts.extend(repr(v) for k, v in vars(r).items() if k not in ("msg", "args", "exc_info"))
            out.append("\n".join(parts))
        return out


@pytest.fixture
def capture():
    logger = logging.getLogger("vaults-test-capture")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = Capture()
    logger.addHandler(handler)
    vaults.set_logger(logger)
    yield handler
    logger.removeHandler(handler)


def assert_clean(capture):
    for text in capture.texts():
        for s in SENTINELS:
            assert s not in text, text


def test_records_go_to_the_logger_given(capture):
    before = len(capture.records)
    vaults.Vault("created")
    assert len(capture.records) > before
    n = len(capture.records)
    vaults.Vault("created").delete_vault()
    assert len(capture.records) > n


def test_no_record_holds_a_name_or_a_value(capture, root):
    clock = vaults.ManualClock(1_000_000.0)
    v = vaults.Vault("plain", clock=clock)
    for i in range(20):
        v[f"{NAME}{i}"] = f"{VALUE}{i}"
    v.put(NAME, {VALUE: [VALUE, VALUE.encode()]}, ttl=10)
    v.get(NAME)
    v.get(NAME + "missing", VALUE)
    v.get_many([NAME, NAME + "x"])
    v.has_keys([NAME, NAME + "y"])
    v.put_many({NAME + "bulk": VALUE})
    v.update({NAME + "upd": VALUE})
    v.setdefault(NAME + "sd", VALUE)
    v.pop(NAME + "1")
    v.pop(NAME + "nope", VALUE)
    v.pop_many([NAME + "2", NAME + "none"])
    v.popitem()
    v.items(); v.keys(); v.values(); list(v); len(v); repr(v)
    assert NAME in v
    v.expire(NAME + "3", 5); v.ttl(NAME + "3"); v.persist(NAME + "3"); v.get_ex(NAME + "4", 5)
    clock.advance(20)
    v.cleanup_expired()
    with pytest.raises(KeyError):
        v[NAME + "missing"]
    with pytest.raises(KeyError):
        del v[NAME + "missing"]
    with pytest.raises(KeyError):
        v.ttl(NAME + "missing")
    with pytest.raises(TypeError):
        v.put(NAME + "bad", {VALUE})
    with pytest.raises(vaults.InvalidInput):
        v.put(NAME + "\n", VALUE)
    with pytest.raises(vaults.InvalidInput):
        v.put(NAME + "big", VALUE * (64 * 1024 * 1024 // len(VALUE) + 1))
    with pytest.raises(ValueError):
        with v.transaction():
            v[NAME + "tx"] = VALUE
            raise ValueError("user error, not logged")
    with v.transaction():
        v[NAME + "tx2"] = VALUE
    v.clear()
    v.close()
    with pytest.raises(vaults.VaultClosed):
        v.get(NAME)
    assert capture.records
    assert_clean(capture)


def test_encrypted_records_hold_no_name_value_or_passphrase(capture):
    e = vaults.EncryptedVault("enc", passphrase=PASS, kdf="fast")
    e[NAME] = VALUE
    e.put_many({NAME + "b": VALUE})
    e.get(NAME)
    e.close()
    with pytest.raises(vaults.WrongPassphrase):
        vaults.EncryptedVault("enc", passphrase=PASS + "wrong", kdf="fast")
    with pytest.raises(vaults.WrongPassphrase):
        vaults.EncryptedVault("enc", passphrase=bytearray((PASS + "x").encode()), kdf="fast")
    with pytest.raises(vaults.VaultError):
        vaults.Vault("enc")
    e2 = vaults.EncryptedVault("enc", passphrase=PASS.encode(), kdf="fast")
    e2.delete_vault()
    assert capture.records
    assert_clean(capture)


def test_migration_records_hold_no_name_or_value(capture, root):
    write_legacy(os.path.join(str(root), "ok.db"), {NAME: VALUE, NAME + "2": [VALUE]})
    write_legacy(os.path.join(str(root), "pickled.db"), {NAME: VALUE}, pickled={NAME})
    write_legacy(os.path.join(str(root), "intkey.db"), [(NAME, VALUE), (5, VALUE)])
    write_legacy(os.path.join(str(root), "set.db"), {NAME: {VALUE}})
    with pytest.raises(vaults.LegacyFormatError):
        vaults.Vault("ok")
    n = len(capture.records)
    assert vaults.migrate_legacy("ok") == 2
    assert len(capture.records) > n
    for name in ("pickled", "intkey"):
        with pytest.raises(vaults.LegacyFormatError):
            vaults.migrate_legacy(name)
    with pytest.raises((vaults.VaultError, TypeError)):
        vaults.migrate_legacy("set", allow_pickle=True)
    assert_clean(capture)


def test_the_capture_would_see_a_sentinel(capture):
    # The check can fail: a record that does hold a sentinel is caught by assert_clean.
    logging.getLogger("vaults-test-capture").info("leak %s", VALUE)
    with pytest.raises(AssertionError):
        assert_clean(capture)


def test_the_default_logger_is_named_vaults(tmp_path, child_env):
    code = f"""
import logging
records = []
class H(logging.Handler):
    def emit(self, r):
        records.append(r)
lg = logging.getLogger("vaults")
lg.setLevel(logging.DEBUG)
lg.addHandler(H())
import vaults
vaults.set_root_path({str(tmp_path / 'r')!r})
vaults.Vault("x")["{NAME}"] = "{VALUE}"
assert records, "no record reached logging.getLogger('vaults')"
for r in records:
    assert "{NAME}" not in r.getMessage() and "{VALUE}" not in r.getMessage()
print("ok")
"""
    r = subprocess.run([PYTHON, "-c", code], cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
