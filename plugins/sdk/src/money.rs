//! Exact money for plugins: the shared amount functions (`parse`, `format`, `minor_unit`,
//! `SCALE`), checked arithmetic that fails with a [`MappingError`] instead of
//! overflowing, an exact proportional split ([`allocate`]) and rates ([`apply_rate`]). An
//! [`Amount`](crate::Amount) is a count of ten-thousandths of the currency's major unit
//! (1.00 = 10000).

use alloc::format;
use alloc::vec::Vec;
pub use ml_connector_money::{SCALE, SCALE_DECIMALS, format, minor_unit, parse};

use crate::error::invalid_input;
use crate::{Amount, Decimal, MappingError};

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

/// Splits `total` over `weights` in proportion, exactly: the parts always sum to
/// `total`. Each part is whole in `unit` (a minor unit from [`minor_unit`], or 1 for
/// ten-thousandths); the units left over after rounding down go one each to the parts
/// with the largest remainders (ties to the earlier part). Use it to spread an order's
/// discount or shipping over its lines. All-zero weights split nothing (an error when
/// `total` is not zero); negative weights and a non-positive unit are errors.
pub fn allocate(total: Amount, weights: &[Amount], unit: i64) -> Result<Vec<Amount>, MappingError> {
    if unit <= 0 || weights.iter().any(|w| *w < 0) {
        return Err(invalid_input(
            "bad-allocation",
            "allocation weights must not be negative and the unit must be positive",
            None,
        ));
    }
    if total % unit != 0 {
        return Err(invalid_input(
            "bad-allocation",
            format!("{} is not whole in units of {unit}", format(total)),
            None,
        ));
    }
    let weight: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if weight == 0 {
        return if total == 0 {
            Ok(weights.iter().map(|_| 0).collect())
        } else {
            Err(invalid_input(
                "bad-allocation",
                format!("cannot spread {} over nothing", format(total)),
                None,
            ))
        };
    }
    let units = i128::from(total / unit);
    let sign = if units < 0 { -1 } else { 1 };
    let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let share = units.abs() * i128::from(*w);
        parts.push(share / weight);
        remainders.push((share % weight, i));
    }
    let mut left = units.abs() - parts.iter().sum::<i128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|p| i64::try_from(p * sign * i128::from(unit)).map_err(|_| overflow()))
        .collect()
}

/// `amount` x `rate` (an exact decimal such as an exchange rate or a tax percentage as
/// a fraction), rounded half away from zero to the minor unit of a currency with
/// `decimals` decimals.
pub fn apply_rate(amount: Amount, rate: Decimal, decimals: u8) -> Result<Amount, MappingError> {
    let unit = i128::from(minor_unit(decimals).ok_or_else(|| {
        invalid_input(
            "unsupported-decimals",
            format!("currencies with {decimals} decimals are not supported"),
            None,
        )
    })?);
    let divisor = 10_i128
        .checked_pow(u32::from(rate.scale))
        .and_then(|d| d.checked_mul(unit))
        .ok_or_else(overflow)?;
    let product = i128::from(amount) * i128::from(rate.digits);
    let (quotient, rest) = (product / divisor, product % divisor);
    let rounded = if rest.abs() * 2 >= divisor {
        quotient + product.signum()
    } else {
        quotient
    };
    i64::try_from(rounded * unit).map_err(|_| overflow())
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
    use alloc::vec;

    #[test]
    fn rounding_reports_unsupported_decimals_and_overflow() {
        assert_eq!(round(12_350, 2).unwrap(), 12_400);
        assert_eq!(round(1, 5).unwrap_err().code, "unsupported-decimals");
        assert_eq!(round(i64::MAX, 0).unwrap_err().code, "amount-overflow");
        assert_eq!(sum([i64::MAX, 1]).unwrap_err().code, "amount-overflow");
    }

    #[test]
    fn allocation_is_exact_and_gives_leftover_cents_to_the_largest_remainders() {
        // 10.00 over three equal lines: 3.34, 3.33, 3.33.
        assert_eq!(
            allocate(100_000, &[1, 1, 1], 100).unwrap(),
            vec![33_400, 33_300, 33_300]
        );
        // A discount of -5.00 over lines of 20.00 and 5.00: -4.00 and -1.00.
        assert_eq!(
            allocate(-50_000, &[200_000, 50_000], 100).unwrap(),
            vec![-40_000, -10_000]
        );
        let parts = allocate(123_400, &[7, 0, 13, 29], 100).unwrap();
        assert_eq!(parts.iter().sum::<i64>(), 123_400);
        assert_eq!(parts[1], 0);
        assert_eq!(allocate(0, &[0, 0], 100).unwrap(), vec![0, 0]);
        assert_eq!(allocate(100, &[0], 100).unwrap_err().code, "bad-allocation");
        assert_eq!(allocate(150, &[1], 100).unwrap_err().code, "bad-allocation");
    }

    #[test]
    fn a_rate_is_applied_exactly_and_rounded_to_the_minor_unit() {
        let rate = |digits, scale| Decimal { digits, scale };
        // 4,283 yen at 0.0067 USD per yen: 28.6961, so 28.70.
        assert_eq!(apply_rate(42_830_000, rate(67, 4), 2).unwrap(), 287_000);
        // 8.25% tax on 19.99: 1.649175, so 1.65; negative amounts round away from zero.
        assert_eq!(apply_rate(199_900, rate(825, 4), 2).unwrap(), 16_500);
        assert_eq!(apply_rate(-199_900, rate(825, 4), 2).unwrap(), -16_500);
        assert_eq!(
            apply_rate(i64::MAX, rate(2, 0), 2).unwrap_err().code,
            "amount-overflow"
        );
    }
}
