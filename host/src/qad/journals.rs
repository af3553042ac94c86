//! Journal entries over REST: post one under its external reference, settle a post
//! attempt over either transport (a lost answer or an "already exists" refusal is
//! resolved by looking the reference up, so nothing is posted twice), and read entries
//! back by reference or by reference prefix (a document's revisions, with their lines).

use reqwest::Method;
use serde_json::{Value, json};

use super::browse;
use super::client::{QadClient, records, view};
use super::error::QadError;
use super::model::{JournalEntry, Posted, PostedJournal, decimal};

impl QadClient {
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
            .call::<Value>(Method::POST, &entity.path, &[view(entity)], Some(&body))
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
        // The post may have landed: a lookup that fails leaves that open (ambiguous), never
        // reported as a post that did not reach QAD.
        let unsettled = |lookup: QadError, why: &str| {
            QadError::Ambiguous(
                format!("{why}, and the lookup of its reference failed: {lookup}").into(),
            )
        };
        match attempt {
            Ok(Some(journal)) => Ok(Posted::New(journal)),
            Ok(None) => match self
                .find_journal(&entry.entity, &entry.external_reference)
                .await
            {
                Ok(Some(journal)) => Ok(Posted::New(journal)),
                Ok(None) => Err(QadError::decode(
                    &self.config.paths.journals.path,
                    "QAD accepted the entry but returned no voucher",
                )),
                Err(lookup) => Err(unsettled(
                    lookup,
                    "QAD accepted the entry without its voucher",
                )),
            },
            Err(error @ (QadError::Ambiguous(_) | QadError::Business(_))) => {
                let duplicate = error.mentions("already exist");
                if !duplicate && matches!(error, QadError::Business(_)) {
                    return Err(error);
                }
                match self
                    .find_journal(&entry.entity, &entry.external_reference)
                    .await
                {
                    Ok(Some(journal)) => Ok(Posted::Existing(journal)),
                    Ok(None) => Err(error),
                    Err(lookup) => Err(unsettled(lookup, &error.to_string())),
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
            view(entity),
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
            view(entity),
        ];
        let answer = self
            .call::<Value>(Method::GET, &entity.path, &query, None)
            .await?;
        // Each entry is decoded from its text, so the amounts stay exact.
        let raw: Vec<Box<serde_json::value::RawValue>> = records(answer, entity)?;
        let mut found = Vec::new();
        for entry in raw {
            let journal: PostedJournal = serde_json::from_str(entry.get())
                .map_err(|error| QadError::undecodable(&entity.path, error))?;
            if journal.external_reference.starts_with(prefix) {
                found.push(journal);
            }
        }
        Ok(found)
    }
}
