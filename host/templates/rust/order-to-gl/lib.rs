//! {{name}}: an `order-to-gl` mapping plugin (ml-connector:mapping@{{contract}}).
//!
//! Orders: each line's revenue to `account.sales`, discounts to `account.discounts`,
//! shipping, handling and wrapping to `account.shipping`, each tax to `account.tax`, each
//! succeeded purchase or capture to `account.bank`, each gift certificate, store credit or
//! offline payment to `account.tenders`, and what is left unpaid to `account.receivable`.
//! Each amount is rounded to the currency's minor unit (half away from zero) and what the
//! rounding leaves goes to `account.rounding`. Refunds: the same accounts the other way
//! round. First-time shoppers: a ledger customer
//! named by company, else by person, else by email.
//!
//! Amounts are integer ten-thousandths of the currency (12.50 is 125000): never floats.

wit_bindgen::generate!({ path: "wit", world: "order-to-gl" });

use exports::ml_connector::mapping::orders::Guest as Orders;
use exports::ml_connector::mapping::plugin::Guest as Plugin;
use ml_connector::mapping::types::*;

/// The settings this plugin reads, all required: (name, description).
const SETTINGS: [(&str, &str); 8] = [
    ("account.sales", "Revenue from order lines"),
    ("account.discounts", "Discounts given"),
    (
        "account.shipping",
        "Shipping, handling and gift wrapping charged",
    ),
    ("account.tax", "Sales tax collected"),
    ("account.bank", "Card and wallet payments received"),
    (
        "account.tenders",
        "Gift certificates, store credit and offline payments",
    ),
    ("account.receivable", "What shoppers still owe, or are owed"),
    (
        "account.rounding",
        "What rounding to the currency's minor unit leaves",
    ),
];

struct Mapping;

impl Plugin for Mapping {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "{{name}}".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Orders and refunds to GL journals".into(),
            config_keys: SETTINGS
                .iter()
                .map(|(name, description)| ConfigKey {
                    name: name.to_string(),
                    required: true,
                    description: description.to_string(),
                })
                .collect(),
        }
    }

    fn validate_config(cfg: Config) -> Result<(), Vec<MappingError>> {
        let missing: Vec<MappingError> = SETTINGS
            .iter()
            .filter_map(|(name, _)| setting(&cfg, name).err())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing)
        }
    }
}

impl Orders for Mapping {
    fn map_order(cfg: Config, order: Order) -> Result<JournalEntry, MappingError> {
        let mut journal = Journal::new(order.currency.decimals)?;
        for line in &order.lines {
            let memo = format!("{} x{}", line.sku, line.quantity);
            journal.credit(setting(&cfg, "account.sales")?, line.total_ex_tax, memo, "");
        }
        let discounts = order.discounts.iter().map(|d| d.amount).sum();
        journal.debit(
            setting(&cfg, "account.discounts")?,
            discounts,
            "discounts".into(),
        );
        let shipping = order.shipping_ex_tax + order.handling_ex_tax + order.wrapping_ex_tax;
        let memo = "shipping, handling and wrapping".to_string();
        journal.credit(setting(&cfg, "account.shipping")?, shipping, memo, "");
        for tax in &order.taxes {
            journal.credit(
                setting(&cfg, "account.tax")?,
                tax.amount,
                tax.name.clone(),
                &tax.code,
            );
        }
        for payment in &order.payments {
            let moved = matches!(
                payment.event,
                TransactionEvent::Purchase | TransactionEvent::Capture
            );
            if payment.succeeded && moved {
                let memo = format!("paid via {}", payment.gateway);
                journal.debit(setting(&cfg, "account.bank")?, payment.amount, memo);
            }
        }
        for tender in &order.tenders {
            let memo = if tender.name.is_empty() {
                tender_kind(tender.kind).to_string()
            } else {
                tender.name.clone()
            };
            journal.debit(setting(&cfg, "account.tenders")?, tender.amount, memo);
        }
        let balance = journal.exact_balance();
        if balance > 0 {
            return Err(invalid(
                "overpaid",
                format!("order {} was paid more than its total", order.id),
            ));
        }
        let memo = "due from the shopper".to_string();
        journal.debit(setting(&cfg, "account.receivable")?, -balance, memo);
        let rounding = setting(&cfg, "account.rounding")?;
        Ok(journal.entry(rounding, &order.created_at, format!("Order {}", order.id)))
    }

    fn map_refund(cfg: Config, refund: Refund) -> Result<JournalEntry, MappingError> {
        let mut journal = Journal::new(refund.currency.decimals)?;
        for item in &refund.items {
            let (account, memo) = match item.kind {
                RefundItemKind::Product => (
                    "account.sales",
                    format!("{} x{} returned", item.sku, item.quantity),
                ),
                RefundItemKind::Order => ("account.sales", "order refunded".to_string()),
                RefundItemKind::Fee => ("account.sales", "fee refunded".to_string()),
                RefundItemKind::Shipping => ("account.shipping", "shipping refunded".to_string()),
                RefundItemKind::Handling => ("account.shipping", "handling refunded".to_string()),
                RefundItemKind::GiftWrapping => {
                    ("account.shipping", "gift wrapping refunded".to_string())
                }
            };
            journal.debit(setting(&cfg, account)?, item.amount, memo);
        }
        let tax = refund.items.iter().map(|item| item.tax).sum();
        journal.debit(setting(&cfg, "account.tax")?, tax, "tax refunded".into());
        for payment in refund.payments.iter().filter(|p| !p.declined) {
            match payment.tender {
                Some(kind) => {
                    let memo = format!("refunded as {}", tender_kind(kind));
                    journal.credit(setting(&cfg, "account.tenders")?, payment.amount, memo, "");
                }
                None => {
                    let memo = format!("refunded via {}", payment.provider);
                    journal.credit(setting(&cfg, "account.bank")?, payment.amount, memo, "");
                }
            }
        }
        let balance = journal.exact_balance();
        if balance < 0 {
            let message = format!("refund {} paid back more than it returns", refund.id);
            return Err(invalid("over-refunded", message));
        }
        let memo = "owed to the shopper".to_string();
        journal.credit(setting(&cfg, "account.receivable")?, balance, memo, "");
        let description = format!("Refund {} of order {}", refund.id, refund.order_id);
        let rounding = setting(&cfg, "account.rounding")?;
        Ok(journal.entry(rounding, &refund.created_at, description))
    }

    fn map_customer(_cfg: Config, customer: Customer) -> Result<ErpCustomer, MappingError> {
        let email = customer.email.trim().to_lowercase();
        if !email.contains('@') {
            let message = format!("`{}` is not an email address", customer.email);
            return Err(MappingError {
                path: Some("email".into()),
                ..invalid("bad-email", message)
            });
        }
        let person = format!(
            "{} {}",
            customer.first_name.trim(),
            customer.last_name.trim()
        );
        let name = [customer.company.trim(), person.trim(), &email]
            .into_iter()
            .find(|name| !name.is_empty())
            .unwrap_or_default()
            .to_string();
        // The code and currency are left to the host: it numbers new customers and
        // knows the store's currency.
        Ok(ErpCustomer {
            code: String::new(),
            name,
            email,
            phone: customer.phone.trim().to_string(),
            currency: String::new(),
            address: customer.billing_address,
            attributes: Vec::new(),
        })
    }

    fn map_orders(cfg: Config, orders: Vec<Order>) -> Vec<Result<JournalEntry, MappingError>> {
        orders
            .into_iter()
            .map(|o| Self::map_order(cfg.clone(), o))
            .collect()
    }

    fn map_refunds(cfg: Config, refunds: Vec<Refund>) -> Vec<Result<JournalEntry, MappingError>> {
        refunds
            .into_iter()
            .map(|r| Self::map_refund(cfg.clone(), r))
            .collect()
    }

    fn map_customers(
        cfg: Config,
        customers: Vec<Customer>,
    ) -> Vec<Result<ErpCustomer, MappingError>> {
        customers
            .into_iter()
            .map(|c| Self::map_customer(cfg.clone(), c))
            .collect()
    }
}

/// A journal being built: lines of nonzero amounts, each on its side, rounded to the
/// currency's minor unit.
struct Journal {
    /// Ten-thousandths in one minor unit (100 for a currency with 2 decimals).
    unit: Amount,
    lines: Vec<JournalLine>,
    /// Debits less credits before rounding.
    exact: Amount,
}

impl Journal {
    fn new(decimals: u8) -> Result<Journal, MappingError> {
        let unit = match decimals {
            0..=4 => 10_i64.pow(4 - u32::from(decimals)),
            _ => {
                let message = format!("currencies with {decimals} decimals are not supported");
                return Err(invalid("unsupported-decimals", message));
            }
        };
        Ok(Journal {
            unit,
            lines: Vec::new(),
            exact: 0,
        })
    }

    /// Adds `amount` to the debit side (a negative amount goes to the credit side).
    fn debit(&mut self, account: String, amount: Amount, memo: String) {
        self.add(account, amount, memo, "");
    }

    /// Adds `amount` to the credit side (a negative amount goes to the debit side).
    fn credit(&mut self, account: String, amount: Amount, memo: String, tax_code: &str) {
        self.add(account, -amount, memo, tax_code);
    }

    fn add(&mut self, account: String, net: Amount, memo: String, tax_code: &str) {
        self.exact += net;
        // Half away from zero.
        let half = self.unit / 2;
        let rounded = (net.abs() + half) / self.unit * self.unit * net.signum();
        if rounded == 0 {
            return;
        }
        self.lines.push(JournalLine {
            account,
            sub_account: String::new(),
            cost_centre: String::new(),
            debit: rounded.max(0),
            credit: (-rounded).max(0),
            memo,
            tax_code: tax_code.to_string(),
        });
    }

    /// Debits less credits so far, before rounding.
    fn exact_balance(&self) -> Amount {
        self.exact
    }

    /// The entry, with what rounding left on `rounding`.
    fn entry(mut self, rounding: String, created_at: &str, description: String) -> JournalEntry {
        let left: Amount = self.lines.iter().map(|line| line.debit - line.credit).sum();
        self.add(rounding, -left, "rounding".into(), "");
        // The currency, exchange rate and ledger customer are the record's: left empty,
        // the host fills them in.
        JournalEntry {
            daybook: "SO".into(),
            effective_date: created_at.chars().take(10).collect(),
            currency: String::new(),
            exchange_rate: Decimal {
                digits: 0,
                scale: 0,
            },
            erp_customer: String::new(),
            description,
            lines: self.lines,
        }
    }
}

/// `gift certificate`, `store credit`, `offline`.
fn tender_kind(kind: TenderKind) -> &'static str {
    match kind {
        TenderKind::GiftCertificate => "gift certificate",
        TenderKind::StoreCredit => "store credit",
        TenderKind::Offline => "offline",
    }
}

/// The setting `name`, or the error that it is not set.
fn setting(cfg: &Config, name: &str) -> Result<String, MappingError> {
    match cfg.iter().find(|(key, _)| key == name) {
        Some((_, value)) if !value.trim().is_empty() => Ok(value.trim().to_string()),
        _ => Err(MappingError {
            kind: ErrorKind::Config,
            code: "missing-setting".into(),
            message: format!("setting `{name}` is not set"),
            path: Some(name.into()),
        }),
    }
}

fn invalid(code: &str, message: String) -> MappingError {
    MappingError {
        kind: ErrorKind::InvalidInput,
        code: code.into(),
        message,
        path: None,
    }
}

export!(Mapping);
