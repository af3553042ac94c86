//! The entry as QAD takes it: the contract's journal entry with the posting policy's
//! entity and layer, the period, and (in a currency other than the entity's base
//! currency) the order's rate on every line, split where needed so it balances after
//! QAD's conversion too ([`crate::flows::fx`]).

use time::Date;

use super::OrderFlow;
use crate::flows::{FlowError, convert, fx};
use crate::plugins::types::{self, JournalEntry};
use crate::qad;

impl OrderFlow {
    /// The entry as QAD takes it. In a currency other than the entity's base currency,
    /// every line carries the order's rate and lines are split where needed so the entry
    /// balances after QAD's conversion too ([`fx`]).
    pub(super) fn to_qad(
        &self,
        entry: &JournalEntry,
        reference: &str,
        date: Date,
        year: i32,
        period: u32,
    ) -> Result<qad::JournalEntry, FlowError> {
        let line = |l: &types::JournalLine, debit, credit, rate: Option<String>| qad::JournalLine {
            account: l.account.clone(),
            sub_account: l.sub_account.clone(),
            cost_center: l.cost_centre.clone(),
            project: String::new(),
            currency: entry.currency.clone(),
            debit,
            credit,
            exchange_rate: rate,
            tax_code: (!l.tax_code.is_empty()).then(|| l.tax_code.clone()),
            description: l.memo.clone(),
        };
        let lines = if entry.currency == self.policy.base_currency {
            entry
                .lines
                .iter()
                .map(|l| line(l, l.debit, l.credit, None))
                .collect()
        } else {
            let rate = fx::base_per_unit(entry.exchange_rate).ok_or_else(|| {
                FlowError::Refused(format!(
                    "{reference}: no usable exchange rate from {} to {}",
                    entry.currency, self.policy.base_currency
                ))
            })?;
            let text = fx::rate_text(rate);
            let sides: Vec<fx::Side> = entry
                .lines
                .iter()
                .map(|l| fx::Side {
                    debit: l.debit,
                    credit: l.credit,
                })
                .collect();
            let splits = fx::balancing_splits(
                &sides,
                rate,
                convert::currency_decimals(&entry.currency),
                convert::currency_decimals(&self.policy.base_currency),
            )
            .map_err(|reason| FlowError::Refused(format!("{reference}: {reason}")))?;
            let mut lines: Vec<qad::JournalLine> = entry
                .lines
                .iter()
                .map(|l| line(l, l.debit, l.credit, Some(text.clone())))
                .collect();
            for (index, part) in splits {
                let mut split = lines[index].clone();
                if split.debit > 0 {
                    lines[index].debit -= part;
                    split.debit = part;
                } else {
                    lines[index].credit -= part;
                    split.credit = part;
                }
                lines.push(split);
            }
            lines
        };
        Ok(qad::JournalEntry {
            entity: self.policy.entity.clone(),
            daybook: entry.daybook.clone(),
            layer: self.policy.layer.clone(),
            posting_date: date,
            year,
            period,
            description: entry.description.clone(),
            external_reference: reference.into(),
            lines,
        })
    }
}
