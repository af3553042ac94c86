//! Convergent posting: what to post for a source document so that everything posted for
//! it adds up to the journal it should have now.
//!
//! The plugin maps the document's current state to one entry. Everything already posted
//! for the document (its revisions) is netted per ledger position (account, sub-account,
//! cost centre, tax code); the difference between the two is the next revision: nothing
//! when they are equal, an adjusting entry after an edit, a full reversal after a
//! cancellation. Because every posted entry and the wanted entry balance, the difference
//! balances too; it is checked all the same, and a difference that does not balance or
//! does not fit an amount (a stored revision altered or corrupt) is refused, never
//! clamped and posted.

use std::collections::BTreeMap;

use crate::money::Amount;
use crate::plugins::types::{JournalEntry, JournalLine};
use crate::qad::PostedJournal;

/// Where an amount sits as QAD reads an entry back: currency, account, sub-account, cost
/// centre.
pub type Place = (String, String, String, String);
/// Net debit (positive) or credit (negative) per place.
pub type Net = BTreeMap<Place, i128>;

/// What an entry of the contract does to the ledger, per place.
pub fn net_of(entry: &JournalEntry) -> Net {
    let mut net = Net::new();
    for line in &entry.lines {
        let position = (
            entry.currency.clone(),
            line.account.clone(),
            line.sub_account.clone(),
            line.cost_centre.clone(),
        );
        *net.entry(position).or_default() += i128::from(line.debit) - i128::from(line.credit);
    }
    net
}

/// A net amount as text (in ten-thousandths when it does not fit an amount).
pub fn amount_text(net: i128) -> String {
    i64::try_from(net).map_or_else(|_| net.to_string(), crate::money::format)
}

/// What entries QAD holds do to the ledger, per place.
pub fn net_posted(journals: &[PostedJournal]) -> Net {
    let mut net = Net::new();
    for line in journals.iter().flat_map(|j| &j.lines) {
        let position = (
            line.currency_code.clone(),
            line.gl_code.clone(),
            line.sub_account_code.clone(),
            line.cost_center_code.clone(),
        );
        *net.entry(position).or_default() += i128::from(line.debit) - i128::from(line.credit);
    }
    net
}

/// Where an amount sits in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    account: String,
    sub_account: String,
    cost_centre: String,
    tax_code: String,
}

impl Position {
    fn of(line: &JournalLine) -> Position {
        Position {
            account: line.account.clone(),
            sub_account: line.sub_account.clone(),
            cost_centre: line.cost_centre.clone(),
            tax_code: line.tax_code.clone(),
        }
    }
}

/// Net debit (positive) or credit (negative) per position, with the first memo seen.
fn net(entries: &[&JournalEntry]) -> BTreeMap<Position, (i128, String)> {
    let mut net: BTreeMap<Position, (i128, String)> = BTreeMap::new();
    for line in entries.iter().flat_map(|e| &e.lines) {
        let slot = net
            .entry(Position::of(line))
            .or_insert_with(|| (0, line.memo.clone()));
        slot.0 += i128::from(line.debit) - i128::from(line.credit);
    }
    net
}

/// Why the difference between what is posted and what is wanted cannot be posted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DifferenceError {
    #[error("the difference on account {account} is beyond what an amount can hold")]
    TooLarge { account: String },
    #[error(
        "the difference does not balance (debits {debits}, credits {credits} in ten-thousandths): \
         a posted revision in the store does not balance"
    )]
    Unbalanced { debits: i128, credits: i128 },
}

/// The lines that take `posted` to `wanted` (`None`: the document should have nothing
/// posted, e.g. a cancelled order). Empty when nothing needs posting. Lines come in the
/// wanted entry's position order, then positions only the posted entries have.
pub fn difference(
    wanted: Option<&JournalEntry>,
    posted: &[JournalEntry],
) -> Result<Vec<JournalLine>, DifferenceError> {
    let wanted_net = net(&wanted.into_iter().collect::<Vec<_>>());
    let posted_net = net(&posted.iter().collect::<Vec<_>>());
    let mut order: Vec<Position> = Vec::new();
    for line in wanted
        .iter()
        .flat_map(|e| &e.lines)
        .chain(posted.iter().flat_map(|e| &e.lines))
    {
        let position = Position::of(line);
        if !order.contains(&position) {
            order.push(position);
        }
    }
    let mut lines = Vec::new();
    for position in order {
        let (want, memo) = wanted_net.get(&position).cloned().unwrap_or_else(|| {
            (
                0,
                posted_net
                    .get(&position)
                    .map(|p| p.1.clone())
                    .unwrap_or_default(),
            )
        });
        let have = posted_net.get(&position).map_or(0, |p| p.0);
        let delta = want - have;
        if delta == 0 {
            continue;
        }
        let amount = Amount::try_from(delta.abs()).map_err(|_| DifferenceError::TooLarge {
            account: position.account.clone(),
        })?;
        let (debit, credit) = if delta > 0 { (amount, 0) } else { (0, amount) };
        lines.push(JournalLine {
            account: position.account,
            sub_account: position.sub_account,
            cost_centre: position.cost_centre,
            debit,
            credit,
            memo,
            tax_code: position.tax_code,
        });
    }
    let debits: i128 = lines.iter().map(|l| i128::from(l.debit)).sum();
    let credits: i128 = lines.iter().map(|l| i128::from(l.credit)).sum();
    if debits != credits {
        return Err(DifferenceError::Unbalanced { debits, credits });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::types::Decimal;

    fn line(account: &str, debit: Amount, credit: Amount) -> JournalLine {
        JournalLine {
            account: account.into(),
            sub_account: String::new(),
            cost_centre: String::new(),
            debit,
            credit,
            memo: account.into(),
            tax_code: String::new(),
        }
    }

    fn entry(lines: Vec<JournalLine>) -> JournalEntry {
        JournalEntry {
            daybook: "SO".into(),
            effective_date: "2026-11-20".into(),
            currency: "USD".into(),
            exchange_rate: Decimal {
                digits: 1,
                scale: 0,
            },
            erp_customer: "W1".into(),
            description: "order 1".into(),
            lines,
        }
    }

    fn balance(lines: &[JournalLine]) -> Amount {
        lines.iter().map(|l| l.debit - l.credit).sum()
    }

    #[test]
    fn nothing_is_posted_when_the_ledger_already_agrees() {
        let first = entry(vec![
            line("1151", 10_800, 0),
            line("4000", 0, 10_000),
            line("2200", 0, 800),
        ]);
        assert_eq!(difference(Some(&first), &[]).unwrap(), first.lines);
        assert!(
            difference(Some(&first), std::slice::from_ref(&first))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_edit_posts_only_the_change() {
        let first = entry(vec![
            line("1151", 10_800, 0),
            line("4000", 0, 10_000),
            line("2200", 0, 800),
        ]);
        let edited = entry(vec![
            line("1151", 16_200, 0),
            line("4000", 0, 15_000),
            line("2200", 0, 1_200),
        ]);
        let adjustment = difference(Some(&edited), std::slice::from_ref(&first)).unwrap();
        assert_eq!(
            adjustment,
            vec![
                line("1151", 5_400, 0),
                line("4000", 0, 5_000),
                line("2200", 0, 400)
            ]
        );
        assert_eq!(balance(&adjustment), 0);
        let both = [first, entry(adjustment)];
        assert!(difference(Some(&edited), &both).unwrap().is_empty());
    }

    #[test]
    fn a_cancellation_reverses_everything_posted() {
        let first = entry(vec![
            line("1151", 10_800, 0),
            line("4000", 0, 10_000),
            line("2200", 0, 800),
        ]);
        let reversal = difference(None, std::slice::from_ref(&first)).unwrap();
        assert_eq!(
            reversal,
            vec![
                line("1151", 0, 10_800),
                line("4000", 10_000, 0),
                line("2200", 800, 0)
            ]
        );
        assert!(
            difference(None, &[first, entry(reversal)])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_moved_amount_nets_out_and_new_positions_appear() {
        let first = entry(vec![line("1151", 10_000, 0), line("4000", 0, 10_000)]);
        let moved = entry(vec![line("1152", 10_000, 0), line("4000", 0, 10_000)]);
        assert_eq!(
            difference(Some(&moved), &[first]).unwrap(),
            vec![line("1152", 10_000, 0), line("1151", 0, 10_000)]
        );
    }

    #[test]
    fn a_difference_that_cannot_be_posted_as_it_is_is_refused() {
        // Two posted revisions that each fit, whose sum on one account does not: the
        // difference is refused rather than clamped to the largest amount.
        let big = entry(vec![
            line("1151", Amount::MAX, 0),
            line("4000", 0, Amount::MAX),
        ]);
        assert_eq!(
            difference(None, &[big.clone(), big]),
            Err(DifferenceError::TooLarge {
                account: "1151".into()
            })
        );
        // A stored revision that does not balance: its reversal would not either.
        let unbalanced = entry(vec![line("1151", 10_000, 0), line("4000", 0, 9_000)]);
        assert_eq!(
            difference(None, &[unbalanced]),
            Err(DifferenceError::Unbalanced {
                debits: 9_000,
                credits: 10_000
            })
        );
    }
}
