//! Test plugin: a second version for hot-reload tests; books the order total to two accounts. Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct Hostile;

impl Plugin for Hostile {
    fn describe() -> PluginInfo {
        info(
            "relabel",
            "2.0.0",
            "Test plugin: a second version for hot-reload tests.",
            &[],
        )
    }

    fn validate_config(_cfg: Config) -> Result<(), Vec<MappingError>> {
        Ok(())
    }
}

impl Orders for Hostile {
    fn map_order(cfg: Config, order: Order) -> Result<JournalEntry, MappingError> {
        map_order(&cfg, &order)
    }
    fn map_refund(_cfg: Config, refund: Refund) -> Result<JournalEntry, MappingError> {
        Err(unsupported(
            "no-refunds",
            format!("refund {} not handled", refund.id),
            None,
        ))
    }
    fn map_customer(_cfg: Config, customer: Customer) -> Result<ErpCustomer, MappingError> {
        Err(unsupported(
            "no-customers",
            format!("customer {} not handled", customer.email),
            None,
        ))
    }
    fn map_orders(cfg: Config, orders: Vec<Order>) -> Vec<Result<JournalEntry, MappingError>> {
        orders.iter().map(|order| map_order(&cfg, order)).collect()
    }
    fn map_refunds(cfg: Config, refunds: Vec<Refund>) -> Vec<Result<JournalEntry, MappingError>> {
        refunds
            .into_iter()
            .map(|refund| Self::map_refund(cfg.clone(), refund))
            .collect()
    }
    fn map_customers(
        cfg: Config,
        customers: Vec<Customer>,
    ) -> Vec<Result<ErpCustomer, MappingError>> {
        customers
            .into_iter()
            .map(|customer| Self::map_customer(cfg.clone(), customer))
            .collect()
    }
}

fn map_order(_cfg: &Config, order: &Order) -> Result<JournalEntry, MappingError> {
    let mut journal = JournalBuilder::for_order(order, "V2");
    journal.debit("1200", order.total_inc_tax, "total");
    journal.credit("4000", order.total_inc_tax, "total");
    let mut entry = journal.finish(None)?;
    entry.description = format!("Order {} (v2)", order.id);
    Ok(entry)
}

ml_connector_plugin::export_order_to_gl!(Hostile);
