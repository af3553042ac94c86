//! QAD browses (`/api/qracore/browses`): the query and paging API. Filters use QAD's
//! `<field>,<op>,<value>,literal` grammar; pages are read with one `callId` so the tenant
//! can keep the result stable while it is paged (`pageAction=first`, then `next`), until
//! `auxillaryData.HasMoreParams` (a string) says there is no more.
//!
//! Rows keep each value's JSON text, so amounts are read exactly.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use time::Date;

use super::client::QadClient;
use super::error::QadError;
use crate::money::Amount;

/// One browse row: flat dotted keys to their JSON text.
pub type Row = BTreeMap<String, Box<RawValue>>;

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    data: Vec<Row>,
    #[serde(default, rename = "auxillaryData")]
    auxiliary: Option<Auxiliary>,
}

#[derive(Deserialize)]
struct Auxiliary {
    #[serde(default, rename = "HasMoreParams")]
    has_more: Option<Box<RawValue>>,
}

/// A browse filter: `field,op,value,literal`.
pub fn filter(field: &str, op: &str, value: &str) -> String {
    format!("{field},{op},{value},literal")
}

/// A call id for one paged read: unique per process and time.
fn call_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("mlc-{nanos:x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

impl QadClient {
    /// Every row of a browse with these filters, page by page.
    pub async fn browse(&self, browse_id: &str, filters: &[String]) -> Result<Vec<Row>, QadError> {
        let call = call_id();
        let mut rows = Vec::new();
        for page in 1_u32.. {
            let mut query: Vec<(&str, String)> = vec![
                ("browseId", browse_id.to_string()),
                ("page", page.to_string()),
                ("pageSize", self.config.page_size.to_string()),
                (
                    "pageAction",
                    if page == 1 { "first" } else { "next" }.to_string(),
                ),
                ("callId", call.clone()),
            ];
            query.extend(filters.iter().map(|f| ("filter", f.clone())));
            let answer: Option<Page> = self
                .call(Method::GET, &self.config.paths.browses, &query, None)
                .await?;
            let Some(answer) = answer else { break };
            let count = answer.data.len();
            rows.extend(answer.data);
            let more = answer
                .auxiliary
                .and_then(|a| a.has_more)
                .is_some_and(|flag| flag.get().trim_matches('"').eq_ignore_ascii_case("true"));
            if !more || count == 0 {
                break;
            }
        }
        Ok(rows)
    }
}

/// A text column (`""` when absent or null).
pub fn text(row: &Row, key: &str) -> String {
    row.get(key)
        .and_then(|raw| {
            serde_json::from_str::<Option<String>>(raw.get())
                .ok()
                .flatten()
        })
        .unwrap_or_default()
}

/// Why a browse column could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("no column {key}")]
    Missing { key: String },
    #[error("{key} is not an exact amount: {raw}")]
    NotAnAmount { key: String, raw: String },
    #[error("{key} is not a date: `{value}`")]
    NotADate { key: String, value: String },
}

/// A money column, exactly, from a JSON number or a numeric string.
pub fn amount(row: &Row, key: &str) -> Result<Amount, ColumnError> {
    let raw = row
        .get(key)
        .ok_or_else(|| ColumnError::Missing { key: key.into() })?;
    crate::bigcommerce::wire::parse_amount(raw.get()).ok_or_else(|| ColumnError::NotAnAmount {
        key: key.into(),
        raw: raw.get().into(),
    })
}

/// A date column (`yyyy-mm-dd`, or the date part of a timestamp).
pub fn date(row: &Row, key: &str) -> Result<Date, ColumnError> {
    let value = text(row, key);
    parse_date(&value).ok_or_else(|| ColumnError::NotADate {
        key: key.into(),
        value,
    })
}

/// `yyyy-mm-dd`, or the date part of an RFC 3339 timestamp.
pub fn parse_date(text: &str) -> Option<Date> {
    let day = text.get(..10)?;
    Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// `yyyy-mm-dd`.
pub fn format_date(date: Date) -> String {
    date.format(time::macros::format_description!("[year]-[month]-[day]"))
        .expect("a date formats")
}
