//! An encrypted vault's metadata records (format version, generation, slots,
//! MAC): any set of records parses to a typed error or metadata, never a
//! panic, and random records never pass the MAC.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|records: Vec<(String, Vec<u8>)>| {
    if vaults::fuzzing::parse_meta(&records).is_ok() {
        panic!("random metadata passed its MAC");
    }
});
