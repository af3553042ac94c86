//! Registered customers, how they look in V3, and registering one.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{StoreData, rfc3339};

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
