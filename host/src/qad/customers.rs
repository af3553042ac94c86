//! Customers over REST: find them by email (QAD compares as stored, so both the address
//! as given and its normalised form are asked for), derive the code ml-connector gives a
//! shopper, and create one in both steps (the customer, then its domain record),
//! recoverable between them and after a lost answer.

use reqwest::Method;
use serde_json::{Value, json};

use super::browse;
use super::client::{QadClient, records, view};
use super::error::{FieldMessage, QadError};
use super::model::{CustomerRef, NewCustomer, normalise_email};

impl QadClient {
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
        let parts = [normalise_email(email), attempt.to_string()];
        let hash =
            crate::digest::short(&[parts[0].as_bytes(), parts[1].as_bytes()], 8).to_uppercase();
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
                .call::<Value>(Method::POST, &entity.path, &[view(entity)], Some(&body))
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
            QadError::Business(vec![FieldMessage {
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
            view(entity),
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
            view(entity),
        ];
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        let mut found: Vec<Value> = records(answer, entity)?;
        let Some(mut record) = found.pop() else {
            return Err(QadError::Business(vec![FieldMessage {
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
}
