"""vaults: an embedded, encrypted secrets store with expiry.

A drop-in for the original ``vaults`` module (same functions, classes,
methods, dunders, attributes, errors and file layout), on a Rust core:
values are CBOR (never pickle), entries can expire, ``EncryptedVault`` seals
every name and value, and ``transaction()`` commits or rolls back a block.

    >>> from vaults import Vault, set_root_path
    >>> set_root_path('/data')
    >>> v = Vault('my_data')
    >>> v['key'] = 'value'
    >>> v.get('key')
    'value'
"""

import datetime as _datetime
import logging
import os
import threading as _threading
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import _native
from ._errors import (
    AccessDenied,
    IntegrityError,
    InvalidInput,
    LegacyFormatError,
    VaultBusy,
    VaultClosed,
    VaultError,
    VaultUnavailable,
    WrongPassphrase,
)

ManualClock = _native.ManualClock

#: The largest value a vault stores, in bytes of its encoding (64 MiB).
MAX_VALUE_LEN: int = _native.MAX_VALUE_LEN
#: The longest entry name, in UTF-8 bytes.
MAX_NAME_LEN: int = _native.MAX_NAME_LEN

__all__ = [
    "AccessDenied",
    "EncryptedVault",
    "IntegrityError",
    "InvalidInput",
    "LegacyFormatError",
    "MAX_NAME_LEN",
    "MAX_VALUE_LEN",
    "ManualClock",
    "Vault",
    "VaultBusy",
    "VaultClosed",
    "VaultError",
    "VaultUnavailable",
    "WrongPassphrase",
    "migrate_legacy",
    "set_logger",
    "set_root_path",
]

# Where vault files live: ROOT/vaults/NAME.db, ROOT defaulting to the
# package's own folder, as in the original.
root_path = os.path.dirname(os.path.abspath(__file__))
vaults_folder = os.path.join(root_path, "vaults")

# Records go here; none ever holds an entry name, a value or a passphrase.
# Unlike the original, importing the package writes no log file.
log = logging.getLogger("vaults")
log.addHandler(logging.NullHandler())


def set_root_path(path: "str | os.PathLike[str]") -> None:
    """Sets the folder vaults are kept in (``PATH/vaults/NAME.db``) and creates it."""
    global root_path, vaults_folder
    root_path = os.fspath(path)
    vaults_folder = os.path.join(root_path, "vaults")
    os.makedirs(vaults_folder, exist_ok=True)
    log.info("Root path set to: %s, vaults folder: %s", root_path, vaults_folder)


def set_logger(logger: logging.Logger) -> None:
    """Sends the package's log records to ``logger``."""
    global log
    log = logger
    log.info("Custom logger configured for vaults module.")


def _path_of(name_or_path: "str | os.PathLike[str]") -> str:
    text = os.fspath(name_or_path)
    if os.sep in text or text.endswith(".db") or os.path.exists(text):
        return text
    return os.path.join(vaults_folder, f"{text}.db")


def migrate_legacy(name_or_path: "str | os.PathLike[str]", allow_pickle: bool = False) -> int:
    """Converts a vault file written by the original module into this format.

    ``name_or_path`` is a vault name (``ROOT/vaults/NAME.db``) or a path.
    msgpack values convert exactly; pickled ones are refused unless
    ``allow_pickle=True`` (unpickling runs code chosen by whoever wrote the
    file). The original is kept as ``PATH.legacy``. Returns the number of
    entries converted; on error nothing changes.
    """
    if _native.is_vault_url(os.fspath(name_or_path)):
        raise InvalidInput("migrate_legacy() converts a file of the original module, not a server vault")
    path = _path_of(name_or_path)
    try:
        count = _native.migrate_legacy(path, allow_pickle)
    except VaultError as e:
        log.error("Legacy migration failed: %s", e)
        raise
    log.info("Migrated a legacy vault file (%d entries); the original is kept as .legacy.", count)
    return count


def _seconds(ttl: Any) -> Optional[float]:
    if ttl is None:
        return None
    if isinstance(ttl, _datetime.timedelta):
        return ttl.total_seconds()
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(f"ttl must be seconds (int or float) or a timedelta, not {type(ttl).__name__}")
    return float(ttl)


_MISSING = object()


class _Transaction:
    """The context manager of ``Vault.transaction()``."""

    __slots__ = ("_vault",)

    def __init__(self, vault: "Vault") -> None:
        self._vault = vault

    def __enter__(self) -> "Vault":
        self._vault._store_or_raise().begin()
        return self._vault

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self._vault._store_or_raise().end(exc_type is None)


class Vault:
    """Persistent key-value store in one SQLite file, with expiry.

    Args:
        vault_name: Name of the vault (the file ``ROOT/vaults/NAME.db``), or
            the URL of a vault on a PostgreSQL server
            (``postgres://USER@HOST/DB?vault=NAME``, the password from
            ``PGPASSWORD`` or the URL; ``vault_name`` and ``db_path`` then
            show it without the password).
        to_create: If False, raises VaultError if the vault doesn't exist.
        thread_safe: Accepted for compatibility; a vault is always thread-safe.
        clock: A ``ManualClock`` for tests of expiry.
        durability: ``"full"`` (default: an acknowledged write survives power
            loss; one fsync a write) or ``"normal"`` (the last writes may be
            lost on power loss, never on a crash; for sessions and caches).
    """

    __slots__ = ("vault_name", "db_path", "_location", "_thread_safe", "_store", "_lock")

    _kind_name = "Vault"

    def __init__(
        self,
        vault_name: str,
        to_create: bool = True,
        thread_safe: bool = False,
        *,
        clock: Optional[ManualClock] = None,
        durability: str = "full",
    ) -> None:
        self._prepare(vault_name, to_create, thread_safe)
        self._store = self._open(
            lambda: _native.Store.open_plain(self._location, to_create, clock, durability), to_create
        )

    # -- opening --------------------------------------------------------

    def _prepare(self, vault_name: str, to_create: bool, thread_safe: bool) -> None:
        if not isinstance(vault_name, str):
            raise TypeError(f"vault_name must be a str, not {type(vault_name).__name__}")
        self._store = None
        if _native.is_vault_url(vault_name):
            # A vault on a server: no folder, no file. The URL may hold a
            # password, so what is shown (and logged) is without it.
            self._location = vault_name
            self.vault_name = self.db_path = _native.redact_url(vault_name)
        else:
            if to_create:
                os.makedirs(vaults_folder, exist_ok=True)
            self.vault_name = vault_name
            self.db_path = self._location = os.path.join(vaults_folder, f"{vault_name}.db")
        self._thread_safe = thread_safe
        self._lock = _threading.RLock() if thread_safe else None

    def _open(self, opener, to_create: bool):
        # On a server, the library tells whether the vault exists.
        existed = self._on_server() or os.path.exists(self.db_path)
        if not existed and not to_create:
            log.error("No such vault: '%s'!", self.vault_name)
            raise VaultError(f"Vault '{self.vault_name}' does not exist")
        try:
            store = opener()
        except VaultError as e:
            log.error("Could not open vault '%s': %s", self.vault_name, type(e).__name__)
            raise
        if not existed:
            log.info("Creating vault '%s'!", self.vault_name)
        return store

    def _on_server(self) -> bool:
        return _native.is_vault_url(self._location)

    def _store_or_raise(self):
        store = self._store
        if store is None:
            raise VaultClosed("the vault is closed")
        return store

    # -- the original interface -------------------------------------------

    def put(self, key: str, value: Any, ttl: Any = None) -> None:
        """Stores ``value`` under ``key``; with ``ttl`` (seconds or a
        timedelta) it expires after that long."""
        self._store_or_raise().put(key, value, _seconds(ttl))

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default`` (also for a stored None, as the original)."""
        value, _ = self._store_or_raise().get(key)
        return default if value is None else value

    def pop(self, key: str, default: Any = None) -> Any:
        """Removes ``key`` and returns its value, or ``default`` when missing."""
        value, present = self._store_or_raise().pop(key)
        return value if present else default

    def popitem(self) -> Tuple[str, Any]:
        """Removes and returns an arbitrary ``(key, value)``; VaultError when empty."""
        item = self._store_or_raise().pop_item()
        if item is None:
            raise VaultError("popitem(): dictionary is empty")
        return item

    def put_many(self, data: Dict[str, Any]) -> int:
        """Stores every pair of ``data`` in one transaction; returns the count."""
        return self._store_or_raise().put_many(data)

    def get_many(self, keys: List[str]) -> Dict[str, Any]:
        """``{key: value}`` for the keys present."""
        return self._store_or_raise().get_many(keys)

    def pop_many(self, keys: List[str]) -> Dict[str, Any]:
        """Removes the keys present and returns ``{key: value}`` of them."""
        return self._store_or_raise().pop_many(keys)

    def has_keys(self, keys: List[str]) -> bool:
        """Whether every key is present (True for an empty list)."""
        return self._store_or_raise().has_keys(keys)

    def list_keys(self) -> List[str]:
        return self._store_or_raise().keys()

    def get_all_items(self) -> List[Tuple[str, Any]]:
        return self._store_or_raise().items()

    def keys(self) -> List[str]:
        return self._store_or_raise().keys()

    def values(self) -> List[Any]:
        return self._store_or_raise().values()

    def items(self) -> List[Tuple[str, Any]]:
        return self._store_or_raise().items()

    def update(self, other: Any = (), **kwargs: Any) -> None:
        """Stores every pair of ``other`` (a mapping or pairs) and ``kwargs``, in one transaction."""
        pairs = list(other.items()) if hasattr(other, "items") else list(other)
        pairs.extend(kwargs.items())
        self._store_or_raise().put_many(pairs)

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The stored value if ``key`` is present (even None); otherwise stores ``default``."""
        return self._store_or_raise().setdefault(key, default)

    def clear(self) -> None:
        self._store_or_raise().clear()

    def delete_vault(self) -> None:
        """Closes the vault and deletes its file."""
        log.info("Deleting vault '%s'.", self.vault_name)
        store = self._store
        self._store = None
        if store is not None:
            store.destroy()
            log.info("Vault '%s' deleted successfully.", self.vault_name)
        elif self._on_server():
            raise VaultClosed("the vault is closed: open it again to delete it from its server")
        elif os.path.exists(self.db_path):
            os.remove(self.db_path)
        else:
            log.warning("Vault '%s' does not exist.", self.vault_name)

    def __getitem__(self, key: str) -> Any:
        value, _ = self._store_or_raise().get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._store_or_raise().put(key, value, None)

    def __delitem__(self, key: str) -> None:
        if not self._store_or_raise().remove(key):
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return self._store_or_raise().contains(key)

    def __len__(self) -> int:
        return self._store_or_raise().len()

    def __iter__(self) -> Iterator[str]:
        return iter(self._store_or_raise().keys())

    def __bool__(self) -> bool:
        return self._store_or_raise().len() > 0

    def __repr__(self) -> str:
        store = self._store
        count = store.len() if store is not None else 0
        return f"{self._kind_name}('{self.vault_name}', {count} items)"

    def __enter__(self) -> "Vault":
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        # Every write is already committed; like the original, `with` does
        # not close the vault. Use transaction() for all-or-nothing blocks.
        return None

    # -- beyond the original ------------------------------------------------

    def expire(self, key: str, ttl: Any) -> bool:
        """Makes ``key`` expire after ``ttl``; False when it is missing."""
        return self._store_or_raise().expire(key, _seconds(ttl))

    def ttl(self, key: str) -> Optional[float]:
        """Seconds until ``key`` expires, None if it never does; KeyError when missing."""
        present, seconds = self._store_or_raise().ttl(key)
        if not present:
            raise KeyError(key)
        return seconds

    def persist(self, key: str) -> bool:
        """Removes the expiry of ``key``; True when it had one."""
        return self._store_or_raise().persist(key)

    def get_ex(self, key: str, ttl: Any, default: Any = None) -> Any:
        """Gets ``key`` and resets its expiry to ``ttl`` (a sliding session)."""
        value, present = self._store_or_raise().get_ex(key, _seconds(ttl))
        return value if present and value is not None else default

    def cleanup_expired(self) -> int:
        """Deletes the expired entries; returns how many."""
        return self._store_or_raise().cleanup_expired()

    def transaction(self) -> _Transaction:
        """``with v.transaction():`` makes every operation of this thread on
        ``v`` inside the block commit together, or roll back if it raises."""
        return _Transaction(self)

    def close(self) -> None:
        """Closes the vault; later calls raise VaultClosed."""
        store = self._store
        self._store = None
        if store is not None:
            store.close()

    @property
    def closed(self) -> bool:
        return self._store is None

    @property
    def thread_safe(self) -> bool:
        return self._thread_safe


class EncryptedVault(Vault):
    """A vault whose every name and value is sealed (XChaCha20-Poly1305),
    unlocked by a passphrase (Argon2id) or the OS keyring.

    Args:
        vault_name: Name of the vault (the file ``ROOT/vaults/NAME.db``), or
            a server URL, as for ``Vault``.
        passphrase: ``str``, ``bytes`` or ``bytearray`` (a bytearray is zeroed after use).
        keyring: Unlock with the key kept in the OS keyring; with a passphrase
            too, store the key there for later opens.
        to_create: If False, raises VaultError if the vault doesn't exist.
        kdf: ``"default"`` (Argon2id, 64 MiB) or ``"fast"`` (minimum cost: tests only).
        durability: as for ``Vault``.
    """

    __slots__ = ()

    _kind_name = "EncryptedVault"

    def __init__(
        self,
        vault_name: str,
        passphrase: "str | bytes | bytearray | None" = None,
        keyring: bool = False,
        to_create: bool = True,
        thread_safe: bool = False,
        *,
        clock: Optional[ManualClock] = None,
        kdf: str = "default",
        durability: str = "full",
    ) -> None:
        if kdf not in ("default", "fast"):
            raise InvalidInput("kdf must be 'default' or 'fast'")
        if passphrase is None and not keyring:
            raise VaultError("an EncryptedVault needs a passphrase or keyring=True")
        self._prepare(vault_name, to_create, thread_safe)
        try:
            self._store = self._open(
                lambda: _native.Store.open_encrypted(
                    self._location, passphrase, keyring, to_create, kdf == "fast", clock, durability
                ),
                to_create,
            )
        finally:
            if isinstance(passphrase, bytearray):
                passphrase[:] = bytes(len(passphrase))
