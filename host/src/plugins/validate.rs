//! Host-side checks of every plugin output. A plugin is never trusted: each journal must
//! balance exactly, stay whole in its currency's minor unit, not overflow, name accounts
//! that exist (when the chart is known), and stay within the size caps. Also the cheap
//! size estimate used to cap inputs and outputs without serialising them.
//!
//! The facts of a journal are the host's, not the plugin's: its currency, exchange rate
//! and ledger customer are the record's (a plugin may leave them empty, or repeat them;
//! anything else is refused), and the host posts exactly the normalised entry it checked.
//! Beyond balancing, a journal must be plausible for its record:
//! - not empty (no lines, or only zero lines) when the record moves any money;
//! - its total debits at most the record's gross, the sum of every amount in the record
//!   taken unsigned (lines, charges, taxes, discounts, payments, totals): every honest
//!   booking of a record, whatever its account policy, books each of those amounts at
//!   most once on each side, so a larger journal is a plugin inventing money;
//! - dated on a real calendar day from one day before the record's creation (a store in
//!   a time zone behind UTC) to 31 days after its last change (a plugin that books on a
//!   capture or shipping day).

use std::collections::HashSet;

use time::{Date, Duration, OffsetDateTime, format_description::well_known::Rfc3339};

use super::bindings::types::*;
use super::limits::Limits;
use super::text::printable;
use crate::money;

/// Why the host refused a plugin's output (or could not read the record's own dates).
/// Text a plugin supplied is kept printable (see `text::printable`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{what}: its date `{date}` is not an RFC 3339 time")]
    RecordDate { what: String, date: String },
    #[error("output is about {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("journal has {lines} lines, over the limit of {limit}")]
    TooManyLines { lines: usize, limit: usize },
    #[error("journal currency `{stated}` differs from the {what}'s {record}")]
    Currency {
        stated: String,
        what: String,
        record: String,
    },
    #[error(
        "journal exchange rate {stated} differs from the {what}'s {record}; the rate is the record's"
    )]
    ExchangeRate {
        stated: String,
        what: String,
        record: String,
    },
    #[error(
        "journal customer `{stated}` differs from the {what}'s `{record}`; the customer is the host's"
    )]
    Customer {
        stated: String,
        what: String,
        record: String,
    },
    #[error("effective date `{0}` is not a calendar date (YYYY-MM-DD)")]
    NotADate(String),
    #[error("effective date {date} is outside {first} to {last}, the window of the {what}'s dates")]
    OutsideWindow {
        date: Date,
        first: Date,
        last: Date,
        what: String,
    },
    #[error("{code} has {decimals} decimals; at most 4 are supported")]
    Decimals { code: String, decimals: u8 },
    #[error("line {line}: {problem}")]
    Line { line: usize, problem: LineProblem },
    #[error("{0} overflow")]
    Overflow(&'static str),
    #[error("journal does not balance: debits {debits} and credits {credits} {code}")]
    Unbalanced {
        debits: String,
        credits: String,
        code: String,
    },
    #[error("journal is empty, but the {0} moves money; a plugin that maps it must book it")]
    Empty(String),
    #[error(
        "journal books {debits} {code}, more than the {gross} {code} of every amount in the {what} together"
    )]
    OverGross {
        debits: String,
        gross: String,
        code: String,
        what: String,
    },
    #[error("customer name is empty")]
    NoCustomerName,
    #[error("customer email `{0}` is not an email address")]
    NotAnEmail(String),
    #[error("catalog update has no SKU")]
    NoSku,
    #[error("the update is for SKU `{update}`, but the item is `{item}`")]
    OtherSku { update: String, item: String },
    #[error("product name must be 1 to 250 characters, got {0}")]
    ProductName(usize),
    #[error("{0} is negative")]
    Negative(&'static str),
}

/// What is wrong with one journal line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    #[error("account is empty")]
    NoAccount,
    #[error("account `{0}` is not in the chart of accounts")]
    NotInChart(String),
    #[error("negative amount")]
    Negative,
    #[error("both debit and credit are set")]
    DebitAndCredit,
    #[error("{amount} is not whole in {code}'s {decimals} decimals")]
    NotWhole {
        amount: String,
        code: String,
        decimals: u8,
    },
}

/// What a journal is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub limits: &'a Limits,
    /// The tenant's postable accounts, when known.
    pub chart: Option<&'a HashSet<String>>,
}

/// What the host knows of the record a journal was mapped from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// "order 100", "refund 7": for messages.
    pub what: String,
    pub currency: &'a Currency,
    pub exchange_rate: Decimal,
    pub erp_customer: &'a str,
    /// The sum of every amount in the record, unsigned.
    pub gross: i128,
    /// The effective dates allowed, first and last.
    pub dates: (Date, Date),
}

impl<'a> Facts<'a> {
    pub fn of_order(order: &'a Order) -> Result<Facts<'a>, Refusal> {
        let what = format!("order {}", order.id);
        let created = day_of(&order.created_at, &what)?;
        let modified = day_of(&order.modified_at, &what).unwrap_or(created);
        let amounts = order
            .lines
            .iter()
            .flat_map(|l| [l.total_ex_tax, l.total_tax, l.discount])
            .chain([
                order.subtotal_ex_tax,
                order.shipping_ex_tax,
                order.shipping_tax,
                order.handling_ex_tax,
                order.handling_tax,
                order.wrapping_ex_tax,
                order.wrapping_tax,
                order.total_tax,
                order.total_inc_tax,
            ])
            .chain(order.discounts.iter().map(|d| d.amount))
            .chain(order.taxes.iter().map(|t| t.amount))
            .chain(order.payments.iter().map(|p| p.amount))
            .chain(order.tenders.iter().map(|t| t.amount));
        Ok(Facts {
            currency: &order.currency,
            exchange_rate: order.exchange_rate,
            erp_customer: &order.erp_customer,
            gross: gross(amounts),
            dates: window(created, created.max(modified)),
            what,
        })
    }

    pub fn of_refund(refund: &'a Refund) -> Result<Facts<'a>, Refusal> {
        let what = format!("refund {}", refund.id);
        let created = day_of(&refund.created_at, &what)?;
        let amounts = refund
            .items
            .iter()
            .flat_map(|i| [i.amount, i.tax])
            .chain(refund.payments.iter().map(|p| p.amount))
            .chain([refund.total_tax, refund.total]);
        Ok(Facts {
            currency: &refund.currency,
            exchange_rate: refund.exchange_rate,
            erp_customer: &refund.erp_customer,
            gross: gross(amounts),
            dates: window(created, created),
            what,
        })
    }
}

fn gross(amounts: impl Iterator<Item = i64>) -> i128 {
    amounts.map(|a| i128::from(a).abs()).sum()
}

fn window(first: Date, last: Date) -> (Date, Date) {
    (
        first.checked_sub(Duration::days(1)).unwrap_or(first),
        last.checked_add(Duration::days(31)).unwrap_or(last),
    )
}

/// The calendar day of an RFC 3339 time, as the record states it.
fn day_of(rfc3339: &str, what: &str) -> Result<Date, Refusal> {
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .map(OffsetDateTime::date)
        .map_err(|_| Refusal::RecordDate {
            what: what.to_string(),
            date: printable(rfc3339),
        })
}

/// Whether two decimals are the same number.
fn same_value(a: Decimal, b: Decimal) -> bool {
    let scaled = |d: Decimal, by: u8| {
        10_i128
            .checked_pow(u32::from(by))
            .and_then(|f| f.checked_mul(i128::from(d.digits)))
    };
    match (scaled(a, b.scale), scaled(b, a.scale)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// The journal mapped from a record, checked and normalised: the record's currency, rate
/// and customer in place, accounts and codes trimmed, zero lines dropped. The result is
/// what the host posts.
pub fn normalise_journal(
    entry: JournalEntry,
    facts: &Facts,
    rules: Rules,
) -> Result<JournalEntry, Refusal> {
    check_size(&entry, rules.limits)?;
    if entry.lines.len() > rules.limits.max_journal_lines {
        return Err(Refusal::TooManyLines {
            lines: entry.lines.len(),
            limit: rules.limits.max_journal_lines,
        });
    }
    let currency = facts.currency;
    let stated = entry.currency.trim();
    if !stated.is_empty() && !stated.eq_ignore_ascii_case(&currency.code) {
        return Err(Refusal::Currency {
            stated: printable(&entry.currency),
            what: facts.what.clone(),
            record: currency.code.clone(),
        });
    }
    if entry.exchange_rate.digits != 0 && !same_value(entry.exchange_rate, facts.exchange_rate) {
        return Err(Refusal::ExchangeRate {
            stated: decimal_text(entry.exchange_rate),
            what: facts.what.clone(),
            record: decimal_text(facts.exchange_rate),
        });
    }
    let customer = entry.erp_customer.trim();
    if !customer.is_empty() && customer != facts.erp_customer {
        return Err(Refusal::Customer {
            stated: printable(&entry.erp_customer),
            what: facts.what.clone(),
            record: printable(facts.erp_customer),
        });
    }
    let date = Date::parse(
        &entry.effective_date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| Refusal::NotADate(printable(&entry.effective_date)))?;
    let (first, last) = facts.dates;
    if date < first || date > last {
        return Err(Refusal::OutsideWindow {
            date,
            first,
            last,
            what: facts.what.clone(),
        });
    }
    let unit = money::minor_unit(currency.decimals).ok_or_else(|| Refusal::Decimals {
        code: currency.code.clone(),
        decimals: currency.decimals,
    })?;
    let (mut debits, mut credits) = (0_i64, 0_i64);
    let mut lines = Vec::with_capacity(entry.lines.len());
    for (i, line) in entry.lines.into_iter().enumerate() {
        let refuse = |problem| Refusal::Line {
            line: i + 1,
            problem,
        };
        let account = line.account.trim();
        if account.is_empty() {
            return Err(refuse(LineProblem::NoAccount));
        }
        if let Some(chart) = rules.chart
            && !chart.contains(account)
        {
            return Err(refuse(LineProblem::NotInChart(printable(account))));
        }
        if line.debit < 0 || line.credit < 0 {
            return Err(refuse(LineProblem::Negative));
        }
        if line.debit != 0 && line.credit != 0 {
            return Err(refuse(LineProblem::DebitAndCredit));
        }
        for amount in [line.debit, line.credit] {
            if amount % unit != 0 {
                return Err(refuse(LineProblem::NotWhole {
                    amount: money::format(amount),
                    code: currency.code.clone(),
                    decimals: currency.decimals,
                }));
            }
        }
        debits = debits
            .checked_add(line.debit)
            .ok_or(Refusal::Overflow("debits"))?;
        credits = credits
            .checked_add(line.credit)
            .ok_or(Refusal::Overflow("credits"))?;
        if line.debit == 0 && line.credit == 0 {
            continue;
        }
        lines.push(JournalLine {
            account: account.to_string(),
            sub_account: line.sub_account.trim().to_string(),
            cost_centre: line.cost_centre.trim().to_string(),
            tax_code: line.tax_code.trim().to_string(),
            ..line
        });
    }
    if debits != credits {
        return Err(Refusal::Unbalanced {
            debits: money::format(debits),
            credits: money::format(credits),
            code: currency.code.clone(),
        });
    }
    if lines.is_empty() && facts.gross != 0 {
        return Err(Refusal::Empty(facts.what.clone()));
    }
    if i128::from(debits) > facts.gross {
        return Err(Refusal::OverGross {
            debits: money::format(debits),
            gross: money::format(i64::try_from(facts.gross).unwrap_or(i64::MAX)),
            code: currency.code.clone(),
            what: facts.what.clone(),
        });
    }
    Ok(JournalEntry {
        currency: currency.code.clone(),
        exchange_rate: facts.exchange_rate,
        erp_customer: facts.erp_customer.to_string(),
        lines,
        ..entry
    })
}

fn decimal_text(d: Decimal) -> String {
    format!("{}e-{}", d.digits, d.scale)
}

/// Checks a new ledger customer.
pub fn check_customer(customer: &ErpCustomer, limits: &Limits) -> Result<(), Refusal> {
    check_size(customer, limits)?;
    if customer.name.trim().is_empty() {
        return Err(Refusal::NoCustomerName);
    }
    if !customer.email.contains('@') {
        return Err(Refusal::NotAnEmail(printable(&customer.email)));
    }
    Ok(())
}

/// Checks a catalog update for `item`: it may only change that item. BigCommerce caps
/// product names at 250 characters.
pub fn check_catalog_update(
    update: &CatalogUpdate,
    item: &ErpItem,
    limits: &Limits,
) -> Result<(), Refusal> {
    check_size(update, limits)?;
    if update.sku.trim().is_empty() {
        return Err(Refusal::NoSku);
    }
    if update.sku != item.sku.trim() {
        return Err(Refusal::OtherSku {
            update: printable(&update.sku),
            item: printable(&item.sku),
        });
    }
    if let Some(name) = &update.name
        && (name.trim().is_empty() || name.chars().count() > 250)
    {
        return Err(Refusal::ProductName(name.chars().count()));
    }
    for (field, value) in [
        ("price", update.price),
        ("sale price", update.sale_price),
        ("cost price", update.cost_price),
    ] {
        if value.is_some_and(|v| v < 0) {
            return Err(Refusal::Negative(field));
        }
    }
    Ok(())
}

fn check_size(output: &impl WireSize, limits: &Limits) -> Result<(), Refusal> {
    let size = output.wire_size();
    if size > limits.max_output_bytes {
        return Err(Refusal::TooLarge {
            size,
            limit: limits.max_output_bytes,
        });
    }
    Ok(())
}

/// Bytes a value takes across the boundary, roughly: string bytes plus eight per scalar.
/// Cheap enough to run on every record, exact enough to enforce a cap.
pub trait WireSize {
    fn wire_size(&self) -> usize;
}

impl WireSize for String {
    fn wire_size(&self) -> usize {
        self.len() + 8
    }
}

macro_rules! scalar_wire_size {
    ($($ty:ty),*) => { $(impl WireSize for $ty { fn wire_size(&self) -> usize { 8 } })* };
}
scalar_wire_size!(
    i64,
    u32,
    u8,
    bool,
    DiscountKind,
    TransactionEvent,
    RefundItemKind,
    ErrorKind
);

impl<T: WireSize> WireSize for Option<T> {
    fn wire_size(&self) -> usize {
        8 + self.as_ref().map_or(0, WireSize::wire_size)
    }
}

impl<T: WireSize> WireSize for Vec<T> {
    fn wire_size(&self) -> usize {
        8 + self.iter().map(WireSize::wire_size).sum::<usize>()
    }
}

impl<A: WireSize, B: WireSize> WireSize for (A, B) {
    fn wire_size(&self) -> usize {
        self.0.wire_size() + self.1.wire_size()
    }
}

macro_rules! record_wire_size {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {
        $(impl WireSize for $ty {
            fn wire_size(&self) -> usize { 0 $(+ self.$field.wire_size())* }
        })*
    };
}

record_wire_size! {
    Decimal { digits, scale }
    Currency { code, decimals }
    Address { first_name, last_name, company, street1, street2, city, state, zip, country, phone }
    Customer { id, email, first_name, last_name, company, phone, group, billing_address }
    OrderLine { id, sku, name, quantity, unit_price, total_ex_tax, total_tax, discount, tax_class }
    Discount { kind, code, amount }
    TaxLine { code, name, amount }
    PaymentTransaction { id, event, method, gateway, amount, succeeded, date }
    Order {
        id, store, status_id, status, created_at, modified_at, currency, exchange_rate, customer,
        erp_customer, lines, subtotal_ex_tax, shipping_ex_tax, shipping_tax, handling_ex_tax,
        handling_tax, wrapping_ex_tax, wrapping_tax, discounts, taxes, total_tax, total_inc_tax,
        payments, attributes,
    }
    RefundItem { kind, item_id, sku, quantity, amount, tax }
    RefundPayment { provider, amount, offline, declined }
    Refund { id, order_id, created_at, reason, currency, exchange_rate, erp_customer, items, payments, total_tax, total }
    JournalLine { account, sub_account, cost_centre, debit, credit, memo, tax_code }
    JournalEntry { daybook, effective_date, currency, exchange_rate, erp_customer, description, lines }
    ErpCustomer { code, name, email, phone, currency, address, attributes }
    ErpPrice { price_list, currency, amount, effective_from }
    ErpItem { sku, description, description2, status, unit_of_measure, changed_on, prices }
    CatalogUpdate { sku, name, price, sale_price, cost_price, visible }
    MappingError { kind, code, message, path }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(account: &str, debit: i64, credit: i64) -> JournalLine {
        JournalLine {
            account: account.into(),
            sub_account: String::new(),
            cost_centre: String::new(),
            debit,
            credit,
            memo: String::new(),
            tax_code: String::new(),
        }
    }

    fn entry(lines: Vec<JournalLine>) -> JournalEntry {
        JournalEntry {
            daybook: "SO".into(),
            effective_date: "2026-01-31".into(),
            currency: "USD".into(),
            exchange_rate: Decimal {
                digits: 1,
                scale: 0,
            },
            erp_customer: "C1".into(),
            description: String::new(),
            lines,
        }
    }

    /// A 100.00 USD order (subtotal 100.00 paid in full: a gross of 300.00), placed on
    /// 2026-01-31.
    fn order() -> Order {
        Order {
            id: "100".into(),
            store: "abc".into(),
            status_id: 11,
            status: "Awaiting Fulfillment".into(),
            created_at: "2026-01-31T10:00:00Z".into(),
            modified_at: "2026-02-01T10:00:00Z".into(),
            currency: Currency {
                code: "USD".into(),
                decimals: 2,
            },
            exchange_rate: Decimal {
                digits: 1,
                scale: 0,
            },
            customer: Customer {
                id: String::new(),
                email: String::new(),
                first_name: String::new(),
                last_name: String::new(),
                company: String::new(),
                phone: String::new(),
                group: String::new(),
                billing_address: None,
            },
            erp_customer: "C1".into(),
            lines: Vec::new(),
            subtotal_ex_tax: 1_000_000,
            shipping_ex_tax: 0,
            shipping_tax: 0,
            handling_ex_tax: 0,
            handling_tax: 0,
            wrapping_ex_tax: 0,
            wrapping_tax: 0,
            discounts: Vec::new(),
            taxes: Vec::new(),
            total_tax: 0,
            total_inc_tax: 1_000_000,
            payments: vec![PaymentTransaction {
                id: "1".into(),
                event: TransactionEvent::Purchase,
                method: "credit_card".into(),
                gateway: "stripe".into(),
                amount: 1_000_000,
                succeeded: true,
                date: "2026-01-31T10:00:00Z".into(),
                test: false,
            }],
            tenders: Vec::new(),
            payment_status: "captured".into(),
            payment_method: "Credit Card".into(),
            channel_id: 1,
            source: "www".into(),
            attributes: Vec::new(),
        }
    }

    fn check_on(
        order: &Order,
        e: JournalEntry,
        chart: Option<&HashSet<String>>,
    ) -> Result<JournalEntry, String> {
        normalise_journal(
            e,
            &Facts::of_order(order).unwrap(),
            Rules {
                limits: &Limits::default(),
                chart,
            },
        )
        .map_err(|refusal| refusal.to_string())
    }

    fn check(e: JournalEntry, chart: Option<&HashSet<String>>) -> Result<JournalEntry, String> {
        check_on(&order(), e, chart)
    }

    #[test]
    fn a_balanced_journal_passes_as_it_was_mapped() {
        let mapped = entry(vec![line("1100", 1_000_000, 0), line("4000", 0, 1_000_000)]);
        assert_eq!(check(mapped.clone(), None), Ok(mapped));
    }

    #[test]
    fn an_unbalanced_journal_is_refused_with_both_totals() {
        let err = check(
            entry(vec![line("1100", 10_000, 0), line("4000", 0, 9_900)]),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "journal does not balance: debits 1.0000 and credits 0.9900 USD"
        );
    }

    #[test]
    fn sub_cent_amounts_overflow_and_unknown_accounts_are_refused() {
        let err = check(
            entry(vec![line("1100", 10_050, 0), line("4000", 0, 10_050)]),
            None,
        )
        .unwrap_err();
        assert!(err.contains("not whole"), "{err}");
        let whole_max = i64::MAX - i64::MAX % 100;
        let err = check(
            entry(vec![line("1100", whole_max, 0), line("1100", whole_max, 0)]),
            None,
        )
        .unwrap_err();
        assert_eq!(err, "debits overflow");
        let chart: HashSet<String> = ["1100".to_string()].into();
        let err = check(
            entry(vec![line("1100", 100, 0), line("4000", 0, 100)]),
            Some(&chart),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "line 2: account `4000` is not in the chart of accounts"
        );
        let err = check(entry(vec![line(" ", 100, 0)]), None).unwrap_err();
        assert_eq!(err, "line 1: account is empty");
    }

    #[test]
    fn an_empty_journal_for_an_order_that_moves_money_is_refused() {
        let err = check(entry(vec![]), None).unwrap_err();
        assert!(
            err.starts_with("journal is empty, but the order 100"),
            "{err}"
        );
        let err = check(entry(vec![line("1100", 0, 0), line("4000", 0, 0)]), None).unwrap_err();
        assert!(err.starts_with("journal is empty"), "{err}");
        // A free order may map to nothing.
        let mut free = order();
        free.subtotal_ex_tax = 0;
        free.total_inc_tax = 0;
        free.payments.clear();
        let posted = check_on(&free, entry(vec![line("1100", 0, 0)]), None).unwrap();
        assert!(posted.lines.is_empty());
    }

    #[test]
    fn a_journal_larger_than_its_order_is_refused() {
        let huge = 92_233_720_368_547_700;
        let err = check(
            entry(vec![line("1100", huge, 0), line("4000", 0, huge)]),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "journal books 9223372036854.7700 USD, more than the 300.0000 USD of every amount in the order 100 together"
        );
        // Up to the gross is allowed: sales, cash and clearing booked in full.
        let gross = 3_000_000;
        assert!(
            check(
                entry(vec![line("1100", gross, 0), line("4000", 0, gross)]),
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn the_rate_currency_and_customer_are_the_records() {
        let lines = || vec![line("1100", 10_000, 0), line("4000", 0, 10_000)];
        let mut wrong_rate = entry(lines());
        wrong_rate.exchange_rate = Decimal {
            digits: 1000,
            scale: 0,
        };
        let err = check(wrong_rate, None).unwrap_err();
        assert!(
            err.starts_with("journal exchange rate 1000e-0 differs"),
            "{err}"
        );
        for digits in [-1, 5] {
            let mut bad = entry(lines());
            bad.exchange_rate = Decimal { digits, scale: 200 };
            assert!(check(bad, None).is_err());
        }
        // The same rate written another way, and a rate left out, are the record's.
        let mut same = entry(lines());
        same.exchange_rate = Decimal {
            digits: 10_000,
            scale: 4,
        };
        same.currency = "usd".into();
        same.erp_customer = String::new();
        let posted = check(same, None).unwrap();
        assert_eq!(
            (
                posted.currency.as_str(),
                posted.exchange_rate,
                posted.erp_customer.as_str()
            ),
            (
                "USD",
                Decimal {
                    digits: 1,
                    scale: 0
                },
                "C1"
            )
        );
        let mut other = entry(lines());
        other.erp_customer = "C2".into();
        assert!(
            check(other, None)
                .unwrap_err()
                .contains("the customer is the host's")
        );
        let mut euros = entry(lines());
        euros.currency = "EUR".into();
        assert!(
            check(euros, None)
                .unwrap_err()
                .contains("differs from the order 100's USD")
        );
    }

    #[test]
    fn dates_are_calendar_days_near_the_orders() {
        let lines = || vec![line("1100", 10_000, 0), line("4000", 0, 10_000)];
        for (date, ok) in [
            ("2026-01-30", true),
            ("2026-03-04", true),
            ("2026-01-29", false),
            ("2026-03-05", false),
            ("2026-13-45", false),
            ("2026-02-30", false),
            ("0000-00-00", false),
            ("2026-1-31", false),
        ] {
            let mut dated = entry(lines());
            dated.effective_date = date.into();
            assert_eq!(check(dated, None).is_ok(), ok, "{date}");
        }
    }

    #[test]
    fn accounts_are_posted_as_checked() {
        let chart: HashSet<String> = ["1100".to_string(), "4000".to_string()].into();
        let mut padded = line(" 1100 ", 10_000, 0);
        padded.sub_account = " 01 ".into();
        let posted = check(entry(vec![padded, line("4000\t", 0, 10_000)]), Some(&chart)).unwrap();
        assert_eq!(posted.lines[0].account, "1100");
        assert_eq!(posted.lines[0].sub_account, "01");
        assert_eq!(posted.lines[1].account, "4000");
    }
}
