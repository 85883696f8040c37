//! `otp`: the current time-based one-time code (RFC 6238) of an entry that
//! holds an `otpauth://totp/...` URI or a bare base32 secret.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{KeyInit, Mac};
use vaults::Store;
use zeroize::Zeroizing;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::output;
use crate::values;

/// The hash under the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

/// What a code is computed from.
struct Totp {
    secret: Zeroizing<Vec<u8>>,
    digits: u32,
    period: u64,
    algorithm: Algorithm,
}

/// Reads the entry's text: a URI or a base32 secret. Errors never quote it.
fn parse(text: &str) -> Result<Totp> {
    let text = text.trim();
    let mut totp = Totp {
        secret: Zeroizing::new(Vec::new()),
        digits: 6,
        period: 30,
        algorithm: Algorithm::Sha1,
    };
    let secret_text: Zeroizing<String>;
    if let Some(rest) = text.strip_prefix("otpauth://") {
        let (kind, rest) = rest.split_once('/').unwrap_or((rest, ""));
        if !kind.eq_ignore_ascii_case("totp") {
            return Err(Error::other(
                "the entry is an otpauth URI, but not of a TOTP (otpauth://totp/...)",
            ));
        }
        let query = rest.split_once('?').map(|(_, q)| q).unwrap_or("");
        let mut secret = None;
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k.to_ascii_lowercase().as_str() {
                "secret" => secret = Some(Zeroizing::new(v.replace("%3D", "="))),
                "digits" => {
                    totp.digits = v
                        .parse()
                        .ok()
                        .filter(|d| (6..=10).contains(d))
                        .ok_or_else(|| Error::other("the URI's digits must be 6 to 10"))?;
                }
                "period" => {
                    totp.period = v
                        .parse()
                        .ok()
                        .filter(|p| (1..=86_400).contains(p))
                        .ok_or_else(|| {
                            Error::other("the URI's period must be 1 to 86400 seconds")
                        })?;
                }
                "algorithm" => {
                    totp.algorithm = match v.to_ascii_uppercase().as_str() {
                        "SHA1" => Algorithm::Sha1,
                        "SHA256" => Algorithm::Sha256,
                        "SHA512" => Algorithm::Sha512,
                        _ => {
                            return Err(Error::other(
                                "the URI's algorithm must be SHA1, SHA256 or SHA512",
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        secret_text = secret.ok_or_else(|| Error::other("the otpauth URI has no secret="))?;
    } else {
        secret_text = Zeroizing::new(text.to_owned());
    }
    let cleaned: Zeroizing<String> = Zeroizing::new(
        secret_text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    totp.secret = Zeroizing::new(
        data_encoding::BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| {
                Error::other(
                    "the entry is not a TOTP secret: neither an otpauth://totp/ URI nor base32",
                )
            })?,
    );
    if totp.secret.is_empty() {
        return Err(Error::other("the TOTP secret is empty"));
    }
    Ok(totp)
}

fn hmac_of<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Result<Vec<u8>> {
    let mut mac = <M as KeyInit>::new_from_slice(key)
        .map_err(|_| Error::other("the TOTP secret cannot key an HMAC"))?;
    mac.update(msg);
    Ok(mac.finalize().into_bytes().to_vec())
}

impl Totp {
    /// The code at `unix` seconds (RFC 4226's dynamic truncation).
    fn code_at(&self, unix: u64) -> Result<String> {
        let counter = (unix / self.period).to_be_bytes();
        let mac = match self.algorithm {
            Algorithm::Sha1 => hmac_of::<hmac::Hmac<sha1::Sha1>>(&self.secret, &counter)?,
            Algorithm::Sha256 => hmac_of::<hmac::Hmac<sha2::Sha256>>(&self.secret, &counter)?,
            Algorithm::Sha512 => hmac_of::<hmac::Hmac<sha2::Sha512>>(&self.secret, &counter)?,
        };
        let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
        let word = mac
            .get(offset..offset + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .ok_or_else(|| Error::other("HMAC too short"))?;
        let value = u64::from(u32::from_be_bytes(word) & 0x7fff_ffff);
        let code = value % 10u64.pow(self.digits);
        Ok(format!("{code:0width$}", width = self.digits as usize))
    }
}

/// `otp`: prints (or copies) the current code of the entry `key`, and on
/// stderr how long it stays valid.
pub fn run<S: Store>(ctx: &Context, s: &S, key: &str, clip: bool) -> Result<()> {
    let stored = s.get_bytes(key)?.ok_or_else(|| Error::no_entry(key))?;
    let text = values::env_value(&stored)
        .map(Zeroizing::new)
        .ok_or_else(|| Error::other(format!("entry {key:?} is not text: no TOTP secret")))?;
    let (code, left) = current_code(&text)?;
    match clip {
        true => super::entries::to_clipboard("the code", code.as_bytes(), ctx.clip_timeout)?,
        false => output::emit_secret(format!("{}\n", code.as_str()).as_bytes())?,
    }
    output::notice(&format!("vaults: valid for {left} more seconds"));
    Ok(())
}

/// The current code of `text`, and the seconds it stays valid.
fn current_code(text: &str) -> Result<(Zeroizing<String>, u64)> {
    let totp = parse(text)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::other("the clock is before 1970"))?
        .as_secs();
    let left = totp.period - now % totp.period;
    Ok((Zeroizing::new(totp.code_at(now)?), left))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 seed "12345678901234567890".
    #[test]
    fn rfc_6238_vectors() {
        let seed = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        let t = parse(&format!("otpauth://totp/x?secret={seed}&digits=8")).unwrap();
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(t.code_at(time).unwrap(), code);
        }
        let seed = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890123456789012");
        let t = parse(&format!(
            "otpauth://totp/x?secret={seed}&digits=8&algorithm=SHA256"
        ))
        .unwrap();
        assert_eq!(t.code_at(59).unwrap(), "46119246");
    }
}
