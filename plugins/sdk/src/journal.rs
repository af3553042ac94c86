//! A journal builder: collects signed postings, rounds each to the currency's minor unit,
//! books the rounding difference explicitly and refuses to build an unbalanced entry.

use crate::error::{config_error, invalid_input};
use crate::money;
use crate::{Amount, Currency, Decimal, JournalEntry, JournalLine, MappingError, Order, Refund};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Builds one [`JournalEntry`]. Positive amounts are debits, negative ones credits.
pub struct JournalBuilder {
    entry: JournalEntry,
    decimals: u8,
    /// Sum of the unrounded postings: a non-zero value means the source did not add up.
    unrounded: i128,
}

impl JournalBuilder {
    pub fn new(
        daybook: &str,
        effective_date: &str,
        currency: &Currency,
        exchange_rate: Decimal,
    ) -> Self {
        JournalBuilder {
            entry: JournalEntry {
                daybook: daybook.to_string(),
                effective_date: effective_date.to_string(),
                currency: currency.code.clone(),
                exchange_rate,
                erp_customer: String::new(),
                description: String::new(),
                lines: Vec::new(),
            },
            decimals: currency.decimals,
            unrounded: 0,
        }
    }

    /// An entry dated on the order's creation day, for the order's ledger customer.
    pub fn for_order(order: &Order, daybook: &str) -> Self {
        let mut builder = Self::new(
            daybook,
            date_part(&order.created_at),
            &order.currency,
            order.exchange_rate,
        );
        builder.entry.erp_customer = order.erp_customer.clone();
        builder.entry.description = ["Order ", &order.id].concat();
        builder
    }

    /// An entry dated on the refund's day, for the order's ledger customer.
    pub fn for_refund(refund: &Refund, daybook: &str) -> Self {
        let mut builder = Self::new(
            daybook,
            date_part(&refund.created_at),
            &refund.currency,
            refund.exchange_rate,
        );
        builder.entry.erp_customer = refund.erp_customer.clone();
        builder.entry.description =
            ["Refund ", &refund.id, " of order ", &refund.order_id].concat();
        builder
    }

    pub fn description(&mut self, text: impl Into<String>) -> &mut Self {
        self.entry.description = text.into();
        self
    }

    /// Posts `amount` (positive debit, negative credit) to `account`. A zero amount posts
    /// nothing and returns `None`; otherwise the line is returned to set a tax code,
    /// sub-account or cost centre.
    pub fn post(
        &mut self,
        account: &str,
        amount: Amount,
        memo: impl Into<String>,
    ) -> Option<&mut JournalLine> {
        if amount == 0 {
            return None;
        }
        self.unrounded += i128::from(amount);
        let (debit, credit) = if amount > 0 {
            (amount, 0)
        } else {
            (0, amount.checked_neg().unwrap_or(i64::MAX))
        };
        self.entry
            .lines
            .push(line(account, debit, credit, memo.into()));
        self.entry.lines.last_mut()
    }

    pub fn debit(
        &mut self,
        account: &str,
        amount: Amount,
        memo: impl Into<String>,
    ) -> Option<&mut JournalLine> {
        self.post(account, amount, memo)
    }

    pub fn credit(
        &mut self,
        account: &str,
        amount: Amount,
        memo: impl Into<String>,
    ) -> Option<&mut JournalLine> {
        self.post(account, amount.saturating_neg(), memo)
    }

    /// Rounds every line to the currency's minor unit and returns the entry.
    ///
    /// The source must add up exactly before rounding (else `does-not-balance`). Rounding
    /// differences (at most half a minor unit per line) go to `rounding_account`; without
    /// one, any difference is an error.
    pub fn finish(mut self, rounding_account: Option<&str>) -> Result<JournalEntry, MappingError> {
        if self.unrounded != 0 {
            let off = i64::try_from(self.unrounded)
                .map(money::format)
                .unwrap_or_else(|_| "a huge amount".into());
            return Err(invalid_input(
                "does-not-balance",
                format!(
                    "{}: debits and credits differ by {off} before rounding",
                    self.entry.description
                ),
                None,
            ));
        }
        let mut balance: i64 = 0;
        for line in &mut self.entry.lines {
            line.debit = money::round(line.debit, self.decimals)?;
            line.credit = money::round(line.credit, self.decimals)?;
            balance = money::add(balance, money::sub(line.debit, line.credit)?)?;
        }
        self.entry
            .lines
            .retain(|line| line.debit != 0 || line.credit != 0);
        if balance != 0 {
            let Some(account) = rounding_account else {
                return Err(config_error(
                    "missing-setting",
                    format!(
                        "{} needs a rounding line of {} but no rounding account is set",
                        self.entry.description,
                        money::format(-balance)
                    ),
                    "account.rounding",
                ));
            };
            let (debit, credit) = if balance < 0 {
                (-balance, 0)
            } else {
                (0, balance)
            };
            self.entry
                .lines
                .push(line(account, debit, credit, "rounding".to_string()));
        }
        Ok(self.entry)
    }
}

/// A line with no sub-account, cost centre or tax code.
fn line(account: &str, debit: Amount, credit: Amount, memo: String) -> JournalLine {
    JournalLine {
        account: account.to_string(),
        sub_account: String::new(),
        cost_centre: String::new(),
        debit,
        credit,
        memo,
        tax_code: String::new(),
    }
}

/// `YYYY-MM-DD` from an RFC 3339 timestamp (the date as the store recorded it).
fn date_part(timestamp: &str) -> &str {
    timestamp.get(..10).unwrap_or(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency {
            code: "USD".into(),
            decimals: 2,
        }
    }

    #[test]
    fn rounding_difference_is_booked_explicitly() {
        let mut j = JournalBuilder::new(
            "SO",
            "2026-01-02",
            &usd(),
            Decimal {
                digits: 1,
                scale: 0,
            },
        );
        j.debit("1100", 10_000, "cash");
        j.credit("4000", 3_333, "a");
        j.credit("4000", 3_333, "b");
        j.credit("4000", 3_334, "c");
        let entry = j.finish(Some("7999")).unwrap();
        let debits: i64 = entry.lines.iter().map(|l| l.debit).sum();
        let credits: i64 = entry.lines.iter().map(|l| l.credit).sum();
        assert_eq!(debits, credits);
        assert!(entry.lines.iter().any(|l| l.account == "7999"));
        assert!(
            entry
                .lines
                .iter()
                .all(|l| money::is_whole(l.debit + l.credit, 2))
        );
    }

    #[test]
    fn a_source_that_does_not_add_up_is_refused() {
        let mut j = JournalBuilder::new(
            "SO",
            "2026-01-02",
            &usd(),
            Decimal {
                digits: 1,
                scale: 0,
            },
        );
        j.debit("1100", 10_000, "cash");
        j.credit("4000", 9_900, "revenue");
        assert_eq!(j.finish(Some("7999")).unwrap_err().code, "does-not-balance");
    }
}
