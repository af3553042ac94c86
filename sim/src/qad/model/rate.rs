//! Exchange rates as exact decimals (a count of 1e-10), their text both ways, and
//! converting an amount with one.

use super::Money;

/// An exchange rate: units of the target currency per unit of the source, as a count of
/// 1e-10 (`1.0850` is `Rate(10_850_000_000)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate(pub i128);

impl Rate {
    pub const DECIMALS: usize = 10;
    pub const SCALE: i128 = 10_000_000_000;
    pub const ONE: Rate = Rate(Rate::SCALE);

    /// Parses a non-negative decimal with at most ten decimals (`"1.085"`, `"0.0067"`).
    pub fn parse(text: &str) -> Option<Rate> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty())
            || fraction.len() > Rate::DECIMALS
            || whole.len() > 18
            || !digits(whole)
            || !digits(fraction)
        {
            return None;
        }
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let padded = format!("{fraction:0<width$}", width = Rate::DECIMALS);
        let fraction: i128 = padded.parse().ok()?;
        Some(Rate(whole * Rate::SCALE + fraction))
    }

    /// At least four decimals, trailing zeros beyond them dropped: `1.0850`, `0.00671234`.
    pub fn to_text(self) -> String {
        let whole = self.0 / Rate::SCALE;
        let fraction = format!("{:010}", self.0 % Rate::SCALE);
        let trimmed = fraction.trim_end_matches('0');
        let shown = if trimmed.len() < 4 {
            &fraction[..4]
        } else {
            trimmed
        };
        format!("{whole}.{shown}")
    }

    /// `amount × rate`, rounded half away from zero to a currency with `decimals`
    /// decimals; `None` on overflow or more decimals than an amount carries.
    pub fn convert(self, amount: Money, decimals: u8) -> Option<Money> {
        let unit = i128::from(ml_connector_money::minor_unit(decimals)?);
        let product = i128::from(amount).checked_mul(self.0)?;
        let divisor = Rate::SCALE * unit;
        let mut units = product / divisor;
        if (product % divisor).abs() * 2 >= divisor {
            units += product.signum();
        }
        Money::try_from(units * unit).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::super::UNIT;
    use super::*;

    #[test]
    fn rates_parse_exactly_and_print_with_four_decimals_at_least() {
        assert_eq!(Rate::parse("1.0850"), Some(Rate(10_850_000_000)));
        assert_eq!(Rate::parse("0.0000000001"), Some(Rate(1)));
        assert_eq!(Rate::parse("2"), Some(Rate(20_000_000_000)));
        assert_eq!(Rate::parse(".5"), Some(Rate(5_000_000_000)));
        for bad in ["", ".", "-1", "1.00000000001", "1e3", "1,5", "0x10"] {
            assert_eq!(Rate::parse(bad), None, "{bad}");
        }
        assert_eq!(Rate(10_850_000_000).to_text(), "1.0850");
        assert_eq!(Rate(67_000_000).to_text(), "0.0067");
        assert_eq!(Rate(67_123_400).to_text(), "0.00671234");
        assert_eq!(Rate(67_123_456).to_text(), "0.0067123456");
        assert_eq!(Rate::ONE.to_text(), "1.0000");
    }

    #[test]
    fn conversion_rounds_half_away_from_zero_to_the_base_decimals() {
        let eur = Rate::parse("1.0850").unwrap();
        assert_eq!(eur.convert(10_000, 2), Some(10_900)); // 1.085 -> 1.09
        assert_eq!(eur.convert(5_000, 2), Some(5_400)); // 0.5425 -> 0.54
        assert_eq!(eur.convert(-10_000, 2), Some(-10_900));
        let jpy = Rate::parse("0.0067").unwrap();
        assert_eq!(jpy.convert(1_500 * UNIT, 2), Some(100_500)); // 10.05 exactly
        assert_eq!(jpy.convert(UNIT, 2), Some(100)); // 0.0067 -> 0.01
        assert_eq!(jpy.convert(UNIT, 0), Some(0));
        let kwd = Rate::parse("3.2512345678").unwrap();
        assert_eq!(kwd.convert(1_250, 2), Some(4_100)); // 0.406404... -> 0.41
        assert_eq!(Rate::ONE.convert(123_400, 2), Some(123_400));
        assert_eq!(Rate::ONE.convert(123_450, 2), Some(123_500));
        assert_eq!(Rate::ONE.convert(1, 5), None);
        assert_eq!(Rate(i128::MAX).convert(i64::MAX, 2), None);
    }
}
