//! A real round trip on the default location: store, read back, expire.
//!
//! ```text
//! cargo run --example roundtrip
//! ```
//!
//! The vault lives in `$VAULTS_DIR`, or the platform data folder
//! (`~/.local/share/vaults` on Linux), as `roundtrip-demo.db`.

use std::time::Duration;

use vaults::{Store, Ttl, VaultDir};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = match std::env::var_os("VAULTS_DIR") {
        Some(dir) => dir.into(),
        None => directories::ProjectDirs::from("", "", "vaults")
            .ok_or("no home folder to put the vault in; set VAULTS_DIR")?
            .data_dir()
            .to_owned(),
    };
    let dir = VaultDir::new(root);
    let vault = dir.open_or_create("roundtrip-demo")?;
    println!("vault: {}", dir.path_of("roundtrip-demo")?.display());

    vault.put("greeting", "hello")?;
    vault.put_with_ttl("short-lived", &[1, 2, 3], Duration::from_millis(300))?;
    println!("greeting = {:?}", vault.get::<String>("greeting")?);
    println!(
        "short-lived = {:?}, ttl {:?}",
        vault.get::<Vec<i32>>("short-lived")?,
        vault.ttl("short-lived")?
    );

    std::thread::sleep(Duration::from_millis(400));
    let gone = vault.get::<Vec<i32>>("short-lived")?;
    println!("after 400 ms: short-lived = {gone:?}");
    println!("cleaned up {} expired entries", vault.cleanup_expired()?);

    assert_eq!(vault.get::<String>("greeting")?.as_deref(), Some("hello"));
    assert_eq!(gone, None);
    assert_eq!(vault.ttl("greeting")?, Some(Ttl::Never));
    vault.destroy()?;
    println!("round trip ok; demo vault removed");
    Ok(())
}
