//! Wire formats the simulators share, all exact: money written as JSON numbers or decimal
//! strings straight from its integer count of ten-thousandths, request objects read with
//! their values kept raw so numbers are parsed from their text, and answer objects built
//! from raw pieces. Nothing here goes through `f64` (a `serde_json::Value` would: without
//! `arbitrary_precision` it keeps decimals as floats).

use std::collections::HashMap;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// `"12.3400"`: four decimals, as BigCommerce's V2 strings.
pub fn s4(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    format!("{sign}{}.{:04}", abs / 10_000, abs % 10_000)
}

/// An amount with `decimals` decimals (0 to 4): `fixed(123_400, 2)` is `"12.34"`,
/// `fixed(15_000_000, 0)` is `"1500"`. Digits past `decimals` are dropped, so callers
/// pass amounts that are whole in that many decimals.
pub fn fixed(value: i64, decimals: u8) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    let fraction = format!("{:04}", abs % 10_000);
    match usize::from(decimals.min(4)) {
        0 => format!("{sign}{}", abs / 10_000),
        n => format!("{sign}{}.{}", abs / 10_000, &fraction[..n]),
    }
}

/// A JSON number written from the integer: two decimals when the amount is whole cents
/// (always, for generated data), four otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number(pub i64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let text = if abs.is_multiple_of(100) {
            format!("{sign}{}.{:02}", abs / 10_000, (abs % 10_000) / 100)
        } else {
            format!("{sign}{}.{:04}", abs / 10_000, abs % 10_000)
        };
        RawValue::from_string(text)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

/// Reads a JSON number or a numeric string as exact money (at most four decimals).
pub fn money_of(raw: &RawValue) -> Option<i64> {
    let text = raw.get().trim();
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    ml_connector_money::parse(inner)
}

/// Why a request body, or one of its fields, could not be read; the text is what the
/// simulators answer with.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("The body is not a JSON object: {0}")]
    NotAnObject(#[source] serde_json::Error),
    #[error("{field} is not a valid string.")]
    NotAString {
        field: String,
        #[source]
        cause: serde_json::Error,
    },
    #[error("{0} must be a single value.")]
    NotASingleValue(String),
    #[error("{0} must be true or false.")]
    NotABool(String),
    #[error("{field} must be a list of objects.")]
    NotObjects {
        field: String,
        #[source]
        cause: serde_json::Error,
    },
}

/// A JSON object from a request, its values kept as raw text until a field is read.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct RawObject(HashMap<String, Box<RawValue>>);

impl RawObject {
    /// Parses a request body that must be a JSON object.
    pub fn parse(bytes: &[u8]) -> Result<RawObject, WireError> {
        serde_json::from_slice(bytes).map_err(WireError::NotAnObject)
    }

    /// The raw value, or `None` when the field is absent or `null`.
    pub fn raw(&self, name: &str) -> Option<&RawValue> {
        self.0
            .get(name)
            .map(Box::as_ref)
            .filter(|raw| raw.get().trim() != "null")
    }

    /// A scalar as text: a string's contents, or a number's or boolean's JSON text.
    pub fn text(&self, name: &str) -> Result<Option<String>, WireError> {
        let Some(raw) = self.raw(name) else {
            return Ok(None);
        };
        let text = raw.get().trim();
        if text.starts_with('"') {
            serde_json::from_str::<String>(text)
                .map(Some)
                .map_err(|cause| WireError::NotAString {
                    field: name.to_string(),
                    cause,
                })
        } else if text.starts_with(['{', '[']) {
            Err(WireError::NotASingleValue(name.to_string()))
        } else {
            Ok(Some(text.to_string()))
        }
    }

    /// A scalar as text, with `""` for an absent field.
    pub fn text_or_empty(&self, name: &str) -> Result<String, WireError> {
        self.text(name).map(Option::unwrap_or_default)
    }

    /// `true` or `false` (also as the strings `"true"` and `"false"`).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, WireError> {
        match self.text(name)?.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(WireError::NotABool(name.to_string())),
        }
    }

    /// A list of objects (an absent field is `None`).
    pub fn objects(&self, name: &str) -> Result<Option<Vec<RawObject>>, WireError> {
        match self.raw(name) {
            None => Ok(None),
            Some(raw) => {
                serde_json::from_str(raw.get())
                    .map(Some)
                    .map_err(|cause| WireError::NotObjects {
                        field: name.to_string(),
                        cause,
                    })
            }
        }
    }
}

/// A JSON object built field by field from raw pieces, for answers that mix exact numbers
/// with names only known at run time (`{"data": {"<collection>": [...]}}`).
#[derive(Debug, Default)]
pub struct Object(Vec<(String, Box<RawValue>)>);

impl Object {
    pub fn new() -> Object {
        Object::default()
    }

    /// Adds a field (plain values and [`Number`] always serialise).
    pub fn field(mut self, name: &str, value: impl Serialize) -> Object {
        self.0.push((name.to_string(), raw(&value)));
        self
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Serialises straight to JSON text (no `Value` in between).
pub fn raw(value: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("plain values and Number serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings_are_written_from_the_integer() {
        let text = serde_json::to_string(&[Number(123_400), Number(-5), Number(0)]).unwrap();
        assert_eq!(text, "[12.34,-0.0005,0.00]");
        assert_eq!(s4(-12_345), "-1.2345");
        assert_eq!(fixed(123_400, 2), "12.34");
        assert_eq!(fixed(15_000_000, 0), "1500");
        assert_eq!(fixed(-12_500, 3), "-1.250");
        assert_eq!(fixed(5, 4), "0.0005");
    }

    #[test]
    fn raw_objects_read_numbers_exactly() {
        let object = RawObject::parse(
            br#"{"a": 0.1, "b": "12.3456", "c": null, "d": true, "e": [{"x": 1}]}"#,
        )
        .unwrap();
        assert_eq!(object.raw("a").and_then(money_of), Some(1_000));
        assert_eq!(object.raw("b").and_then(money_of), Some(123_456));
        assert_eq!(object.text("c").unwrap(), None);
        assert_eq!(object.bool("d").unwrap(), Some(true));
        assert_eq!(object.text("a").unwrap(), Some("0.1".into()));
        assert_eq!(
            object.text("e").unwrap_err().to_string(),
            "e must be a single value."
        );
        assert_eq!(object.objects("e").unwrap().unwrap().len(), 1);
        let not_an_object = RawObject::parse(b"[1]").unwrap_err().to_string();
        assert!(not_an_object.starts_with("The body is not a JSON object: "));
    }

    #[test]
    fn unreadable_fields_say_which_and_why() {
        let object = RawObject::parse(br#"{"s": "\ud800", "b": 1, "o": [1]}"#).unwrap();
        let error = object.text("s").unwrap_err();
        assert_eq!(error.to_string(), "s is not a valid string.");
        assert!(std::error::Error::source(&error).is_some());
        assert_eq!(
            object.bool("b").unwrap_err().to_string(),
            "b must be true or false."
        );
        assert_eq!(
            object.objects("o").unwrap_err().to_string(),
            "o must be a list of objects."
        );
    }

    #[test]
    fn objects_keep_raw_numbers() {
        let inner = Object::new().field("price", Number(199_900));
        let outer = Object::new().field("items", [inner]).field("n", 3);
        assert_eq!(
            serde_json::to_string(&outer).unwrap(),
            r#"{"items":[{"price":19.99}],"n":3}"#
        );
    }
}
