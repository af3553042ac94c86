//! Exact money, shared by the host and the plugin SDK: an amount is a signed count of
//! ten-thousandths of the currency's major unit (1.00 = 10000). BigCommerce quotes four
//! decimals, so its amounts convert without loss; ledger amounts must be whole in the
//! currency's minor unit. Integer arithmetic only: no floating point anywhere.

#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;

/// Ten-thousandths of a major unit.
pub type Amount = i64;

/// Ten-thousandths per major unit.
pub const SCALE: i64 = 10_000;

/// Decimals an [`Amount`] carries.
pub const SCALE_DECIMALS: u8 = 4;

/// Ten-thousandths in one minor unit of a currency with `decimals` decimals (100 for
/// USD's 2), or `None` when the currency has more decimals than an amount carries.
pub fn minor_unit(decimals: u8) -> Option<i64> {
    (decimals <= SCALE_DECIMALS).then(|| 10_i64.pow(u32::from(SCALE_DECIMALS - decimals)))
}

/// Formats with all four decimals, e.g. `-12.3400`.
pub fn format(amount: Amount) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let scale = SCALE as u64;
    format!("{sign}{}.{:04}", abs / scale, abs % scale)
}

/// Parses a decimal string with at most four decimals exactly (`"12.5"`, `"-0.0100"`).
pub fn parse(text: &str) -> Option<Amount> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = whole
        .bytes()
        .chain(frac.bytes())
        .all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty())
        || frac.len() > usize::from(SCALE_DECIMALS)
        || !all_digits
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let frac_scaled = frac_value * 10_i64.pow(u32::from(SCALE_DECIMALS) - frac.len() as u32);
    let value = whole.checked_mul(SCALE)?.checked_add(frac_scaled)?;
    Some(if negative { -value } else { value })
}

/// Rounds to a multiple of `unit`, half away from zero (commercial rounding); `None` on
/// overflow.
pub fn round_to_unit(amount: Amount, unit: i64) -> Option<Amount> {
    let rem = amount % unit;
    let down = amount - rem;
    if rem.abs() * 2 >= unit {
        down.checked_add(unit * amount.signum())
    } else {
        Some(down)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_exactly() {
        assert_eq!(parse("12.5"), Some(125_000));
        assert_eq!(parse("-0.0100"), Some(-100));
        assert_eq!(parse(".5"), Some(5_000));
        assert_eq!(parse("1.23456"), None);
        assert_eq!(parse("1e3"), None);
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("922337203685477.5807"), Some(i64::MAX));
        assert_eq!(parse("922337203685477.5808"), None);
        assert_eq!(format(-123_400), "-12.3400");
        assert_eq!(format(5), "0.0005");
    }

    #[test]
    fn minor_units_follow_the_currency_decimals() {
        assert_eq!(minor_unit(2), Some(100));
        assert_eq!(minor_unit(0), Some(10_000));
        assert_eq!(minor_unit(4), Some(1));
        assert_eq!(minor_unit(5), None);
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round_to_unit(12_345, 100), Some(12_300));
        assert_eq!(round_to_unit(12_350, 100), Some(12_400));
        assert_eq!(round_to_unit(-12_350, 100), Some(-12_400));
        assert_eq!(round_to_unit(-12_349, 100), Some(-12_300));
        assert_eq!(round_to_unit(15_000, 10_000), Some(20_000));
    }
}
