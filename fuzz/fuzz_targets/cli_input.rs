//! What the CLI parses from users and files: durations (`--ttl`, `expire`),
//! `.env` files and our JSON export documents.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/bin/vaults/bounded_json.rs"]
mod bounded_json;
#[allow(dead_code)]
#[path = "../../src/bin/vaults/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../../src/bin/vaults/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../src/bin/vaults/input.rs"]
mod input;
#[allow(dead_code)]
#[path = "../../src/bin/vaults/names.rs"]
mod names;
#[allow(dead_code)]
#[path = "../../src/bin/vaults/transfer.rs"]
mod transfer;
#[allow(dead_code)]
#[path = "../../src/bin/vaults/values.rs"]
mod values;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cli::parse_duration(text);
    }
    let _ = transfer::parse_env(data);
    let _ = transfer::parse_export(data, false, &mut |_, _| Ok(()));
    let _ = values::show(data);
    let _ = values::env_value(data);
});
