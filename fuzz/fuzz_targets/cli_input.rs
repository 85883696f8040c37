//! What the CLI parses from users and files: durations (`--ttl`, `expire`),
//! `.env` files and our JSON export documents.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vaults_cli::fuzzing as cli;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cli::parse_duration(text);
    }
    let _ = cli::parse_env(data);
    let _ = cli::parse_export(data, false, &mut |_, _| Ok(()));
    let _ = cli::show(data);
    let _ = cli::env_value(data);
});
