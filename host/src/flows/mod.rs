//! The flows from a source record to its destination: BigCommerce orders and refunds to
//! QAD journal entries ([`orders`]), built from the conversion into the plugin contract
//! ([`convert`]) and the convergent posting rule ([`ledger`]), run from the durable queue
//! by a [`worker::Worker`] and fed by the reconciliation [`worker::poll`]; and QAD item and
//! price changes to BigCommerce catalog updates ([`catalog`]), polled in batches, with
//! failed items parked as jobs the worker replays.

pub mod catalog;
pub mod convert;
pub mod fx;
pub mod hooks;
pub mod ledger;
pub mod orders;
pub mod worker;
