#![allow(clippy::unwrap_used, clippy::panic)]
use super::*;
use crate::crypto::test_hex as hex;

#[test]
fn argon2id_matches_rfc_9106_section_5_3() {
    let mut tag = [0u8; 32];
    argon2id(
        &[0x01; 32],
        &[0x02; 16],
        &KdfParams::from_stored(32, 3, 4),
        Some(&[0x03; 8]),
        &[0x04; 12],
        &mut tag,
    )
    .unwrap();
    assert_eq!(
        tag.to_vec(),
        hex("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
    );
}

#[test]
fn derive_kek_is_deterministic_and_depends_on_every_input() {
    let pass = Passphrase::new("correct horse").unwrap();
    let other = Passphrase::new("correct horsf").unwrap();
    let salt = [7u8; 16];
    let min = KdfParams::MIN;
    let base = derive_kek(&pass, &salt, &min).unwrap();
    assert_eq!(*base, *derive_kek(&pass, &salt, &min).unwrap());
    assert_ne!(*base, *derive_kek(&other, &salt, &min).unwrap());
    assert_ne!(*base, *derive_kek(&pass, &[8u8; 16], &min).unwrap());
    let more = KdfParams::new(min.memory_kib(), min.iterations() + 1, 1).unwrap();
    assert_ne!(*base, *derive_kek(&pass, &salt, &more).unwrap());
}

#[test]
fn derive_kek_is_argon2id_without_secret_or_data() {
    // Independent of our wrapper: the argon2 crate's own entry point.
    let salt = [9u8; 16];
    let params = KdfParams::MIN;
    let mut expected = [0u8; 32];
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        argon2::Params::new(
            params.memory_kib(),
            params.iterations(),
            params.parallelism(),
            Some(32),
        )
        .unwrap(),
    )
    .hash_password_into(b"pass", &salt, &mut expected)
    .unwrap();
    let pass = Passphrase::new("pass").unwrap();
    assert_eq!(**derive_kek(&pass, &salt, &params).unwrap(), expected);
}

#[test]
fn nfc_forms_derive_the_same_kek() {
    let composed = Passphrase::new("caf\u{e9}").unwrap();
    let decomposed = Passphrase::new("cafe\u{301}").unwrap();
    assert_eq!(composed.as_bytes(), decomposed.as_bytes());
    assert_eq!(decomposed.as_bytes(), "caf\u{e9}".as_bytes());
    let salt = [1u8; 16];
    assert_eq!(
        *derive_kek(&composed, &salt, &KdfParams::MIN).unwrap(),
        *derive_kek(&decomposed, &salt, &KdfParams::MIN).unwrap()
    );
}

#[test]
fn normalisation_allocates_the_exact_length() {
    // Shrinking: decomposed input is longer than its NFC form.
    let shrunk = Passphrase::new("e\u{301}e\u{301}A\u{30a}").unwrap();
    assert_eq!(shrunk.as_bytes(), "\u{e9}\u{e9}\u{c5}".as_bytes());
    assert_eq!(shrunk.bytes.capacity(), shrunk.bytes.len());
    // Growing: U+0344 is excluded from composition and becomes two marks.
    let grown = Passphrase::new("1\u{344}").unwrap();
    assert_eq!(grown.as_bytes(), "1\u{308}\u{301}".as_bytes());
    assert_eq!(grown.bytes.capacity(), grown.bytes.len());
    // A singleton: U+212B ANGSTROM SIGN becomes U+00C5.
    let angstrom = Passphrase::new("\u{212b}").unwrap();
    assert_eq!(angstrom.as_bytes(), "\u{c5}".as_bytes());
}

#[test]
fn empty_passphrases_are_refused() {
    assert!(matches!(Passphrase::new(""), Err(Error::EmptyPassphrase)));
    assert!(matches!(
        Passphrase::try_from(SecretString::from("")),
        Err(Error::EmptyPassphrase)
    ));
}

#[test]
fn secret_string_gives_the_same_passphrase() {
    let from_secret = Passphrase::try_from(SecretString::from("cafe\u{301}")).unwrap();
    assert_eq!(from_secret.as_bytes(), "caf\u{e9}".as_bytes());
}

#[test]
fn debug_hides_the_passphrase() {
    let pass = Passphrase::new("hunter2").unwrap();
    let shown = format!("{pass:?} {pass:#?}");
    assert!(!shown.contains("hunter2"));
    assert!(shown.contains("[redacted]"));
}

#[test]
fn params_outside_the_bounds_are_refused() {
    let cases = [
        (19 * 1024 - 1, 3, 1, "memory below the floor of 19 MiB"),
        (1024 * 1024 + 1, 3, 1, "memory above the ceiling of 1 GiB"),
        (65_536, 1, 1, "iterations below the floor of 2"),
        (65_536, 11, 1, "iterations above the ceiling of 10"),
        (65_536, 3, 0, "parallelism below the floor of 1"),
        (65_536, 3, 9, "parallelism above the ceiling of 8"),
    ];
    for (m, t, p, expected) in cases {
        match KdfParams::new(m, t, p) {
            Err(Error::KdfParams { reason }) => assert_eq!(reason, expected),
            other => panic!("({m}, {t}, {p}) gave {other:?}"),
        }
    }
    for bound in [KdfParams::MIN, KdfParams::MAX, KdfParams::DEFAULT] {
        let rebuilt = KdfParams::new(bound.memory_kib(), bound.iterations(), bound.parallelism());
        assert_eq!(rebuilt.unwrap(), bound);
    }
}

#[test]
fn ceilings_name_the_bound_they_apply() {
    let over = KdfParams::from_stored(2 * 1024 * 1024, 11, 9);
    let reason = |c: &KdfCeiling, p: &KdfParams| match c.admit(p) {
        Err(Error::KdfParams { reason }) => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        reason(&KdfCeiling::DEFAULT, &over),
        "memory above the ceiling of 1 GiB"
    );
    let lowered = KdfCeiling::new(64 * 1024, 3, 1).unwrap();
    assert_eq!(
        reason(&lowered, &KdfParams::from_stored(65 * 1024, 3, 1)),
        "memory above this unlock's ceiling"
    );
    assert_eq!(
        reason(&KdfCeiling::HIGHEST, &KdfParams::from_stored(65_536, 21, 1)),
        "iterations above the highest ceiling of 20"
    );
    assert!(KdfCeiling::HIGHEST.admit(&over).is_ok());
    assert!(over.check().is_ok());
    assert_eq!(lowered.budget(), 2 * 64 * 1024 * 3);
    assert_eq!(KdfCeiling::HIGHEST.budget(), 2 * 4 * 1024 * 1024 * 20);
}

#[test]
fn hostile_stored_params_are_refused_before_argon2_runs() {
    // Each would allocate terabytes or run for hours if Argon2 started:
    // the test finishing at all shows the check comes first.
    let pass = Passphrase::new("pass").unwrap();
    let hostile = [
        KdfParams::from_stored(u32::MAX, 3, 1),
        KdfParams::from_stored(u32::MAX, u32::MAX, 0xFF_FFFF),
        KdfParams::from_stored(65_536, u32::MAX, 1),
        KdfParams::from_stored(65_536, 3, 0xFF_FFFF),
        KdfParams::from_stored(8, 1, 1),
        KdfParams::from_stored(0, 0, 0),
    ];
    for params in hostile {
        assert!(matches!(params.check(), Err(Error::KdfParams { .. })));
        assert!(matches!(
            derive_kek(&pass, &[0; 16], &params),
            Err(Error::KdfParams { .. })
        ));
    }
}
