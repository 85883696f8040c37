//! Which passphrase slots an unlock tries, in which order, before any
//! Argon2 runs.
//!
//! The slots and their parameters come from the vault file, which an
//! attacker may have written: the plan bounds the work of one unlock by
//! the number of slots ([`MAX_SLOTS`]), a ceiling on each slot's parameters
//! and a budget for their sum ([`KdfCeiling`]). Slots are tried cheapest
//! first, so a planted expensive slot comes after the genuine cheap ones;
//! the caller can also name the one slot to try.

use std::fmt;

use super::kdf::{KdfCeiling, KdfParams, SALT_LEN};
use super::meta::Meta;
use super::slot::{SlotKind, SlotRecord};
use crate::{Error, Result};

/// The most key slots a vault holds: adding one more is refused, and an
/// unlock refuses a file with more before trying any.
pub const MAX_SLOTS: usize = 16;

/// A passphrase slot an unlock did not try, and why (see
/// [`LockedVault::skipped_slots`](crate::LockedVault::skipped_slots)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkippedSlot {
    /// The slot's id.
    pub id: u32,
    /// Why it was not tried.
    pub reason: SkipReason,
}

/// Why an unlock did not try a passphrase slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Its Argon2 parameters are below the floor or above the ceiling.
    OutOfBounds {
        /// Which bound, as in [`Error::KdfParams`].
        reason: &'static str,
    },
    /// Trying it would take the unlock over its Argon2 budget
    /// ([`KdfCeiling::budget`]): name it to try it alone.
    OverBudget,
}

impl fmt::Display for SkippedSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            SkipReason::OutOfBounds { reason } => {
                write!(f, "key slot {} skipped: argon2 {reason}", self.id)
            }
            SkipReason::OverBudget => write!(
                f,
                "key slot {} skipped: the argon2 budget of one unlock is spent; name the slot to try it",
                self.id
            ),
        }
    }
}

/// A passphrase slot to try.
pub(crate) struct Candidate<'m> {
    pub(crate) id: u32,
    pub(crate) record: &'m SlotRecord,
    pub(crate) params: KdfParams,
    pub(crate) salt: [u8; SALT_LEN],
}

/// The slots to try, in order, and those left out.
pub(crate) struct Plan<'m> {
    pub(crate) tried: Vec<Candidate<'m>>,
    pub(crate) skipped: Vec<SkippedSlot>,
}

/// Refuses a file with more slots than a vault may hold: trying them all
/// would be unbounded work, and this version never writes that many.
///
/// # Errors
/// [`Error::TooManySlots`].
pub(crate) fn check_slot_count(meta: &Meta) -> Result<()> {
    if meta.slots.len() > MAX_SLOTS {
        tracing::warn!(
            slots = meta.slots.len(),
            "refusing to unlock a vault with too many key slots"
        );
        return Err(Error::TooManySlots { max: MAX_SLOTS });
    }
    Ok(())
}

/// Plans a passphrase unlock: only slot `named` when given, else every
/// passphrase slot within the bounds, cheapest first (then by id), as long
/// as the budget lasts.
///
/// # Errors
/// [`Error::TooManySlots`]; for a named slot, [`Error::SlotNotFound`] if it
/// is not a passphrase slot, [`Error::KdfParams`] if it is out of bounds.
pub(crate) fn plan<'m>(
    meta: &'m Meta,
    ceiling: &KdfCeiling,
    named: Option<u32>,
) -> Result<Plan<'m>> {
    check_slot_count(meta)?;
    let mut candidates: Vec<Candidate<'m>> = meta
        .slots
        .iter()
        .filter(|(id, _)| named.is_none_or(|n| n == **id))
        .filter_map(|(&id, record)| match record.kind() {
            SlotKind::Passphrase { params, salt } => Some(Candidate {
                id,
                record,
                params: *params,
                salt: *salt,
            }),
            SlotKind::Keyring { .. } => None,
        })
        .collect();
    if let Some(id) = named {
        let only = candidates.pop().ok_or(Error::SlotNotFound { id })?;
        ceiling.admit(&only.params)?;
        return Ok(Plan {
            tried: vec![only],
            skipped: Vec::new(),
        });
    }
    candidates.sort_by_key(|c| (c.params.cost(), c.id));
    let mut plan = Plan {
        tried: Vec::new(),
        skipped: Vec::new(),
    };
    let mut spent: u64 = 0;
    for candidate in candidates {
        let reason = match ceiling.admit(&candidate.params) {
            Err(Error::KdfParams { reason }) => SkipReason::OutOfBounds { reason },
            Err(e) => return Err(e),
            Ok(()) => match spent.checked_add(candidate.params.cost()) {
                Some(total) if total <= ceiling.budget() => {
                    spent = total;
                    plan.tried.push(candidate);
                    continue;
                }
                _ => SkipReason::OverBudget,
            },
        };
        plan.skipped.push(SkippedSlot {
            id: candidate.id,
            reason,
        });
    }
    plan.skipped.sort_by_key(|s| s.id);
    Ok(plan)
}
