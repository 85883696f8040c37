//! Values: types that round-trip, Unicode, large values, tuples, and the
//! decode errors of a value read as the wrong type.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Role {
    Admin,
    User { since: u16 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Account {
    name: String,
    roles: Vec<Role>,
    limits: BTreeMap<String, f64>,
    parent: Option<Box<Account>>,
    flags: (bool, u8),
}

fn round_trip<T>(v: &Vault, name: &str, value: &T) -> TestResult
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    v.put(name, value)?;
    let back: Option<T> = v.get(name)?;
    assert_eq!(back.as_ref(), Some(value), "{name}");
    Ok(())
}

#[test]
fn value_types_round_trip() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    round_trip(v, "string", &"hello".to_owned())?;
    round_trip(v, "empty string", &String::new())?;
    round_trip(v, "i64 min", &i64::MIN)?;
    round_trip(v, "i64 max", &i64::MAX)?;
    round_trip(v, "u64 max", &u64::MAX)?;
    round_trip(v, "i8", &-7i8)?;
    round_trip(v, "f64", &std::f64::consts::PI)?;
    round_trip(v, "f64 tiny", &f64::MIN_POSITIVE)?;
    round_trip(v, "f64 inf", &f64::NEG_INFINITY)?;
    round_trip(v, "f32", &1.5f32)?;
    round_trip(v, "bool", &true)?;
    round_trip(v, "unit", &())?;
    round_trip(v, "char", &'ß')?;
    round_trip(v, "none", &None::<i32>)?;
    round_trip(v, "some", &Some(7i32))?;
    round_trip(v, "vec", &vec![1u32, 2, 3])?;
    round_trip(v, "bytes as vec", &vec![0u8, 255, 128])?;
    round_trip(v, "vec of strings", &vec!["a".to_owned(), String::new()])?;
    round_trip(v, "empty vec", &Vec::<i32>::new())?;
    let hm: HashMap<String, i32> = [("x".to_owned(), 1), ("y".to_owned(), -2)].into();
    round_trip(v, "hashmap", &hm)?;
    let bm: BTreeMap<String, Vec<i32>> = [("a".into(), vec![1]), ("b".into(), vec![])].into();
    round_trip(v, "btreemap", &bm)?;
    let int_keys: BTreeMap<u32, String> = [(1, "one".into()), (2, "two".into())].into();
    round_trip(v, "int keys", &int_keys)?;
    let child = Account {
        name: "child".into(),
        roles: vec![Role::User { since: 2020 }],
        limits: BTreeMap::new(),
        parent: None,
        flags: (false, 0),
    };
    let account = Account {
        name: "Zoë 🦀".into(),
        roles: vec![Role::Admin, Role::User { since: 1999 }],
        limits: [("rate".to_owned(), 0.25)].into(),
        parent: Some(Box::new(child)),
        flags: (true, 255),
    };
    round_trip(v, "nested struct", &account)?;
    // NaN is not equal to itself: check it by hand.
    v.put("nan", &f64::NAN)?;
    assert!(v.get::<f64>("nan")?.is_some_and(f64::is_nan));
    // A value written as &str reads back as String.
    v.put("str ref", "borrowed")?;
    assert_eq!(v.get::<String>("str ref")?.as_deref(), Some("borrowed"));
    Ok(())
}

#[test]
fn unicode_names_and_values_round_trip() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    let pairs = [
        ("日本語のキー", "値"),
        ("emoji 🔑", "🦀🔒"),
        ("עברית", "שלום"),
        ("e\u{301}", "combining"),
        ("é", "precomposed"),
        // Control characters are fine in values; names refuse them
        // (tests/names_control.rs).
        ("control in the value", "with\0nul, line\nbreak, tab\tvalue"),
    ];
    for (name, value) in pairs {
        v.put(name, value)?;
    }
    for (name, value) in pairs {
        assert_eq!(v.get::<String>(name)?.as_deref(), Some(value), "{name:?}");
    }
    // NFC and NFD forms are different names.
    assert_eq!(v.len()?, pairs.len() as u64);
    let mut names: Vec<&str> = pairs.iter().map(|p| p.0).collect();
    names.sort_unstable();
    assert_eq!(v.keys()?, names);
    Ok(())
}

#[test]
fn large_values_round_trip() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    let big: String = "0123456789abcdef".repeat(100 * 1024 / 16);
    assert_eq!(big.len(), 100 * 1024);
    round_trip(v, "100 KB", &big)?;
    let blob: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    v.put_bytes("1 MB", &blob)?;
    assert_eq!(v.get_bytes("1 MB")?.as_deref(), Some(&blob));
    Ok(())
}

#[test]
fn tuples_come_back_as_sequences() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("t", &(1, "a", 2.5))?;
    let seq: Vec<ciborium::Value> = v.get("t")?.unwrap();
    assert_eq!(
        seq,
        [
            ciborium::Value::Integer(1.into()),
            ciborium::Value::Text("a".into()),
            ciborium::Value::Float(2.5),
        ]
    );
    // And as the tuple type itself.
    let (a, b, c): (i32, String, f64) = v.get("t")?.unwrap();
    assert_eq!((a, b.as_str(), c), (1, "a", 2.5));
    // A homogeneous tuple reads as a Vec.
    v.put("pair", &(3u8, 4u8))?;
    assert_eq!(v.get::<Vec<u8>>("pair")?, Some(vec![3, 4]));
    Ok(())
}

#[test]
fn wrong_type_is_a_decode_error_that_names_no_value() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put("password", "hunter2-secret")?;
    let err = v.get::<u32>("password").unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("expected"), "{err}");
    assert_no_leak(&err, &["hunter2", "password"]);

    // A struct read from a map with the wrong field types.
    v.put("account", &BTreeMap::from([("name", 7)]))?;
    let err = v.get::<Account>("account").unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    // A number where a string is expected does not print the number.
    v.put("pin", &987_654_321u64)?;
    let err = v.get::<String>("pin").unwrap_err();
    assert_no_leak(&err, &["987654321"]);
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

#[test]
fn decode_error_of_an_unknown_field_names_no_stored_key() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    // serde: "unknown field `expected hunter2`, there are no fields".
    v.put("m", &BTreeMap::from([("expected hunter2", 1)]))?;
    let err = v.get::<NoFields>("m").unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_no_leak(&err, &["hunter2"]);
    Ok(())
}

#[test]
fn a_failed_read_of_the_wrong_type_keeps_the_entry() -> TestResult {
    let f = Fixture::new()?;
    let v = &f.vault;
    v.put_with_ttl("s", "text", secs(60))?;
    assert!(matches!(v.pop::<u32>("s"), Err(Error::Decode { .. })));
    assert!(matches!(v.pop::<u32>("s"), Err(Error::Decode { .. })));
    assert!(matches!(v.pop_item::<u32>(), Err(Error::Decode { .. })));
    assert!(matches!(
        v.get_ex::<u32>("s", secs(600)),
        Err(Error::Decode { .. })
    ));
    assert!(matches!(
        v.get_ex::<u32>("s", secs(0)),
        Err(Error::Decode { .. })
    ));
    // Still there, with its value and its expiry unchanged.
    assert_eq!(v.get::<String>("s")?.as_deref(), Some("text"));
    assert_eq!(v.ttl("s")?, Some(Ttl::Remaining(secs(60))));
    assert_eq!(v.len()?, 1);
    Ok(())
}
