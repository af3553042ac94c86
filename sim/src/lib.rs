//! Simulators of the systems ml-connector talks to, for tests, benchmarks and `demo`.
//! They listen on 127.0.0.1 and behave like the real APIs as the project's reference
//! notes describe them.
//!
//! - [`bigcommerce`]: stores with API accounts and seeded data (orders, transactions,
//!   refunds, customers, catalog), the Management API endpoints ml-connector uses with
//!   BigCommerce's shapes, errors and quota window, signed webhook delivery with retries
//!   and deactivation, fault injection and a control API.

// The V2 order is one large `json!` literal.
#![recursion_limit = "256"]

pub mod bigcommerce;
mod rng;
