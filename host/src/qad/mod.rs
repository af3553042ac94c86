//! QAD: a tenant-aware REST client. Each tenant is reached at its own full base URL with
//! its own login (OAuth2 password grant with refresh, a bearer token, or Basic) and
//! workspace; entity paths are configurable and checked against the tenant's OpenAPI
//! document before anything is posted. A tenant whose writes go through QXtend (on-premise
//! Enterprise Edition) gets them as QDocs over SOAP ([`qxtend`]), its reads still over
//! REST; [`Qad`] offers the same operations over either. See `docs/qad.md` for the API
//! surface and what of it is grounded in public sources.
//!
//! Layout: [`config`] and [`client`] (the REST transport: login, retries, decoding),
//! [`browse`] (paged queries), [`discovery`] (paths vs the OpenAPI document), [`error`];
//! the operations by concern, all on [`QadClient`]: `customers`, `catalog` (items and
//! prices, change polls), `journals` (post, settle, read back) and `ledger` (chart of
//! accounts, periods), over the types of [`model`]; [`qxtend`] and [`transport`].

pub mod browse;
mod catalog;
pub mod client;
pub mod config;
mod customers;
pub mod discovery;
pub mod error;
mod journals;
mod ledger;
pub mod model;
pub mod qxtend;
pub mod transport;

pub use client::QadClient;
pub use config::{Auth, CustomerDefaults, Entity, EntityPaths, TenantConfig};
pub use discovery::MissingPath;
pub use error::{Cause, FieldMessage, QadError};
pub use model::{
    ChangeCursor, CustomerRef, GlAccount, ItemChange, JournalEntry, JournalLine, NewCustomer,
    Period, Posted, PostedJournal, PostedLine, PriceChange, normalise_email,
};
pub use qxtend::{QxtendClient, QxtendConfig, QxtendCustomer};
pub use transport::Qad;
