"""The exceptions of the vaults package (raised from Python and from Rust)."""


class VaultError(Exception):
    """Base of every error the vaults package raises on its own."""


class WrongPassphrase(VaultError):
    """The passphrase does not open the vault."""


class IntegrityError(VaultError):
    """The vault file or an entry was tampered with or is corrupt."""


class LegacyFormatError(VaultError):
    """The file was written by the original module: convert it with migrate_legacy()."""


class VaultClosed(VaultError):
    """The vault was closed (or deleted)."""


class VaultBusy(VaultError):
    """Another process held the vault's lock past the busy timeout."""


class InvalidInput(VaultError, ValueError):
    """A name, value or argument the store refuses (empty or too long a name,
    a value too large or nested too deeply, a non-positive ttl, a malformed
    server URL)."""


class VaultUnavailable(VaultError, ConnectionError):
    """The vault's database server could not be reached, or the connection
    to it broke: worth retrying. Nothing was changed, unless the connection
    broke while a write was being committed."""


class AccessDenied(VaultError, PermissionError):
    """The vault's database server refused the credentials or the access."""
