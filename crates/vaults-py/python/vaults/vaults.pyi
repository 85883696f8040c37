"""``vaults.vaults``: the original module's path, re-exporting the package."""

from . import (
    EncryptedVault as EncryptedVault,
    IntegrityError as IntegrityError,
    InvalidInput as InvalidInput,
    LegacyFormatError as LegacyFormatError,
    ManualClock as ManualClock,
    Vault as Vault,
    VaultBusy as VaultBusy,
    VaultClosed as VaultClosed,
    VaultError as VaultError,
    WrongPassphrase as WrongPassphrase,
    migrate_legacy as migrate_legacy,
    set_logger as set_logger,
    set_root_path as set_root_path,
)
