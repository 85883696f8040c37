//! Counting and listing: `len`, `keys`, `values`, `items`, and `iter` across
//! pages, past expired and bad rows, beside a writer.

use super::*;

#[test]
fn len_and_is_empty() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    assert_eq!(v.len()?, 0);
    assert!(v.is_empty()?);
    for i in 0..10 {
        v.put(&format!("k{i}"), &i)?;
    }
    v.put("k3", &33)?; // an overwrite does not add
    assert_eq!(v.len()?, 10);
    assert!(!v.is_empty()?);
    v.remove("k0")?;
    assert_eq!(v.len()?, 9);
    Ok(())
}

#[test]
fn keys_values_items_are_sorted_by_name() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    let names = [
        "zeta", "alpha", "Beta", "ärger", "10", "9", "日本", "a b", "a",
    ];
    for (i, name) in names.iter().enumerate() {
        v.put(name, &i)?;
    }
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    assert_eq!(v.keys()?, sorted);
    let want_values: Vec<usize> = sorted
        .iter()
        .map(|n| names.iter().position(|m| m == n).unwrap())
        .collect();
    assert_eq!(v.values::<usize>()?, want_values);
    let want_items: Vec<(String, usize)> = sorted
        .iter()
        .map(|n| ((*n).to_owned(), names.iter().position(|m| m == n).unwrap()))
        .collect();
    assert_eq!(v.items::<usize>()?, want_items);
    Ok(())
}

#[test]
fn empty_vault_lists_nothing() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    assert!(v.keys()?.is_empty());
    assert!(v.values::<i32>()?.is_empty());
    assert!(v.items::<i32>()?.is_empty());
    assert_eq!(v.iter::<i32>().count(), 0);
    Ok(())
}

#[test]
fn iter_streams_every_row_across_pages_in_order() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    // Around and across the 256-row page boundary.
    let mut stored = 0usize;
    for target in [1usize, 255, 256, 257, 512, 1_000] {
        v.put_many((stored..target).map(|i| (format!("k{i:05}"), i)))?;
        stored = target;
        let got: Vec<(String, usize)> = v.iter::<usize>().collect::<Result<_, _>>()?;
        assert_eq!(got.len(), target, "with {target} rows");
        for (i, (name, n)) in got.iter().enumerate() {
            assert_eq!((name.as_str(), *n), (format!("k{i:05}").as_str(), i));
        }
        assert_eq!(got, v.items::<usize>()?);
    }
    Ok(())
}

#[test]
fn iter_skips_expired_rows_across_pages() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.transaction(|tx| {
        for i in 0..700u32 {
            let name = format!("k{i:04}");
            if i % 3 == 0 {
                tx.put_with_ttl(&name, &i, secs(1))?;
            } else {
                tx.put(&name, &i)?;
            }
        }
        Ok(())
    })?;
    f.advance_ms(1_000);
    let got: Vec<u32> = v
        .iter::<u32>()
        .map(|r| r.map(|(_, n)| n))
        .collect::<Result<_, _>>()?;
    let want: Vec<u32> = (0..700).filter(|i| i % 3 != 0).collect();
    assert_eq!(got, want);
    Ok(())
}

#[test]
fn iter_reports_a_bad_row_and_goes_on() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("a", &1)?;
    v.put("b", "not a number")?;
    v.put("c", &3)?;
    let got: Vec<_> = v.iter::<i32>().collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].as_ref().ok(), Some(&("a".to_owned(), 1)));
    assert!(matches!(got[1], Err(Error::Decode { .. })));
    assert_eq!(got[2].as_ref().ok(), Some(&("c".to_owned(), 3)));
    Ok(())
}

#[test]
fn iter_works_while_another_thread_writes() -> TestResult {
    let f = Fixture::new()?;
    let vault = Arc::new(f.vault);
    vault.put_many((0..1_000u32).map(|i| (format!("a{i:04}"), i)))?;
    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let writer = {
        let vault = Arc::clone(&vault);
        let (done, started) = (Arc::clone(&done), Arc::clone(&started));
        std::thread::spawn(move || -> vaults::Result<u32> {
            // Writes interleave with the rows being read ("a0001!") and
            // land after them ("b…"); bounded so the test always ends.
            let mut n = 0u32;
            while !done.load(Ordering::SeqCst) && n < 20_000 {
                vault.put(&format!("a{:04}!", n % 1_000), &n)?;
                vault.put(&format!("b{n:05}"), &n)?;
                n += 1;
                started.store(true, Ordering::SeqCst);
            }
            Ok(n)
        })
    };
    // On a loaded machine the writer may not be scheduled before a fast
    // iteration ends: start reading only once it is writing.
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    let mut seen = Vec::new();
    for item in vault.iter::<u32>() {
        let (name, _) = item?;
        if name.len() == 5 && name.starts_with('a') {
            seen.push(name);
        }
        // Give the writer a chance to run between pages.
        if seen.len() % 100 == 0 {
            std::thread::yield_now();
        }
    }
    done.store(true, Ordering::SeqCst);
    let writes = writer.join().unwrap()?;
    let want: Vec<String> = (0..1_000).map(|i| format!("a{i:04}")).collect();
    // Every row that existed throughout is seen exactly once, in order.
    assert_eq!(seen, want);
    assert!(writes > 0);
    assert_eq!(
        vault.len()?,
        1_000 + u64::from(writes.min(1_000)) + u64::from(writes)
    );
    Ok(())
}
