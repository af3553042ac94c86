//! The data the QAD operations take and give, whatever the transport: customers, items
//! and prices with the cursor of a change poll, journal entries as sent and as posted,
//! accounts and periods; and how emails are matched and amounts written for QAD.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Date;

use super::browse;
use crate::money::{self, Amount};

/// A customer as found in QAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRef {
    pub code: String,
    pub shared_set: String,
    /// As stored (QAD compares it case-sensitively).
    pub email: String,
    pub name: String,
}

/// A shopper to create as a QAD customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    pub email: String,
    pub name: String,
    pub street: String,
    pub city: String,
    pub zip: String,
    /// ISO 3166 alpha-2.
    pub country: String,
}

/// An item master record that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemChange {
    /// QAD's item code: the SKU ml-connector matches in BigCommerce.
    pub item_code: String,
    pub description: String,
    pub description2: String,
    pub unit: String,
    pub list_price: Amount,
    pub status: String,
    pub changed_on: Date,
}

/// A price list entry that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceChange {
    pub price_list: String,
    pub item_code: String,
    pub currency: String,
    pub unit: String,
    pub start_date: String,
    pub expire_date: String,
    pub list_price: Amount,
    pub changed_on: Date,
}

/// Where a change poll stopped. QAD's change stamps are dates, so the boundary day is
/// read again on the next poll; the digests of what was already seen on that day keep
/// a record from being reported twice unless it changed again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCursor {
    /// The last day read (`None`: from the beginning).
    pub day: Option<String>,
    /// Record key to content digest, for records stamped `day`.
    pub seen: BTreeMap<String, String>,
}

/// One journal entry for QAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub entity: String,
    pub daybook: String,
    pub layer: String,
    pub posting_date: Date,
    pub year: i32,
    pub period: u32,
    pub description: String,
    /// ml-connector's deterministic reference for this document revision.
    pub external_reference: String,
    pub lines: Vec<JournalLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLine {
    pub account: String,
    pub sub_account: String,
    pub cost_center: String,
    pub project: String,
    pub currency: String,
    pub debit: Amount,
    pub credit: Amount,
    /// Transaction to base currency, as a decimal string; `None` lets QAD use its rate
    /// for the posting date.
    pub exchange_rate: Option<String>,
    pub tax_code: Option<String>,
    pub description: String,
}

/// A journal entry as QAD holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedJournal {
    #[serde(default)]
    pub voucher: String,
    #[serde(default)]
    pub external_reference: String,
    #[serde(default)]
    pub entity_code: String,
    #[serde(default)]
    pub daybook_code: String,
    #[serde(default)]
    pub posting_date: String,
    /// As QAD answers a read (a post's answer may leave them out).
    #[serde(default)]
    pub lines: Vec<PostedLine>,
}

/// One line of a journal entry as QAD holds it, in the transaction currency.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedLine {
    #[serde(default)]
    pub gl_code: String,
    #[serde(default)]
    pub sub_account_code: String,
    #[serde(default)]
    pub cost_center_code: String,
    #[serde(default)]
    pub currency_code: String,
    #[serde(
        rename = "debitTC",
        deserialize_with = "crate::bigcommerce::wire::amount"
    )]
    pub debit: Amount,
    #[serde(
        rename = "creditTC",
        deserialize_with = "crate::bigcommerce::wire::amount"
    )]
    pub credit: Amount,
    #[serde(default)]
    pub tax_code: String,
}

/// The result of posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Posted now.
    New(PostedJournal),
    /// Already in QAD under this external reference (an earlier attempt whose answer was
    /// lost, or a duplicate refused by the tenant's guard): not posted again.
    Existing(PostedJournal),
}

impl Posted {
    pub fn journal(&self) -> &PostedJournal {
        match self {
            Posted::New(journal) | Posted::Existing(journal) => journal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlAccount {
    pub gl_code: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub is_active: bool,
    #[serde(default)]
    pub is_postable: bool,
    #[serde(default)]
    pub requires_sub_account: bool,
    #[serde(default)]
    pub requires_cost_center: bool,
    #[serde(default)]
    pub requires_tax_code: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub posting_year: i32,
    pub posting_period: u32,
    pub start_date: String,
    pub end_date: String,
    /// `Open`, `Closed` or `Locked`.
    pub status: String,
}

impl Period {
    pub fn is_open(&self) -> bool {
        self.status.eq_ignore_ascii_case("open")
    }

    pub fn contains(&self, day: Date) -> bool {
        let day = browse::format_date(day);
        self.start_date.as_str() <= day.as_str() && day.as_str() <= self.end_date.as_str()
    }
}

/// Trimmed and lower-case: how emails are matched.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// An amount as QAD takes it: a plain decimal string without trailing zeros.
pub(super) fn decimal(amount: Amount) -> String {
    let text = money::format(amount);
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_go_out_as_plain_decimals() {
        assert_eq!(decimal(1_082_500), "108.25");
        assert_eq!(decimal(1_000_000), "100");
        assert_eq!(decimal(0), "0");
        assert_eq!(decimal(5), "0.0005");
    }
}
