//! Sealed value/name envelopes and their associated data: opening arbitrary
//! bytes never panics, and sealing then opening gives the plaintext back.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    stored: &'a [u8],
    name: bool,
    generation: u32,
    key: &'a [u8],
    expires_at: Option<i64>,
    plaintext: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let _ = vaults::fuzzing::open_envelope(input.stored, input.name, input.generation, input.key, input.expires_at);
    assert!(vaults::fuzzing::seal_round_trip(
        input.plaintext,
        input.generation,
        input.key,
        input.expires_at
    ));
});
