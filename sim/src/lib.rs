//! Simulators of the systems ml-connector talks to, for tests, benchmarks and `demo`.
//! They listen on 127.0.0.1 (an ephemeral port) and behave like the real APIs as the
//! project's reference notes describe them.
//!
//! - [`bigcommerce`]: stores with tokens, V2 orders with paging, the per-store quota
//!   window with BigCommerce's rate-limit headers and 429s. (More endpoints follow.)

pub mod bigcommerce;
