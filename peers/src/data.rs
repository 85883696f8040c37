//! The names, values and orders every store in the comparison works on:
//! shared by the vault's workloads (`crates/vaults/benches/workloads/`,
//! which include this file by path) and the peers, so that all of them
//! measure the same thing.

/// The name of entry `i`.
pub fn name(i: usize) -> String {
    format!("service/{i:06}/token")
}

/// A name that is never stored.
pub fn missing_name(i: usize) -> String {
    format!("service/{i:06}/absent")
}

/// The value of entry `i`: `size` pseudo-random bytes (xorshift of `i`).
pub fn value(i: usize, size: usize) -> Vec<u8> {
    let mut x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `n` indices below `below`, in a fixed pseudo-random order (the same for
/// every store, so they all touch the same entries).
pub fn random_order(n: usize, below: usize, seed: u64) -> Vec<usize> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % below as u64) as usize
        })
        .collect()
}

/// The value of row `i` of a cleanup vault (about 50 bytes, as the vault's
/// CBOR pair of two strings).
pub fn cleanup_value(i: usize) -> Vec<u8> {
    format!("user-{}|{:032x}", i % 9_973, i * 0x9e37).into_bytes()
}
