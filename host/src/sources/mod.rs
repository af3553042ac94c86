//! Where records come from, each ending in the durable queue: BigCommerce webhooks
//! ([`webhooks`], received by the service's HTTP server), the reconciliation poll of
//! orders and refunds ([`poll`]), and the check that keeps the webhooks alive ([`hooks`],
//! which backfills with a poll after a gap). QAD's item and price changes are read by the
//! catalog flow's own poll ([`crate::flows::catalog`]) through its item source.

pub mod hooks;
pub mod poll;
pub mod webhooks;
