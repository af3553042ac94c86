//! Registered customers, how they look in V3 and in V2 (deprecated, still read by
//! third-party clients), and registering one.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{StoreData, rfc2822, rfc3339};

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub phone: String,
    pub created: OffsetDateTime,
    pub modified: OffsetDateTime,
}

impl Customer {
    /// V2 `GET /customers` entries: RFC 2822 dates, store credit as a money string, the
    /// addresses as a link (`root`: the store's API root).
    pub fn v2_json(&self, root: &str) -> Value {
        let addresses = format!("/customers/{}/addresses", self.id);
        json!({
            "id": self.id,
            "company": self.company,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "phone": self.phone,
            "date_created": rfc2822(self.created),
            "date_modified": rfc2822(self.modified),
            "store_credit": "0.0000",
            "registration_ip_address": "",
            "customer_group_id": 0,
            "notes": "",
            "tax_exempt_category": "",
            "reset_pass_on_login": false,
            "accepts_marketing": false,
            "addresses": { "url": format!("{root}/v2{addresses}"), "resource": addresses },
            "form_fields": null,
        })
    }

    pub fn v3_json(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "phone": self.phone,
            "notes": "",
            "registration_ip_address": "",
            "tax_exempt_category": "",
            "customer_group_id": 0,
            "date_created": rfc3339(self.created),
            "date_modified": rfc3339(self.modified),
            "address_count": 0,
            "attribute_count": 0,
            "authentication": { "force_password_reset": false },
            "accepts_product_review_abandoned_cart_emails": false,
            "origin_channel_id": 1,
            "channel_ids": [1],
        })
    }
}

impl StoreData {
    /// Registers a customer now, under the next customer id; the customer as stored.
    pub fn add_customer(
        &mut self,
        email: &str,
        first_name: &str,
        last_name: &str,
        company: &str,
        phone: &str,
        now: OffsetDateTime,
    ) -> &Customer {
        let id = self.customers.iter().map(|c| c.id).max().unwrap_or(0) + 1;
        self.customers.push(Customer {
            id,
            email: email.to_string(),
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
            company: company.to_string(),
            phone: phone.to_string(),
            created: now,
            modified: now,
        });
        self.customers.last().expect("just added")
    }
}
