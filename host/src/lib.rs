//! ml-connector keeps a QAD ERP ledger in step with a BigCommerce store. Customer
//! mappings run as sandboxed WebAssembly components ([`plugins`]); money is exact
//! ([`money`]).

pub mod cli;
pub mod money;
pub mod plugins;
