//! A simulated QAD tenant's data: workspaces, sites, daybook sets, currencies and exchange
//! rates, daybooks, the chart of accounts, GL periods, customers with their domain
//! records, items, price list rows and the posted journal entries; the standard seed
//! ([`TenantData::demo`]); and how each record looks on the wire.
//!
//! Money is an `i64` count of ten-thousandths (1.00 = 10000) and exchange rates are
//! [`Rate`]s (an `i128` count of 1e-10), so every amount and conversion is exact. Records
//! carry a [`Stamp`]: `uri`, `concurrencyHash` (new on every write), `lastModifiedDate`
//! (RFC 3339, UTC, milliseconds) and `lastModifiedUser`.

use std::time::Duration;

use sha2::{Digest, Sha256};
use time::macros::{date, datetime, format_description};
use time::{Date, Month, OffsetDateTime};

use crate::rng::Rng;
use crate::wire::{Number, Object, fixed};

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

/// A domain and one of its entities, as `x-qad-workspace-id` names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workspace {
    pub domain: String,
    pub entity: String,
    pub base_currency: String,
}

impl Workspace {
    /// `10USA_10USACO`.
    pub fn id(&self) -> String {
        format!("{}_{}", self.domain, self.entity)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub code: String,
    pub domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    pub code: String,
    pub decimals: u8,
}

/// `rate` units of `to` per unit of `from`, from `valid_from` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRate {
    pub from: String,
    pub to: String,
    pub valid_from: Date,
    pub rate: Rate,
}

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

/// A customer's settings in one domain (`mfgCustomers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMfgCustomer {
    pub domain: String,
    pub site_code: String,
    pub daybook_set_code: String,
    pub stamp: Stamp,
}

/// A customer of a shared set (`customerV2s`) with its domain records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCustomer {
    pub code: String,
    pub shared_set: String,
    pub business_relation_code: String,
    pub business_relation_name: String,
    /// As stored: browses compare it case-sensitively.
    pub email: String,
    pub is_active: bool,
    pub currency: String,
    pub credit_terms: String,
    pub invoice_status: String,
    pub invoice_control_profile: String,
    pub credit_note_control_profile: String,
    pub prepayment_control_profile: String,
    pub sales_account_profile: String,
    pub address_search_name: String,
    pub street1: String,
    pub city: String,
    pub zip_code: String,
    pub country_code: String,
    pub stamp: Stamp,
    pub domains: Vec<SimMfgCustomer>,
}

impl SimCustomer {
    pub fn wire(&self) -> Object {
        let object = Object::new()
            .field("customerCode", &self.code)
            .field("sharedSetCode", &self.shared_set)
            .field("businessRelationCode", &self.business_relation_code)
            .field("businessRelationName", &self.business_relation_name)
            .field("EMail", &self.email)
            .field("isActive", self.is_active)
            .field("currencyCode", &self.currency)
            .field("creditTermsCode", &self.credit_terms)
            .field("invoiceStatusCode", &self.invoice_status)
            .field("invoiceControlGLProfileCode", &self.invoice_control_profile)
            .field(
                "creditNoteControlGLProfileCode",
                &self.credit_note_control_profile,
            )
            .field(
                "prePaymentControlGLProfileCode",
                &self.prepayment_control_profile,
            )
            .field("salesAccountGLProfileCode", &self.sales_account_profile)
            .field("addressSearchName", &self.address_search_name)
            .field("street1", &self.street1)
            .field("city", &self.city)
            .field("zipCode", &self.zip_code)
            .field("countryCode", &self.country_code);
        let uri = format!("{CUSTOMER_VIEW}:{}.{}", self.shared_set, self.code);
        self.stamp.write(object, uri)
    }

    pub fn mfg_wire(&self, domain: &SimMfgCustomer) -> Object {
        let object = Object::new()
            .field("domainCode", &domain.domain)
            .field("customerCode", &self.code)
            .field("sharedSetCode", &self.shared_set)
            .field("siteCode", &domain.site_code)
            .field("daybookSetCode", &domain.daybook_set_code);
        let uri = format!("{MFG_CUSTOMER_VIEW}:{}.{}", domain.domain, self.code);
        domain.stamp.write(object, uri)
    }
}

/// An item of a domain (`items`, browse `gp340`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimItem {
    pub domain: String,
    /// Case-sensitive: `SKU-0101` and `sku-0101` are two items.
    pub code: String,
    pub description: String,
    pub description2: String,
    pub unit_of_measure: String,
    pub product_line: String,
    pub site_code: String,
    /// `ACTIVE`, `INACTIVE` or `OBSOLETE`.
    pub status: String,
    pub list_price: Money,
    pub stamp: Stamp,
}

impl SimItem {
    pub fn wire(&self) -> Object {
        let object = Object::new()
            .field("domainCode", &self.domain)
            .field("itemCode", &self.code)
            .field("description", &self.description)
            .field("description2", &self.description2)
            .field("unitOfMeasure", &self.unit_of_measure)
            .field("productLine", &self.product_line)
            .field("siteCode", &self.site_code)
            .field("itemStatus", &self.status)
            .field("itemType", "")
            .field("listPrice", Number(self.list_price))
            .field("isTaxable", true)
            .field("taxClass", "")
            .field("barcode", "");
        let uri = format!("{ITEM_VIEW}:{}.{}", self.domain, self.code);
        self.stamp.write(object, uri)
    }
}

/// One price list row (`priceListV2s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPrice {
    pub domain: String,
    pub price_list: String,
    pub item: String,
    pub currency: String,
    pub unit_of_measure: String,
    pub start: Date,
    pub expire: Option<Date>,
    pub list_price: Money,
    pub stamp: Stamp,
}

impl SimPrice {
    pub fn wire(&self) -> Object {
        let object = Object::new()
            .field("domainCode", &self.domain)
            .field("priceListCode", &self.price_list)
            .field("customerCode", "")
            .field("itemCode", &self.item)
            .field("attributeCode", "")
            .field("orderCode", "")
            .field("currencyCode", &self.currency)
            .field("unitOfMeasure", &self.unit_of_measure)
            .field("startDate", day(self.start))
            .field("expireDate", self.expire.map(day))
            .field("amountType", "1")
            .field("listPrice", Number(self.list_price))
            .field("minimumPrice", Number(0))
            .field("maximumPrice", Number(0));
        let uri = format!(
            "{PRICE_VIEW}:{}.{}.{}.{}.{}.{}",
            self.domain,
            self.price_list,
            self.item,
            self.currency,
            self.unit_of_measure,
            day(self.start)
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
    pub customers: Vec<SimCustomer>,
    pub items: Vec<SimItem>,
    pub prices: Vec<SimPrice>,
    pub journals: Vec<PostedJournal>,
}

/// The demo chart: code, description, postable, active, requires (sub-account, cost
/// centre, tax code).
pub const CHART: [(&str, &str, bool, bool, [bool; 3]); 19] = [
    ("1000", "Current assets", false, true, [false; 3]),
    ("1150", "Card clearing - Stripe", true, true, [false; 3]),
    ("1151", "Card clearing - PayPal", true, true, [false; 3]),
    ("1152", "Card clearing - Square", true, true, [false; 3]),
    ("1153", "Clearing - other gateways", true, true, [false; 3]),
    ("1200", "Accounts receivable", true, true, [false; 3]),
    ("2200", "Sales tax payable", true, true, [false; 3]),
    ("2210", "VAT payable", true, true, [false, false, true]),
    ("4000", "Merchandise revenue", true, true, [false; 3]),
    ("4010", "Returns", true, true, [false; 3]),
    ("4100", "Shipping revenue", true, true, [false; 3]),
    ("4110", "Handling revenue", true, true, [false; 3]),
    ("4120", "Gift wrapping revenue", true, true, [false; 3]),
    ("4900", "Discounts", true, true, [false; 3]),
    ("4950", "Refunds", true, true, [false; 3]),
    ("6100", "Marketing", true, true, [false, true, false]),
    ("6200", "Payment fees", true, true, [true, false, false]),
    ("7990", "Rounding differences", true, true, [false; 3]),
    ("9999", "Suspense (retired)", true, false, [false; 3]),
];

/// Demo daybooks: code, type, active.
const DAYBOOKS: [(&str, &str, bool); 4] = [
    ("SO", JOURNAL_ENTRIES, true),
    ("WEBSALES", JOURNAL_ENTRIES, true),
    ("INV", "Invoices", true),
    ("OLDBOOK", JOURNAL_ENTRIES, false),
];

const COLOURS: [&str; 3] = ["Red", "Green", "Blue"];

/// The first day of `month` in `year`.
fn first_day(year: i32, month: u32) -> Date {
    let month = Month::try_from(month as u8).expect("a month 1..=12");
    Date::from_calendar_date(year, month, 1).expect("a valid date")
}

/// The last day of `month` in `year`.
fn last_day(year: i32, month: u32) -> Date {
    let next = if month == 12 {
        first_day(year + 1, 1)
    } else {
        first_day(year, month + 1)
    };
    next.previous_day().expect("a valid date")
}

/// A time in the five days before `start` (whole seconds).
fn recent(rng: &mut Rng, start: OffsetDateTime) -> OffsetDateTime {
    let seconds = 60 + rng.below(5 * 24 * 3600 - 60);
    start - Duration::from_secs(seconds)
}

/// A deterministic seed from a tenant's name.
pub fn name_seed(name: &str) -> u64 {
    let digest = Sha256::digest(name.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("eight bytes"))
}

impl TenantData {
    /// The standard seed. Workspaces `10USA_10USACO` (base USD) and `11CAN_11CANCO` (base
    /// CAD); sites 10-100, 10-200 (10USA) and 11-100 (11CAN); daybook sets `WEB`, `STD`;
    /// shared set `QMI-CUST`; currencies USD, EUR, GBP, CAD (2 decimals), JPY (0), KWD (3);
    /// rates from 2026-01-01 to USD (EUR 1.0850, GBP 1.2700, CAD 0.7300, JPY 0.0067, none
    /// for KWD) and to CAD (USD 1.3700); layer `OFFICIAL`. Per entity: daybooks `SO` and
    /// `WEBSALES` (Journal Entries), `INV` (Invoices), `OLDBOOK` (inactive); the chart
    /// [`CHART`]; periods of 2025 Closed, of 2026 Open except September (Closed) and
    /// October (Locked). Customers C0001 (`ada@example.com`), C0002 and C0003 (both
    /// `shared@example.com`), C0004 (`Mixed.Case@Example.com`), each with a record in both
    /// domains. 73 items of 10USA (see `seed_items`) whose change stamps fall in the five
    /// days before `start`, and `WEB` USD price list rows for about half of them. `seed`
    /// picks the prices and stamps.
    pub fn demo(start: OffsetDateTime, seed: u64) -> TenantData {
        let mut rng = Rng::new(seed);
        let seeded = start - Duration::from_secs(30 * 24 * 3600);
        let mut data = TenantData {
            workspaces: vec![
                workspace("10USA", "10USACO", "USD"),
                workspace("11CAN", "11CANCO", "CAD"),
            ],
            sites: [
                ("10-100", "10USA"),
                ("10-200", "10USA"),
                ("11-100", "11CAN"),
            ]
            .into_iter()
            .map(|(code, domain)| Site {
                code: code.into(),
                domain: domain.into(),
            })
            .collect(),
            daybook_sets: strings(&["WEB", "STD"]),
            shared_sets: strings(&["QMI-CUST"]),
            currencies: [
                ("USD", 2),
                ("EUR", 2),
                ("GBP", 2),
                ("CAD", 2),
                ("JPY", 0),
                ("KWD", 3),
            ]
            .into_iter()
            .map(|(code, decimals)| Currency {
                code: code.into(),
                decimals,
            })
            .collect(),
            rates: demo_rates(),
            credit_terms: strings(&["NET30", "NET10", "COD"]),
            invoice_statuses: strings(&["OPEN"]),
            gl_profiles: strings(&["DOMESTIC", "FOREIGN"]),
            layers: strings(&["OFFICIAL"]),
            ..TenantData::default()
        };
        for entity in ["10USACO", "11CANCO"] {
            data.seed_entity(&mut rng, entity, seeded);
        }
        data.seed_customers(&mut rng, seeded);
        data.seed_items(&mut rng, start);
        data.seed_prices(&mut rng, start);
        data
    }

    fn seed_entity(&mut self, rng: &mut Rng, entity: &str, at: OffsetDateTime) {
        for (code, kind, active) in DAYBOOKS {
            self.daybooks.push(Daybook {
                entity: entity.into(),
                code: code.into(),
                kind: kind.into(),
                active,
                description: format!("{kind} ({code})"),
            });
        }
        for (code, description, postable, active, [sub, cc, tax]) in CHART {
            self.accounts.push(GlAccount {
                entity: entity.into(),
                code: code.into(),
                description: description.into(),
                active,
                postable,
                requires_sub_account: sub,
                requires_cost_center: cc,
                requires_tax_code: tax,
                stamp: Stamp::new(rng, at, "mfg@qad.com"),
            });
        }
        for year in [2025, 2026] {
            for period in 1..=12 {
                let status = match (year, period) {
                    (2025, _) | (_, 9) => PeriodStatus::Closed,
                    (_, 10) => PeriodStatus::Locked,
                    _ => PeriodStatus::Open,
                };
                self.periods.push(GlPeriod {
                    entity: entity.into(),
                    year,
                    period,
                    start: first_day(year, period),
                    end: last_day(year, period),
                    status,
                    stamp: Stamp::new(rng, at, "mfg@qad.com"),
                });
            }
        }
    }

    fn seed_customers(&mut self, rng: &mut Rng, at: OffsetDateTime) {
        let people = [
            ("C0001", "Ada Lovelace", "ada@example.com"),
            ("C0002", "Grace Hopper", "shared@example.com"),
            ("C0003", "Alan Turing", "shared@example.com"),
            ("C0004", "Barbara Liskov", "Mixed.Case@Example.com"),
        ];
        for (code, name, email) in people {
            let domains = vec![
                SimMfgCustomer {
                    domain: "10USA".into(),
                    site_code: "10-100".into(),
                    daybook_set_code: "WEB".into(),
                    stamp: Stamp::new(rng, at, "mfg@qad.com"),
                },
                SimMfgCustomer {
                    domain: "11CAN".into(),
                    site_code: "11-100".into(),
                    daybook_set_code: "STD".into(),
                    stamp: Stamp::new(rng, at, "mfg@qad.com"),
                },
            ];
            self.customers.push(SimCustomer {
                code: code.into(),
                shared_set: "QMI-CUST".into(),
                business_relation_code: code.into(),
                business_relation_name: name.into(),
                email: email.into(),
                is_active: true,
                currency: "USD".into(),
                credit_terms: "NET30".into(),
                invoice_status: "OPEN".into(),
                invoice_control_profile: "DOMESTIC".into(),
                credit_note_control_profile: "DOMESTIC".into(),
                prepayment_control_profile: "DOMESTIC".into(),
                sales_account_profile: "DOMESTIC".into(),
                address_search_name: name.to_uppercase(),
                street1: "12 Main Street".into(),
                city: "Austin".into(),
                zip_code: "78701".into(),
                country_code: "US".into(),
                stamp: Stamp::new(rng, at, "mfg@qad.com"),
                domains,
            });
        }
    }

    /// SKU-0100..SKU-0139 (the BigCommerce simulator's catalog, with its colour variants
    /// for every fourth product), `sku-0101`, one INACTIVE and one OBSOLETE item.
    fn seed_items(&mut self, rng: &mut Rng, start: OffsetDateTime) {
        let mut add = |rng: &mut Rng, code: String, description: String, status: &str| {
            let list_price = (5 + rng.below(200) as Money) * UNIT + rng.below(100) as Money * 100;
            let modified = recent(rng, start);
            let stamp = Stamp::new(rng, modified, "mfg@qad.com");
            self.items.push(SimItem {
                domain: "10USA".into(),
                code,
                description,
                description2: String::new(),
                unit_of_measure: "EA".into(),
                product_line: "10".into(),
                site_code: "10-100".into(),
                status: status.into(),
                list_price,
                stamp,
            });
        };
        for n in 100..140 {
            add(rng, format!("SKU-{n:04}"), format!("Product {n}"), "ACTIVE");
            if (n - 100) % 4 == 3 {
                for colour in COLOURS {
                    let code = format!("SKU-{n:04}-{}", colour.to_uppercase());
                    add(rng, code, format!("Product {n} ({colour})"), "ACTIVE");
                }
            }
        }
        add(
            rng,
            "sku-0101".into(),
            "Product 101 (lower-case code)".into(),
            "ACTIVE",
        );
        add(
            rng,
            "SKU-0998".into(),
            "Discontinued product".into(),
            "INACTIVE",
        );
        add(
            rng,
            "SKU-0999".into(),
            "Obsolete product".into(),
            "OBSOLETE",
        );
        self.items.sort_by(|a, b| a.code.cmp(&b.code));
    }

    /// `WEB` USD rows for every other item from 2026-01-01; every sixth item also has an
    /// overlapping November promotion, and the first has an expired 2025 row.
    fn seed_prices(&mut self, rng: &mut Rng, start: OffsetDateTime) {
        let priced: Vec<(String, Money)> = self
            .items
            .iter()
            .filter(|item| item.status == "ACTIVE")
            .step_by(2)
            .map(|item| (item.code.clone(), item.list_price))
            .collect();
        for (index, (item, price)) in priced.iter().enumerate() {
            let mut row = |rng: &mut Rng, start_day: Date, expire: Option<Date>, list_price| {
                let modified = recent(rng, start);
                let stamp = Stamp::new(rng, modified, "mfg@qad.com");
                self.prices.push(SimPrice {
                    domain: "10USA".into(),
                    price_list: "WEB".into(),
                    item: item.clone(),
                    currency: "USD".into(),
                    unit_of_measure: "EA".into(),
                    start: start_day,
                    expire,
                    list_price,
                    stamp,
                });
            };
            if index == 0 {
                row(
                    rng,
                    date!(2025 - 01 - 01),
                    Some(date!(2025 - 12 - 31)),
                    *price - UNIT,
                );
            }
            row(rng, date!(2026 - 01 - 01), None, *price);
            if index % 6 == 5 {
                let promo = *price * 9 / 10 / 100 * 100;
                row(
                    rng,
                    date!(2026 - 11 - 01),
                    Some(date!(2026 - 11 - 30)),
                    promo,
                );
            }
        }
    }

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

fn workspace(domain: &str, entity: &str, base: &str) -> Workspace {
    Workspace {
        domain: domain.into(),
        entity: entity.into(),
        base_currency: base.into(),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn demo_rates() -> Vec<ExchangeRate> {
    let rate = |from: &str, to: &str, text: &str| ExchangeRate {
        from: from.into(),
        to: to.into(),
        valid_from: date!(2026 - 01 - 01),
        rate: Rate::parse(text).expect("a seeded rate parses"),
    };
    vec![
        rate("EUR", "USD", "1.0850"),
        rate("GBP", "USD", "1.2700"),
        rate("CAD", "USD", "0.7300"),
        rate("JPY", "USD", "0.0067"),
        rate("USD", "CAD", "1.3700"),
    ]
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn the_demo_seed_is_deterministic_and_complete() {
        let a = TenantData::demo(DEMO_START, 7);
        let b = TenantData::demo(DEMO_START, 7);
        assert_eq!(a.items, b.items);
        assert_eq!(a.items.len(), 73);
        assert!(a.items.iter().any(|i| i.code == "SKU-0139-BLUE"));
        assert!(a.items.iter().any(|i| i.code == "sku-0101"));
        for item in &a.items {
            assert!(item.stamp.modified < DEMO_START);
            assert!(item.stamp.modified > DEMO_START - Duration::from_secs(5 * 24 * 3600));
        }
        assert_eq!(a.accounts.len(), 38);
        assert_eq!(a.periods.len(), 48);
        let october = a
            .periods
            .iter()
            .find(|p| p.year == 2026 && p.period == 10)
            .unwrap();
        assert_eq!(october.status, PeriodStatus::Locked);
        assert_eq!(day(october.end), "2026-10-31");
        assert!(
            a.prices
                .iter()
                .any(|p| p.expire.is_some_and(|e| e.year() == 2025))
        );
        assert_eq!(
            a.rate("EUR", "USD", date!(2026 - 03 - 02)),
            Rate::parse("1.085")
        );
        assert_eq!(a.rate("EUR", "USD", date!(2025 - 12 - 31)), None);
        assert_eq!(a.rate("KWD", "USD", date!(2026 - 03 - 02)), None);
    }
}
