//! Simulators of the systems ml-connector talks to, for tests, benchmarks and `demo`.
//! They listen on 127.0.0.1 and behave like the real APIs as the project's reference
//! notes describe them.
//!
//! - [`bigcommerce`]: stores with API accounts and seeded data (orders, transactions,
//!   refunds, customers, catalog), the Management API endpoints ml-connector uses with
//!   BigCommerce's shapes, errors and quota window, signed webhook delivery with retries
//!   and deactivation, fault injection and a control API.
//! - [`qad`]: QAD Adaptive ERP tenants with seeded financial and master data (chart,
//!   periods, daybooks, currencies and rates, customers, items, price lists), OAuth2 and
//!   Basic authentication, workspaces, a per-tenant OpenAPI document, the `api/erp`
//!   collections and browses ml-connector uses, journal posting with QAD Financials'
//!   validations, fault injection and a control API (`docs/qad.md` is the contract),
//!   and QXtend's SOAP endpoint taking QDocs for the same tenants.
//! - [`wire`]: exact money on the wire, shared by both.

// The V2 order is one large `json!` literal.
#![recursion_limit = "256"]

pub mod bigcommerce;
pub mod qad;
mod rng;
mod sync;
pub mod wire;
