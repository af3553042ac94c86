//! Shoppers to QAD customers: guests go to the configured customer; a registered shopper
//! is matched by normalised email (remembered in the store's id map), found in QAD, or
//! created once from the plugin's customer record.

use serde_json::json;

use super::OrderFlow;
use crate::bigcommerce::orders::FullOrder;
use crate::flows::{FlowError, Outcome, convert, mapping};
use crate::plugins::types;
use crate::qad;

impl OrderFlow {
    /// The QAD customer for the order's shopper: guests go to the configured customer;
    /// a known email is remembered; otherwise QAD is searched by email and, when absent,
    /// the plugin's customer record is created (with `create` false, nothing is created:
    /// the shopper gets the code a creation would give, for a dry run or a comparison).
    pub(super) async fn ensure_customer(
        &self,
        full: &FullOrder,
        subject: &str,
        create: bool,
    ) -> Result<String, FlowError> {
        if full.order.is_guest() {
            return Ok(self.policy.guest_customer.clone());
        }
        let shopper = convert::order(&self.store_hash, full, "")?.customer;
        match self.ensure_shopper(shopper, subject, create).await? {
            Some(code) => Ok(code),
            None => Ok(self.policy.guest_customer.clone()),
        }
    }

    /// The QAD customer for a registered shopper (`None` without an email): remembered
    /// by normalised email; else found in QAD by email; else the plugin's customer
    /// record is created, once.
    pub(super) async fn ensure_shopper(
        &self,
        shopper: types::Customer,
        subject: &str,
        create: bool,
    ) -> Result<Option<String>, FlowError> {
        let email = qad::normalise_email(&shopper.email);
        if email.is_empty() {
            return Ok(None);
        }
        if let Some(code) = self.store.mapped(&self.connection, "email", &email).await? {
            return Ok(Some(code));
        }
        let found = self.ledger.find_customers_by_email(&email).await?;
        let code = match found.as_slice() {
            [one] => one.code.clone(),
            [] if !create => return Ok(Some(self.ledger.customer_code(&email, 0))),
            [] => {
                let plugin = self.plugin.get();
                let mapped = mapping::on_blocking_thread(&plugin, move |plugin| {
                    plugin.map_customers(&[shopper]).results
                })
                .await?;
                let record = mapped.into_iter().next().ok_or_else(|| {
                    FlowError::Refused("the plugin returned no customer".into())
                })??;
                let address = record.address.clone().unwrap_or(types::Address {
                    first_name: String::new(),
                    last_name: String::new(),
                    company: String::new(),
                    street1: String::new(),
                    street2: String::new(),
                    city: String::new(),
                    state: String::new(),
                    zip: String::new(),
                    country: String::new(),
                    phone: String::new(),
                });
                crate::store::lease::confirm().await?;
                let created = self
                    .ledger
                    .create_customer(&qad::NewCustomer {
                        email: email.clone(),
                        name: record.name.clone(),
                        street: address.street1,
                        city: address.city,
                        zip: address.zip,
                        country: address.country,
                    })
                    .await?;
                self.audit(
                    subject,
                    "customer-created",
                    json!({"email": email, "code": created.code}),
                )
                .await?;
                created.code
            }
            several => {
                let codes: Vec<&str> = several.iter().map(|c| c.code.as_str()).collect();
                return Err(FlowError::Refused(format!(
                    "several QAD customers share the email {email} ({}); map one with the id map",
                    codes.join(", ")
                )));
            }
        };
        self.store
            .map(&self.connection, "email", &email, &code)
            .await?;
        Ok(Some(code))
    }

    /// A shopper registered in the store (`store/customer/created`): their QAD
    /// customer exists afterwards, matched by email or created once.
    pub async fn process_customer(&self, customer_id: u64) -> Result<Outcome, FlowError> {
        let subject = format!("customer:{customer_id}");
        let Some(customer) = self.source.customer(customer_id).await? else {
            self.audit(&subject, "gone", json!({"customer_id": customer_id}))
                .await?;
            return Ok(Outcome::Unchanged);
        };
        let known = self
            .store
            .mapped(
                &self.connection,
                "email",
                &qad::normalise_email(&customer.email),
            )
            .await?;
        match self
            .ensure_shopper(convert::customer(&customer), &subject, true)
            .await?
        {
            Some(code) if known.is_none() => {
                self.audit(&subject, "customer-matched", json!({"code": code}))
                    .await?;
                Ok(Outcome::Customer { code })
            }
            _ => Ok(Outcome::Unchanged),
        }
    }
}
