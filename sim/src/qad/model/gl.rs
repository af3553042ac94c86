//! The general ledger: daybooks, the chart of accounts, GL periods and their status, and
//! posted journal entries with their lines, and how each looks on the wire.

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
