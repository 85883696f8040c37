"""Values cross between Python and Rust: a vault written by the package is
read by the Rust CLI (the real binary), and one written by the CLI is read
back here. Both sides speak the vault's CBOR, so nothing is converted."""

import json
import os
import subprocess
from pathlib import Path

import pytest

import vaults

PASS = "interop passphrase"


def _binary() -> str:
    explicit = os.environ.get("VAULTS_BIN")
    if explicit:
        return explicit
    # The workspace's debug build, when run from a checkout.
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "target" / "debug" / "vaults"
        if candidate.exists():
            return str(candidate)
    pytest.fail("the vaults CLI binary is needed: build it (cargo build -p vaults-cli) or set VAULTS_BIN")


def _cli(root: Path, *args: str, stdin: bytes = b"") -> bytes:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root / "home"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "VAULTS_DIR": str(root / "vaults"),
        "VAULTS_VAULT": "shared",
        "VAULTS_PASSPHRASE": PASS,
        "VAULTS_NO_INPUT": "1",
    }
    out = subprocess.run([_binary(), *args], input=stdin, env=env, capture_output=True, timeout=60)
    assert out.returncode == 0, f"vaults {args[0]} failed: {out.stderr.decode(errors='replace')}"
    return out.stdout


def test_python_values_read_by_the_rust_cli_and_back(tmp_path):
    vaults.set_root_path(tmp_path)
    cfg = {"host": "db", "port": 5432, "ok": True, "ratio": 2.5, "tags": ["a", None], "nested": {"x": [1, [2]]}}
    with_tuple = {"pair": (1, "two")}
    v = vaults.EncryptedVault("shared", passphrase=PASS, kdf="fast")
    v["text"] = "héllo wörld"
    v["cfg"] = cfg
    v["tuple"] = with_tuple
    v.close()

    # Rust reads exactly what Python wrote.
    assert _cli(tmp_path, "get", "-n", "text") == "héllo wörld".encode()
    assert json.loads(_cli(tmp_path, "--json", "get", "cfg"))["value"] == cfg
    assert json.loads(_cli(tmp_path, "--json", "get", "tuple"))["value"] == {"pair": [1, "two"]}

    # Rust writes; Python reads.
    _cli(tmp_path, "set", "--json-input", "from_rust", stdin=b'{"a": [1, {"b": null}], "n": -7, "f": 0.5}')
    _cli(tmp_path, "set", "note", stdin=b"written by the CLI")
    v = vaults.EncryptedVault("shared", passphrase=PASS)
    assert v["from_rust"] == {"a": [1, {"b": None}], "n": -7, "f": 0.5}
    assert v["note"] == "written by the CLI"
    assert sorted(v.keys()) == ["cfg", "from_rust", "note", "text", "tuple"]
    v.close()

    # And the listing agrees on both sides.
    assert sorted(_cli(tmp_path, "ls").decode().split()) == ["cfg", "from_rust", "note", "text", "tuple"]


def test_the_cli_refuses_a_wrong_passphrase_on_a_python_vault(tmp_path):
    vaults.set_root_path(tmp_path)
    vaults.EncryptedVault("shared", passphrase="another one", kdf="fast").close()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "VAULTS_DIR": str(tmp_path / "vaults"),
        "VAULTS_VAULT": "shared",
        "VAULTS_PASSPHRASE": PASS,
        "VAULTS_NO_INPUT": "1",
    }
    out = subprocess.run([_binary(), "ls"], env=env, capture_output=True, timeout=60)
    assert out.returncode == 4, out.stderr  # the CLI's "authentication failed"
    assert b"wrong passphrase" in out.stderr
