//! The flows from a source record to its destination, each reaching the outside only
//! through its [`ports`]: BigCommerce orders and refunds to QAD journal entries
//! ([`orders`]), built from the conversion into the plugin contract ([`convert`]) and the
//! convergent posting rule ([`ledger`]), run from the durable queue by a
//! [`worker::Worker`]; and QAD item and price changes to BigCommerce catalog updates
//! ([`catalog`]), which a catalog poll maps and sends in batches directly (the queue only
//! holds the items that failed, for the worker to replay). The plugin is called the same
//! way by every flow ([`mapping`]); [`FlowError::is_transient`] decides retries.

pub mod catalog;
pub mod convert;
mod error;
pub mod fx;
pub mod jobs;
pub mod ledger;
pub mod mapping;
pub mod orders;
pub mod ports;
#[cfg(test)]
pub(crate) mod testing;
pub mod worker;

pub use error::{FlowError, Outcome};
pub use mapping::plugin_identity;
