//! One set of QAD operations whatever the tenant's write transport: REST for everything
//! ([`Qad::Rest`]), or QDocs through QXtend for writes with the same instance's REST API
//! and browses for reads ([`Qad::Qxtend`]), because QXtend has no query for "changed
//! since" or "by email". The tenant's configuration picks the variant; callers see the
//! same operations, the same types and the same errors.
//!
//! Both transports give a shopper the same customer code (the REST client derives it from
//! the email), and a journal posted over either is settled the same way: a lost answer or
//! an "already exists" refusal is resolved by looking the external reference up over REST
//! before anything is posted again.

use super::client::QadClient;
use super::discovery::{MissingPath, refuse_missing};
use super::error::{FieldMessage, QadError};
use super::model::{
    ChangeCursor, CustomerRef, GlAccount, ItemChange, JournalEntry, NewCustomer, Period, Posted,
    PostedJournal, PriceChange, normalise_email,
};
use super::qxtend::{Added, QxtendClient, QxtendCustomer};

/// A tenant's QAD, reached over its write transport.
#[derive(Clone)]
pub enum Qad {
    /// Reads and writes over REST.
    Rest(QadClient),
    /// Writes as QDocs through QXtend; reads over REST and browses.
    Qxtend {
        writes: QxtendClient,
        reads: QadClient,
    },
}

impl Qad {
    /// The client every read goes through.
    pub fn reads(&self) -> &QadClient {
        match self {
            Qad::Rest(client) | Qad::Qxtend { reads: client, .. } => client,
        }
    }

    /// The customer code a shopper gets (the same over either transport).
    pub fn customer_code(&self, email: &str, attempt: u32) -> String {
        self.reads().customer_code(email, attempt)
    }

    /// Customers whose email is `email`, compared normalised. Customers added through
    /// QXtend carry no email (QXtend has no email element) and are not found here until
    /// an email is set in QAD; [`Qad::create_customer`] finds them again by their code.
    pub async fn find_customers_by_email(&self, email: &str) -> Result<Vec<CustomerRef>, QadError> {
        self.reads().find_customers_by_email(email).await
    }

    /// Creates the shopper as a customer, safe to call again after a failure or a lost
    /// answer. Over QXtend: `maintainCustomer` A under the shopper's code; a code that
    /// exists under the shopper's name is theirs, under another name the next candidate
    /// code is tried.
    pub async fn create_customer(&self, new: &NewCustomer) -> Result<CustomerRef, QadError> {
        let (writes, reads) = match self {
            Qad::Rest(client) => return client.create_customer(new).await,
            Qad::Qxtend { writes, reads } => (writes, reads),
        };
        self.verify_paths().await?;
        let defaults = &reads.config().customers;
        let email = normalise_email(&new.email);
        for attempt in 0..3 {
            let code = reads.customer_code(&email, attempt);
            let customer = QxtendCustomer::new(&code, new, defaults);
            match writes.add_customer(&customer).await? {
                Added::Ours(_) => {
                    return Ok(CustomerRef {
                        code,
                        shared_set: defaults.shared_set.clone(),
                        email,
                        name: new.name.clone(),
                    });
                }
                Added::Taken => continue,
            }
        }
        Err(QadError::Business(vec![FieldMessage {
            field: "cmAddr".into(),
            message: format!("three candidate codes for {email} are taken by other customers"),
        }]))
    }

    /// One customer by code (over REST: QXtend's G has no email or shared set).
    pub async fn customer_by_code(&self, code: &str) -> Result<Option<CustomerRef>, QadError> {
        self.reads().customer_by_code(code).await
    }

    /// Item master records changed since the cursor, and the cursor to use next time.
    pub async fn items_changed_since(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<ItemChange>, ChangeCursor), QadError> {
        self.reads().items_changed_since(cursor).await
    }

    /// Price list entries changed since the cursor, and the cursor to use next time.
    pub async fn prices_changed_since(
        &self,
        cursor: &ChangeCursor,
    ) -> Result<(Vec<PriceChange>, ChangeCursor), QadError> {
        self.reads().prices_changed_since(cursor).await
    }

    /// One item master record by code, as it stands now.
    pub async fn item(&self, item_code: &str) -> Result<Option<ItemChange>, QadError> {
        self.reads().item(item_code).await
    }

    /// The items whose price in effect changed from `from` to `to` without a change
    /// stamp (a row starting, or one ending).
    pub async fn items_with_prices_turning(
        &self,
        from: time::Date,
        to: time::Date,
    ) -> Result<std::collections::BTreeSet<String>, QadError> {
        self.reads().items_with_prices_turning(from, to).await
    }

    /// Every price list row of an item, with its amount.
    pub async fn prices_of_item(&self, item_code: &str) -> Result<Vec<PriceChange>, QadError> {
        self.reads().prices_of_item(item_code).await
    }

    /// Posts a journal entry once, under its external reference (see
    /// [`QadClient::post_journal`]); over QXtend the attempt is settled by the same REST
    /// lookup.
    pub async fn post_journal(&self, entry: &JournalEntry) -> Result<Posted, QadError> {
        match self {
            Qad::Rest(client) => client.post_journal(entry).await,
            Qad::Qxtend { writes, reads } => {
                self.verify_paths().await?;
                let attempt = writes.submit_journal(entry).await;
                reads.settle_post(entry, attempt).await
            }
        }
    }

    /// The journal entry posted under this external reference, if any.
    pub async fn find_journal(
        &self,
        entity_code: &str,
        external_reference: &str,
    ) -> Result<Option<PostedJournal>, QadError> {
        self.reads()
            .find_journal(entity_code, external_reference)
            .await
    }

    /// Every journal entry whose external reference starts with `prefix`, with its lines.
    pub async fn journals_with_reference_prefix(
        &self,
        entity_code: &str,
        prefix: &str,
    ) -> Result<Vec<PostedJournal>, QadError> {
        self.reads()
            .journals_with_reference_prefix(entity_code, prefix)
            .await
    }

    pub async fn chart_of_accounts(&self, entity_code: &str) -> Result<Vec<GlAccount>, QadError> {
        self.reads().chart_of_accounts(entity_code).await
    }

    pub async fn periods(&self, entity_code: &str) -> Result<Vec<Period>, QadError> {
        self.reads().periods(entity_code).await
    }

    /// What the tenant lacks of what ml-connector uses: over REST every configured path
    /// and method; over QXtend the reads' paths (GET) and `processQdocMessage` in the
    /// endpoint's WSDL.
    pub async fn missing_paths(&self) -> Result<Vec<MissingPath>, QadError> {
        match self {
            Qad::Rest(client) => client.missing_paths().await,
            Qad::Qxtend { writes, reads } => {
                let mut missing = reads.missing_read_paths().await?;
                if !writes.offers_qdoc_service().await? {
                    missing.push(MissingPath {
                        entity: "QXtend QDocs (processQdocMessage)",
                        path: writes.config().url.clone(),
                        method: "POST",
                    });
                }
                Ok(missing)
            }
        }
    }

    /// Fails with everything missing named unless the tenant offers it all; checked once
    /// per client, before the first write.
    pub async fn verify_paths(&self) -> Result<(), QadError> {
        let writes = match self {
            Qad::Rest(client) => return client.verify_paths().await,
            Qad::Qxtend { writes, .. } => writes,
        };
        let mut verified = writes.verified.lock().await;
        if *verified {
            return Ok(());
        }
        refuse_missing(&self.missing_paths().await?, "the tenant does not offer")?;
        *verified = true;
        Ok(())
    }
}
