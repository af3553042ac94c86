//! Exact money for plugins: the shared amount functions (`parse`, `format`, `minor_unit`,
//! `SCALE`), plus checked arithmetic that fails with a [`MappingError`] instead of
//! overflowing. An [`Amount`](crate::Amount) is a count of ten-thousandths of the
//! currency's major unit (1.00 = 10000).

use alloc::format;
pub use ml_connector_money::{SCALE, SCALE_DECIMALS, format, minor_unit, parse};

use crate::error::invalid_input;
use crate::{Amount, MappingError};

/// Rounds to the currency's minor unit, half away from zero (commercial rounding).
pub fn round(amount: Amount, decimals: u8) -> Result<Amount, MappingError> {
    let unit = minor_unit(decimals).ok_or_else(|| {
        invalid_input(
            "unsupported-decimals",
            format!("currencies with {decimals} decimals are not supported"),
            None,
        )
    })?;
    ml_connector_money::round_to_unit(amount, unit).ok_or_else(overflow)
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
    fn rounding_reports_unsupported_decimals_and_overflow() {
        assert_eq!(round(12_350, 2).unwrap(), 12_400);
        assert_eq!(round(1, 5).unwrap_err().code, "unsupported-decimals");
        assert_eq!(round(i64::MAX, 0).unwrap_err().code, "amount-overflow");
        assert_eq!(sum([i64::MAX, 1]).unwrap_err().code, "amount-overflow");
    }
}
