//! On a server, a one-statement write that deletes many rows (`clear`,
//! `cleanup_expired`) and arrives while another host's write transaction
//! holds the vault's lock waits for it, then sees all of it: as on SQLite,
//! where it waits for the write lock. Ignored in a plain `cargo test` (no
//! server); `.ci/run` runs it.

use std::time::Duration;

use vaults::{Store, Vault};
use vaults_test_support::engine::{pg_vault_url, unique_name};

#[test]
#[ignore = "needs the test PostgreSQL server: .ci/run runs it"]
fn a_clear_waits_for_a_write_transaction_and_deletes_what_it_wrote() {
    let url = pg_vault_url(&unique_name("locks"));
    let first = Vault::create(&url).unwrap();
    let second = Vault::open(&url).unwrap();
    first.put("old", "1").unwrap();
    std::thread::scope(|s| {
        let (began, go) = std::sync::mpsc::channel();
        let writer = s.spawn(move || {
            first
                .transaction(|tx| {
                    tx.put("old", "2")?;
                    tx.put("new", "3")?;
                    began.send(()).unwrap();
                    // Holding the vault's lock while the clear arrives.
                    std::thread::sleep(Duration::from_millis(300));
                    Ok(())
                })
                .unwrap();
            first
        });
        go.recv().unwrap();
        second.clear().unwrap();
        let first = writer.join().unwrap();
        // The clear came after the transaction: nothing of it is left.
        assert_eq!(first.len().unwrap(), 0, "{:?}", first.keys().unwrap());
        first.destroy().unwrap();
    });
}
