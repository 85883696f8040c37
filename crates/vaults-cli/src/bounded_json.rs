//! A JSON value read from an import with the item limit of a stored value.
//!
//! `serde_json::Value` costs 32 bytes an item and more: parsed freely, the
//! 128 MiB of text one entry may take (`[0,0,…]`) became 2 GiB and the
//! allocation aborted the import. This counts items as it builds, as
//! [`vaults::check_cbor`] does on decoding, and refuses past
//! [`vaults::MAX_ITEMS`] before allocating for the next one; a value that
//! large could not be read back from a vault anyway. Nesting needs no count
//! here: `serde_json`'s parser refuses more than 128 levels in the whole
//! document, within the 128 a stored value may have.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value as Json};

/// Why a value was refused, in words that quote none of it.
pub const TOO_MANY_ITEMS: &str = "its value has more items than a vault reads back";

/// Reads one JSON value, failing once it would hold more than
/// [`vaults::MAX_ITEMS`] items (every value, array, object and key counts
/// one, as CBOR heads do). On that failure `refused` is set, so that the
/// caller can tell it from a syntax error.
pub struct BoundedValue<'b> {
    /// Items still allowed, shared by the value and everything inside it.
    pub left: &'b Cell<usize>,
    pub refused: &'b Cell<bool>,
}

impl BoundedValue<'_> {
    /// Takes one item from the budget.
    fn take<E: de::Error>(&self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.refused.set(true);
                Err(E::custom(TOO_MANY_ITEMS))
            }
        }
    }

    fn inner(&self) -> BoundedValue<'_> {
        BoundedValue {
            left: self.left,
            refused: self.refused,
        }
    }
}

impl<'de> DeserializeSeed<'de> for BoundedValue<'_> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BoundedValue<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        self.take()?;
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        self.take()?;
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        self.take()?;
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        self.take()?;
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        self.take()?;
        // The parser gives finite numbers only; anything else is a null, as
        // in `serde_json::Value`.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        self.take()?;
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        self.take()?;
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        self.take()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.inner())? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        self.take()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.take()?;
            let value = map.next_value_seed(self.inner())?;
            object.insert(key, value);
        }
        Ok(Json::Object(object))
    }
}
