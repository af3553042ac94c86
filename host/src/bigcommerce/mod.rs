//! BigCommerce: wire formats (exact money, dates), error decoding and webhook signature
//! checks. The HTTP client, rate-limit pacer and simulator build on these.

pub mod error;
pub mod pacer;
pub mod signature;
pub mod wire;

pub use error::{ApiError, Retry};
pub use pacer::{Pacer, Priority, RateHeaders};
pub use signature::{Rejection, WebhookAuth};
