//! Expiry vocabulary shared by every store: what a write does to an
//! entry's expiry, what `ttl` reports, and when `expire` may act (Redis's
//! NX / XX / GT / LT).

use std::time::Duration;

/// What a write does to the entry's expiry, for
/// [`put_with`](crate::Store::put_with) and
/// [`put_bytes_with`](crate::Store::put_bytes_with).
///
/// ```
/// use std::time::Duration;
/// use vaults::{Expiry, Store, Ttl, Vault};
///
/// let vault = Vault::open_in_memory()?;
/// vault.put_with("token", "old", Expiry::After(Duration::from_secs(60)))?;
/// vault.put_with("token", "new", Expiry::Keep)?; // Redis KEEPTTL
/// assert!(matches!(vault.ttl("token")?, Some(Ttl::Remaining(_))));
/// vault.put_with("token", "newer", Expiry::Never)?; // as `put`
/// assert_eq!(vault.ttl("token")?, Some(Ttl::Never));
/// # Ok::<(), vaults::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Expiry {
    /// No expiry: an old one is cleared (what [`put`](crate::Store::put) does).
    #[default]
    Never,
    /// Keep the expiry of the entry being replaced (Redis `KEEPTTL`); a new
    /// entry never expires.
    #[doc(alias = "KEEPTTL")]
    Keep,
    /// Expire this long from now. Zero deletes the entry instead.
    After(Duration),
}

/// The time to live of an entry that exists (a missing entry is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ttl {
    /// The entry never expires.
    Never,
    /// The entry expires after this long.
    Remaining(Duration),
}

impl Ttl {
    /// The TTL of an entry expiring at `expires_at` (ms), seen at `now` (ms).
    pub(crate) fn at(expires_at: Option<i64>, now: i64) -> Ttl {
        match expires_at {
            None => Ttl::Never,
            Some(at) => Ttl::Remaining(Duration::from_millis(
                u64::try_from(at.saturating_sub(now)).unwrap_or(0),
            )),
        }
    }
}

/// When [`expire`](crate::Store::expire) may change an entry's expiry.
///
/// A entry without expiry counts as living forever: `Later` never applies to
/// it and `Sooner` always does, as in Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ExpireIf {
    /// Always (plain `EXPIRE`).
    #[default]
    Always,
    /// Only if the entry has no expiry yet (`NX`).
    #[doc(alias = "NX")]
    NoExpiry,
    /// Only if the entry already has an expiry (`XX`).
    #[doc(alias = "XX")]
    HasExpiry,
    /// Only if the new expiry is later than the current one (`GT`).
    #[doc(alias = "GT")]
    Later,
    /// Only if the new expiry is sooner than the current one (`LT`).
    #[doc(alias = "LT")]
    Sooner,
}

impl ExpireIf {
    /// Whether the condition holds for an entry expiring at `current`,
    /// given the proposed new expiry `new` (both in ms).
    pub(crate) fn allows(self, current: Option<i64>, new: i64) -> bool {
        match self {
            ExpireIf::Always => true,
            ExpireIf::NoExpiry => current.is_none(),
            ExpireIf::HasExpiry => current.is_some(),
            ExpireIf::Later => current.is_some_and(|c| new > c),
            ExpireIf::Sooner => current.is_none_or(|c| new < c),
        }
    }
}

/// Whether a row expiring at `expires_at` is still alive at `now`.
pub(crate) fn alive(expires_at: Option<i64>, now: i64) -> bool {
    expires_at.is_none_or(|at| at > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_follow_redis() {
        use ExpireIf::*;
        // (condition, current, new, allowed)
        let table = [
            (Always, None, 5, true),
            (NoExpiry, None, 5, true),
            (NoExpiry, Some(9), 5, false),
            (HasExpiry, None, 5, false),
            (HasExpiry, Some(9), 5, true),
            (Later, None, 5, false),
            (Later, Some(4), 5, true),
            (Later, Some(5), 5, false),
            (Sooner, None, 5, true),
            (Sooner, Some(6), 5, true),
            (Sooner, Some(5), 5, false),
        ];
        for (cond, cur, new, want) in table {
            assert_eq!(cond.allows(cur, new), want, "{cond:?} {cur:?} {new}");
        }
    }

    #[test]
    fn ttl_reports_remaining_time() {
        assert_eq!(Ttl::at(None, 10), Ttl::Never);
        assert_eq!(
            Ttl::at(Some(1_500), 1_000),
            Ttl::Remaining(Duration::from_millis(500))
        );
        assert!(alive(Some(11), 10));
        assert!(!alive(Some(10), 10));
    }
}
