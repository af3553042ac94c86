//! QAD: a tenant-aware REST client. Each tenant is reached at its own full base URL with
//! its own login (OAuth2 password grant with refresh, a bearer token, or Basic) and
//! workspace; entity paths are configurable and checked against the tenant's OpenAPI
//! document before anything is posted. A tenant whose writes go through QXtend (on-premise
//! Enterprise Edition) gets them as QDocs over SOAP ([`qxtend`]), its reads still over
//! REST; [`Qad`] offers the same operations over either. See `docs/qad.md` for the API
//! surface and what of it is grounded in public sources.

pub mod browse;
pub mod client;
pub mod config;
pub mod discovery;
pub mod error;
pub mod operations;
pub mod qxtend;
pub mod transport;

pub use client::QadClient;
pub use config::{Auth, CustomerDefaults, Entity, EntityPaths, TenantConfig};
pub use discovery::MissingPath;
pub use error::{FieldMessage, QadError};
pub use operations::{
    ChangeCursor, CustomerRef, GlAccount, ItemChange, JournalEntry, JournalLine, NewCustomer,
    Period, Posted, PostedJournal, PostedLine, PriceChange,
};
pub use qxtend::{QxtendClient, QxtendConfig, QxtendCustomer};
pub use transport::Qad;
