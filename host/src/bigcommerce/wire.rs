//! BigCommerce's wire formats, parsed exactly.
//!
//! Money arrives as four-decimal strings (`"12.3400"`, V2 orders) or as JSON numbers with
//! two decimals (`12.34`, V3 catalog and refunds). Both become an exact [`Amount`] from
//! the JSON text itself, never through a float. Dates arrive as RFC 2822 (V2:
//! `Tue, 20 Nov 2012 00:00:00 +0000`) or RFC 3339 (V3).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};

use crate::money::{self, Amount};

/// An amount from a JSON string or number, exactly; more than four decimals, an exponent
/// or anything else is an error that quotes the value.
pub fn parse_amount(json: &str) -> Option<Amount> {
    let text = json.trim();
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    money::parse(inner)
}

/// `#[serde(deserialize_with = "amount")]` for a money field in either form.
pub fn amount<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
    let raw = Box::<RawValue>::deserialize(deserializer)?;
    parse_amount(raw.get()).ok_or_else(|| {
        D::Error::custom(format!(
            "`{}` is not an exact amount with at most 4 decimals",
            raw.get()
        ))
    })
}

/// `#[serde(deserialize_with = "optional_amount")]` for a money field that may be `null`
/// or absent (with `#[serde(default)]`).
pub fn optional_amount<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Amount>, D::Error> {
    let raw = Option::<Box<RawValue>>::deserialize(deserializer)?;
    match raw {
        None => Ok(None),
        Some(raw) if raw.get().trim() == "null" => Ok(None),
        Some(raw) => parse_amount(raw.get()).map(Some).ok_or_else(|| {
            D::Error::custom(format!(
                "`{}` is not an exact amount with at most 4 decimals",
                raw.get()
            ))
        }),
    }
}

/// An amount written as a JSON number (`12.34`), as the V3 catalog and refunds take it,
/// from the integer: the text is exact, no float is involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number(pub Amount);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = money::format(self.0);
        // Trailing zeros after two decimals are dropped: 12.3400 -> 12.34.
        let trimmed = match text.split_once('.') {
            Some((whole, fraction)) => {
                let fraction = fraction.trim_end_matches('0');
                let fraction = if fraction.len() < 2 {
                    &text[whole.len() + 1..whole.len() + 3]
                } else {
                    fraction
                };
                format!("{whole}.{fraction}")
            }
            None => text,
        };
        RawValue::from_string(trimmed)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

/// A date BigCommerce sent that is in neither of its forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an RFC 3339 or RFC 2822 date")]
pub struct NotADate(pub String);

/// The years (in UTC) a date from BigCommerce may fall in: wider than any record's, and
/// narrow enough that every time computed from one (a poll's overlap, a day's end) can
/// still be written as RFC 3339.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9998;

/// A date in RFC 3339 or RFC 2822, in years 1 to 9998 once in UTC.
pub fn parse_date(text: &str) -> Result<OffsetDateTime, NotADate> {
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc2822))
        .ok()
        .filter(|at| {
            at.checked_to_offset(time::UtcOffset::UTC)
                .is_some_and(|utc| YEARS.contains(&utc.year()))
        })
        .ok_or_else(|| NotADate(text.into()))
}

/// `#[serde(deserialize_with = "date")]` for a date field in either form.
pub fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_date(&text).map_err(D::Error::custom)
}

/// RFC 3339 in UTC, the form the contract and the audit trail use.
pub fn to_rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .expect("a UTC date formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Priced {
        #[serde(deserialize_with = "amount")]
        price: Amount,
    }

    #[test]
    fn amounts_parse_exactly_from_strings_and_numbers() {
        let from_string: Priced = serde_json::from_str(r#"{"price": "12.3400"}"#).unwrap();
        let from_number: Priced = serde_json::from_str(r#"{"price": 12.34}"#).unwrap();
        assert_eq!(from_string.price, 123_400);
        assert_eq!(from_number.price, 123_400);
        // 0.1 + 0.2 style values stay exact: no float is ever involved.
        let tenth: Priced = serde_json::from_str(r#"{"price": 0.1}"#).unwrap();
        assert_eq!(tenth.price, 1_000);
        let large: Priced = serde_json::from_str(r#"{"price": "92233720368547.5807"}"#).unwrap();
        assert_eq!(large.price, 922_337_203_685_475_807);
    }

    #[test]
    fn inexact_or_malformed_amounts_are_refused_with_the_value() {
        for bad in [
            r#"{"price": 1.23456}"#,
            r#"{"price": 1e3}"#,
            r#"{"price": "abc"}"#,
            r#"{"price": null}"#,
        ] {
            let error = serde_json::from_str::<Priced>(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} parsed"));
            assert!(
                error.to_string().contains("is not an exact amount"),
                "{error}"
            );
        }
    }

    #[test]
    fn numbers_are_written_exactly_with_two_decimals_or_more() {
        let text = serde_json::to_string(&[
            Number(123_400),
            Number(120_000),
            Number(123_456),
            Number(-5),
            Number(0),
        ])
        .unwrap();
        assert_eq!(text, "[12.34,12.00,12.3456,-0.0005,0.00]");
    }

    #[test]
    fn dates_parse_from_rfc_2822_and_rfc_3339() {
        let v2 = parse_date("Tue, 20 Nov 2012 00:00:00 +0000").unwrap();
        assert_eq!(to_rfc3339(v2), "2012-11-20T00:00:00Z");
        let v3 = parse_date("2024-05-06T10:00:00+02:00").unwrap();
        assert_eq!(to_rfc3339(v3), "2024-05-06T08:00:00Z");
        assert_eq!(
            parse_date("2024-05-06").unwrap_err().to_string(),
            "`2024-05-06` is not an RFC 3339 or RFC 2822 date"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// No text makes the date parser panic.
        #[test]
        fn any_text_is_a_date_or_refused(text in ".{0,40}") {
            let _ = parse_date(&text);
        }

        /// Every date it accepts, at any offset and in any year it can read, can be
        /// written back, and moved by a poll's overlap and written again.
        #[test]
        fn accepted_dates_can_always_be_written(
            year in 0u32..=9999,
            month in 1u32..=12,
            day in 1u32..=28,
            hour in 0u32..=23,
            east in proptest::bool::ANY,
            offset_hours in 0u32..=23,
        ) {
            let sign = if east { '+' } else { '-' };
            let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:00:00{sign}{offset_hours:02}:59");
            if let Ok(at) = parse_date(&text) {
                let written = to_rfc3339(at);
                proptest::prop_assert_eq!(parse_date(&written).ok(), Some(at));
                let _ = to_rfc3339(at - time::Duration::minutes(5));
                let _ = to_rfc3339(at + time::Duration::minutes(5));
            }
        }
    }

    #[test]
    fn dates_outside_the_years_a_record_can_have_are_refused() {
        assert!(parse_date("0000-01-01T00:30:00+01:00").is_err());
        assert!(parse_date("9999-12-31T23:30:00-01:00").is_err());
        assert!(parse_date("0001-01-01T00:00:00Z").is_ok());
    }
}
