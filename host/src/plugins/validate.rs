//! Host-side checks of every plugin output. A plugin is never trusted: each journal must
//! balance exactly, stay whole in its currency's minor unit, not overflow, name accounts
//! that exist (when the chart is known), and stay within the size caps. Also the cheap
//! size estimate used to cap inputs and outputs without serialising them.

use std::collections::HashSet;

use super::bindings::types::*;
use super::limits::Limits;
use crate::money;

/// What a journal is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub limits: &'a Limits,
    /// The tenant's postable accounts, when known.
    pub chart: Option<&'a HashSet<String>>,
}

/// Checks a journal mapped from a record in `currency`.
pub fn check_journal(
    entry: &JournalEntry,
    currency: &Currency,
    rules: Rules,
) -> Result<(), String> {
    check_size(entry, rules.limits)?;
    if entry.lines.len() > rules.limits.max_journal_lines {
        return Err(format!(
            "journal has {} lines, over the limit of {}",
            entry.lines.len(),
            rules.limits.max_journal_lines
        ));
    }
    if !entry.currency.eq_ignore_ascii_case(&currency.code) {
        return Err(format!(
            "journal currency `{}` differs from the record's {}",
            entry.currency, currency.code
        ));
    }
    if !is_iso_date(&entry.effective_date) {
        return Err(format!(
            "effective date `{}` is not YYYY-MM-DD",
            entry.effective_date
        ));
    }
    let unit = money::minor_unit(currency.decimals).ok_or_else(|| {
        format!(
            "{} has {} decimals; at most 4 are supported",
            currency.code, currency.decimals
        )
    })?;
    let (mut debits, mut credits) = (0_i64, 0_i64);
    for (i, line) in entry.lines.iter().enumerate() {
        let n = i + 1;
        if line.account.trim().is_empty() {
            return Err(format!("line {n}: account is empty"));
        }
        if let Some(chart) = rules.chart
            && !chart.contains(line.account.trim())
        {
            return Err(format!(
                "line {n}: account `{}` is not in the chart of accounts",
                line.account
            ));
        }
        if line.debit < 0 || line.credit < 0 {
            return Err(format!("line {n}: negative amount"));
        }
        if line.debit != 0 && line.credit != 0 {
            return Err(format!("line {n}: both debit and credit are set"));
        }
        for amount in [line.debit, line.credit] {
            if amount % unit != 0 {
                return Err(format!(
                    "line {n}: {} is not whole in {}'s {} decimals",
                    money::format(amount),
                    currency.code,
                    currency.decimals
                ));
            }
        }
        debits = debits.checked_add(line.debit).ok_or("debits overflow")?;
        credits = credits.checked_add(line.credit).ok_or("credits overflow")?;
    }
    if debits != credits {
        return Err(format!(
            "journal does not balance: debits {} and credits {} {}",
            money::format(debits),
            money::format(credits),
            currency.code
        ));
    }
    Ok(())
}

/// Checks a new ledger customer.
pub fn check_customer(customer: &ErpCustomer, limits: &Limits) -> Result<(), String> {
    check_size(customer, limits)?;
    if customer.name.trim().is_empty() {
        return Err("customer name is empty".into());
    }
    if !customer.email.contains('@') {
        return Err(format!(
            "customer email `{}` is not an email address",
            customer.email
        ));
    }
    Ok(())
}

/// Checks a catalog update. BigCommerce caps product names at 250 characters.
pub fn check_catalog_update(update: &CatalogUpdate, limits: &Limits) -> Result<(), String> {
    check_size(update, limits)?;
    if update.sku.trim().is_empty() {
        return Err("catalog update has no SKU".into());
    }
    if let Some(name) = &update.name
        && (name.trim().is_empty() || name.chars().count() > 250)
    {
        return Err(format!(
            "product name must be 1 to 250 characters, got {}",
            name.chars().count()
        ));
    }
    for (field, value) in [
        ("price", update.price),
        ("sale price", update.sale_price),
        ("cost price", update.cost_price),
    ] {
        if value.is_some_and(|v| v < 0) {
            return Err(format!("{field} is negative"));
        }
    }
    Ok(())
}

fn check_size(output: &impl WireSize, limits: &Limits) -> Result<(), String> {
    let size = output.wire_size();
    if size > limits.max_output_bytes {
        return Err(format!(
            "output is about {size} bytes, over the limit of {}",
            limits.max_output_bytes
        ));
    }
    Ok(())
}

fn is_iso_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
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

    fn usd() -> Currency {
        Currency {
            code: "USD".into(),
            decimals: 2,
        }
    }

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
            erp_customer: String::new(),
            description: String::new(),
            lines,
        }
    }

    fn check(e: &JournalEntry, chart: Option<&HashSet<String>>) -> Result<(), String> {
        check_journal(
            e,
            &usd(),
            Rules {
                limits: &Limits::default(),
                chart,
            },
        )
    }

    #[test]
    fn a_balanced_journal_passes() {
        assert_eq!(
            check(
                &entry(vec![line("1100", 10_000, 0), line("4000", 0, 10_000)]),
                None
            ),
            Ok(())
        );
    }

    #[test]
    fn an_unbalanced_journal_is_refused_with_both_totals() {
        let err = check(
            &entry(vec![line("1100", 10_000, 0), line("4000", 0, 9_900)]),
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
            &entry(vec![line("1100", 10_050, 0), line("4000", 0, 10_050)]),
            None,
        )
        .unwrap_err();
        assert!(err.contains("not whole"), "{err}");
        let whole_max = i64::MAX - i64::MAX % 100;
        let err = check(
            &entry(vec![line("1100", whole_max, 0), line("1100", whole_max, 0)]),
            None,
        )
        .unwrap_err();
        assert_eq!(err, "debits overflow");
        let chart: HashSet<String> = ["1100".to_string()].into();
        let err = check(
            &entry(vec![line("1100", 100, 0), line("4000", 0, 100)]),
            Some(&chart),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "line 2: account `4000` is not in the chart of accounts"
        );
        let err = check(&entry(vec![line(" ", 100, 0)]), None).unwrap_err();
        assert_eq!(err, "line 1: account is empty");
    }
}
