//! Foreign-currency entries that balance in the ledger's base currency too.
//!
//! QAD converts each line on its own (`base = amount × rate`, rounded half away from zero
//! to the base currency's decimals) and requires debits and credits to be equal in the
//! transaction currency and in the base currency, with no tolerance. An entry balanced in
//! euros can therefore be a cent off in dollars. ml-connector sends the rate itself (the
//! one the shopper's order was taken at) and, when rounding leaves a difference, splits a
//! line into two on the same account whose rounded conversions add up one base unit
//! differently, until the base amounts balance. The transaction-currency amounts, the
//! accounts and the meaning of the entry are unchanged; no rounding line is invented.
//!
//! All arithmetic is on integers: amounts in ten-thousandths, rates in 1e-10.

use crate::money::Amount;
use crate::plugins::types::Decimal;

/// Rates carry ten decimals.
pub const RATE_SCALE: i128 = 10_000_000_000;

/// `numerator / denominator` rounded half away from zero.
fn div_round(numerator: i128, denominator: i128) -> i128 {
    let half = denominator.abs() / 2;
    if (numerator < 0) != (denominator < 0) {
        (numerator - half) / denominator
    } else {
        (numerator + half) / denominator
    }
}

/// The largest rate taken: 100,000,000 base units per transaction unit. Far above any
/// real currency pair, and small enough that an amount times it cannot overflow.
const MAX_RATE: i128 = 100_000_000 * RATE_SCALE;

/// Base units per transaction unit, in 1e-10, from the store's rate (transaction units
/// per store-currency unit): its inverse, rounded to ten decimals. `None` for a zero or
/// negative rate, or one whose inverse is zero or above [`MAX_RATE`].
pub fn base_per_unit(store_rate: Decimal) -> Option<i128> {
    if store_rate.digits <= 0 {
        return None;
    }
    let scale = 10_i128.checked_pow(u32::from(store_rate.scale))?;
    // 1 / (digits / scale) = scale / digits, in 1e-10.
    let rate = div_round(
        scale.checked_mul(RATE_SCALE)?,
        i128::from(store_rate.digits),
    );
    (rate > 0 && rate <= MAX_RATE).then_some(rate)
}

/// The rate as QAD takes it: a decimal string with ten decimals.
pub fn rate_text(rate: i128) -> String {
    format!("{}.{:010}", rate / RATE_SCALE, rate % RATE_SCALE)
}

/// One ten-thousandths amount converted to the base currency and rounded to its
/// decimals, as QAD does it.
pub fn to_base(amount: Amount, rate: i128, base_decimals: u8) -> Amount {
    let unit = 10_i128.pow(u32::from(4_u8.saturating_sub(base_decimals)));
    let raw = i128::from(amount) * rate; // 1e-14
    let rounded = div_round(raw, unit * RATE_SCALE) * unit;
    Amount::try_from(rounded).unwrap_or(Amount::MAX)
}

/// A line's side and amount, as far as balancing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    pub debit: Amount,
    pub credit: Amount,
}

fn base_difference(lines: &[Side], rate: i128, base_decimals: u8) -> Amount {
    lines
        .iter()
        .map(|l| to_base(l.debit, rate, base_decimals) - to_base(l.credit, rate, base_decimals))
        .sum()
}

/// The splits that make `lines` balance in the base currency: each `(index, part)` takes
/// `part` off line `index` into a new line on the same side and account. Fails when no
/// split of a line by up to 100 minor units of the transaction currency settles it.
pub fn balancing_splits(
    lines: &[Side],
    rate: i128,
    tc_decimals: u8,
    base_decimals: u8,
) -> Result<Vec<(usize, Amount)>, String> {
    let tc_unit = 10_i64.pow(u32::from(4_u8.saturating_sub(tc_decimals)));
    let base_unit = 10_i64.pow(u32::from(4_u8.saturating_sub(base_decimals)));
    let mut lines = lines.to_vec();
    let mut splits = Vec::new();
    for _ in 0..lines.len() * 4 + 8 {
        let delta = base_difference(&lines, rate, base_decimals);
        if delta == 0 {
            return Ok(splits);
        }
        // Debits too high in base: lower a debit's conversion or raise a credit's.
        let want = if delta > 0 { -base_unit } else { base_unit };
        let found = (0..lines.len()).find_map(|index| {
            let line = lines[index];
            let (amount, is_debit) = if line.debit > 0 {
                (line.debit, true)
            } else {
                (line.credit, false)
            };
            let needed = if is_debit { want } else { -want };
            (1..=100)
                .map(|n| n * tc_unit)
                .take_while(|part| *part < amount)
                .find_map(|part| {
                    let change = to_base(amount - part, rate, base_decimals)
                        + to_base(part, rate, base_decimals)
                        - to_base(amount, rate, base_decimals);
                    (change == needed).then_some((index, part, is_debit))
                })
        });
        let Some((index, part, is_debit)) = found else {
            return Err(format!(
                "the entry is {} off in the base currency after conversion and no split of a line settles it",
                crate::money::format(delta)
            ));
        };
        let rest = Side {
            debit: if is_debit {
                lines[index].debit - part
            } else {
                0
            },
            credit: if is_debit {
                0
            } else {
                lines[index].credit - part
            },
        };
        lines[index] = rest;
        lines.push(Side {
            debit: if is_debit { part } else { 0 },
            credit: if is_debit { 0 } else { part },
        });
        splits.push((index, part));
    }
    Err("the entry could not be balanced in the base currency".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debit(amount: Amount) -> Side {
        Side {
            debit: amount,
            credit: 0,
        }
    }
    fn credit(amount: Amount) -> Side {
        Side {
            debit: 0,
            credit: amount,
        }
    }

    #[test]
    fn rates_out_of_range_are_refused_not_wrapped() {
        let rate = |digits, scale| base_per_unit(Decimal { digits, scale });
        assert_eq!(rate(0, 0), None);
        assert_eq!(rate(-5, 1), None);
        // 10^255 does not fit; 10^28 x 1e10 would overflow before dividing.
        assert_eq!(rate(1, 255), None);
        assert_eq!(rate(1, 28), None);
        // The inverse of a huge rate rounds to zero; of a tiny one, past the bound.
        assert_eq!(rate(i64::MAX, 0), None);
        assert_eq!(rate(1, 9), None);
        assert_eq!(rate(1, 8), Some(MAX_RATE));
        assert!(
            to_base(Amount::MAX, MAX_RATE, 2) > 0,
            "no overflow at the bound"
        );
    }

    #[test]
    fn rates_invert_exactly_to_ten_decimals() {
        let rate = base_per_unit(Decimal {
            digits: 92,
            scale: 2,
        })
        .unwrap();
        assert_eq!(rate_text(rate), "1.0869565217");
        assert_eq!(
            rate_text(
                base_per_unit(Decimal {
                    digits: 1,
                    scale: 0
                })
                .unwrap()
            ),
            "1.0000000000"
        );
        assert_eq!(to_base(1_000_000, rate, 2), 1_087_000);
    }

    fn apply(lines: &[Side], splits: Vec<(usize, Amount)>) -> Vec<Side> {
        let mut out = lines.to_vec();
        for (index, part) in splits {
            let line = out[index];
            let (rest, new) = if line.debit > 0 {
                (debit(line.debit - part), debit(part))
            } else {
                (credit(line.credit - part), credit(part))
            };
            out[index] = rest;
            out.push(new);
        }
        out
    }

    #[test]
    fn splits_settle_every_rounding_difference_without_touching_the_totals() {
        let mut unbalanced = 0;
        for rate in [
            10_850_000_000,
            12_700_000_000,
            7_300_000_000,
            10_869_565_217,
        ] {
            for i in 0..40 {
                for j in 0..40 {
                    // Cents: a sale of x + y against revenue x and tax y.
                    let (x, y) = ((500 + 37 * i) * 100, (101 + 53 * j) * 100);
                    let lines = [debit(x + y), credit(x), credit(y)];
                    if base_difference(&lines, rate, 2) == 0 {
                        continue;
                    }
                    unbalanced += 1;
                    let splits = balancing_splits(&lines, rate, 2, 2)
                        .unwrap_or_else(|e| panic!("{x} {y} at {rate}: {e}"));
                    let balanced = apply(&lines, splits);
                    assert_eq!(base_difference(&balanced, rate, 2), 0);
                    let tc: Amount = balanced.iter().map(|l| l.debit - l.credit).sum();
                    assert_eq!(tc, 0, "the transaction currency still balances");
                }
            }
        }
        assert!(
            unbalanced > 100,
            "the grid has rounding differences to settle"
        );
    }

    #[test]
    fn a_difference_too_small_to_split_is_reported() {
        // 0.15 against 3 x 0.05 at 1.085: no split of a few cents changes the rounding.
        let lines = [debit(1_500), credit(500), credit(500), credit(500)];
        let error = balancing_splits(&lines, 10_850_000_000, 2, 2).unwrap_err();
        assert!(error.contains("0.0100 off"), "{error}");
    }

    #[test]
    fn a_balanced_conversion_needs_no_split() {
        let lines = [debit(10_000), credit(10_000)];
        assert!(
            balancing_splits(&lines, 10_850_000_000, 2, 2)
                .unwrap()
                .is_empty()
        );
    }
}
