//! `env`: the chosen entries as environment assignments, in a form that
//! reads back to the same bytes: dotenv (as `dotenvy` and docker read it),
//! POSIX shell (`.` or `eval`), or JSON. Names map to variables as `exec`
//! maps them.

use vaults::Store;
use zeroize::Zeroizing;

use crate::child_env::{self, Chosen};
use crate::cli::EnvFormat;
use crate::error::Result;
use crate::output::emit_secret;

/// Prints the variables of the chosen entries in `format`.
pub fn print<S: Store>(s: &S, format: EnvFormat, prefix: &str, chosen: &Chosen) -> Result<()> {
    let vars = child_env::variables(s, prefix, chosen)?;
    let mut out = Zeroizing::new(String::new());
    match format {
        EnvFormat::Dotenv => {
            for v in &vars {
                out.push_str(&v.var);
                out.push_str("=\"");
                dotenv_quoted(&mut out, &v.value);
                out.push_str("\"\n");
            }
        }
        EnvFormat::Shell => {
            for v in &vars {
                out.push_str("export ");
                out.push_str(&v.var);
                out.push_str("='");
                out.push_str(&v.value.replace('\'', "'\\''"));
                out.push_str("'\n");
            }
        }
        EnvFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|v| (v.var.clone(), serde_json::Value::String(v.value.clone())))
                .collect();
            let doc = Zeroizing::new(serde_json::Value::Object(map).to_string());
            out.push_str(&doc);
            out.push('\n');
        }
    }
    emit_secret(out.as_bytes())
}

/// `value` inside dotenv double quotes: `\`, `"` and `$` escaped, a newline
/// as `\n`; everything else as it is.
fn dotenv_quoted(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
