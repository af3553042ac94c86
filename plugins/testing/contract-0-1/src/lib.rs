//! Test plugin: an `order-to-gl` plugin built against the frozen contract
//! `ml-connector:mapping@0.1.0` with wit-bindgen alone (no SDK, which follows the newest
//! contract), as a plugin written before 0.2 existed was. Built by the test suite; never
//! shipped.
//!
//! Orders: revenue `4000` credited with the total, each succeeded purchase or capture
//! debited to clearing `1150` ("paid via <gateway>"), the rest to receivables `1200`; the
//! payment method 0.1 carried in `attributes` goes into the description. Refunds and
//! shoppers are declined.

wit_bindgen::generate!({
    path: "../../../wit/mapping@0.1.0",
    world: "order-to-gl",
});

use exports::ml_connector::mapping::orders::Guest as Orders;
use exports::ml_connector::mapping::plugin::Guest as Plugin;
use ml_connector::mapping::host::{LogLevel, log};
use ml_connector::mapping::types::*;

struct Legacy;

impl Plugin for Legacy {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "contract-0-1".into(),
            version: "0.1.0".into(),
            description: "Test plugin built against contract 0.1.0".into(),
            config_keys: Vec::new(),
        }
    }

    fn validate_config(_cfg: Config) -> Result<(), Vec<MappingError>> {
        Ok(())
    }
}

fn line(account: String, debit: Amount, credit: Amount, memo: &str) -> JournalLine {
    JournalLine {
        account,
        sub_account: String::new(),
        cost_centre: String::new(),
        debit,
        credit,
        memo: memo.into(),
        tax_code: String::new(),
    }
}

fn declined(what: &str) -> MappingError {
    MappingError {
        kind: ErrorKind::Unsupported,
        code: "unsupported".into(),
        message: format!("this plugin does not map {what}"),
        path: None,
    }
}

impl Orders for Legacy {
    fn map_order(_cfg: Config, order: Order) -> Result<JournalEntry, MappingError> {
        log(
            LogLevel::Info,
            &format!("order {} through contract 0.1", order.id),
        );
        let method = order
            .attributes
            .iter()
            .find(|(key, _)| key == "payment_method")
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        let mut lines = vec![line("4000".into(), 0, order.total_inc_tax, "sales")];
        let mut paid = 0;
        for payment in &order.payments {
            let moved = matches!(
                payment.event,
                TransactionEvent::Purchase | TransactionEvent::Capture
            );
            if payment.succeeded && moved {
                paid += payment.amount;
                let memo = format!("paid via {}", payment.gateway);
                lines.push(line("1150".into(), payment.amount, 0, &memo));
            }
        }
        if order.total_inc_tax > paid {
            lines.push(line("1200".into(), order.total_inc_tax - paid, 0, "unpaid"));
        }
        Ok(JournalEntry {
            daybook: "SO".into(),
            effective_date: order.created_at.chars().take(10).collect(),
            currency: order.currency.code.clone(),
            exchange_rate: order.exchange_rate,
            erp_customer: order.erp_customer.clone(),
            description: format!("Order {} ({method})", order.id),
            lines,
        })
    }

    fn map_refund(_cfg: Config, _refund: Refund) -> Result<JournalEntry, MappingError> {
        Err(declined("refunds"))
    }

    fn map_customer(_cfg: Config, _customer: Customer) -> Result<ErpCustomer, MappingError> {
        Err(declined("shoppers"))
    }

    fn map_orders(cfg: Config, orders: Vec<Order>) -> Vec<Result<JournalEntry, MappingError>> {
        orders
            .into_iter()
            .map(|order| Self::map_order(cfg.clone(), order))
            .collect()
    }

    fn map_refunds(_cfg: Config, refunds: Vec<Refund>) -> Vec<Result<JournalEntry, MappingError>> {
        refunds.iter().map(|_| Err(declined("refunds"))).collect()
    }

    fn map_customers(
        _cfg: Config,
        customers: Vec<Customer>,
    ) -> Vec<Result<ErpCustomer, MappingError>> {
        customers
            .iter()
            .map(|_| Err(declined("shoppers")))
            .collect()
    }
}

export!(Legacy);
