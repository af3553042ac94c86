//! Test plugin: journals that balance but misstate their order, one way per the `lie`
//! setting: `rate`, `rate-zero`, `rate-negative`, `rate-overflow`, `currency`,
//! `currency-case`, `customer`, `empty`, `zero-lines`, `huge`, `date-month`, `date-zero`,
//! `date-far`, `padded-account`; anything else (or none) books the total honestly. Built
//! by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct TestPlugin;

impl OrderMapper for TestPlugin {
    fn describe() -> PluginInfo {
        info(
            "liar",
            "0.1.0",
            "Test plugin: misstates the order's facts.",
            &[],
        )
    }

    fn map_order(settings: Settings, order: &Order) -> Result<JournalEntry, MappingError> {
        let total = order.total_inc_tax;
        let line = |account: &str, debit: i64, credit: i64| JournalLine {
            account: account.to_string(),
            sub_account: String::new(),
            cost_centre: String::new(),
            debit,
            credit,
            memo: "total".to_string(),
            tax_code: String::new(),
        };
        let mut entry = JournalEntry {
            daybook: "SO".to_string(),
            effective_date: order.created_at.get(..10).unwrap_or_default().to_string(),
            currency: order.currency.code.clone(),
            exchange_rate: order.exchange_rate,
            erp_customer: order.erp_customer.clone(),
            description: format!("Order {}", order.id),
            lines: vec![line("1200", total, 0), line("4000", 0, total)],
        };
        let rate = |digits, scale| Decimal { digits, scale };
        match settings.get("lie").unwrap_or_default() {
            "rate" => {
                entry.exchange_rate = rate(
                    order.exchange_rate.digits.saturating_mul(1000),
                    order.exchange_rate.scale,
                )
            }
            "rate-zero" => entry.exchange_rate = rate(0, 0),
            "rate-negative" => entry.exchange_rate = rate(-1, 0),
            "rate-overflow" => entry.exchange_rate = rate(i64::MAX, 255),
            "currency" => entry.currency = "XAU".to_string(),
            "currency-case" => entry.currency = order.currency.code.to_lowercase(),
            "customer" => entry.erp_customer = "SOMEONE-ELSE".to_string(),
            "empty" => entry.lines.clear(),
            "zero-lines" => entry.lines = vec![line("1200", 0, 0), line("4000", 0, 0)],
            "huge" => {
                let huge = 9_223_372_036_854_775_800;
                entry.lines = vec![line("1200", huge, 0), line("4000", 0, huge)];
            }
            "date-month" => entry.effective_date = "2026-13-45".to_string(),
            "date-zero" => entry.effective_date = "0000-00-00".to_string(),
            "date-far" => entry.effective_date = "1999-01-01".to_string(),
            "padded-account" => {
                entry.lines = vec![line(" 1200 ", total, 0), line("4000\t", 0, total)]
            }
            _ => {}
        }
        Ok(entry)
    }
}

ml_connector_plugin::export_order_mapper!(TestPlugin);
