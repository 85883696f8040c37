//! Size limits every layer agrees on: what a name and a value may be, and
//! what a row column may hold once sealed (storage refuses to read more).

/// Longest entry name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 1024;

/// Largest value a vault stores, in bytes (encoded, 64 MiB); a larger one
/// fails with [`Error::ValueTooLarge`](crate::Error::ValueTooLarge).
pub const MAX_VALUE_LEN: usize = 64 << 20;

/// Longest row content storage may hand back or store: the value cap, plus
/// the padding of a sealed value (Padmé adds at most 1/32 at 64 MiB), plus
/// 1 MiB for the envelope, the sealed name and the stored key.
pub(crate) const MAX_STORED_LEN: usize = MAX_VALUE_LEN + (MAX_VALUE_LEN >> 5) + (1 << 20);
