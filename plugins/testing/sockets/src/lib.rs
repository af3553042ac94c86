//! Test plugin: tries to open a TCP connection, so it imports wasi:sockets. Built by the test suite; never shipped.

use ml_connector_plugin::prelude::*;

struct Hostile;

impl Plugin for Hostile {
    fn describe() -> PluginInfo {
        info(
            "sockets",
            "0.1.0",
            "Test plugin: tries to open a TCP connection, so it imports wasi:sockets.",
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

#[allow(dead_code)]
fn entry(order: &Order, lines: Vec<JournalLine>) -> JournalEntry {
    JournalEntry {
        daybook: "SO".into(),
        effective_date: order.created_at.get(..10).unwrap_or_default().into(),
        currency: order.currency.code.clone(),
        exchange_rate: order.exchange_rate,
        erp_customer: order.erp_customer.clone(),
        description: format!("Order {}", order.id),
        lines,
    }
}

fn map_order(cfg: &Config, order: &Order) -> Result<JournalEntry, MappingError> {
    let addr = Settings::new(cfg).get("addr").unwrap_or("127.0.0.1:9");
    let connected = std::net::TcpStream::connect(addr).is_ok();
    Err(invalid_input("connected", connected.to_string(), None)).or(Ok(entry(order, Vec::new())))
}

ml_connector_plugin::export_order_to_gl!(Hostile);
