//! The default `order-to-gl` plugin: store orders, refunds and shoppers to QAD records.
//!
//! Account policy (every account comes from the settings; see [`CONFIG_KEYS`]):
//!
//! - Order: revenue (per tax class when `account.revenue.<class>` is set), shipping,
//!   handling, gift wrapping and each tax are credited; discounts are debited; money
//!   captured by the gateways is debited to a clearing account per gateway
//!   (`account.clearing.<gateway>`, else `account.clearing`); each tender is debited to its
//!   own account: gift certificates redeemed to `account.gift-certificates`, store credit
//!   to `account.store-credit` (both liabilities, so redeeming lowers them), offline
//!   payments to `account.offline` (default the clearing account of gateway `offline`).
//!   What payments and tenders leave of the total goes to receivables only when the order
//!   really is unpaid: its payment status says the money is not in yet (empty, pending,
//!   authorized, capture pending, held for review) or it awaits payment (status 7).
//!   Otherwise the order is refused (`unexplained-balance`) with the amounts, never booked
//!   as a debt no one will collect. Each line is rounded to the currency's minor unit and
//!   the difference is booked to `account.rounding`.
//! - Refund: the reverse of the accounts the refunded items were sold to (returns go to
//!   `account.returns` when set), tax reversed, and the money returned credited to the
//!   clearing account of the provider that paid it out (receivables if not yet paid out);
//!   a refund paid as store credit or a gift certificate is credited to that liability.
//! - Customer: a QAD customer named after the company (else the shopper), keyed by the
//!   normalised email.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use ml_connector_plugin::prelude::*;

/// `(key, required, description)` for every setting this plugin reads.
pub const CONFIG_KEYS: &[(&str, bool, &str)] = &[
    (
        "daybook",
        false,
        "GL daybook (journal type) for order and refund entries; default SO",
    ),
    (
        "account.revenue",
        true,
        "Sales revenue; `account.revenue.<tax class>` overrides per class",
    ),
    (
        "account.returns",
        false,
        "Returned goods; default the revenue account",
    ),
    ("account.shipping", true, "Shipping income"),
    (
        "account.handling",
        false,
        "Handling income; default the shipping account",
    ),
    (
        "account.wrapping",
        false,
        "Gift-wrapping income; default the handling account",
    ),
    ("account.discounts", true, "Discounts and coupons given"),
    (
        "account.tax",
        true,
        "Tax payable; `account.tax.<tax code>` overrides per code",
    ),
    (
        "account.clearing",
        true,
        "Gateway clearing; `account.clearing.<gateway>` overrides per gateway",
    ),
    (
        "account.receivable",
        true,
        "Trade receivables, for any part not yet paid",
    ),
    (
        "account.gift-certificates",
        false,
        "Gift certificates outstanding (a liability); needed once an order or refund uses one",
    ),
    (
        "account.store-credit",
        false,
        "Store credit owed to shoppers (a liability); needed once an order or refund uses it",
    ),
    (
        "account.offline",
        false,
        "Offline payments (cash, cheque, transfer); default the clearing account of `offline`",
    ),
    (
        "account.refunds",
        false,
        "Order-level refunds and fees; default the returns account",
    ),
    (
        "account.rounding",
        true,
        "Rounding differences to the currency's minor unit",
    ),
    (
        "cost-centre",
        false,
        "Cost centre on revenue, discount and return lines",
    ),
    (
        "customer.currency",
        false,
        "Currency of new QAD customers; default the ledger's base",
    ),
    (
        "customer.terms",
        false,
        "Credit terms code for new QAD customers",
    ),
    (
        "customer.type",
        false,
        "Customer type for new QAD customers",
    ),
];

const REQUIRED: &[&str] = &[
    "account.revenue",
    "account.shipping",
    "account.discounts",
    "account.tax",
    "account.clearing",
    "account.receivable",
    "account.rounding",
];

pub struct DefaultOrderToGl;

impl OrderMapper for DefaultOrderToGl {
    fn describe() -> PluginInfo {
        info(
            "order-to-gl",
            env!("CARGO_PKG_VERSION"),
            "Orders, refunds and shoppers to balanced GL journals and QAD customers",
            CONFIG_KEYS,
        )
    }

    fn validate_config(settings: Settings) -> Result<(), Vec<MappingError>> {
        let mut errors = settings.require_all(REQUIRED).err().unwrap_or_default();
        let per_key = ["account.revenue.", "account.tax.", "account.clearing."];
        let unknown = settings.unknown(CONFIG_KEYS, &per_key);
        for (key, value) in settings.with_prefix("account.") {
            let key = ["account.", key].concat();
            let reported = unknown
                .iter()
                .any(|e| e.path.as_deref() == Some(key.as_str()));
            if value.trim().is_empty() && !reported {
                errors.push(config_error(
                    "missing-setting",
                    format!("setting `{key}` is empty"),
                    &key,
                ));
            }
        }
        errors.extend(unknown);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn map_order(settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        map_order(&Policy::new(settings)?, order)
    }

    fn map_refund(settings: Settings, refund: &Refund) -> Result<JournalEntry, MappingError> {
        map_refund(&Policy::new(settings)?, refund)
    }

    /// Resolves the accounts once for the whole batch.
    fn map_orders(settings: Settings, orders: &[Order]) -> Vec<Result<JournalEntry, MappingError>> {
        match Policy::new(settings) {
            Ok(policy) => orders
                .iter()
                .map(|order| map_order(&policy, order))
                .collect(),
            Err(error) => orders.iter().map(|_| Err(error.clone())).collect(),
        }
    }

    /// Resolves the accounts once for the whole batch.
    fn map_refunds(
        settings: Settings,
        refunds: &[Refund],
    ) -> Vec<Result<JournalEntry, MappingError>> {
        match Policy::new(settings) {
            Ok(policy) => refunds
                .iter()
                .map(|refund| map_refund(&policy, refund))
                .collect(),
            Err(error) => refunds.iter().map(|_| Err(error.clone())).collect(),
        }
    }

    fn map_customer(settings: Settings, customer: &Customer) -> Result<ErpCustomer, MappingError> {
        map_customer(&settings, customer)
    }
}

ml_connector_plugin::export_order_mapper!(DefaultOrderToGl);

/// The accounts and options of one call, resolved from the settings once: a batch maps
/// many records with the same settings.
pub struct Policy<'a> {
    settings: Settings<'a>,
    daybook: &'a str,
    cost_centre: &'a str,
    revenue: &'a str,
    returns: &'a str,
    shipping: &'a str,
    handling: &'a str,
    wrapping: &'a str,
    discounts: &'a str,
    tax: &'a str,
    clearing: &'a str,
    receivable: &'a str,
    gift_certificates: Option<&'a str>,
    store_credit: Option<&'a str>,
    offline: &'a str,
    refunds: &'a str,
    rounding: &'a str,
}

impl<'a> Policy<'a> {
    pub fn new(s: Settings<'a>) -> Result<Policy<'a>, MappingError> {
        let revenue = s.require("account.revenue")?;
        let returns = s.get("account.returns").unwrap_or(revenue);
        let shipping = s.require("account.shipping")?;
        let handling = s.get("account.handling").unwrap_or(shipping);
        let clearing = s.require("account.clearing")?;
        Ok(Policy {
            settings: s,
            daybook: s.get("daybook").unwrap_or("SO"),
            cost_centre: s.get("cost-centre").unwrap_or_default(),
            revenue,
            returns,
            shipping,
            handling,
            wrapping: s.get("account.wrapping").unwrap_or(handling),
            discounts: s.require("account.discounts")?,
            tax: s.require("account.tax")?,
            clearing,
            receivable: s.require("account.receivable")?,
            gift_certificates: s.get("account.gift-certificates"),
            store_credit: s.get("account.store-credit"),
            offline: s
                .get("account.offline")
                .or_else(|| s.get_with("account.clearing.", "offline"))
                .unwrap_or(clearing),
            refunds: s.get("account.refunds").unwrap_or(returns),
            rounding: s.require("account.rounding")?,
        })
    }

    /// `account.<kind>.<key>` when set (and `key` is not empty), else `default`.
    fn specific(&self, kind: &str, key: &str, default: &'a str) -> &'a str {
        if key.is_empty() {
            return default;
        }
        self.settings.get_with(kind, key).unwrap_or(default)
    }

    fn revenue_account(&self, tax_class: &str) -> &'a str {
        self.specific("account.revenue.", tax_class, self.revenue)
    }

    fn tax_account(&self, code: &str) -> &'a str {
        self.specific("account.tax.", code, self.tax)
    }

    fn clearing_account(&self, gateway: &str) -> &'a str {
        self.specific("account.clearing.", gateway, self.clearing)
    }

    /// The account a tender of `kind` is booked to; an error naming the setting when a
    /// liability account it needs is not set.
    fn tender_account(&self, kind: TenderKind, path: &str) -> Result<&'a str, MappingError> {
        let (account, key) = match kind {
            TenderKind::GiftCertificate => (self.gift_certificates, "account.gift-certificates"),
            TenderKind::StoreCredit => (self.store_credit, "account.store-credit"),
            TenderKind::Offline => return Ok(self.offline),
        };
        account.ok_or_else(|| {
            config_error(
                "missing-account",
                format!(
                    "`{path}` uses {}, and setting `{key}` is not set",
                    tender_name(kind)
                ),
                key,
            )
        })
    }
}

fn tender_name(kind: TenderKind) -> &'static str {
    match kind {
        TenderKind::GiftCertificate => "a gift certificate",
        TenderKind::StoreCredit => "store credit",
        TenderKind::Offline => "an offline payment",
    }
}

/// Whether the order says its money is not in yet, so what is left of its total is owed.
fn awaits_payment(order: &Order) -> bool {
    const AWAITING_PAYMENT: u32 = 7;
    order.status_id == AWAITING_PAYMENT
        || matches!(
            order.payment_status.as_str(),
            "" | "pending" | "authorized" | "capture pending" | "held for review"
        )
}

/// The journal an order should have in its current state.
pub fn map_order(p: &Policy, order: &Order) -> Result<JournalEntry, MappingError> {
    let mut j = JournalBuilder::for_order(order, p.daybook);

    // Revenue, one line per account, in the order the accounts first appear.
    let mut revenue: Vec<(&str, Amount)> = Vec::new();
    for (i, line) in order.lines.iter().enumerate() {
        if line.total_ex_tax < 0 {
            return Err(invalid_input(
                "negative-line",
                "a line total is negative",
                Some(&format!("lines[{i}].total-ex-tax")),
            ));
        }
        let account = p.revenue_account(&line.tax_class);
        match revenue.iter_mut().find(|(a, _)| *a == account) {
            Some((_, total)) => *total = money::add(*total, line.total_ex_tax)?,
            None => revenue.push((account, line.total_ex_tax)),
        }
    }
    for (account, total) in revenue {
        if let Some(line) = j.credit(account, total, "sales") {
            line.cost_centre = p.cost_centre.to_string();
        }
    }

    j.credit(p.shipping, order.shipping_ex_tax, "shipping");
    j.credit(p.handling, order.handling_ex_tax, "handling");
    j.credit(p.wrapping, order.wrapping_ex_tax, "gift wrapping");

    let discounts = money::sum(order.discounts.iter().map(|d| d.amount))?;
    if let Some(line) = j.debit(p.discounts, discounts, "discounts") {
        line.cost_centre = p.cost_centre.to_string();
    }

    post_taxes(p, &mut j, order)?;

    // Money in: captured per gateway, the rest receivable.
    let mut paid_total: Amount = 0;
    let mut by_gateway: Vec<(&str, Amount)> = Vec::new();
    for payment in &order.payments {
        let moves_money = matches!(
            payment.event,
            TransactionEvent::Purchase | TransactionEvent::Capture
        );
        if !payment.succeeded || !moves_money {
            continue;
        }
        paid_total = money::add(paid_total, payment.amount)?;
        match by_gateway.iter_mut().find(|(g, _)| *g == payment.gateway) {
            Some((_, total)) => *total = money::add(*total, payment.amount)?,
            None => by_gateway.push((&payment.gateway, payment.amount)),
        }
    }
    for (gateway, amount) in by_gateway {
        j.debit(
            p.clearing_account(gateway),
            amount,
            ["paid via ", gateway].concat(),
        );
    }
    // Tenders: redeemed, not owed. The host lists each once.
    for (i, tender) in order.tenders.iter().enumerate() {
        let account = p.tender_account(tender.kind, &format!("tenders[{i}]"))?;
        paid_total = money::add(paid_total, tender.amount)?;
        j.debit(account, tender.amount, ["paid by ", &tender.name].concat());
    }
    let unpaid = money::sub(order.total_inc_tax, paid_total)?;
    if unpaid > 0 && !awaits_payment(order) {
        return Err(invalid_input(
            "unexplained-balance",
            format!(
                "the order's payment status is `{}`, yet {} of its {} total is in neither its \
                 payments nor its tenders; it is not booked as owed",
                order.payment_status,
                money::format(unpaid),
                money::format(order.total_inc_tax)
            ),
            Some("payments"),
        ));
    }
    j.debit(
        p.receivable,
        unpaid,
        if unpaid > 0 { "unpaid" } else { "overpaid" },
    );

    j.finish(Some(p.rounding))
}

fn post_taxes(p: &Policy, j: &mut JournalBuilder, order: &Order) -> Result<(), MappingError> {
    let listed = money::sum(order.taxes.iter().map(|t| t.amount))?;
    if order.taxes.is_empty() {
        j.credit(p.tax, order.total_tax, "tax");
        return Ok(());
    }
    if listed != order.total_tax {
        return Err(invalid_input(
            "tax-lines-do-not-add-up",
            format!(
                "tax lines sum to {} but the order's total tax is {}",
                money::format(listed),
                money::format(order.total_tax)
            ),
            Some("taxes"),
        ));
    }
    for tax in &order.taxes {
        if let Some(line) = j.credit(
            p.tax_account(&tax.code),
            tax.amount,
            ["tax ", &tax.name].concat(),
        ) {
            line.tax_code = tax.code.clone();
        }
    }
    Ok(())
}

/// The journal for one refund.
pub fn map_refund(p: &Policy, refund: &Refund) -> Result<JournalEntry, MappingError> {
    let mut j = JournalBuilder::for_refund(refund, p.daybook);

    let mut items_tax: Amount = 0;
    for (i, item) in refund.items.iter().enumerate() {
        if item.amount < 0 || item.tax < 0 {
            return Err(invalid_input(
                "negative-refund-item",
                "a refund item is negative",
                Some(&format!("items[{i}]")),
            ));
        }
        items_tax = money::add(items_tax, item.tax)?;
        let (account, memo) = match item.kind {
            RefundItemKind::Product => {
                (p.returns, format!("return {} x{}", item.sku, item.quantity))
            }
            RefundItemKind::Shipping => (p.shipping, "shipping refunded".to_string()),
            RefundItemKind::Handling => (p.handling, "handling refunded".to_string()),
            RefundItemKind::GiftWrapping => (p.wrapping, "gift wrapping refunded".to_string()),
            RefundItemKind::Order | RefundItemKind::Fee => (p.refunds, "order refund".to_string()),
        };
        if let Some(line) = j.debit(account, item.amount, memo)
            && matches!(item.kind, RefundItemKind::Product)
        {
            line.cost_centre = p.cost_centre.to_string();
        }
    }
    if items_tax != refund.total_tax {
        return Err(invalid_input(
            "tax-lines-do-not-add-up",
            format!(
                "refund items carry {} tax but the refund's total tax is {}",
                money::format(items_tax),
                money::format(refund.total_tax)
            ),
            Some("total-tax"),
        ));
    }
    j.debit(p.tax, refund.total_tax, "tax refunded");

    let mut paid_out: Amount = 0;
    for (i, payment) in refund
        .payments
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.declined)
    {
        paid_out = money::add(paid_out, payment.amount)?;
        let account = match payment.tender {
            // Paid back as store credit or a gift certificate: owed to the shopper now.
            Some(kind) => p.tender_account(kind, &format!("payments[{i}]"))?,
            None if payment.offline => p.clearing_account("offline"),
            None => p.clearing_account(&payment.provider),
        };
        j.credit(
            account,
            payment.amount,
            ["refunded via ", &payment.provider].concat(),
        );
    }
    j.credit(
        p.receivable,
        money::sub(refund.total, paid_out)?,
        "refund owed",
    );

    j.finish(Some(p.rounding))
}

/// The QAD customer for a first-time shopper.
pub fn map_customer(s: &Settings, customer: &Customer) -> Result<ErpCustomer, MappingError> {
    let email = customer.email.trim().to_ascii_lowercase();
    if !email.contains('@') {
        return Err(invalid_input(
            "bad-email",
            format!("`{}` is not an email address", customer.email),
            Some("email"),
        ));
    }
    let person = format!(
        "{} {}",
        customer.first_name.trim(),
        customer.last_name.trim()
    )
    .trim()
    .to_string();
    let name = if !customer.company.trim().is_empty() {
        customer.company.trim().to_string()
    } else if !person.is_empty() {
        person
    } else {
        email.clone()
    };
    let mut attributes = Vec::new();
    for (setting, attribute) in [
        ("customer.terms", "credit-terms"),
        ("customer.type", "customer-type"),
    ] {
        if let Some(value) = s.get(setting) {
            attributes.push((attribute.to_string(), value.to_string()));
        }
    }
    Ok(ErpCustomer {
        code: String::new(),
        name,
        email,
        phone: customer.phone.trim().to_string(),
        currency: s.get("customer.currency").unwrap_or_default().to_string(),
        address: customer.billing_address.clone(),
        attributes,
    })
}
