//! Exact money. An [`Amount`](crate::Amount) is a count of ten-thousandths of the
//! currency's major unit (1.00 = 10000); ledger amounts must be whole in the currency's
//! minor unit. Every operation here is integer arithmetic, checked for overflow.

use crate::error::invalid_input;
use crate::{Amount, MappingError};

/// Ten-thousandths per major unit.
pub const SCALE: i64 = 10_000;
/// Decimals carried by an [`Amount`].
pub const SCALE_DECIMALS: u8 = 4;

/// How many ten-thousandths make one minor unit of a currency with `decimals` decimals
/// (100 for USD's 2), or `None` when the currency has more decimals than an amount carries.
pub fn minor_unit(decimals: u8) -> Option<i64> {
    (decimals <= SCALE_DECIMALS).then(|| 10_i64.pow(u32::from(SCALE_DECIMALS - decimals)))
}

/// Rounds to the currency's minor unit, half away from zero (commercial rounding).
pub fn round(amount: Amount, decimals: u8) -> Result<Amount, MappingError> {
    let unit = minor_unit(decimals).ok_or_else(|| {
        invalid_input(
            "unsupported-decimals",
            format!("currencies with {decimals} decimals are not supported"),
            None,
        )
    })?;
    let rem = amount % unit;
    let down = amount - rem;
    let rounded = if rem.abs() * 2 >= unit {
        down.checked_add(unit * amount.signum())
    } else {
        Some(down)
    };
    rounded.ok_or_else(overflow)
}

/// True when `amount` is whole in the minor unit of a currency with `decimals` decimals.
pub fn is_whole(amount: Amount, decimals: u8) -> bool {
    minor_unit(decimals).is_some_and(|unit| amount % unit == 0)
}

/// Sums amounts, failing on overflow.
pub fn sum(amounts: impl IntoIterator<Item = Amount>) -> Result<Amount, MappingError> {
    amounts
        .into_iter()
        .try_fold(0_i64, |acc, a| acc.checked_add(a))
        .ok_or_else(overflow)
}

/// `a + b`, failing on overflow.
pub fn add(a: Amount, b: Amount) -> Result<Amount, MappingError> {
    a.checked_add(b).ok_or_else(overflow)
}

/// `a - b`, failing on overflow.
pub fn sub(a: Amount, b: Amount) -> Result<Amount, MappingError> {
    a.checked_sub(b).ok_or_else(overflow)
}

/// Formats an amount with all four decimals, e.g. `-12.3400`.
pub fn format(amount: Amount) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let scale = SCALE as u64;
    format!("{sign}{}.{:04}", abs / scale, abs % scale)
}

/// Parses a decimal string with at most four decimals (`"12.5"`, `"-0.0100"`) exactly.
pub fn parse(text: &str) -> Option<Amount> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > usize::from(SCALE_DECIMALS)
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
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

fn overflow() -> MappingError {
    invalid_input(
        "amount-overflow",
        "an amount is too large to represent exactly",
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_away_from_zero_to_minor_units() {
        assert_eq!(round(12_345, 2).unwrap(), 12_300);
        assert_eq!(round(12_350, 2).unwrap(), 12_400);
        assert_eq!(round(-12_350, 2).unwrap(), -12_400);
        assert_eq!(round(-12_349, 2).unwrap(), -12_300);
        assert_eq!(round(15_000, 0).unwrap(), 20_000);
        assert!(round(1, 5).is_err());
    }

    #[test]
    fn parses_and_formats_exactly() {
        assert_eq!(parse("12.5"), Some(125_000));
        assert_eq!(parse("-0.0100"), Some(-100));
        assert_eq!(parse("1.23456"), None);
        assert_eq!(parse("abc"), None);
        assert_eq!(format(-123_400), "-12.3400");
        assert_eq!(format(5), "0.0005");
    }
}
