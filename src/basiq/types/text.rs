//! Values that pass through from Basiq to our answers as Basiq wrote them.

use std::borrow::Cow;

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{Error as _, Unexpected},
};
use serde_json::value::RawValue;

/// A value Basiq documents as a string (an amount, a date, a name): kept as the JSON Basiq
/// wrote and written out as a JSON string, never decoded and encoded again, so money stays
/// exactly Basiq's decimal string. Where Basiq sends a number or a boolean instead (its own
/// examples do, e.g. a `subClass.code` of `722`), it becomes the string of that number.
/// Objects and arrays are refused: the body is not what Basiq documents.
#[derive(Clone, Copy)]
pub struct Text<'a>(&'a RawValue);

impl<'a> Text<'a> {
    /// The decoded string (for the rare value we look at rather than pass on).
    pub fn decoded(&self) -> Cow<'a, str> {
        let raw = self.0.get();
        if raw.starts_with('"') {
            // A valid JSON string (RawValue checked it): decoding it cannot fail.
            serde_json::from_str::<Cow<'a, str>>(raw).unwrap_or(Cow::Borrowed(""))
        } else {
            Cow::Borrowed(raw)
        }
    }
}

impl std::fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.get())
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.decoded() == *other
    }
}

impl<'a> Text<'a> {
    fn from_raw<E: serde::de::Error>(raw: &'a RawValue) -> Result<Self, E> {
        match raw.get().as_bytes().first() {
            Some(b'"' | b'-' | b'0'..=b'9' | b't' | b'f') => Ok(Self(raw)),
            _ => Err(E::invalid_type(
                Unexpected::Other(raw.get().get(..1).unwrap_or("nothing")),
                &"a string",
            )),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_raw(<&'de RawValue>::deserialize(d)?)
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = self.0.get();
        if raw.starts_with('"') {
            self.0.serialize(s)
        } else {
            s.serialize_str(raw)
        }
    }
}

/// An id Basiq gives either as a string or as an object with an `id` (its `account`,
/// `connection` and `institution` references come both ways).
#[derive(Clone, Copy, Debug)]
pub struct Ref<'a>(pub Text<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Ref<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct WithId<'a> {
            #[serde(borrow)]
            id: Text<'a>,
        }
        let raw = <&'de RawValue>::deserialize(d)?;
        if raw.get().starts_with('{') {
            let object: WithId<'de> = serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
            Ok(Self(object.id))
        } else {
            Text::from_raw(raw).map(Self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Serialize)]
    struct Row<'a> {
        #[serde(borrow)]
        a: Option<Text<'a>>,
    }

    fn round_trip(json: &str) -> Result<String, serde_json::Error> {
        let row: Row = serde_json::from_str(json)?;
        serde_json::to_string(&row)
    }

    #[test]
    fn strings_pass_through_exactly_as_written() {
        for json in [
            r#"{"a":"-1234.50"}"#,
            r#"{"a":"CAF\u00c9 \"7\" \ud83d\ude00"}"#,
            r#"{"a":""}"#,
            r#"{"a":null}"#,
        ] {
            assert_eq!(round_trip(json).unwrap(), json);
        }
    }

    #[test]
    fn a_number_or_boolean_where_a_string_belongs_becomes_a_string() {
        assert_eq!(round_trip(r#"{"a":722}"#).unwrap(), r#"{"a":"722"}"#);
        assert_eq!(round_trip(r#"{"a":-1.5e3}"#).unwrap(), r#"{"a":"-1.5e3"}"#);
        assert_eq!(round_trip(r#"{"a":true}"#).unwrap(), r#"{"a":"true"}"#);
    }

    #[test]
    fn objects_and_arrays_are_refused() {
        assert!(round_trip(r#"{"a":{"b":1}}"#).is_err());
        assert!(round_trip(r#"{"a":[1]}"#).is_err());
    }

    #[test]
    fn a_reference_is_a_string_or_an_object_with_an_id() {
        for json in [r#""c1""#, r#"{"id":"c1","links":{}}"#] {
            let r: Ref = serde_json::from_str(json).unwrap();
            assert_eq!(r.0, "c1");
        }
        assert!(serde_json::from_str::<Ref>(r#"{"links":{}}"#).is_err());
    }

    #[test]
    fn decoded_text_is_the_string_itself() {
        let t: Text = serde_json::from_str(r#""a\"b""#).unwrap();
        assert_eq!(t.decoded(), "a\"b");
    }
}
