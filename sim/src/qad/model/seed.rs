//! The standard seed of a tenant ([`TenantData::demo`]): its organisation, currencies and
//! rates, chart, periods, customers, items and prices, the same on every run.

use std::time::Duration;

use sha2::{Digest, Sha256};
use time::macros::date;
use time::{Date, Month, OffsetDateTime};

use super::{
    Currency, Daybook, ExchangeRate, GlAccount, GlPeriod, JOURNAL_ENTRIES, Money, PeriodStatus,
    Rate, SimCustomer, SimItem, SimMfgCustomer, SimPrice, Site, Stamp, TenantData, UNIT, Workspace,
};
use crate::rng::Rng;

/// The demo chart: code, description, postable, active, requires (sub-account, cost
/// centre, tax code).
pub const CHART: [(&str, &str, bool, bool, [bool; 3]); 21] = [
    ("1000", "Current assets", false, true, [false; 3]),
    ("1150", "Card clearing - Stripe", true, true, [false; 3]),
    ("1151", "Card clearing - PayPal", true, true, [false; 3]),
    ("1152", "Card clearing - Square", true, true, [false; 3]),
    ("1153", "Clearing - other gateways", true, true, [false; 3]),
    ("1200", "Accounts receivable", true, true, [false; 3]),
    ("2200", "Sales tax payable", true, true, [false; 3]),
    ("2210", "VAT payable", true, true, [false, false, true]),
    (
        "2300",
        "Gift certificates outstanding",
        true,
        true,
        [false; 3],
    ),
    (
        "2310",
        "Store credit owed to customers",
        true,
        true,
        [false; 3],
    ),
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
    /// October (Locked), of 2027 and 2028 (and on to two years past `start`'s) Open. Customers C0001 (`ada@example.com`), C0002 and C0003 (both
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
        // Open years up to two past the seed's, so that orders dated ahead (a demo of
        // 100,000 orders a minute apart spans ten weeks) and a demo run next year post.
        for year in 2025..=(at.year() + 2).max(2028) {
            for period in 1..=12 {
                let status = match (year, period) {
                    (2025, _) | (2026, 9) => PeriodStatus::Closed,
                    (2026, 10) => PeriodStatus::Locked,
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
    use super::super::{DEMO_START, day};
    use super::*;

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
        assert_eq!(a.accounts.len(), 42);
        assert_eq!(a.periods.len(), 96);
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
