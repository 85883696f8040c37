"""Module functions, attributes and the exception hierarchy."""

import os
import pathlib
import subprocess
import uuid

import pytest

import vaults
from conftest import PYTHON


def test_set_root_path_creates_the_vaults_folder(tmp_path):
    target = tmp_path / "some" / "root"
    vaults.set_root_path(str(target))
    assert (target / "vaults").is_dir()
    v = vaults.Vault("a")
    v["k"] = "v"
    assert v.db_path == os.path.join(str(target), "vaults", "a.db")
    assert os.path.isfile(v.db_path)


@pytest.mark.new
def test_set_root_path_accepts_a_pathlike(tmp_path):
    target = tmp_path / "pathlike"
    vaults.set_root_path(target)
    assert (target / "vaults").is_dir()
    v = vaults.Vault("b")
    v["k"] = 1
    assert pathlib.Path(v.db_path) == target / "vaults" / "b.db"
    assert (target / "vaults" / "b.db").is_file()


def test_set_root_path_moves_later_vaults_only(tmp_path):
    vaults.set_root_path(str(tmp_path / "one"))
    first = vaults.Vault("same")
    first["where"] = "one"
    vaults.set_root_path(str(tmp_path / "two"))
    second = vaults.Vault("same")
    assert second.get("where") is None
    second["where"] = "two"
    assert first.get("where") == "one"
    assert first.db_path != second.db_path


def test_vault_attributes(root):
    v = vaults.Vault("attrs", thread_safe=True)
    assert v.vault_name == "attrs"
    assert v.db_path == os.path.join(str(root), "attrs.db")
    assert v._thread_safe is True
    w = vaults.Vault("attrs2")
    assert w._thread_safe is False


def test_vault_error_is_an_exception():
    assert issubclass(vaults.VaultError, Exception)


@pytest.mark.new
@pytest.mark.parametrize(
    "name",
    [
        "WrongPassphrase", "IntegrityError", "LegacyFormatError", "VaultClosed", "VaultBusy", "InvalidInput",
        "VaultUnavailable", "AccessDenied",
    ],
)
def test_every_error_is_a_vault_error(name):
    cls = getattr(vaults, name)
    assert issubclass(cls, vaults.VaultError)
    assert cls is not vaults.VaultError


@pytest.mark.new
def test_invalid_input_is_also_a_value_error():
    assert issubclass(vaults.InvalidInput, ValueError)
    assert not issubclass(vaults.VaultClosed, ValueError)


@pytest.mark.new
def test_server_errors_are_also_os_errors():
    assert issubclass(vaults.VaultUnavailable, ConnectionError)
    assert issubclass(vaults.AccessDenied, PermissionError)
    assert not issubclass(vaults.VaultBusy, OSError)


@pytest.mark.new
def test_max_value_len_is_64_mib():
    assert vaults.MAX_VALUE_LEN == 64 * 1024 * 1024


@pytest.mark.new
def test_public_names_are_exported():
    for name in [
        "set_root_path", "set_logger", "migrate_legacy", "ManualClock", "Vault", "EncryptedVault",
        "VaultError", "WrongPassphrase", "IntegrityError", "LegacyFormatError", "VaultClosed",
        "VaultBusy", "InvalidInput", "VaultUnavailable", "AccessDenied", "MAX_VALUE_LEN",
    ]:
        assert hasattr(vaults, name), name


@pytest.mark.new
def test_default_root_is_the_package_folder(tmp_path, child_env):
    # A fresh interpreter, with no set_root_path: the vault lands next to the package.
    name = "default-root-" + uuid.uuid4().hex
    code = f"""
import os, vaults
v = vaults.Vault({name!r})
v["k"] = 1
expected = os.path.join(os.path.dirname(os.path.abspath(vaults.__file__)), "vaults", {name!r} + ".db")
assert os.path.abspath(v.db_path) == expected, (v.db_path, expected)
assert os.path.isfile(expected)
v.delete_vault()
assert not os.path.exists(expected)
print("ok")
"""
    r = subprocess.run([PYTHON, "-c", code], cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


@pytest.mark.new
def test_no_log_file_is_written(tmp_path, child_env):
    # The original wrote vaults.log into the working directory on import.
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    code = f"""
import vaults
vaults.set_root_path({str(cwd / 'r')!r})
v = vaults.Vault("x")
v["k"] = "v"
v.get("k"); v.get("missing"); v.pop("k")
"""
    r = subprocess.run([PYTHON, "-c", code], cwd=cwd, env=child_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(cwd)) == ["r"]
    assert not list(cwd.rglob("*.log"))


@pytest.mark.new
def test_the_original_module_path_reexports_the_package(tmp_path):
    # Apps that vendored the original as vaults/vaults.py import vaults.vaults.
    from vaults import vaults as inner

    assert inner.Vault is vaults.Vault
    assert inner.VaultError is vaults.VaultError
    inner.set_root_path(str(tmp_path / "via-inner"))
    v = vaults.Vault("x")
    assert v.db_path == os.path.join(str(tmp_path / "via-inner"), "vaults", "x.db")
