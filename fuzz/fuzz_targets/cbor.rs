//! Values as the typed API decodes them: depth-limited CBOR. Deep nesting and
//! huge declared lengths must give an error, not a stack overflow or an
//! unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

#[allow(dead_code)]
#[derive(Deserialize, Debug)]
struct Session {
    user: String,
    roles: Vec<String>,
    expires: Option<u64>,
    extra: std::collections::BTreeMap<String, ciborium::Value>,
}

fuzz_target!(|data: &[u8]| {
    let _ = vaults::fuzzing::decode_cbor::<ciborium::Value>(data);
    let _ = vaults::fuzzing::decode_cbor::<Session>(data);
    let _ = vaults::fuzzing::decode_cbor::<(String, u32, Vec<u8>)>(data);
    let _ = vaults::fuzzing::decode_cbor::<serde_json::Value>(data);
});
