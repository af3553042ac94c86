//! Revisions: what is posted for a document is netted against what it should have
//! ([`crate::flows::ledger`]) and only the difference is posted, as the next revision
//! under the reference `<store>:<kind>:<id>:r<n>`. A revision is written to the store
//! before its post and confirmed after it (in a job, in the transaction that ends it).
//!
//! Exactly once when answers are late: a revision whose answer was not seen (a timeout, a
//! cut connection) stays open, and nothing else is posted for the document until it is
//! settled. It is looked up by reference on each attempt; found, it is confirmed (when
//! its lines are the ones meant; otherwise the record parks with both shown); missing, the
//! document waits until `settle_after` has passed since the post began (longer than QAD
//! takes at most to finish a request, so the lookup is then conclusive), and only then is
//! the revision abandoned and posted again.

use serde_json::json;

use super::{OrderFlow, Wanted, date_of};
use crate::flows::jobs::now_millis;
use crate::flows::{FlowError, Outcome, ledger};
use crate::plugins::types::JournalEntry;
use crate::qad::{self, Posted, PostedJournal, QadError};
use crate::store::{Millis, PostedRevision, Revision};

/// A revision ready to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub subject: String,
    pub number: u32,
    pub reference: String,
    /// The revision in the contract's terms (its lines are the difference).
    pub entry: JournalEntry,
    /// The same, as QAD will receive it.
    pub journal: qad::JournalEntry,
}

impl OrderFlow {
    /// Posts the difference between `wanted` and what is posted for the document.
    pub(super) async fn converge(
        &self,
        kind: &str,
        id: u64,
        wanted: Wanted,
    ) -> Result<Outcome, FlowError> {
        let subject = wanted.subject.clone();
        match self.plan(kind, id, wanted).await? {
            Some(plan) => self.post(plan).await,
            None => {
                self.audit(&subject, "unchanged", json!({})).await?;
                Ok(Outcome::Unchanged)
            }
        }
    }

    /// The revision that would bring the document's postings to `wanted`; `None` when
    /// they already agree. An earlier revision whose outcome is unknown is resolved first.
    pub(super) async fn plan(
        &self,
        kind: &str,
        id: u64,
        wanted: Wanted,
    ) -> Result<Option<Plan>, FlowError> {
        let Wanted {
            subject,
            entry: wanted,
            changed_at,
            revisions,
        } = wanted;
        let subject = subject.as_str();
        let mut revisions = match revisions {
            Some(read) => read,
            None => self.store.revisions(&self.connection, subject).await?,
        };
        // A revision begun but not confirmed: its post may or may not have landed.
        if let Some(open) = revisions.last().filter(|r| r.voucher.is_none()).cloned() {
            let reference = &open.external_reference;
            match self
                .ledger
                .find_journal(&self.policy.entity, reference)
                .await?
            {
                Some(found) => {
                    let meant: JournalEntry = serde_json::from_str(&open.entry).map_err(|e| {
                        FlowError::Refused(format!(
                            "the open revision {reference} cannot be read: {e}"
                        ))
                    })?;
                    same_lines(reference, &meant, &found)?;
                    self.store
                        .confirm_revision(&self.connection, subject, open.number, &found.voucher)
                        .await?;
                    self.audit(
                        subject,
                        "resolved",
                        json!({"reference": reference, "voucher": found.voucher}),
                    )
                    .await?;
                }
                None if now_millis() < self.settles_at(open.at) => {
                    self.audit(
                        subject,
                        "unsettled",
                        json!({"reference": reference, "until": self.settles_at(open.at)}),
                    )
                    .await?;
                    return Err(FlowError::Unsettled {
                        reference: reference.clone(),
                        until: self.settles_at(open.at),
                        cause: None,
                    });
                }
                None => {
                    self.store
                        .abandon_revision(&self.connection, subject, open.number)
                        .await?;
                    self.audit(subject, "settled-missing", json!({"reference": reference}))
                        .await?;
                }
            }
            revisions = self.store.revisions(&self.connection, subject).await?;
        }
        let posted: Vec<JournalEntry> = revisions
            .iter()
            .map(|r| serde_json::from_str(&r.entry))
            .collect::<Result<_, _>>()
            .map_err(|e| {
                FlowError::Refused(format!(
                    "a stored revision of {subject} cannot be read: {e}"
                ))
            })?;
        let lines = ledger::difference(wanted.as_ref(), &posted)?;
        if lines.is_empty() {
            return Ok(None);
        }
        let number = revisions.len() as u32 + 1;
        let reference = format!("{}:{kind}:{id}:r{number}", self.store_hash);
        // The header comes from the wanted entry, or (for a reversal) the last posted one.
        let template = wanted
            .clone()
            .or_else(|| posted.last().cloned())
            .ok_or_else(|| FlowError::Refused(format!("{subject}: nothing to post against")))?;
        let effective = if number == 1 {
            template.effective_date.clone()
        } else {
            crate::bigcommerce::wire::to_rfc3339(changed_at)
        };
        let entry = JournalEntry {
            lines,
            effective_date: effective.get(..10).unwrap_or(&effective).to_string(),
            description: if number == 1 {
                template.description.clone()
            } else {
                format!("{} (revision {number})", template.description)
            },
            ..template
        };
        let date = date_of(&entry.effective_date).ok_or_else(|| {
            FlowError::Refused(format!(
                "{subject}: effective date `{}` is not a date",
                entry.effective_date
            ))
        })?;
        let (year, period) = self.period_of(date).await?;
        let journal = self.to_qad(&entry, &reference, date, year, period)?;
        Ok(Some(Plan {
            subject: subject.to_string(),
            number,
            reference,
            entry,
            journal,
        }))
    }

    /// Posts a planned revision: recorded first, confirmed after, abandoned when QAD
    /// refuses it, left open (to be looked up) when the answer was lost.
    pub(super) async fn post(&self, plan: Plan) -> Result<Outcome, FlowError> {
        let Plan {
            subject,
            number,
            reference,
            entry,
            journal,
        } = plan;
        let subject = subject.as_str();
        self.audit(
            subject,
            "posting",
            json!({"reference": reference, "entry": entry}),
        )
        .await?;
        // What led to the post, the revision and a renewal of the lease it is posted
        // under, in one transaction: on disk before the post leaves, and refused to a
        // worker whose lease was taken over (the new holder will post).
        let begun = now_millis();
        let kept = crate::exchanges::take_kept();
        let under = crate::store::lease::current();
        let begin = self
            .store
            .begin_revision(
                &Revision {
                    connection: self.connection.clone(),
                    document: subject.into(),
                    number,
                    external_reference: reference.clone(),
                    entry: serde_json::to_string(&entry).unwrap_or_default(),
                    voucher: None,
                    at: begun,
                },
                under.as_ref().map(|(lease, lease_for)| (lease, *lease_for)),
                &kept,
            )
            .await;
        if let Err(error) = begin {
            crate::exchanges::keep(kept);
            return Err(error.into());
        }
        match self.ledger.post_journal(&journal).await {
            Ok(posted) => {
                if let Posted::Existing(found) = &posted {
                    // Left open if it differs: each attempt finds the same until someone
                    // acts.
                    same_lines(&reference, &entry, found)?;
                }
                let voucher = posted.journal().voucher.clone();
                // Confirmed with the job's end (one transaction less per post), or now
                // outside a job.
                let confirm = crate::exchanges::keep_posted(PostedRevision {
                    connection: self.connection.clone(),
                    document: subject.into(),
                    number,
                    voucher: voucher.clone(),
                });
                if let Some(confirm) = confirm {
                    confirm.confirm_in(self.store.as_ref()).await?;
                }
                let existed = matches!(posted, Posted::Existing(_));
                self.audit(
                    subject,
                    "posted",
                    json!({"reference": reference, "voucher": voucher, "already_there": existed}),
                )
                .await?;
                Ok(Outcome::Posted { reference, voucher })
            }
            Err(error @ (QadError::Ambiguous(_) | QadError::Decode { .. })) => {
                // It may have landed (the answer was lost, or came back unreadable): left
                // open, looked up before anything else is posted for the document.
                self.audit(
                    subject,
                    "post-uncertain",
                    json!({"reference": reference, "error": error.to_string()}),
                )
                .await?;
                Err(FlowError::Unsettled {
                    reference,
                    until: self.settles_at(begun),
                    cause: Some(error),
                })
            }
            Err(error) => {
                // Refused before it was applied, or never sent (a transient failure of a
                // post is one that did not reach QAD): nothing landed.
                self.store
                    .abandon_revision(&self.connection, subject, number)
                    .await?;
                self.audit(
                    subject,
                    "post-refused",
                    json!({"reference": reference, "error": error.to_string()}),
                )
                .await?;
                Err(error.into())
            }
        }
    }
}

impl OrderFlow {
    /// When the lookup of a post begun at `begun` becomes conclusive.
    fn settles_at(&self, begun: Millis) -> Millis {
        begun.saturating_add(Millis::try_from(self.settle_after.as_millis()).unwrap_or(Millis::MAX))
    }
}

/// A net as text: `USD 4000/sub/centre 25.00` per non-zero position (debit positive).
fn net_text(net: &ledger::Net) -> String {
    let shown: Vec<String> = net
        .iter()
        .filter(|(_, amount)| **amount != 0)
        .map(|((currency, account, sub, centre), amount)| {
            let amount = ledger::amount_text(*amount);
            format!("{currency} {account}/{sub}/{centre} {amount}")
        })
        .collect();
    shown.join(", ")
}

/// Refuses an entry QAD holds under `reference` whose lines are not the `meant` ones. An
/// entry read back without lines (a tenant whose answer leaves them out) is taken as it
/// is: there is nothing to compare.
fn same_lines(
    reference: &str,
    meant: &JournalEntry,
    found: &PostedJournal,
) -> Result<(), FlowError> {
    if found.lines.is_empty() {
        return Ok(());
    }
    let nonzero = |mut net: ledger::Net| {
        net.retain(|_, amount| *amount != 0);
        net
    };
    let meant = nonzero(ledger::net_of(meant));
    let held = nonzero(ledger::net_posted(std::slice::from_ref(found)));
    if meant == held {
        return Ok(());
    }
    Err(FlowError::NotAsMeant {
        reference: reference.to_string(),
        in_qad: net_text(&held),
        meant: net_text(&meant),
    })
}
