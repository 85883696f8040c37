"""Shared fixtures of the vaults test suite.

Every test gets a fresh root (``vaults.set_root_path(tmp_path)``), so vault
files are real files in a directory nobody else uses.

Marker ``new``: the test needs something the original module does not have
(encryption, expiry, transactions, close, legacy migration, str-only keys,
...) or checks one of the deliberate differences listed in the README. The
rest (``-m "not new"``) is the drop-in subset: it also passes against the
original module, which is how the subset itself is checked::

    cd "$(mktemp -d)"   # the original writes vaults.log into the cwd
    PYTHONPATH=/path/to/python-vaults pytest -m "not new" /path/to/tests
"""

import logging
import os
import sys

import pytest

import vaults


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "new: needs the new package (not in the original module, or a deliberate difference)",
    )
    config.addinivalue_line(
        "markers",
        "keyring: needs a usable OS keyring (CI runs the suite under `keyctl session -`);"
        " where there is none these tests fail, saying why: deselect them with -m 'not keyring'",
    )
    config.addinivalue_line(
        "markers",
        "server: needs a PostgreSQL server (VAULTS_TEST_PG_URL); fails without one under"
        " VAULTS_TEST_ENGINE=postgres, else skips saying why: deselect them with -m 'not server'",
    )


# Modules whose every test needs the new package, written without the marker.
_NEW_MODULES = {"test_rust_interop.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in _NEW_MODULES:
            item.add_marker(pytest.mark.new)


@pytest.fixture(autouse=True)
def root(tmp_path):
    """A fresh vault root for each test; returns the folder the files live in."""
    vaults.set_root_path(str(tmp_path))
    yield tmp_path / "vaults"


@pytest.fixture(autouse=True)
def _default_logger_back():
    yield
    # A test that calls set_logger must not leak its capture into the next one.
    if hasattr(vaults, "ManualClock"):
        vaults.set_logger(logging.getLogger("vaults"))


PASSPHRASE = "correct horse battery staple"


def _open_plain(name, **kw):
    return vaults.Vault(name, **kw)


def _open_encrypted(name, **kw):
    kw.setdefault("passphrase", PASSPHRASE)
    kw.setdefault("kdf", "fast")
    return vaults.EncryptedVault(name, **kw)


@pytest.fixture(
    params=[
        pytest.param("plain"),
        pytest.param("encrypted", marks=pytest.mark.new),
    ]
)
def kind(request):
    """Which class the test runs on: the dict interface is the same on both."""
    return request.param


@pytest.fixture
def open_vault(kind):
    """``open_vault(name, **kw)`` opens (or creates) a vault of the tested
    kind; an encrypted one with the suite's passphrase and the fast KDF."""
    return _open_plain if kind == "plain" else _open_encrypted


@pytest.fixture
def v(open_vault):
    """A fresh, empty vault of the tested kind."""
    return open_vault("t")


@pytest.fixture
def class_name(kind):
    return "Vault" if kind == "plain" else "EncryptedVault"


def import_path():
    """What a child process needs on sys.path to import the same ``vaults``."""
    f = os.path.abspath(vaults.__file__)
    if os.path.basename(f).startswith("__init__."):
        return os.path.dirname(os.path.dirname(f))
    return os.path.dirname(f)


@pytest.fixture
def child_env():
    """Environment for a child ``python`` that imports the same ``vaults`` and the tests' helpers."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.abspath(__file__))
    parts = [import_path(), here] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


PYTHON = sys.executable
