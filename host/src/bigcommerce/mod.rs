//! BigCommerce: the per-store API client (orders so far) with its rate-limit pacer,
//! exact wire formats (money, dates), error decoding, per-order locks and webhook
//! signature checks.

pub mod client;
pub mod error;
pub mod order_locks;
pub mod pacer;
pub mod signature;
pub mod wire;

pub use client::{Client, ClientError, OrderSummary, StoreConfig};
pub use error::{ApiError, Retry};
pub use order_locks::OrderLocks;
pub use pacer::{Pacer, Priority, RateHeaders};
pub use signature::{Rejection, WebhookAuth};
