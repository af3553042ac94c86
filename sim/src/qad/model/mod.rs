//! A simulated QAD tenant's data: workspaces, sites, daybook sets, currencies and exchange
//! rates, daybooks, the chart of accounts, GL periods, customers with their domain
//! records, items, price list rows and the posted journal entries; the standard seed
//! ([`TenantData::demo`]); and how each record looks on the wire.
//!
//! Money is an `i64` count of ten-thousandths (1.00 = 10000) and exchange rates are
//! [`Rate`]s (an `i128` count of 1e-10), so every amount and conversion is exact. Records
//! carry a [`Stamp`]: `uri`, `concurrencyHash` (new on every write), `lastModifiedDate`
//! (RFC 3339, UTC, milliseconds) and `lastModifiedUser`.
//!
//! The records are grouped by what they are: `org` (workspaces, sites, currencies and
//! rates), `rate` (exact exchange rates), `gl` (daybooks, accounts, periods and posted
//! entries), `customers` and `items` (with price list rows); `seed` is the standard seed.

mod customers;
mod gl;
mod items;
mod org;
mod rate;
mod seed;

use time::macros::{datetime, format_description};
use time::{Date, OffsetDateTime};

use crate::rng::Rng;
use crate::wire::Object;

pub use customers::{Customers, SimCustomer, SimMfgCustomer};
pub use gl::{
    Daybook, GlAccount, GlPeriod, JOURNAL_ENTRIES, Journals, PeriodStatus, PostedJournal,
    PostedLine,
};
pub use items::{SimItem, SimPrice};
pub use org::{Currency, ExchangeRate, Site, Workspace};
pub use rate::Rate;
pub use seed::{CHART, name_seed};

/// Ten-thousandths of the currency unit.
pub type Money = i64;

/// One currency unit.
pub const UNIT: Money = 10_000;

/// The simulated clock's default start, and the day the demo seed's change stamps lead up
/// to: fixed, so seeded data and answers are the same on every run.
pub const DEMO_START: OffsetDateTime = datetime!(2026-11-16 12:00 UTC);

pub const CUSTOMER_VIEW: &str = "urn:be:com.qad.base.customer.ICustomerV2";

pub const MFG_CUSTOMER_VIEW: &str = "urn:be:com.qad.base.customer.IMfgCustomer";

pub const ITEM_VIEW: &str = "urn:be:com.qad.base.item.IItem";

pub const PRICE_VIEW: &str = "urn:be:com.qad.sales.pricing.IPriceListV2";

pub const JOURNAL_VIEW: &str = "urn:be:com.qad.financials.generalledger.journalentry.IJournalEntry";

pub const ACCOUNT_VIEW: &str = "urn:be:com.qad.base.coa.IGLAccount";

pub const PERIOD_VIEW: &str = "urn:be:com.qad.financials.generalledger.IGLPeriod";

/// `2026-11-16T12:00:00.000Z`.
pub fn timestamp(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .expect("a UTC time formats")
}

/// `2026-11-16`.
pub fn day(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .expect("a date formats")
}

/// Reads `yyyy-mm-dd`.
pub fn parse_day(text: &str) -> Option<Date> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]")).ok()
}

/// Every record's change stamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub hash: String,
    pub modified: OffsetDateTime,
    pub user: String,
}

impl Stamp {
    pub fn new(rng: &mut Rng, at: OffsetDateTime, user: &str) -> Stamp {
        Stamp {
            hash: format!("{:016x}", rng.next_u64()),
            modified: at,
            user: user.to_string(),
        }
    }

    /// The stamp fields every record carries.
    fn write(&self, object: Object, uri: String) -> Object {
        object
            .field("uri", uri)
            .field("concurrencyHash", &self.hash)
            .field("lastModifiedDate", timestamp(self.modified))
            .field("lastModifiedUser", &self.user)
    }
}

/// Everything one tenant holds.
#[derive(Debug, Clone, Default)]
pub struct TenantData {
    /// The first is the default when a request names none.
    pub workspaces: Vec<Workspace>,
    pub sites: Vec<Site>,
    pub daybook_sets: Vec<String>,
    pub shared_sets: Vec<String>,
    pub currencies: Vec<Currency>,
    pub rates: Vec<ExchangeRate>,
    pub credit_terms: Vec<String>,
    pub invoice_statuses: Vec<String>,
    pub gl_profiles: Vec<String>,
    pub layers: Vec<String>,
    pub daybooks: Vec<Daybook>,
    pub accounts: Vec<GlAccount>,
    pub periods: Vec<GlPeriod>,
    pub customers: Customers,
    pub items: Vec<SimItem>,
    pub prices: Vec<SimPrice>,
    pub journals: Journals,
}

impl TenantData {
    pub fn currency(&self, code: &str) -> Option<&Currency> {
        self.currencies.iter().find(|c| c.code == code)
    }

    /// A currency's decimals (2 when unknown).
    pub fn decimals(&self, code: &str) -> u8 {
        self.currency(code).map_or(2, |c| c.decimals)
    }

    /// The rate from `from` to `to` valid on `on`: the latest one starting on or before it.
    pub fn rate(&self, from: &str, to: &str, on: Date) -> Option<Rate> {
        self.rates
            .iter()
            .filter(|r| r.from == from && r.to == to && r.valid_from <= on)
            .max_by_key(|r| r.valid_from)
            .map(|r| r.rate)
    }

    /// The domains of the tenant's workspaces, each once.
    pub fn domains(&self) -> Vec<String> {
        let mut domains: Vec<String> = Vec::new();
        for workspace in &self.workspaces {
            if !domains.contains(&workspace.domain) {
                domains.push(workspace.domain.clone());
            }
        }
        domains
    }

    pub fn workspace_for_entity(&self, entity: &str) -> Option<&Workspace> {
        self.workspaces.iter().find(|w| w.entity == entity)
    }

    pub fn journal_wire(&self, journal: &PostedJournal) -> Object {
        journal.wire(|code| self.decimals(code))
    }
}
