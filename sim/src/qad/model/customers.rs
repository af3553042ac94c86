//! Customers of a shared set (`customerV2s`) with their record in each domain
//! (`mfgCustomers`), and how both look on the wire.

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
