//! BigCommerce: the per-store API client with its rate-limit pacer, the resources
//! ml-connector uses (orders, transactions, refunds, customers, catalog, webhooks, store
//! information), exact wire formats (money, dates), error decoding, per-order locks and
//! webhook signature checks.

pub mod catalog;
pub mod client;
pub mod customers;
pub mod error;
pub mod hooks;
pub mod orders;
pub mod pacer;
pub mod signature;
pub mod store;
pub mod wire;

pub use client::{Client, ClientError, MAX_PAGE, StoreConfig};
pub use error::{ApiError, Retry};
pub use orders::{FullOrder, Order};
pub use pacer::{Pacer, Priority, RateHeaders};
pub use signature::{Rejection, WebhookAuth};
