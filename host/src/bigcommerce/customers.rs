//! Customers (V3): lookup by id or email, creation in batches of at most 10, and cursor paging.
//!
//! Emails are compared normalised (trimmed, lower-case). Creation is a POST, so it is not
//! re-sent after an ambiguous failure: the caller looks the emails up again first.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::client::{Client, ClientError, Collection, MAX_PAGE};
use super::pacer::Priority;
use super::wire;

/// Largest `POST /v3/customers` batch.
pub const CREATE_BATCH: usize = 10;

/// Emails per lookup request (keeps the URL short).
const EMAILS_PER_LOOKUP: usize = 50;

/// Ids per lookup request (keeps the URL short).
const IDS_PER_LOOKUP: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Customer {
    pub id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub phone: String,
    #[serde(deserialize_with = "wire::date")]
    pub date_created: OffsetDateTime,
    #[serde(deserialize_with = "wire::date")]
    pub date_modified: OffsetDateTime,
}

/// One customer to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewCustomer {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub company: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub phone: String,
}

/// One page read by cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPage {
    pub customers: Vec<Customer>,
    /// Pass to [`Client::customers_after`] for the next page; `None` on the last.
    pub next: Option<String>,
}

/// Trimmed and lower-case: how emails are matched.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Client {
    /// The customers with these ids (those the store has), in id order.
    pub async fn customers(&self, ids: &[u64]) -> Result<Vec<Customer>, ClientError> {
        let mut wanted = ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut found = Vec::new();
        for chunk in wanted.chunks(IDS_PER_LOOKUP) {
            let ids: Vec<String> = chunk.iter().map(u64::to_string).collect();
            let customers: Vec<Customer> = self
                .get_all_v3(
                    "/v3/customers",
                    &[("id:in", ids.join(","))],
                    Priority::Orders,
                )
                .await?;
            found.extend(
                customers
                    .into_iter()
                    .filter(|c| chunk.binary_search(&c.id).is_ok()),
            );
        }
        found.sort_by_key(|c| c.id);
        Ok(found)
    }

    /// The customers with any of these emails (matched normalised), in id order.
    pub async fn customers_by_email(&self, emails: &[&str]) -> Result<Vec<Customer>, ClientError> {
        let mut wanted: Vec<String> = emails.iter().map(|e| normalise_email(e)).collect();
        wanted.sort();
        wanted.dedup();
        let mut found = Vec::new();
        for chunk in wanted.chunks(EMAILS_PER_LOOKUP) {
            let customers: Vec<Customer> = self
                .get_all_v3(
                    "/v3/customers",
                    &[("email:in", chunk.join(","))],
                    Priority::Orders,
                )
                .await?;
            found.extend(
                customers
                    .into_iter()
                    .filter(|c| wanted.contains(&normalise_email(&c.email))),
            );
        }
        found.sort_by_key(|c| c.id);
        Ok(found)
    }

    /// Creates customers, at most [`CREATE_BATCH`] per request. Returns them in the order
    /// given. A failed batch stops the call; the batches before it were created.
    pub async fn create_customers(
        &self,
        customers: &[NewCustomer],
    ) -> Result<Vec<Customer>, ClientError> {
        let mut created = Vec::new();
        for batch in customers.chunks(CREATE_BATCH) {
            let answer: Option<Collection<Customer>> = self
                .send(
                    Method::POST,
                    "/v3/customers",
                    &[],
                    Some(batch),
                    Priority::Orders,
                )
                .await?;
            created.extend(answer.map(|c| c.data).unwrap_or_default());
        }
        Ok(created)
    }

    /// One page of customers by cursor (`None` starts at the beginning), oldest first.
    pub async fn customers_after(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<CustomerPage, ClientError> {
        let mut query = vec![("limit", limit.clamp(1, MAX_PAGE).to_string())];
        if let Some(cursor) = cursor {
            query.push(("after", cursor.to_string()));
        }
        let answer: Option<Collection<Customer>> = self
            .get_json("/v3/customers", &query, Priority::Orders)
            .await?;
        let Some(answer) = answer else {
            return Ok(CustomerPage {
                customers: Vec::new(),
                next: None,
            });
        };
        let cursor = answer.meta.and_then(|m| m.cursor_pagination);
        let has_next = cursor
            .as_ref()
            .and_then(|c| c.links.as_ref())
            .is_some_and(|l| l.next.is_some());
        Ok(CustomerPage {
            next: if has_next {
                cursor.and_then(|c| c.end_cursor)
            } else {
                None
            },
            customers: answer.data,
        })
    }

    /// Every customer, by cursor.
    pub async fn all_customers(&self) -> Result<Vec<Customer>, ClientError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.customers_after(cursor.as_deref(), MAX_PAGE).await?;
            all.extend(page.customers);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }
}
