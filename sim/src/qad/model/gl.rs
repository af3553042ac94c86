//! The general ledger: daybooks, the chart of accounts, GL periods and their status, and
//! posted journal entries with their lines, and how each looks on the wire.

use std::collections::HashMap;

use time::Date;

use super::{ACCOUNT_VIEW, JOURNAL_VIEW, Money, PERIOD_VIEW, Rate, Stamp, day};
use crate::wire::{Object, fixed};

pub const JOURNAL_ENTRIES: &str = "Journal Entries";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daybook {
    pub entity: String,
    pub code: String,
    /// `Journal Entries`, `Invoices`, ...
    pub kind: String,
    pub active: bool,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlAccount {
    pub entity: String,
    pub code: String,
    pub description: String,
    pub active: bool,
    /// A header (group) account is not postable.
    pub postable: bool,
    pub requires_sub_account: bool,
    pub requires_cost_center: bool,
    pub requires_tax_code: bool,
    pub stamp: Stamp,
}

impl GlAccount {
    pub fn wire(&self) -> Object {
        let object = Object::new()
            .field("entityCode", &self.entity)
            .field("glCode", &self.code)
            .field("description", &self.description)
            .field("isActive", self.active)
            .field("isPostable", self.postable)
            .field("requiresSubAccount", self.requires_sub_account)
            .field("requiresCostCenter", self.requires_cost_center)
            .field("requiresTaxCode", self.requires_tax_code);
        let uri = format!("{ACCOUNT_VIEW}:{}.{}", self.entity, self.code);
        self.stamp.write(object, uri)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodStatus {
    Open,
    Closed,
    Locked,
}

impl PeriodStatus {
    pub fn name(self) -> &'static str {
        match self {
            PeriodStatus::Open => "Open",
            PeriodStatus::Closed => "Closed",
            PeriodStatus::Locked => "Locked",
        }
    }

    /// `Open`, `Closed` or `Locked`, in any case.
    pub fn parse(text: &str) -> Option<PeriodStatus> {
        [
            PeriodStatus::Open,
            PeriodStatus::Closed,
            PeriodStatus::Locked,
        ]
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(text))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlPeriod {
    pub entity: String,
    pub year: i32,
    pub period: u32,
    pub start: Date,
    pub end: Date,
    pub status: PeriodStatus,
    pub stamp: Stamp,
}

impl GlPeriod {
    pub fn wire(&self) -> Object {
        let object = Object::new()
            .field("entityCode", &self.entity)
            .field("postingYear", self.year)
            .field("postingPeriod", self.period)
            .field("startDate", day(self.start))
            .field("endDate", day(self.end))
            .field("status", self.status.name());
        let uri = format!(
            "{PERIOD_VIEW}:{}.{}.{}",
            self.entity, self.year, self.period
        );
        self.stamp.write(object, uri)
    }
}

/// One line of a posted journal entry, with its amounts in the entity's base currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedLine {
    pub gl_code: String,
    pub sub_account: String,
    pub cost_center: String,
    pub project: String,
    pub tax_code: String,
    pub description: String,
    pub currency: String,
    pub debit_tc: Money,
    pub credit_tc: Money,
    pub rate: Rate,
    pub debit_base: Money,
    pub credit_base: Money,
}

/// A posted journal entry as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedJournal {
    pub entity: String,
    pub daybook: String,
    /// `2026/SO/000001`.
    pub voucher: String,
    pub layer: String,
    pub posting_date: Date,
    pub year: i32,
    pub period: u32,
    pub description: String,
    pub external_reference: String,
    pub base_currency: String,
    pub lines: Vec<PostedLine>,
    pub stamp: Stamp,
}

impl PostedJournal {
    /// `decimals` gives a currency's decimals (amounts are rendered with them).
    pub fn wire(&self, decimals: impl Fn(&str) -> u8) -> Object {
        let base = decimals(&self.base_currency);
        let lines: Vec<Object> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let tc = decimals(&line.currency);
                Object::new()
                    .field("lineNumber", i + 1)
                    .field("glCode", &line.gl_code)
                    .field("subAccountCode", &line.sub_account)
                    .field("costCenterCode", &line.cost_center)
                    .field("projectCode", &line.project)
                    .field("currencyCode", &line.currency)
                    .field("debitTC", fixed(line.debit_tc, tc))
                    .field("creditTC", fixed(line.credit_tc, tc))
                    .field("exchangeRate", line.rate.to_text())
                    .field("debitLC", fixed(line.debit_base, base))
                    .field("creditLC", fixed(line.credit_base, base))
                    .field("taxCode", &line.tax_code)
                    .field("description", &line.description)
            })
            .collect();
        let object = Object::new()
            .field("entityCode", &self.entity)
            .field("daybookCode", &self.daybook)
            .field("voucher", &self.voucher)
            .field("layerCode", &self.layer)
            .field("postingDate", day(self.posting_date))
            .field("postingYear", self.year)
            .field("postingPeriod", self.period)
            .field("description", &self.description)
            .field("externalReference", &self.external_reference)
            .field("baseCurrencyCode", &self.base_currency)
            .field("lines", lines);
        let uri = format!("{JOURNAL_VIEW}:{}.{}", self.entity, self.voucher);
        self.stamp.write(object, uri)
    }
}

/// A tenant's posted journal entries in posting order, with what finds them without a scan:
/// the entries under each entity and external reference, and each entity's last voucher
/// number per voucher prefix (`<year>/<daybook>/`). Read as a slice; changed only by
/// [`Journals::push`] and [`Journals::retain`], which keep the indexes.
#[derive(Debug, Clone, Default)]
pub struct Journals {
    entries: Vec<PostedJournal>,
    by_reference: HashMap<(String, String), Vec<usize>>,
    last_number: HashMap<(String, String), u32>,
}

impl std::ops::Deref for Journals {
    type Target = [PostedJournal];

    fn deref(&self) -> &[PostedJournal] {
        &self.entries
    }
}

impl Journals {
    /// Appends a posted entry.
    pub fn push(&mut self, journal: PostedJournal) {
        self.index(self.entries.len(), &journal);
        self.entries.push(journal);
    }

    /// Keeps only the entries `keep` says to.
    pub fn retain(&mut self, keep: impl FnMut(&PostedJournal) -> bool) {
        self.entries.retain(keep);
        self.by_reference.clear();
        self.last_number.clear();
        let entries = std::mem::take(&mut self.entries);
        for (at, journal) in entries.iter().enumerate() {
            self.index(at, journal);
        }
        self.entries = entries;
    }

    fn index(&mut self, at: usize, journal: &PostedJournal) {
        self.by_reference
            .entry((journal.entity.clone(), journal.external_reference.clone()))
            .or_default()
            .push(at);
        if let Some((prefix, number)) = journal.voucher.rsplit_once('/')
            && let Ok(number) = number.parse::<u32>()
        {
            let last = self
                .last_number
                .entry((journal.entity.clone(), format!("{prefix}/")))
                .or_default();
            *last = (*last).max(number);
        }
    }

    /// The places of the entity's entries under `reference`, oldest first.
    pub fn with_reference(&self, entity: &str, reference: &str) -> &[usize] {
        self.by_reference
            .get(&(entity.to_string(), reference.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// The entity's highest voucher number under `prefix` (`2026/SO/`), 0 for none.
    pub fn last_number(&self, entity: &str, prefix: &str) -> u32 {
        self.last_number
            .get(&(entity.to_string(), prefix.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(entity: &str, voucher: &str, reference: &str) -> PostedJournal {
        PostedJournal {
            entity: entity.into(),
            daybook: "SO".into(),
            voucher: voucher.into(),
            layer: "OFFICIAL".into(),
            posting_date: time::macros::date!(2026 - 11 - 02),
            year: 2026,
            period: 11,
            description: String::new(),
            external_reference: reference.into(),
            base_currency: "USD".into(),
            lines: Vec::new(),
            stamp: Stamp {
                hash: String::new(),
                modified: time::OffsetDateTime::UNIX_EPOCH,
                user: String::new(),
            },
        }
    }

    #[test]
    fn the_indexes_follow_pushes_and_removals() {
        let mut journals = Journals::default();
        journals.push(journal("E1", "2026/SO/000001", "a"));
        journals.push(journal("E1", "2026/SO/000007", "b"));
        journals.push(journal("E2", "2026/SO/000003", "a"));
        journals.push(journal("E1", "2026/SO/000008", "a"));
        assert_eq!(journals.with_reference("E1", "a"), [0, 3]);
        assert_eq!(journals.with_reference("E2", "a"), [2]);
        assert!(journals.with_reference("E2", "b").is_empty());
        assert_eq!(journals.last_number("E1", "2026/SO/"), 8);
        assert_eq!(journals.last_number("E1", "2025/SO/"), 0);

        journals.retain(|j| j.voucher != "2026/SO/000008");
        assert_eq!(journals.len(), 3);
        assert_eq!(journals.with_reference("E1", "a"), [0]);
        assert_eq!(journals.last_number("E1", "2026/SO/"), 7);
        assert_eq!(journals[1].external_reference, "b");
    }
}
