"""Type stubs of the vaults package (PEP 561)."""

import datetime
import logging
import os
from types import TracebackType
from typing import Any, Dict, Generic, Iterable, Iterator, List, Literal, Mapping, Optional, Tuple, Type, TypeVar, Union, final

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

_StrPath = Union[str, "os.PathLike[str]"]
_Ttl = Union[int, float, datetime.timedelta]
_Passphrase = Union[str, bytes, bytearray]
_V = TypeVar("_V", bound="Vault")
# "full": an acknowledged write survives power loss (one fsync a write);
# "normal": the last writes may be lost on power loss, never on a crash.
_Durability = Literal["full", "normal"]
# "default": Argon2id, 64 MiB; "fast": the minimum cost, for tests only.
_Kdf = Literal["default", "fast"]

MAX_NAME_LEN: int
MAX_VALUE_LEN: int
"""The largest encoded value a vault stores: 64 MiB."""

class VaultError(Exception):
    """The base of every error the package raises on its own."""

class WrongPassphrase(VaultError):
    """The passphrase does not open the vault."""

class IntegrityError(VaultError):
    """A tampered or corrupt file or entry."""

class LegacyFormatError(VaultError):
    """The file was written by the original module: convert it with ``migrate_legacy``."""

class VaultClosed(VaultError):
    """A call on a closed (or deleted) vault."""

class VaultBusy(VaultError):
    """Another process held the vault's lock past the busy timeout."""

class InvalidInput(VaultError, ValueError):
    """A name the store refuses, a value too large or nested too deeply, a ttl <= 0,
    a malformed server URL."""

class VaultUnavailable(VaultError, ConnectionError):
    """The vault's database server could not be reached or the connection broke: retry."""

class AccessDenied(VaultError, PermissionError):
    """The vault's database server refused the credentials or the access."""

def set_root_path(path: _StrPath) -> None:
    """Vaults live in ``PATH/vaults/NAME.db``; creates ``PATH/vaults``."""

def set_logger(logger: logging.Logger) -> None:
    """Sends the package's records to ``logger`` (never a name, a value or a passphrase)."""

def migrate_legacy(name_or_path: _StrPath, allow_pickle: bool = False) -> int:
    """Converts a file of the original module in place, keeping it as ``PATH.legacy``;
    returns the number of entries converted."""

@final
class ManualClock:
    """A clock for tests of expiry: pass it as ``clock=``; ``start`` is a Unix time (default now)."""

    def __new__(cls, start: Optional[float] = None) -> "ManualClock": ...
    def now(self) -> float: ...
    def advance(self, seconds: Union[float, datetime.timedelta]) -> None: ...
    def set(self, unix_seconds: float) -> None: ...

class _Transaction(Generic[_V]):
    """What ``Vault.transaction()`` returns: ``with v.transaction() as t`` (``t`` is ``v``)."""

    def __init__(self, vault: _V) -> None: ...
    def __enter__(self) -> _V: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_val: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None: ...

class Vault:
    """A persistent key-value store in one SQLite file, with expiry."""

    vault_name: str
    db_path: str
    _thread_safe: bool

    def __init__(
        self,
        vault_name: str,
        to_create: bool = True,
        thread_safe: bool = False,
        *,
        clock: Optional[ManualClock] = None,
        durability: _Durability = "full",
    ) -> None: ...

    # The original interface.
    def put(self, key: str, value: Any, ttl: Optional[_Ttl] = None) -> None: ...
    def get(self, key: str, default: Any = None) -> Any: ...
    def pop(self, key: str, default: Any = None) -> Any: ...
    def popitem(self) -> Tuple[str, Any]: ...
    def put_many(self, data: Mapping[str, Any]) -> int: ...
    def get_many(self, keys: Iterable[str]) -> Dict[str, Any]: ...
    def pop_many(self, keys: Iterable[str]) -> Dict[str, Any]: ...
    def has_keys(self, keys: Iterable[str]) -> bool: ...
    def list_keys(self) -> List[str]: ...
    def get_all_items(self) -> List[Tuple[str, Any]]: ...
    def keys(self) -> List[str]: ...
    def values(self) -> List[Any]: ...
    def items(self) -> List[Tuple[str, Any]]: ...
    def update(
        self, other: Union[Mapping[str, Any], Iterable[Tuple[str, Any]]] = ..., **kwargs: Any
    ) -> None: ...
    def setdefault(self, key: str, default: Any = None) -> Any: ...
    def clear(self) -> None: ...
    def delete_vault(self) -> None: ...
    def __getitem__(self, key: str) -> Any: ...
    def __setitem__(self, key: str, value: Any) -> None: ...
    def __delitem__(self, key: str) -> None: ...
    def __contains__(self, key: object) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...
    def __bool__(self) -> bool: ...
    def __repr__(self) -> str: ...
    def __enter__(self: _V) -> _V: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_val: Optional[BaseException],
        exc_tb: Optional[TracebackType],
    ) -> None: ...

    # Beyond the original.
    def expire(self, key: str, ttl: _Ttl) -> bool: ...
    def ttl(self, key: str) -> Optional[float]: ...
    def persist(self, key: str) -> bool: ...
    def get_ex(self, key: str, ttl: _Ttl, default: Any = None) -> Any: ...
    def cleanup_expired(self) -> int: ...
    def transaction(self: _V) -> _Transaction[_V]: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def thread_safe(self) -> bool: ...

class EncryptedVault(Vault):
    """A vault whose every name and value is sealed; unlocked by a passphrase or the OS keyring."""

    def __init__(
        self,
        vault_name: str,
        passphrase: Optional[_Passphrase] = None,
        keyring: bool = False,
        to_create: bool = True,
        thread_safe: bool = False,
        *,
        clock: Optional[ManualClock] = None,
        kdf: _Kdf = "default",
        durability: _Durability = "full",
    ) -> None: ...
