"""Writes vault files in the original module's format, without the original.

The original ``vaults.py`` keeps one SQLite table
``dict (key BLOB PRIMARY KEY, value BLOB)``; each key and each value is
serialized as ``b'M' + msgpack.packb(obj, use_bin_type=True)``, or, when
msgpack refuses the object (or is not installed), ``b'P' + pickle.dumps(obj)``.
Rows are written with ``INSERT OR REPLACE`` in autocommit mode.

``fixtures/legacy-original.db`` was written by the original module itself
from :data:`SAMPLE` (see ``fixtures/make_legacy_fixture.py``); a test checks
this writer produces the same rows.

Run as a script: ``python legacy_writer.py PATH [--pickle-all]`` writes SAMPLE.
"""

import os
import pickle
import sqlite3
import sys

import msgpack

# Values the original stores as msgpack and reads back (its reader uses
# msgpack's defaults: maps with str or bytes keys only, arrays as lists).
SAMPLE = {
    "none": None,
    "true": True,
    "false": False,
    "zero": 0,
    "int": 42,
    "negative": -7,
    "u64_max": 2**64 - 1,
    "i64_min": -(2**63),
    "float": 3.14159,
    "inf": float("inf"),
    "neg_inf": float("-inf"),
    "empty_str": "",
    "russian": "привет",
    "emoji": "👋",
    "special": "!@#$%^&*()_+-=[]{}|;':\",./<>?",
    "bytes": b"\x00\x01\xfe\xff",
    "empty_bytes": b"",
    "list": [1, "two", 3.0, None, True],
    "tuple": (1, 2, 3),
    "nested": {"a": [1, {"b": [2, [3, {"c": "d"}]]}], "e": {"f": {}}},
    "bytes_keys": {b"k1": 1, b"k2": [b"v"]},
    "repo": {
        "url": "https://github.com/user/repo",
        "name": "myrepo",
        "instructions": ["{default_venv} main.py"],
        "PID": None,
        "status": "stopped",
    },
    "large": "x" * 20_000,
}


def serialize(obj, fmt=None):
    """The original's serialization of one key or value; ``fmt`` forces
    ``"M"`` (msgpack) or ``"P"`` (pickle), otherwise msgpack first as the original."""
    if fmt == "P":
        return b"P" + pickle.dumps(obj)
    if fmt == "M":
        return b"M" + msgpack.packb(obj, use_bin_type=True)
    try:
        return b"M" + msgpack.packb(obj, use_bin_type=True)
    except (TypeError, ValueError):
        return b"P" + pickle.dumps(obj)


def write_legacy(path, items, value_fmt=None, key_fmt=None, pickled=()):
    """Writes ``items`` (a dict or pairs; keys may be any object) to a new
    legacy file at ``path``. ``value_fmt``/``key_fmt`` force a format for
    every value/key; values of the keys in ``pickled`` are pickled."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if os.path.exists(path):
        raise FileExistsError(path)
    pairs = list(items.items()) if hasattr(items, "items") else list(items)
    con = sqlite3.connect(path)
    con.isolation_level = None
    try:
        con.execute("CREATE TABLE IF NOT EXISTS dict (key BLOB PRIMARY KEY, value BLOB)")
        for k, val in pairs:
            vf = "P" if k in pickled else value_fmt
            con.execute(
                "INSERT OR REPLACE INTO dict (key, value) VALUES (?, ?)",
                (serialize(k, key_fmt), serialize(val, vf)),
            )
    finally:
        con.close()
    return path


def read_rows(path):
    """The raw ``(key, value)`` blobs of a legacy file, sorted."""
    con = sqlite3.connect(os.fspath(path))
    try:
        return sorted(con.execute("SELECT key, value FROM dict").fetchall())
    finally:
        con.close()


if __name__ == "__main__":
    pickle_all = "--pickle-all" in sys.argv[2:]
    fmt = "P" if pickle_all else None
    write_legacy(sys.argv[1], SAMPLE, value_fmt=fmt, key_fmt=fmt)
