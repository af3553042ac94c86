//! BigCommerce: wire formats (exact money, dates), error decoding and webhook signature
//! checks, the rate-limit pacer and per-order locks. The HTTP client and the simulator
//! build on these.

pub mod error;
pub mod order_locks;
pub mod pacer;
pub mod signature;
pub mod wire;

pub use error::{ApiError, Retry};
pub use order_locks::OrderLocks;
pub use pacer::{Pacer, Priority, RateHeaders};
pub use signature::{Rejection, WebhookAuth};
