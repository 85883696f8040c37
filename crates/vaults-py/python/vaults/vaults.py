"""``vaults.vaults``: the original module's path inside its package.

Apps that vendored the original as ``vaults/vaults.py`` import it as
``from vaults.vaults import Vault``; this re-exports the package, so that
import keeps working. ``set_root_path`` and ``set_logger`` change the
package's settings, whichever name they are called through.
"""

from . import (  # noqa: F401
    EncryptedVault,
    IntegrityError,
    InvalidInput,
    LegacyFormatError,
    ManualClock,
    Vault,
    VaultBusy,
    VaultClosed,
    VaultError,
    WrongPassphrase,
    migrate_legacy,
    set_logger,
    set_root_path,
)
