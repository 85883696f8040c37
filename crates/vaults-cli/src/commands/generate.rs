//! `generate`: a new random secret from the OS generator, stored directly.
//! Characters are drawn without bias (rejection sampling, never a modulo);
//! words come from the EFF large word list (7,776 words, 12.9 bits each).

use std::time::Duration;

use zeroize::Zeroizing;

use vaults::Store;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::output;

/// The EFF large word list (CC BY 3.0 US, Electronic Frontier Foundation):
/// one word a line.
const WORDS: &str = include_str!("../../data/eff_large_wordlist.txt");

const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";
/// Symbols that need no quoting inside double quotes in a shell, a `.env`
/// file, a URL's password part or JSON: no quotes, `\`, `$`, `` ` ``, space.
pub const SYMBOLS: &[u8] = b"!#%&()*+,-./:;<=>?@[]^_{|}~";

/// What to make.
pub enum Recipe {
    /// This many characters, with or without symbols.
    Chars { length: usize, symbols: bool },
    /// This many words joined by `-`.
    Words(usize),
}

/// A secret made to `recipe`, and its entropy in bits.
pub fn make(recipe: &Recipe) -> Result<(Zeroizing<String>, f64)> {
    match *recipe {
        Recipe::Chars { length, symbols } => {
            if !(8..=4096).contains(&length) {
                return Err(Error::usage("--length must be 8 to 4096 characters"));
            }
            let mut alphabet = LETTERS.to_vec();
            alphabet.extend_from_slice(DIGITS);
            if symbols {
                alphabet.extend_from_slice(SYMBOLS);
            }
            let mut out = Zeroizing::new(String::with_capacity(length));
            for _ in 0..length {
                let i = uniform(alphabet.len())?;
                out.push(char::from(alphabet.get(i).copied().unwrap_or(b'a')));
            }
            Ok((out, length as f64 * (alphabet.len() as f64).log2()))
        }
        Recipe::Words(n) => {
            if !(3..=64).contains(&n) {
                return Err(Error::usage("--words must be 3 to 64"));
            }
            let list: Vec<&str> = WORDS.lines().filter(|w| !w.is_empty()).collect();
            let mut out = Zeroizing::new(String::new());
            for k in 0..n {
                if k > 0 {
                    out.push('-');
                }
                out.push_str(list.get(uniform(list.len())?).copied().unwrap_or("word"));
            }
            Ok((out, n as f64 * (list.len() as f64).log2()))
        }
    }
}

/// A uniform index below `n` (1 ≤ n ≤ 2^16), from the OS generator: 16-bit
/// draws at or above the largest multiple of `n` are drawn again.
fn uniform(n: usize) -> Result<usize> {
    let n = u32::try_from(n).map_err(|_| Error::other("alphabet too large"))?;
    let limit = (1u32 << 16) - ((1u32 << 16) % n);
    loop {
        let mut b = [0u8; 2];
        getrandom::fill(&mut b)
            .map_err(|_| Error::other("the operating system's random generator failed"))?;
        let draw = u32::from(u16::from_le_bytes(b));
        if draw < limit {
            return Ok((draw % n) as usize);
        }
    }
}

/// Where the new secret is shown, besides the vault.
pub struct Shown {
    /// Printed on stdout.
    pub print: bool,
    /// Copied to the clipboard.
    pub clip: bool,
}

/// `generate`: stores a new secret under `key`, says how strong it is, and
/// shows it where asked.
pub fn run<S: Store>(
    ctx: &Context,
    s: &S,
    key: &str,
    recipe: &Recipe,
    ttl: Option<Duration>,
    force: bool,
    shown: Shown,
) -> Result<()> {
    let (secret, bits) = generate(s, key, recipe, ttl, force)?;
    output::notice(&format!(
        "vaults: stored a new secret as {key:?} ({bits:.0} bits of entropy)"
    ));
    if shown.clip {
        super::entries::to_clipboard(&format!("{key:?}"), secret.as_bytes(), ctx.clip_timeout)?;
    }
    if shown.print {
        output::emit_secret(secret.as_bytes())?;
        output::emit_secret(b"\n")?;
    }
    Ok(())
}

/// Stores a new secret under `key` (refused over an existing entry without
/// `force`), and returns it.
fn generate<S: Store>(
    s: &S,
    key: &str,
    recipe: &Recipe,
    ttl: Option<Duration>,
    force: bool,
) -> Result<(Zeroizing<String>, f64)> {
    let (secret, bits) = make(recipe)?;
    let exists = s.transaction(|t| {
        if !force && t.contains(key)? {
            return Ok(true);
        }
        match ttl {
            Some(ttl) => t.put_with_ttl(key, secret.as_str(), ttl)?,
            None => t.put(key, secret.as_str())?,
        }
        Ok(false)
    })?;
    if exists {
        return Err(Error::other(format!(
            "an entry named {key:?} exists; nothing changed (--force replaces it)"
        )));
    }
    Ok((secret, bits))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_word_list_is_the_eff_large_list() {
        let words: std::collections::HashSet<&str> = WORDS.lines().collect();
        assert_eq!(words.len(), 7776);
    }

    #[test]
    fn draws_are_uniform_enough() {
        let mut counts = [0u32; 10];
        for _ in 0..20_000 {
            counts[uniform(10).unwrap()] += 1;
        }
        // Expected 2,000 each; 5 standard deviations is about ±212.
        assert!(
            counts.iter().all(|&c| (1_750..=2_250).contains(&c)),
            "{counts:?}"
        );
    }
}
