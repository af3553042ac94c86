//! What ml-connector does in QAD, over REST: find customers by email and create them
//! (both steps, recoverable between them), read items and prices changed since a cursor
//! and one item with its prices by code, post a journal entry under an external reference
//! and find it again, and read the chart of accounts and the periods. [`super::transport::Qad`] offers the same
//! operations with writes over QXtend instead; a post over either is settled here.
//!
//! Writes first check the configured paths against the tenant's OpenAPI document
//! ([`QadClient::verify_paths`]), so a wrong path is reported by name before anything is
//! posted.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::Date;

use super::browse::{self, Row};
use super::client::QadClient;
use super::config::Entity;
use super::error::QadError;
use crate::money::{self, Amount};

/// A customer as found in QAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRef {
    pub code: String,
    pub shared_set: String,
    /// As stored (QAD compares it case-sensitively).
    pub email: String,
    pub name: String,
}

/// A shopper to create as a QAD customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    pub email: String,
    pub name: String,
    pub street: String,
    pub city: String,
    pub zip: String,
    /// ISO 3166 alpha-2.
    pub country: String,
}

/// An item master record that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemChange {
    /// QAD's item code: the SKU ml-connector matches in BigCommerce.
    pub item_code: String,
    pub description: String,
    pub description2: String,
    pub unit: String,
    pub list_price: Amount,
    pub status: String,
    pub changed_on: Date,
}

/// A price list entry that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceChange {
    pub price_list: String,
    pub item_code: String,
    pub currency: String,
    pub unit: String,
    pub start_date: String,
    pub expire_date: String,
    pub list_price: Amount,
    pub changed_on: Date,
}

/// Where a change poll stopped. QAD's change stamps are dates, so the boundary day is
/// read again on the next poll; the digests of what was already seen on that day keep
/// a record from being reported twice unless it changed again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCursor {
    /// The last day read (`None`: from the beginning).
    pub day: Option<String>,
    /// Record key to content digest, for records stamped `day`.
    pub seen: BTreeMap<String, String>,
}

/// One journal entry for QAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub entity: String,
    pub daybook: String,
    pub layer: String,
    pub posting_date: Date,
    pub year: i32,
    pub period: u32,
    pub description: String,
    /// ml-connector's deterministic reference for this document revision.
    pub external_reference: String,
    pub lines: Vec<JournalLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLine {
    pub account: String,
    pub sub_account: String,
    pub cost_center: String,
    pub project: String,
    pub currency: String,
    pub debit: Amount,
    pub credit: Amount,
    /// Transaction to base currency, as a decimal string; `None` lets QAD use its rate
    /// for the posting date.
    pub exchange_rate: Option<String>,
    pub tax_code: Option<String>,
    pub description: String,
}

/// A journal entry as QAD holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedJournal {
    #[serde(default)]
    pub voucher: String,
    #[serde(default)]
    pub external_reference: String,
    #[serde(default)]
    pub entity_code: String,
    #[serde(default)]
    pub daybook_code: String,
    #[serde(default)]
    pub posting_date: String,
    /// As QAD answers a read (a post's answer may leave them out).
    #[serde(default)]
    pub lines: Vec<PostedLine>,
}

/// One line of a journal entry as QAD holds it, in the transaction currency.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedLine {
    #[serde(default)]
    pub gl_code: String,
    #[serde(default)]
    pub sub_account_code: String,
    #[serde(default)]
    pub cost_center_code: String,
    #[serde(default)]
    pub currency_code: String,
    #[serde(
        rename = "debitTC",
        deserialize_with = "crate::bigcommerce::wire::amount"
    )]
    pub debit: Amount,
    #[serde(
        rename = "creditTC",
        deserialize_with = "crate::bigcommerce::wire::amount"
    )]
    pub credit: Amount,
    #[serde(default)]
    pub tax_code: String,
}

/// The result of posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Posted now.
    New(PostedJournal),
    /// Already in QAD under this external reference (an earlier attempt whose answer was
    /// lost, or a duplicate refused by the tenant's guard): not posted again.
    Existing(PostedJournal),
}

impl Posted {
    pub fn journal(&self) -> &PostedJournal {
        match self {
            Posted::New(journal) | Posted::Existing(journal) => journal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlAccount {
    pub gl_code: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub is_active: bool,
    #[serde(default)]
    pub is_postable: bool,
    #[serde(default)]
    pub requires_sub_account: bool,
    #[serde(default)]
    pub requires_cost_center: bool,
    #[serde(default)]
    pub requires_tax_code: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub posting_year: i32,
    pub posting_period: u32,
    pub start_date: String,
    pub end_date: String,
    /// `Open`, `Closed` or `Locked`.
    pub status: String,
}

impl Period {
    pub fn is_open(&self) -> bool {
        self.status.eq_ignore_ascii_case("open")
    }

    pub fn contains(&self, day: Date) -> bool {
        let day = browse::format_date(day);
        self.start_date.as_str() <= day.as_str() && day.as_str() <= self.end_date.as_str()
    }
}

/// Trimmed and lower-case: how emails are matched.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// `{"data": {"<collection>": [...]}}`, or the bare `{"<collection>": [...]}`.
fn records<T: serde::de::DeserializeOwned>(
    answer: Option<Value>,
    entity: &Entity,
) -> Result<Vec<T>, QadError> {
    let Some(answer) = answer else {
        return Ok(Vec::new());
    };
    let collection = entity.collection();
    let list = answer
        .get("data")
        .and_then(|d| d.get(collection))
        .or_else(|| answer.get(collection))
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    serde_json::from_value(list).map_err(|e| QadError::Decode {
        path: entity.path.clone(),
        reason: e.to_string(),
    })
}

/// An amount as QAD takes it: a plain decimal string without trailing zeros.
pub(super) fn decimal(amount: Amount) -> String {
    let text = money::format(amount);
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_string()
}

/// An item master browse row as an item.
fn item_of(row: &Row) -> Result<ItemChange, String> {
    Ok(ItemChange {
        item_code: browse::text(row, "pt_mstr.pt_part"),
        description: browse::text(row, "pt_mstr.pt_desc1"),
        description2: browse::text(row, "pt_mstr.pt_desc2"),
        unit: browse::text(row, "pt_mstr.pt_um"),
        list_price: browse::amount(row, "pt_mstr.pt_price")?,
        status: browse::text(row, "pt_mstr.pt_status"),
        changed_on: browse::date(row, "pt_mstr.pt_mod_date")?,
    })
}

/// A price list row's key: list, item, currency, unit and start date.
fn price_key(row: &Row) -> [String; 5] {
    [
        "priceListCode",
        "itemCode",
        "currencyCode",
        "unitOfMeasure",
        "startDate",
    ]
    .map(|f| browse::text(row, &format!("priceListV2.{f}")))
}

fn digest(parts: &[&str]) -> String {
    let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    crate::digest::short(&parts, 8)
}

impl QadClient {
    fn view(entity: &Entity) -> (&'static str, String) {
        ("viewUri", entity.view_uri.clone())
    }

    /// Customers whose email is `email`, compared normalised. QAD compares as stored, so
    /// the address is asked for as given and normalised. Zero, one or several may match.
    pub async fn find_customers_by_email(&self, email: &str) -> Result<Vec<CustomerRef>, QadError> {
        let wanted = normalise_email(email);
        let mut forms = vec![email.trim().to_string()];
        if wanted != forms[0] {
            forms.push(wanted.clone());
        }
        let mut found: Vec<CustomerRef> = Vec::new();
        for form in forms {
            let filters = [browse::filter("customerV2.EMail", "eq", &form)];
            for row in self
                .browse(&self.config.paths.customer_browse, &filters)
                .await?
            {
                let customer = CustomerRef {
                    code: browse::text(&row, "customerV2.customerCode"),
                    shared_set: browse::text(&row, "customerV2.sharedSetCode"),
                    email: browse::text(&row, "customerV2.EMail"),
                    name: browse::text(&row, "customerV2.businessRelationName"),
                };
                let same = normalise_email(&customer.email) == wanted;
                if same && !found.iter().any(|c| c.code == customer.code) {
                    found.push(customer);
                }
            }
        }
        Ok(found)
    }

    /// The customer code ml-connector gives a shopper: the prefix and a hash of the
    /// normalised email, 8 characters; `attempt` picks another hash on a collision.
    pub fn customer_code(&self, email: &str, attempt: u32) -> String {
        let prefix = &self.config.customers.code_prefix;
        let hash = digest(&[&normalise_email(email), &attempt.to_string()]).to_uppercase();
        let take = 8_usize.saturating_sub(prefix.len()).max(1);
        format!("{prefix}{}", &hash[..take.min(hash.len())])
    }

    /// Creates the customer in both steps (the customer, then its domain record with the
    /// site and daybook set). Safe to call again after a failure or a lost answer: a code
    /// that already exists for the same email means step one is done, and step two is
    /// only written when the domain record does not already carry the settings.
    pub async fn create_customer(&self, new: &NewCustomer) -> Result<CustomerRef, QadError> {
        self.verify_paths().await?;
        let defaults = &self.config.customers;
        let email = normalise_email(&new.email);
        let mut created = None;
        for attempt in 0..3 {
            let code = self.customer_code(&email, attempt);
            let record = json!({
                "customerCode": code,
                "sharedSetCode": defaults.shared_set,
                "businessRelationCode": code,
                "businessRelationName": new.name,
                "isCreateBusinessRelationRequired": true,
                "isActive": true,
                "currencyCode": defaults.currency,
                "creditTermsCode": defaults.credit_terms,
                "invoiceStatusCode": defaults.invoice_status,
                "invoiceControlGLProfileCode": defaults.gl_profile,
                "creditNoteControlGLProfileCode": defaults.gl_profile,
                "prePaymentControlGLProfileCode": defaults.gl_profile,
                "salesAccountGLProfileCode": defaults.gl_profile,
                "EMail": email,
                "addressSearchName": new.name.chars().take(30).collect::<String>(),
                "street1": new.street,
                "city": new.city,
                "zipCode": new.zip,
                "countryCode": new.country,
            });
            let entity = &self.config.paths.customers;
            let body = json!({ "supplementaryMessages": [], entity.collection(): [record] });
            match self
                .call::<Value>(
                    Method::POST,
                    &entity.path,
                    &[Self::view(entity)],
                    Some(&body),
                )
                .await
            {
                Ok(_) => {
                    created = Some(code);
                    break;
                }
                Err(error) if error.mentions("already exist") => {
                    // Step one happened before (for this shopper), or the code is taken.
                    match self.customer_by_code(&code).await? {
                        Some(existing) if normalise_email(&existing.email) == email => {
                            created = Some(code);
                            break;
                        }
                        _ => continue,
                    }
                }
                Err(QadError::Ambiguous(reason)) => {
                    // Look before trying again.
                    match self.customer_by_code(&code).await? {
                        Some(_) => {
                            created = Some(code);
                            break;
                        }
                        None => return Err(QadError::Ambiguous(reason)),
                    }
                }
                Err(other) => return Err(other),
            }
        }
        let code = created.ok_or_else(|| {
            QadError::Business(vec![super::error::FieldMessage {
                field: "customerCode".into(),
                message: format!("three candidate codes for {email} are taken by other customers"),
            }])
        })?;
        self.complete_customer_domain(&code).await?;
        Ok(CustomerRef {
            code,
            shared_set: defaults.shared_set.clone(),
            email,
            name: new.name.clone(),
        })
    }

    /// One customer by code.
    pub async fn customer_by_code(&self, code: &str) -> Result<Option<CustomerRef>, QadError> {
        let entity = &self.config.paths.customers;
        let query = [
            ("sharedSetCode", self.config.customers.shared_set.clone()),
            ("customerCode", code.to_string()),
            Self::view(entity),
        ];
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        let found: Vec<Value> = records(answer, entity)?;
        Ok(found.first().map(|c| {
            let field = |name: &str| {
                c.get(name)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            CustomerRef {
                code: field("customerCode"),
                shared_set: field("sharedSetCode"),
                email: field("EMail"),
                name: field("businessRelationName"),
            }
        }))
    }

    /// Step two: the domain record gets the site and daybook set (read, changed, written
    /// back with its concurrency hash).
    async fn complete_customer_domain(&self, code: &str) -> Result<(), QadError> {
        let defaults = &self.config.customers;
        let entity = &self.config.paths.customer_domains;
        let query = [
            ("domainContext", defaults.domain.clone()),
            ("customerCode", code.to_string()),
            Self::view(entity),
        ];
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        let mut found: Vec<Value> = records(answer, entity)?;
        let Some(mut record) = found.pop() else {
            return Err(QadError::Business(vec![super::error::FieldMessage {
                field: "customerCode".into(),
                message: format!(
                    "customer {code} has no record in domain {}",
                    defaults.domain
                ),
            }]));
        };
        let has = |field: &str, want: &str| record.get(field).and_then(Value::as_str) == Some(want);
        if has("siteCode", &defaults.site) && has("daybookSetCode", &defaults.daybook_set) {
            return Ok(());
        }
        record["siteCode"] = json!(defaults.site);
        record["daybookSetCode"] = json!(defaults.daybook_set);
        let body = json!({ "supplementaryMessages": [], entity.collection(): [record] });
        match self
            .call::<Value>(Method::POST, &entity.path, &query, Some(&body))
            .await
        {
            Ok(_) => Ok(()),
            // Re-read: if the write landed, there is nothing left to do.
            Err(QadError::Ambiguous(reason)) => {
                let answer = self
                    .call::<Value>(Method::GET, &entity.path, &query, None)
                    .await?;
                let again: Vec<Value> = records(answer, entity)?;
                let done = again.first().is_some_and(|r| {
                    r.get("siteCode").and_then(Value::as_str) == Some(&defaults.site)
                        && r.get("daybookSetCode").and_then(Value::as_str)
                            == Some(&defaults.daybook_set)
                });
                if done {
                    Ok(())
                } else {
                    Err(QadError::Ambiguous(reason))
                }
            }
            Err(other) => Err(other),
        }
    }

    /// Item master records changed since the cursor, and the cursor to use next time.
    pub async fn items_changed_since(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<ItemChange>, ChangeCursor), QadError> {
        let filters: Vec<String> = cursor
            .day
            .iter()
            .map(|day| browse::filter("pt_mstr.pt_mod_date", "ge", day))
            .collect();
        let rows = self
            .browse(&self.config.paths.item_browse, &filters)
            .await?;
        let decode = |row: &Row| item_of(row).map(|change| (change.item_code.clone(), change));
        self.changes(rows, cursor, decode, |c: &ItemChange| c.changed_on, "items")
    }

    /// One item master record by its code (exactly: codes are case-sensitive), as it
    /// stands now.
    pub async fn item(&self, item_code: &str) -> Result<Option<ItemChange>, QadError> {
        let filters = [browse::filter("pt_mstr.pt_part", "eq", item_code)];
        let rows = self
            .browse(&self.config.paths.item_browse, &filters)
            .await?;
        let found = rows
            .iter()
            .map(item_of)
            .find(|item| item.as_ref().map_or(true, |i| i.item_code == item_code));
        found.transpose().map_err(|reason| QadError::Decode {
            path: "items browse".into(),
            reason,
        })
    }

    /// The items with a price list row that starts on a day from `from` to `to`
    /// (inclusive), or whose last day is the day before one of them: their price in
    /// effect changed on that day although nothing in QAD did (no change stamp moved).
    pub async fn items_with_prices_turning(
        &self,
        from: Date,
        to: Date,
    ) -> Result<BTreeSet<String>, QadError> {
        let range = |a: Date, b: Date| {
            format!(
                "{},literal,{}",
                browse::format_date(a),
                browse::format_date(b)
            )
        };
        let before = |day: Date| day.previous_day().unwrap_or(day);
        let starting = browse::filter("priceListV2.startDate", "rg", &range(from, to));
        let ending = browse::filter(
            "priceListV2.expireDate",
            "rg",
            &range(before(from), before(to)),
        );
        let mut items = BTreeSet::new();
        for filter in [starting, ending] {
            for row in self
                .browse(&self.config.paths.price_browse, &[filter])
                .await?
            {
                items.insert(browse::text(&row, "priceListV2.itemCode"));
            }
        }
        Ok(items)
    }

    /// Every price list row of an item, with its amount, as it stands now.
    pub async fn prices_of_item(&self, item_code: &str) -> Result<Vec<PriceChange>, QadError> {
        let filters = [browse::filter("priceListV2.itemCode", "eq", item_code)];
        let rows = self
            .browse(&self.config.paths.price_browse, &filters)
            .await?;
        let mut prices = Vec::new();
        for row in rows {
            if browse::text(&row, "priceListV2.itemCode") != item_code {
                continue;
            }
            if let Some(price) = self.price_of_row(&row).await? {
                prices.push(price);
            }
        }
        Ok(prices)
    }

    /// Price list entries changed since the cursor (amounts read per entry: the browse
    /// rows do not carry them), and the cursor to use next time.
    pub async fn prices_changed_since(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<PriceChange>, ChangeCursor), QadError> {
        let filters: Vec<String> = cursor
            .day
            .iter()
            .map(|day| browse::filter("priceListV2.lastModifiedDate", "ge", day))
            .collect();
        let rows = self
            .browse(&self.config.paths.price_browse, &filters)
            .await?;
        // Only the rows that changed need their amount.
        let (fresh, next) = self.fresh_rows(
            rows,
            cursor,
            |row| price_key(row).join("|"),
            |row| browse::date(row, "priceListV2.lastModifiedDate"),
        )?;
        let mut changes = Vec::new();
        for row in fresh {
            if let Some(change) = self.price_of_row(&row).await? {
                changes.push(change);
            }
        }
        Ok((changes, next))
    }

    /// The price list row of a browse row, with its amount read from the row's detail
    /// (browse rows do not carry it); `None` when the row is gone.
    async fn price_of_row(&self, row: &Row) -> Result<Option<PriceChange>, QadError> {
        let k = price_key(row);
        let entity = &self.config.paths.prices;
        let query = [
            ("domainCode", self.config.customers.domain.clone()),
            ("priceListCode", k[0].clone()),
            ("itemCode", k[1].clone()),
            ("currencyCode", k[2].clone()),
            ("unitOfMeasure", k[3].clone()),
            ("startDate", k[4].clone()),
            Self::view(entity),
        ];
        #[derive(Deserialize)]
        struct Detail {
            #[serde(
                rename = "listPrice",
                deserialize_with = "crate::bigcommerce::wire::amount"
            )]
            list_price: Amount,
        }
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        // Re-read the detail from its text so the price stays exact.
        let details: Vec<Box<serde_json::value::RawValue>> = records(answer, entity)?;
        let Some(detail) = details.first() else {
            return Ok(None);
        };
        let detail: Detail = serde_json::from_str(detail.get()).map_err(|e| QadError::Decode {
            path: entity.path.clone(),
            reason: e.to_string(),
        })?;
        let [price_list, item_code, currency, unit, start_date] = k;
        Ok(Some(PriceChange {
            price_list,
            item_code,
            currency,
            unit,
            start_date,
            expire_date: browse::text(row, "priceListV2.expireDate"),
            list_price: detail.list_price,
            changed_on: browse::date(row, "priceListV2.lastModifiedDate").map_err(|reason| {
                QadError::Decode {
                    path: "price browse".into(),
                    reason,
                }
            })?,
        }))
    }

    /// Decodes browse rows into changes, dropping those already seen on the cursor's day.
    fn changes<T>(
        &self,
        rows: Vec<Row>,
        cursor: &ChangeCursor,
        decode: impl Fn(&Row) -> Result<(String, T), String>,
        day_of: impl Fn(&T) -> Date,
        what: &str,
    ) -> Result<(Vec<T>, ChangeCursor), QadError> {
        let mut decoded = Vec::new();
        for row in &rows {
            let (key, change) = decode(row).map_err(|reason| QadError::Decode {
                path: format!("{what} browse"),
                reason,
            })?;
            decoded.push((key, row_digest(row), day_of(&change), change));
        }
        let (keep, next) = advance(
            cursor,
            decoded
                .iter()
                .map(|(k, d, day, _)| (k.clone(), d.clone(), *day)),
        );
        let changes = decoded
            .into_iter()
            .zip(keep)
            .filter_map(|((_, _, _, change), keep)| keep.then_some(change))
            .collect();
        Ok((changes, next))
    }

    /// The rows not already seen on the cursor's day, and the next cursor.
    fn fresh_rows(
        &self,
        rows: Vec<Row>,
        cursor: &ChangeCursor,
        key: impl Fn(&Row) -> String,
        day: impl Fn(&Row) -> Result<Date, String>,
    ) -> Result<(Vec<Row>, ChangeCursor), QadError> {
        let mut stamped = Vec::new();
        for row in &rows {
            let day = day(row).map_err(|reason| QadError::Decode {
                path: "browse".into(),
                reason,
            })?;
            stamped.push((key(row), row_digest(row), day));
        }
        let (keep, next) = advance(cursor, stamped.into_iter());
        let fresh = rows
            .into_iter()
            .zip(keep)
            .filter_map(|(row, keep)| keep.then_some(row))
            .collect();
        Ok((fresh, next))
    }

    /// Posts a journal entry once. Its external reference makes this safe to repeat: a
    /// lost answer is resolved by looking the reference up before any retry, and a
    /// duplicate the tenant refuses is returned as the existing entry.
    pub async fn post_journal(&self, entry: &JournalEntry) -> Result<Posted, QadError> {
        self.verify_paths().await?;
        let attempt = self.submit_journal(entry).await;
        self.settle_post(entry, attempt).await
    }

    /// One post of the entry: the entry as QAD answered with it, or `None` when QAD
    /// accepted it without returning it.
    async fn submit_journal(
        &self,
        entry: &JournalEntry,
    ) -> Result<Option<PostedJournal>, QadError> {
        let entity = &self.config.paths.journals;
        let lines: Vec<Value> = entry
            .lines
            .iter()
            .map(|l| {
                let mut line = json!({
                    "glCode": l.account,
                    "subAccountCode": l.sub_account,
                    "costCenterCode": l.cost_center,
                    "projectCode": l.project,
                    "currencyCode": l.currency,
                    "debitTC": decimal(l.debit),
                    "creditTC": decimal(l.credit),
                    "description": l.description,
                });
                if let Some(rate) = &l.exchange_rate {
                    line["exchangeRate"] = json!(rate);
                }
                if let Some(tax) = &l.tax_code {
                    line["taxCode"] = json!(tax);
                }
                line
            })
            .collect();
        let record = json!({
            "entityCode": entry.entity,
            "daybookCode": entry.daybook,
            "layerCode": entry.layer,
            "postingDate": browse::format_date(entry.posting_date),
            "postingYear": entry.year,
            "postingPeriod": entry.period,
            "description": entry.description,
            "externalReference": entry.external_reference,
            "lines": lines,
        });
        let body = json!({ "supplementaryMessages": [], entity.collection(): [record] });
        let answer = self
            .call::<Value>(
                Method::POST,
                &entity.path,
                &[Self::view(entity)],
                Some(&body),
            )
            .await?;
        // A tenant returning the existing entry for a duplicate reference answers with
        // that entry.
        let posted: Vec<PostedJournal> = records(answer, entity)?;
        Ok(posted.into_iter().next())
    }

    /// What a post attempt over either transport (REST here, QXtend in
    /// [`super::transport`]) comes to, read back through this client: an entry QAD
    /// accepted without returning it is looked up by its external reference; a lost
    /// answer, or a refusal saying the reference already exists, is resolved by the same
    /// lookup into the entry already posted, so nothing is posted twice.
    pub(super) async fn settle_post(
        &self,
        entry: &JournalEntry,
        attempt: Result<Option<PostedJournal>, QadError>,
    ) -> Result<Posted, QadError> {
        match attempt {
            Ok(Some(journal)) => Ok(Posted::New(journal)),
            Ok(None) => match self
                .find_journal(&entry.entity, &entry.external_reference)
                .await?
            {
                Some(journal) => Ok(Posted::New(journal)),
                None => Err(QadError::Decode {
                    path: self.config.paths.journals.path.clone(),
                    reason: "QAD accepted the entry but returned no voucher".into(),
                }),
            },
            Err(error @ (QadError::Ambiguous(_) | QadError::Business(_))) => {
                let duplicate = error.mentions("already exist");
                if !duplicate && matches!(error, QadError::Business(_)) {
                    return Err(error);
                }
                match self
                    .find_journal(&entry.entity, &entry.external_reference)
                    .await?
                {
                    Some(journal) => Ok(Posted::Existing(journal)),
                    None => Err(error),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// The journal entry posted under this external reference, if any.
    pub async fn find_journal(
        &self,
        entity_code: &str,
        external_reference: &str,
    ) -> Result<Option<PostedJournal>, QadError> {
        let entity = &self.config.paths.journals;
        let query = [
            ("entityCode", entity_code.to_string()),
            ("externalReference", external_reference.to_string()),
            Self::view(entity),
        ];
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        let found: Vec<PostedJournal> = records(answer, entity)?;
        Ok(found
            .into_iter()
            .find(|j| j.external_reference == external_reference))
    }

    /// Every journal entry of the entity whose external reference starts with `prefix`
    /// (a document's revisions: `<store>:order:<id>:`), with its lines, in QAD's order.
    /// Entries that share a reference all come back, so a duplicate shows.
    pub async fn journals_with_reference_prefix(
        &self,
        entity_code: &str,
        prefix: &str,
    ) -> Result<Vec<PostedJournal>, QadError> {
        let entity = &self.config.paths.journals;
        let query = [
            ("entityCode", entity_code.to_string()),
            ("externalReferencePrefix", prefix.to_string()),
            Self::view(entity),
        ];
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        // Each entry is decoded from its text, so the amounts stay exact.
        let raw: Vec<Box<serde_json::value::RawValue>> = records(answer, entity)?;
        let mut found = Vec::new();
        for entry in raw {
            let journal: PostedJournal =
                serde_json::from_str(entry.get()).map_err(|e| QadError::Decode {
                    path: entity.path.clone(),
                    reason: e.to_string(),
                })?;
            if journal.external_reference.starts_with(prefix) {
                found.push(journal);
            }
        }
        Ok(found)
    }

    /// The entity's chart of accounts.
    pub async fn chart_of_accounts(&self, entity_code: &str) -> Result<Vec<GlAccount>, QadError> {
        let entity = &self.config.paths.accounts;
        let query = [("entityCode", entity_code.to_string()), Self::view(entity)];
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        records(answer, entity)
    }

    /// The entity's GL periods.
    pub async fn periods(&self, entity_code: &str) -> Result<Vec<Period>, QadError> {
        let entity = &self.config.paths.periods;
        let query = [("entityCode", entity_code.to_string()), Self::view(entity)];
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        records(answer, entity)
    }
}

/// A digest of a row's content.
fn row_digest(row: &Row) -> String {
    let parts: Vec<String> = row
        .iter()
        .map(|(k, v)| format!("{k}={}", v.get()))
        .collect();
    digest(&parts.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Which records (key, digest, day) to report, and the next cursor: a record stamped on
/// the cursor's day whose digest was seen then is not reported again. The next cursor is
/// the latest day read, with the digests of every record stamped that day.
fn advance(
    cursor: &ChangeCursor,
    records: impl Iterator<Item = (String, String, Date)>,
) -> (Vec<bool>, ChangeCursor) {
    let previous_day = cursor.day.as_deref().and_then(browse::parse_date);
    let records: Vec<(String, String, Date)> = records.collect();
    let keep: Vec<bool> = records
        .iter()
        .map(|(key, digest, day)| {
            !(Some(*day) == previous_day && cursor.seen.get(key) == Some(digest))
        })
        .collect();
    let latest = records.iter().map(|(_, _, day)| *day).max();
    let next = match (latest, previous_day) {
        (None, _) => cursor.clone(),
        (Some(latest), Some(previous)) if latest < previous => cursor.clone(),
        (Some(latest), previous) => {
            let mut seen: BTreeMap<String, String> = if previous == Some(latest) {
                cursor.seen.clone()
            } else {
                BTreeMap::new()
            };
            for (key, digest, day) in &records {
                if *day == latest {
                    seen.insert(key.clone(), digest.clone());
                }
            }
            ChangeCursor {
                day: Some(browse::format_date(latest)),
                seen,
            }
        }
    };
    (keep, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn rec(key: &str, digest: &str, day: Date) -> (String, String, Date) {
        (key.into(), digest.into(), day)
    }

    #[test]
    fn the_boundary_day_is_read_again_without_reporting_what_was_seen() {
        let start = ChangeCursor::default();
        let (keep, cursor) = advance(
            &start,
            vec![
                rec("A", "a1", date!(2026 - 11 - 25)),
                rec("B", "b1", date!(2026 - 11 - 26)),
            ]
            .into_iter(),
        );
        assert_eq!(keep, [true, true]);
        assert_eq!(cursor.day.as_deref(), Some("2026-11-26"));
        assert_eq!(cursor.seen.len(), 1);
        // Next poll: B unchanged on the boundary day, C new that day, B2 changed.
        let (keep, cursor) = advance(
            &cursor,
            vec![
                rec("B", "b1", date!(2026 - 11 - 26)),
                rec("C", "c1", date!(2026 - 11 - 26)),
            ]
            .into_iter(),
        );
        assert_eq!(keep, [false, true]);
        assert_eq!(cursor.seen.len(), 2);
        let (keep, cursor) = advance(
            &cursor,
            vec![
                rec("B", "b2", date!(2026 - 11 - 26)),
                rec("C", "c1", date!(2026 - 11 - 26)),
                rec("D", "d1", date!(2026 - 11 - 27)),
            ]
            .into_iter(),
        );
        assert_eq!(keep, [true, false, true]);
        assert_eq!(cursor.day.as_deref(), Some("2026-11-27"));
        assert_eq!(cursor.seen.keys().collect::<Vec<_>>(), ["D"]);
    }

    #[test]
    fn amounts_go_out_as_plain_decimals() {
        assert_eq!(decimal(1_082_500), "108.25");
        assert_eq!(decimal(1_000_000), "100");
        assert_eq!(decimal(0), "0");
        assert_eq!(decimal(5), "0.0005");
    }
}
