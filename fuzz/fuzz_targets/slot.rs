//! Key slot records: decoding arbitrary bytes never panics, and a record that
//! decodes re-encodes to exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(encoded) = vaults::fuzzing::decode_slot(data) {
        assert_eq!(encoded, data);
    }
});
