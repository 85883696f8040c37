//! Our export encrypted for stock `age`/`rage` with a passphrase (scrypt).

use std::io::{Read, Write};

use crate::error::{Error, Result};
use crate::transfer::export_doc::write_error;

/// The largest scrypt work factor (log2 of N) an age file may ask for on
/// import: 2^20 takes 1 GiB of memory and seconds of work. A file asking for
/// more is refused before any work (a 200-byte file could otherwise cost
/// gigabytes).
pub const MAX_WORK_FACTOR: u8 = 20;

/// The scrypt work factor of our exports: 2^18, 256 MiB and about half a
/// second. Fixed, rather than age's "a second on this machine", so that an
/// export made on a fast machine still imports under [`MAX_WORK_FACTOR`]
/// everywhere.
pub const EXPORT_WORK_FACTOR: u8 = 18;

/// Runs `write` into an age encryption (passphrase, ASCII armor) of `out`,
/// as `age -d` decrypts: plaintext goes through in chunks, never whole.
pub fn age_encrypt(
    passphrase: &str,
    out: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let secret = age::secrecy::SecretString::from(passphrase.to_owned());
    let mut recipient = age::scrypt::Recipient::new(secret);
    recipient.set_work_factor(EXPORT_WORK_FACTOR);
    age_encrypt_to(&[&recipient], out, write)
}

/// Runs `write` into an age encryption (ASCII armor) of `out` to
/// `recipients` (X25519 or SSH keys), as `age -d -i KEY` decrypts.
pub fn age_encrypt_to(
    recipients: &[&dyn age::Recipient],
    out: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let encryptor = age::Encryptor::with_recipients(recipients.iter().copied())
        .map_err(|e| Error::other(format!("cannot encrypt the export: {e}")))?;
    let fail = write_error;
    let armored = age::armor::ArmoredWriter::wrap_output(out, age::armor::Format::AsciiArmor)
        .map_err(fail)?;
    let mut writer = encryptor.wrap_output(armored).map_err(fail)?;
    write(&mut writer)?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(fail)?;
    Ok(())
}

/// The plaintext of an age file (armored or binary) encrypted with a
/// passphrase, as a stream: each chunk is checked as it is read, so a
/// modified file fails part-way (the import, one transaction, then stores
/// nothing).
pub fn age_decrypt<'a>(input: impl Read + 'a, passphrase: &str) -> Result<Box<dyn Read + 'a>> {
    let mut identity =
        age::scrypt::Identity::new(age::secrecy::SecretString::from(passphrase.to_owned()));
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    age_decrypt_with(input, &[&identity], "wrong export passphrase")
}

/// The plaintext of an age file (armored or binary) that one of
/// `identities` opens, as a stream; `wrong` says what failed when none does.
pub fn age_decrypt_with<'a>(
    input: impl Read + 'a,
    identities: &[&dyn age::Identity],
    wrong: &str,
) -> Result<Box<dyn Read + 'a>> {
    let mut input = std::io::BufReader::new(input);
    let looks_like_age = std::io::BufRead::fill_buf(&mut input).is_ok_and(is_age);
    let reader = age::armor::ArmoredReader::new(input);
    let decryptor =
        age::Decryptor::new_buffered(std::io::BufReader::new(reader)).map_err(|e| match e {
            // It starts as an age file: its header was damaged or edited,
            // which is how tampering shows, like a modified payload.
            age::DecryptError::InvalidHeader | age::DecryptError::InvalidMac if looks_like_age => {
                Error::auth("the age file's header was modified or damaged")
            }
            other => Error::other(format!("not an age file: {other}")),
        })?;
    let stream = decryptor
        .decrypt(identities.iter().copied())
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                Error::auth(format!("{wrong}, or the file was modified"))
            }
            age::DecryptError::InvalidMac | age::DecryptError::InvalidHeader => {
                Error::auth("the age file's header was modified or damaged")
            }
            age::DecryptError::ExcessiveWork { required, .. } => Error::other(format!(
                "the export asks for scrypt work factor {required}; vaults accepts at most \
                 {MAX_WORK_FACTOR} (1 GiB of memory), so it was not tried"
            )),
            other => Error::other(format!("cannot decrypt the export: {other}")),
        })?;
    Ok(Box::new(stream))
}

/// Whether `data` (the start of a file) looks like an age file.
pub fn is_age(data: &[u8]) -> bool {
    data.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
        || data.starts_with(b"age-encryption.org/")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn age_round_trip() {
        let mut sealed = Vec::new();
        age_encrypt("pw", &mut sealed, |w| {
            w.write_all(b"{\"x\":1}").map_err(write_error)
        })
        .unwrap();
        assert!(is_age(&sealed));
        let mut plain = Vec::new();
        age_decrypt(&sealed[..], "pw")
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, b"{\"x\":1}");
        assert_eq!(
            age_decrypt(&sealed[..], "nope").err().unwrap().exit_code(),
            crate::error::AUTH
        );
    }
}
