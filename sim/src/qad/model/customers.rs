//! Customers of a shared set (`customerV2s`) with their record in each domain
//! (`mfgCustomers`), and how both look on the wire.

use std::collections::HashMap;

use super::{CUSTOMER_VIEW, MFG_CUSTOMER_VIEW, Stamp};
use crate::wire::Object;

/// A customer's settings in one domain (`mfgCustomers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMfgCustomer {
    pub domain: String,
    pub site_code: String,
    pub daybook_set_code: String,
    pub stamp: Stamp,
}

/// A customer of a shared set (`customerV2s`) with its domain records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCustomer {
    pub code: String,
    pub shared_set: String,
    pub business_relation_code: String,
    pub business_relation_name: String,
    /// As stored: browses compare it case-sensitively.
    pub email: String,
    pub is_active: bool,
    pub currency: String,
    pub credit_terms: String,
    pub invoice_status: String,
    pub invoice_control_profile: String,
    pub credit_note_control_profile: String,
    pub prepayment_control_profile: String,
    pub sales_account_profile: String,
    pub address_search_name: String,
    pub street1: String,
    pub city: String,
    pub zip_code: String,
    pub country_code: String,
    pub stamp: Stamp,
    pub domains: Vec<SimMfgCustomer>,
}

impl SimCustomer {
    pub fn wire(&self) -> Object {
        let object = Object::new()
            .field("customerCode", &self.code)
            .field("sharedSetCode", &self.shared_set)
            .field("businessRelationCode", &self.business_relation_code)
            .field("businessRelationName", &self.business_relation_name)
            .field("EMail", &self.email)
            .field("isActive", self.is_active)
            .field("currencyCode", &self.currency)
            .field("creditTermsCode", &self.credit_terms)
            .field("invoiceStatusCode", &self.invoice_status)
            .field("invoiceControlGLProfileCode", &self.invoice_control_profile)
            .field(
                "creditNoteControlGLProfileCode",
                &self.credit_note_control_profile,
            )
            .field(
                "prePaymentControlGLProfileCode",
                &self.prepayment_control_profile,
            )
            .field("salesAccountGLProfileCode", &self.sales_account_profile)
            .field("addressSearchName", &self.address_search_name)
            .field("street1", &self.street1)
            .field("city", &self.city)
            .field("zipCode", &self.zip_code)
            .field("countryCode", &self.country_code);
        let uri = format!("{CUSTOMER_VIEW}:{}.{}", self.shared_set, self.code);
        self.stamp.write(object, uri)
    }

    pub fn mfg_wire(&self, domain: &SimMfgCustomer) -> Object {
        let object = Object::new()
            .field("domainCode", &domain.domain)
            .field("customerCode", &self.code)
            .field("sharedSetCode", &self.shared_set)
            .field("siteCode", &domain.site_code)
            .field("daybookSetCode", &domain.daybook_set_code);
        let uri = format!("{MFG_CUSTOMER_VIEW}:{}.{}", domain.domain, self.code);
        domain.stamp.write(object, uri)
    }
}

/// A tenant's customers in the order they were added, with what finds them without a
/// scan: the places of the customers under each code (one per shared set) and under each
/// email as stored. Read as a slice; changed only by [`Customers::push`],
/// [`Customers::replace`] and [`Customers::domains_mut`], which keep the indexes.
#[derive(Debug, Clone, Default)]
pub struct Customers {
    entries: Vec<SimCustomer>,
    by_code: HashMap<String, Vec<usize>>,
    by_email: HashMap<String, Vec<usize>>,
}

impl std::ops::Deref for Customers {
    type Target = [SimCustomer];

    fn deref(&self) -> &[SimCustomer] {
        &self.entries
    }
}

impl Customers {
    /// Adds a customer; its place.
    pub fn push(&mut self, customer: SimCustomer) -> usize {
        let at = self.entries.len();
        self.by_code
            .entry(customer.code.clone())
            .or_default()
            .push(at);
        self.by_email
            .entry(customer.email.clone())
            .or_default()
            .push(at);
        self.entries.push(customer);
        at
    }

    /// Puts `customer` in the place of the one at `at`.
    pub fn replace(&mut self, at: usize, customer: SimCustomer) {
        let old = std::mem::replace(&mut self.entries[at], customer);
        let new = &self.entries[at];
        for (index, old_key, new_key) in [
            (&mut self.by_code, old.code, &new.code),
            (&mut self.by_email, old.email, &new.email),
        ] {
            if old_key != *new_key {
                if let Some(places) = index.get_mut(&old_key) {
                    places.retain(|p| *p != at);
                }
                let places = index.entry(new_key.clone()).or_default();
                places.push(at);
                places.sort_unstable();
            }
        }
    }

    /// The domain records of the customer at `at`, to change (its code and email stay).
    pub fn domains_mut(&mut self, at: usize) -> &mut Vec<SimMfgCustomer> {
        &mut self.entries[at].domains
    }

    /// The places of the customers whose code is `code` (in any shared set), oldest first.
    pub fn with_code(&self, code: &str) -> &[usize] {
        self.by_code.get(code).map_or(&[], Vec::as_slice)
    }

    /// The customers whose code is `code`, or all of them without one, oldest first.
    pub fn coded(&self, code: Option<&str>) -> Vec<&SimCustomer> {
        match code {
            Some(code) => self
                .with_code(code)
                .iter()
                .map(|&i| &self.entries[i])
                .collect(),
            None => self.entries.iter().collect(),
        }
    }

    /// The places of the customers whose email is `email` as stored, oldest first.
    pub fn with_email(&self, email: &str) -> &[usize] {
        self.by_email.get(email).map_or(&[], Vec::as_slice)
    }
}

impl FromIterator<SimCustomer> for Customers {
    fn from_iter<I: IntoIterator<Item = SimCustomer>>(customers: I) -> Self {
        let mut all = Customers::default();
        for customer in customers {
            all.push(customer);
        }
        all
    }
}

impl Extend<SimCustomer> for Customers {
    fn extend<I: IntoIterator<Item = SimCustomer>>(&mut self, customers: I) {
        for customer in customers {
            self.push(customer);
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::super::TenantData;

    #[test]
    fn the_indexes_follow_additions_and_replacements() {
        let mut customers = TenantData::demo(datetime!(2026-01-01 0:00 UTC), 7).customers;
        let first = customers[0].clone();
        assert_eq!(customers.with_code(&first.code), [0]);
        assert_eq!(customers.with_email(&first.email), [0]);
        let mut twin = first.clone();
        twin.shared_set = "OTHER".into();
        let at = customers.push(twin);
        assert_eq!(customers.with_code(&first.code), [0, at]);
        let mut moved = first.clone();
        moved.email = "moved@example.com".into();
        customers.replace(0, moved);
        assert_eq!(customers.with_email(&first.email), [at]);
        assert_eq!(customers.with_email("moved@example.com"), [0]);
        assert_eq!(customers.with_code(&first.code), [0, at]);
        assert!(customers.with_code("NOPE").is_empty());
    }
}
