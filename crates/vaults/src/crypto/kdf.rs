//! Passphrases and their stretching into key-encryption keys with Argon2id.
//!
//! The parameters of every passphrase slot are stored in the vault file, so
//! they are attacker-controlled input: [`KdfParams::check`] refuses anything
//! below a floor (a downgrade that makes guessing cheap) or above a ceiling
//! (a file that makes unlocking allocate terabytes or spin for hours) before
//! Argon2 runs.

use std::fmt;

use argon2::{Algorithm, Argon2, AssociatedData, Block, ParamsBuilder, Version};
use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

/// Length of an Argon2 salt in a key slot.
pub(crate) const SALT_LEN: usize = 16;

/// Length of a key-encryption key.
pub(crate) const KEK_LEN: usize = 32;

/// A passphrase, normalised to Unicode NFC and wiped from memory on drop.
///
/// Normalisation makes the same passphrase typed on different systems (say
/// "é" as one code point or as "e" plus a combining accent) open the same
/// vault. `Debug` never shows it and it cannot be cloned.
///
/// ```
/// # fn main() -> vaults::Result<()> {
/// let pass = vaults::Passphrase::new("correct horse battery staple")?;
/// assert_eq!(format!("{pass:?}"), "Passphrase([redacted])");
/// # Ok(())
/// # }
/// ```
pub struct Passphrase {
    /// NFC-normalised UTF-8, allocated once at its exact length.
    bytes: Zeroizing<Vec<u8>>,
}

impl Passphrase {
    /// Takes a passphrase, normalises it to NFC, and wipes the given `String`.
    ///
    /// Pass an owned `String` where you have one: a `&str` is copied first,
    /// and only the copy is wiped.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyPassphrase`] when the passphrase is empty.
    ///
    /// ```
    /// # fn main() -> vaults::Result<()> {
    /// let typed = String::from("correct horse");
    /// let pass = vaults::Passphrase::new(typed)?;
    /// # drop(pass);
    /// assert!(matches!(
    ///     vaults::Passphrase::new(""),
    ///     Err(vaults::Error::EmptyPassphrase)
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(passphrase: impl Into<String>) -> Result<Passphrase> {
        let mut passphrase = passphrase.into();
        let normalised = Self::normalise(&passphrase);
        passphrase.zeroize();
        normalised
    }

    /// Copies `s` in NFC into a buffer allocated once at its final length, so
    /// no reallocation leaves a stray copy behind.
    fn normalise(s: &str) -> Result<Passphrase> {
        let bytes = if is_nfc_quick(s.chars()) == IsNormalized::Yes {
            // The common case (ASCII and most text): already NFC, one exact copy.
            Zeroizing::new(s.as_bytes().to_vec())
        } else {
            let len = s.nfc().map(char::len_utf8).sum();
            let mut buf = Zeroizing::new(Vec::with_capacity(len));
            let mut utf8 = Zeroizing::new([0u8; 4]);
            // The same characters as the counting pass: the buffer never grows.
            for c in s.nfc() {
                buf.extend_from_slice(c.encode_utf8(utf8.as_mut_slice()).as_bytes());
            }
            buf
        };
        if bytes.is_empty() {
            return Err(Error::EmptyPassphrase);
        }
        Ok(Passphrase { bytes })
    }

    /// The normalised passphrase as UTF-8 bytes, the input to Argon2.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Takes the passphrase out of a [`SecretString`], which wipes itself on drop.
///
/// ```
/// # fn main() -> vaults::Result<()> {
/// use secrecy::SecretString;
///
/// let secret = SecretString::from("correct horse");
/// let pass = vaults::Passphrase::try_from(secret)?;
/// # drop(pass);
/// # Ok(())
/// # }
/// ```
impl TryFrom<SecretString> for Passphrase {
    type Error = Error;

    /// # Errors
    ///
    /// [`Error::EmptyPassphrase`] when the passphrase is empty.
    fn try_from(secret: SecretString) -> Result<Passphrase> {
        Self::normalise(secret.expose_secret())
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([redacted])")
    }
}

/// Argon2id cost parameters: memory, iterations and lanes.
///
/// Always within [`KdfParams::MIN`] and [`KdfCeiling::HIGHEST`], field by
/// field; [`KdfParams::new`] also keeps them within [`KdfParams::MAX`], the
/// ceiling an unlock accepts by default.
///
/// ```
/// # fn main() -> vaults::Result<()> {
/// use vaults::KdfParams;
///
/// // 256 MiB, 4 passes, 1 lane: slower to unlock, slower to guess.
/// let strong = KdfParams::new(256 * 1024, 4, 1)?;
/// assert_eq!(strong.memory_kib(), 262_144);
///
/// // Below the floor of 19 MiB.
/// assert!(matches!(KdfParams::new(8 * 1024, 3, 1), Err(vaults::Error::KdfParams { .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KdfParams {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl KdfParams {
    /// The parameters a new vault gets: 64 MiB, 3 passes, 1 lane (~0.15 s).
    ///
    /// One lane because argon2 runs lanes in parallel only with its `parallel`
    /// feature, and more lanes without threads cost time and buy nothing.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// The floor, field by field: 19 MiB, 2 passes, 1 lane (OWASP's minimum for
    /// Argon2id). A vault file asking for less is refused: it would be a
    /// downgrade making guesses cheap.
    pub const MIN: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The ceiling of [`KdfParams::new`] and of an unlock by default
    /// ([`KdfCeiling::DEFAULT`]), field by field: 1 GiB, 10 passes, 8 lanes,
    /// what an interactive unlock on a small machine can afford (~11 s on
    /// two cores). A slot asking for more is skipped at unlock unless the
    /// caller raises the ceiling.
    pub const MAX: KdfParams = KdfParams {
        memory_kib: 1024 * 1024,
        iterations: 10,
        parallelism: 8,
    };

    /// Parameters with `memory_kib` KiB of memory, `iterations` passes and
    /// `parallelism` lanes.
    ///
    /// # Errors
    ///
    /// [`Error::KdfParams`] when a field lies outside [`KdfParams::MIN`] ..=
    /// [`KdfParams::MAX`].
    ///
    /// ```
    /// # fn main() -> vaults::Result<()> {
    /// use vaults::KdfParams;
    ///
    /// assert_eq!(KdfParams::new(64 * 1024, 3, 1)?, KdfParams::DEFAULT);
    /// assert!(matches!(KdfParams::new(64 * 1024, 11, 1), Err(vaults::Error::KdfParams { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<KdfParams> {
        Self::new_within(memory_kib, iterations, parallelism, &KdfCeiling::DEFAULT)
    }

    /// Like [`KdfParams::new`], up to `ceiling` instead of [`KdfParams::MAX`]:
    /// for a slot that only unlocks with a raised ceiling
    /// ([`LockedVault::with_kdf_ceiling`](crate::LockedVault::with_kdf_ceiling)).
    ///
    /// # Errors
    ///
    /// [`Error::KdfParams`] when a field lies outside [`KdfParams::MIN`] ..=
    /// `ceiling`.
    ///
    /// ```
    /// # fn main() -> vaults::Result<()> {
    /// use vaults::{KdfCeiling, KdfParams};
    ///
    /// let slow = KdfParams::new_within(2 * 1024 * 1024, 4, 1, &KdfCeiling::HIGHEST)?;
    /// assert!(matches!(KdfParams::new(2 * 1024 * 1024, 4, 1), Err(vaults::Error::KdfParams { .. })));
    /// # drop(slow);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_within(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
        ceiling: &KdfCeiling,
    ) -> Result<KdfParams> {
        let params = KdfParams {
            memory_kib,
            iterations,
            parallelism,
        };
        ceiling.admit(&params)?;
        Ok(params)
    }

    /// Parameters as read from a file, not yet checked: the caller must check
    /// them against its [`KdfCeiling`] before deriving with them.
    pub(crate) const fn from_stored(memory_kib: u32, iterations: u32, parallelism: u32) -> Self {
        KdfParams {
            memory_kib,
            iterations,
            parallelism,
        }
    }

    /// Memory cost in KiB.
    ///
    /// ```
    /// assert_eq!(vaults::KdfParams::DEFAULT.memory_kib(), 65_536);
    /// ```
    pub const fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Number of passes over the memory.
    ///
    /// ```
    /// assert_eq!(vaults::KdfParams::DEFAULT.iterations(), 3);
    /// ```
    pub const fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Number of lanes.
    ///
    /// ```
    /// assert_eq!(vaults::KdfParams::DEFAULT.parallelism(), 1);
    /// ```
    pub const fn parallelism(&self) -> u32 {
        self.parallelism
    }

    /// The work of one derivation, in KiB × passes: what Argon2's time is
    /// proportional to (lanes run one after another without the `parallel`
    /// feature, so they do not divide it).
    pub(crate) fn cost(&self) -> u64 {
        u64::from(self.memory_kib) * u64::from(self.iterations)
    }

    /// Refuses parameters outside the floor and the highest ceiling: the
    /// last guard before Argon2, whatever ceiling the caller chose.
    ///
    /// # Errors
    ///
    /// [`Error::KdfParams`] naming the first bound crossed.
    pub(crate) fn check(&self) -> Result<()> {
        KdfCeiling::HIGHEST.admit(self)
    }
}

#[cfg(test)]
impl KdfParams {
    /// Parameters above every ceiling, which only a test can make.
    pub(crate) const ABOVE_HIGHEST: KdfParams = KdfParams {
        memory_kib: u32::MAX,
        iterations: u32::MAX,
        parallelism: u32::MAX,
    };
}

/// The most Argon2 work an unlock does: a ceiling on each passphrase slot's
/// parameters, field by field, and a budget for all the slots one unlock
/// tries (twice the cost of one slot at the ceiling).
///
/// The parameters are stored in the vault file, so anyone who can write the
/// file chooses them: a slot above the ceiling is skipped before Argon2
/// runs. [`KdfCeiling::DEFAULT`] is [`KdfParams::MAX`]; raise it with
/// [`LockedVault::with_kdf_ceiling`](crate::LockedVault::with_kdf_ceiling)
/// for slots written with more (the CLI's `--allow-slow-unlock` raises it to
/// [`KdfCeiling::HIGHEST`]).
///
/// ```
/// # fn main() -> vaults::Result<()> {
/// use vaults::{KdfCeiling, KdfParams};
///
/// assert_eq!(KdfCeiling::default().max(), KdfParams::MAX);
/// let raised = KdfCeiling::new(2 * 1024 * 1024, 10, 8)?;
/// assert!(raised.budget() > KdfCeiling::DEFAULT.budget());
/// let over = KdfCeiling::new(8 * 1024 * 1024, 10, 8); // over the highest
/// assert!(matches!(over, Err(vaults::Error::KdfParams { .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KdfCeiling {
    max: KdfParams,
}

impl KdfCeiling {
    /// The ceiling of an unlock unless raised: [`KdfParams::MAX`] (1 GiB,
    /// 10 passes, 8 lanes).
    pub const DEFAULT: KdfCeiling = KdfCeiling {
        max: KdfParams::MAX,
    };

    /// The highest a ceiling goes: 4 GiB, 20 passes, 16 lanes (the ceiling of
    /// earlier versions, so that every slot they wrote can be opened). One
    /// slot there took 340 s and 4.2 GB.
    pub const HIGHEST: KdfCeiling = KdfCeiling {
        max: KdfParams {
            memory_kib: 4 * 1024 * 1024,
            iterations: 20,
            parallelism: 16,
        },
    };

    /// A ceiling of `memory_kib` KiB, `iterations` passes and `parallelism`
    /// lanes; it may be lower than the default, never higher than
    /// [`KdfCeiling::HIGHEST`].
    ///
    /// # Errors
    ///
    /// [`Error::KdfParams`] when a field lies outside [`KdfParams::MIN`] ..=
    /// [`KdfCeiling::HIGHEST`].
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<KdfCeiling> {
        let max = KdfParams::new_within(memory_kib, iterations, parallelism, &Self::HIGHEST)?;
        Ok(KdfCeiling { max })
    }

    /// The highest parameters a slot may have, field by field.
    pub const fn max(&self) -> KdfParams {
        self.max
    }

    /// The Argon2 work one unlock may do over all the slots it tries, in
    /// KiB × passes: twice the cost of one slot at the ceiling.
    ///
    /// ```
    /// // 2 × 1 GiB × 10 passes.
    /// assert_eq!(vaults::KdfCeiling::DEFAULT.budget(), 2 * 1024 * 1024 * 10);
    /// ```
    pub fn budget(&self) -> u64 {
        self.max.cost().saturating_mul(2)
    }

    /// Refuses parameters below the floor or above this ceiling.
    ///
    /// # Errors
    ///
    /// [`Error::KdfParams`] naming the first bound crossed.
    pub(crate) fn admit(&self, p: &KdfParams) -> Result<()> {
        let min = KdfParams::MIN;
        let max = self.max;
        let reason = if p.memory_kib < min.memory_kib {
            "memory below the floor of 19 MiB"
        } else if p.memory_kib > max.memory_kib {
            self.above([
                "memory above the ceiling of 1 GiB",
                "memory above the highest ceiling of 4 GiB",
                "memory above this unlock's ceiling",
            ])
        } else if p.iterations < min.iterations {
            "iterations below the floor of 2"
        } else if p.iterations > max.iterations {
            self.above([
                "iterations above the ceiling of 10",
                "iterations above the highest ceiling of 20",
                "iterations above this unlock's ceiling",
            ])
        } else if p.parallelism < min.parallelism {
            "parallelism below the floor of 1"
        } else if p.parallelism > max.parallelism {
            self.above([
                "parallelism above the ceiling of 8",
                "parallelism above the highest ceiling of 16",
                "parallelism above this unlock's ceiling",
            ])
        } else {
            return Ok(());
        };
        Err(Error::KdfParams { reason })
    }

    /// The reason for the default ceiling, the highest, or another one.
    fn above(&self, [default, highest, other]: [&'static str; 3]) -> &'static str {
        match *self {
            Self::DEFAULT => default,
            Self::HIGHEST => highest,
            _ => other,
        }
    }
}

impl Default for KdfCeiling {
    /// [`KdfCeiling::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Default for KdfParams {
    /// [`KdfParams::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Stretches a passphrase into a key-encryption key: Argon2id, version 0x13,
/// 32-byte output, no secret and no associated data.
///
/// # Errors
///
/// [`Error::KdfParams`] when the parameters are outside the floor and ceiling
/// (checked before any work) or the memory they ask for cannot be allocated.
pub(crate) fn derive_kek(
    pass: &Passphrase,
    salt: &[u8; SALT_LEN],
    params: &KdfParams,
) -> Result<Box<Zeroizing<[u8; KEK_LEN]>>> {
    params.check()?;
    // Written in its heap box: returning the array itself would move it
    // through stack slots that nothing wipes.
    let mut kek = Box::new(Zeroizing::new([0u8; KEK_LEN]));
    argon2id(pass.as_bytes(), salt, params, None, &[], &mut kek)?;
    Ok(kek)
}

/// Argon2id v0x13 into `out`, with Argon2's optional secret and associated
/// data so that the RFC 9106 test vector runs through this same code.
///
/// Runs with whatever parameters it is given: bounds are the caller's job.
/// Its working memory is allocated here rather than by argon2 so that it can
/// be wiped: the last blocks determine the output.
fn argon2id(
    password: &[u8],
    salt: &[u8],
    params: &KdfParams,
    secret: Option<&[u8]>,
    associated_data: &[u8],
    out: &mut [u8; KEK_LEN],
) -> Result<()> {
    const REFUSED: Error = Error::KdfParams {
        reason: "refused by argon2",
    };
    let mut builder = ParamsBuilder::new();
    builder
        .m_cost(params.memory_kib)
        .t_cost(params.iterations)
        .p_cost(params.parallelism)
        .output_len(KEK_LEN);
    if !associated_data.is_empty() {
        builder.data(AssociatedData::new(associated_data).map_err(|_| REFUSED)?);
    }
    let argon_params = builder.build().map_err(|_| REFUSED)?;
    let blocks = argon_params.block_count();
    let context = match secret {
        Some(secret) => {
            Argon2::new_with_secret(secret, Algorithm::Argon2id, Version::V0x13, argon_params)
                .map_err(|_| REFUSED)?
        }
        None => Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params),
    };

    let mut memory: Zeroizing<Vec<Block>> = Zeroizing::new(Vec::new());
    memory
        .try_reserve_exact(blocks)
        .map_err(|_| Error::KdfParams {
            reason: "not enough memory for these parameters",
        })?;
    memory.resize(blocks, Block::new());
    context
        .hash_password_into_with_memory(password, salt, out, memory.as_mut_slice())
        .map_err(|_| REFUSED)
}

#[cfg(test)]
mod tests;
