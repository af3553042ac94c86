//! Shoppers to QAD customers, none created twice. A registered shopper is one customer
//! whatever billing email an order carries: the store's id map keys it by BigCommerce
//! customer id, matched on first sight by the account's email. A guest is matched by
//! normalised email (or goes to the configured guest customer, see [`Guests`]), so a guest
//! who registers later keeps the customer. An existing QAD customer with the email is
//! adopted (once: the match is remembered); otherwise the plugin's customer record is
//! created.

use serde_json::json;

use super::{Guests, OrderFlow};
use crate::bigcommerce::orders::FullOrder;
use crate::flows::{FlowError, Outcome, convert, mapping};
use crate::plugins::{RecordError, types};
use crate::qad;

/// The id map's kind for registered shoppers (BigCommerce customer id to QAD customer).
const BY_ID: &str = "customer";
/// The id map's kind for emails (normalised email to QAD customer).
const BY_EMAIL: &str = "email";

/// A shopper's QAD customer.
struct Matched {
    code: String,
    /// False in a dry run for a shopper who would be created: `code` is the one a
    /// creation would give, and nothing is remembered.
    exists: bool,
}

impl OrderFlow {
    /// The QAD customer for the order's shopper: a registered shopper's by customer id;
    /// a guest's by email (the configured guest customer without one, or for every guest
    /// under [`Guests::Shared`]). With `create` false, nothing is created or remembered:
    /// a new shopper gets the code a creation would give, for a dry run or a comparison.
    pub(super) async fn ensure_customer(
        &self,
        full: &FullOrder,
        subject: &str,
        create: bool,
    ) -> Result<String, FlowError> {
        let order = &full.order;
        let billing = || convert::order(&self.store_hash, full, "").map(|o| o.customer);
        let matched = if !order.is_guest() {
            if let Some(code) = self.registered_code(order.customer_id).await? {
                return Ok(code);
            }
            let shopper = match self.shopper_account(order.customer_id).await? {
                Some(account) => convert::customer(&account),
                // Deleted since: the order's own copy of who they were.
                None => billing()?,
            };
            self.ensure_registered(order.customer_id, shopper, subject, create)
                .await?
        } else if self.policy.guests == Guests::ByEmail {
            self.ensure_shopper(billing()?, subject, create).await?
        } else {
            None
        };
        Ok(matched.map_or_else(|| self.policy.guest_customer.clone(), |m| m.code))
    }

    /// The QAD customer a registered shopper's id is mapped to, if any yet.
    pub(super) async fn registered_code(&self, id: u64) -> Result<Option<String>, FlowError> {
        let key = id.to_string();
        Ok(self.store.mapped(&self.connection, BY_ID, &key).await?)
    }

    /// A registered shopper not yet mapped by id: the QAD customer their account's email
    /// matches or creates, then mapped to their id (unless it is a dry run's guess).
    /// `None` when the account has no email.
    async fn ensure_registered(
        &self,
        id: u64,
        account: types::Customer,
        subject: &str,
        create: bool,
    ) -> Result<Option<Matched>, FlowError> {
        let matched = self.ensure_shopper(account, subject, create).await?;
        if let Some(matched) = matched.as_ref().filter(|m| m.exists) {
            self.store
                .map(&self.connection, BY_ID, &id.to_string(), &matched.code)
                .await?;
        }
        Ok(matched)
    }

    /// The QAD customer for a shopper's email (`None` without one): remembered by
    /// normalised email; else found in QAD by email; else the plugin's customer record is
    /// created, once.
    async fn ensure_shopper(
        &self,
        shopper: types::Customer,
        subject: &str,
        create: bool,
    ) -> Result<Option<Matched>, FlowError> {
        let email = qad::normalise_email(&shopper.email);
        if email.is_empty() {
            return Ok(None);
        }
        let _one_job_at_a_time = self.shoppers.lock(email.clone()).await;
        if let Some(code) = self
            .store
            .mapped(&self.connection, BY_EMAIL, &email)
            .await?
        {
            return Ok(Some(Matched { code, exists: true }));
        }
        let found = self.ledger.find_customers_by_email(&email).await?;
        let code = match found.as_slice() {
            [one] => {
                self.audit(
                    subject,
                    "customer-adopted",
                    json!({"email": email, "code": one.code}),
                )
                .await?;
                one.code.clone()
            }
            [] if !create => {
                return Ok(Some(Matched {
                    code: self.ledger.customer_code(&email, 0),
                    exists: false,
                }));
            }
            [] => self.create_customer(shopper, &email, subject).await?,
            several => {
                let codes: Vec<&str> = several.iter().map(|c| c.code.as_str()).collect();
                return Err(FlowError::Refused(format!(
                    "several QAD customers share the email {email} ({}); map one with the id map",
                    codes.join(", ")
                )));
            }
        };
        self.store
            .map(&self.connection, BY_EMAIL, &email, &code)
            .await?;
        Ok(Some(Matched { code, exists: true }))
    }

    /// Creates the plugin's customer record for the shopper in QAD (the host's own, see
    /// [`default_record`], when the plugin does not map shoppers); its code.
    async fn create_customer(
        &self,
        shopper: types::Customer,
        email: &str,
        subject: &str,
    ) -> Result<String, FlowError> {
        let plugin = self.plugin.get();
        let offered = shopper.clone();
        let mapped = mapping::on_blocking_thread(&plugin, move |plugin| {
            plugin.map_customers(&[offered]).results
        })
        .await?;
        let mapped = mapped
            .into_iter()
            .next()
            .ok_or_else(|| FlowError::Refused("the plugin returned no customer".into()))?;
        let (name, address) = match mapped {
            Ok(record) => (record.name, record.address),
            Err(RecordError::Mapping { error, .. })
                if error.kind == types::ErrorKind::Unsupported =>
            {
                default_record(&shopper, email)
            }
            Err(refused) => return Err(refused.into()),
        };
        let field = |f: fn(&types::Address) -> &String| {
            address.as_ref().map(|a| f(a).clone()).unwrap_or_default()
        };
        crate::store::lease::confirm().await?;
        let created = self
            .ledger
            .create_customer(&qad::NewCustomer {
                email: email.to_string(),
                name,
                street: field(|a| &a.street1),
                city: field(|a| &a.city),
                zip: field(|a| &a.zip),
                country: field(|a| &a.country),
            })
            .await?;
        self.audit(
            subject,
            "customer-created",
            json!({"email": email, "code": created.code}),
        )
        .await?;
        Ok(created.code)
    }

    /// A shopper registered in the store (`store/customer/created`): their QAD customer
    /// exists afterwards, the one their email already has (a guest who registers keeps
    /// theirs) or a new one, and their id is mapped to it.
    pub async fn process_customer(&self, customer_id: u64) -> Result<Outcome, FlowError> {
        let subject = format!("customer:{customer_id}");
        if self.registered_code(customer_id).await?.is_some() {
            return Ok(Outcome::Unchanged);
        }
        let Some(account) = self.shopper_account(customer_id).await? else {
            self.audit(&subject, "gone", json!({"customer_id": customer_id}))
                .await?;
            return Ok(Outcome::Unchanged);
        };
        let shopper = convert::customer(&account);
        match self
            .ensure_registered(customer_id, shopper, &subject, true)
            .await?
        {
            Some(matched) => {
                self.audit(&subject, "customer-matched", json!({"code": matched.code}))
                    .await?;
                Ok(Outcome::Customer { code: matched.code })
            }
            None => Ok(Outcome::Unchanged),
        }
    }
}

/// The customer record for a plugin that does not map shoppers (it answers `unsupported`,
/// the SDK's default): named by company, else first and last name, else email, at the
/// billing address. A plugin that maps orders need not map shoppers for orders to post.
fn default_record(shopper: &types::Customer, email: &str) -> (String, Option<types::Address>) {
    let person = format!("{} {}", shopper.first_name.trim(), shopper.last_name.trim());
    let name = [shopper.company.trim(), person.trim(), email]
        .into_iter()
        .find(|n| !n.is_empty())
        .unwrap_or(email)
        .to_string();
    (name, shopper.billing_address.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_record_is_named_by_company_then_person_then_email() {
        let shopper = |company: &str, first: &str, last: &str| types::Customer {
            id: String::new(),
            email: "a@b.example".into(),
            first_name: first.into(),
            last_name: last.into(),
            company: company.into(),
            phone: String::new(),
            group: String::new(),
            billing_address: None,
        };
        let name = |s: types::Customer| default_record(&s, "a@b.example").0;
        assert_eq!(name(shopper(" Acme ", "Ada", "L")), "Acme");
        assert_eq!(name(shopper("", " Ada", "")), "Ada");
        assert_eq!(name(shopper("", "", "")), "a@b.example");
    }
}
