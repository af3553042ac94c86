//! What a flow's step can end in: [`FlowError`] keeps the failure it came from, and
//! [`FlowError::is_transient`] is the one place that decides whether trying the job
//! again later can help. [`Outcome`] is what a job did when it succeeded.

use crate::bigcommerce::ClientError;
use crate::qad::QadError;
use crate::store::{Millis, StoreError};

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("BigCommerce: {0}")]
    BigCommerce(#[from] ClientError),
    #[error(transparent)]
    Qad(#[from] QadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The thread a plugin ran on failed (it panicked, or the runtime is stopping).
    #[error("plugin worker: {0}")]
    PluginWorker(#[from] tokio::task::JoinError),
    /// The plugin refused the record (a mapping error, a trap, a limit).
    #[error("{0}")]
    Mapping(#[from] crate::plugins::RecordError),
    /// The plugin an operator named to map the record with cannot be used.
    #[error("the plugin named for this record: {0}")]
    OtherPlugin(#[from] crate::plugins::OpenError),
    /// A record has no form in the contract's terms (amounts beyond what an amount
    /// holds, tenders its fields and transactions disagree on).
    #[error(transparent)]
    Unconvertible(#[from] super::convert::Unconvertible),
    /// What is posted and what is wanted differ by lines that cannot be posted.
    #[error(transparent)]
    Difference(#[from] super::ledger::DifferenceError),
    /// A QAD price row of the item cannot be read.
    #[error(transparent)]
    UnreadableItem(#[from] super::catalog::UnreadableRow),
    /// A post whose answer was not seen and that QAD does not show (yet): it may still
    /// land, so it is looked up again, and posted again only if it is still missing at
    /// `until` (when the lookup is conclusive). `cause` is why the answer was not seen,
    /// when this attempt made the post.
    #[error(
        "the post of {reference} was not answered and is not in QAD yet; it is looked up again, and posted again only if still missing at {}",
        crate::store::millis_text(*.until)
    )]
    Unsettled {
        reference: String,
        until: Millis,
        #[source]
        cause: Option<QadError>,
    },
    /// QAD holds an entry under the revision's reference whose lines are not the ones the
    /// revision meant (a journal entered by hand, or by another system, under it).
    #[error(
        "QAD holds {reference} with other lines than the revision meant; in QAD: {in_qad}; meant: {meant}"
    )]
    NotAsMeant {
        reference: String,
        in_qad: String,
        meant: String,
    },
    /// Trying again will not help until someone changes something: the record, the
    /// plugin, the configuration or the stored state (the reason says which).
    #[error("{0}")]
    Refused(String),
}

impl FlowError {
    /// When the job must be tried again no later than, however its attempts went: an
    /// unsettled post waits for its lookup to become conclusive, and is not parked for
    /// the attempts this takes.
    pub fn settles_at(&self) -> Option<Millis> {
        match self {
            FlowError::Unsettled { until, .. } => Some(*until),
            _ => None,
        }
    }

    /// Whether trying again later can help: a 5xx, a timeout, a lost answer, the quota, a
    /// store that is busy. A business refusal, a mapping error, bad credentials or a
    /// closed period wait for someone to change something.
    pub fn is_transient(&self) -> bool {
        match self {
            FlowError::BigCommerce(error) => error.is_retryable(),
            FlowError::Qad(error) => error.is_retryable(),
            FlowError::Store(_) | FlowError::PluginWorker(_) | FlowError::Unsettled { .. } => true,
            FlowError::Mapping(_)
            | FlowError::OtherPlugin(_)
            | FlowError::NotAsMeant { .. }
            | FlowError::Unconvertible(_)
            | FlowError::Difference(_)
            | FlowError::UnreadableItem(_)
            | FlowError::Refused(_) => false,
        }
    }
}

/// What processing a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A revision was posted (or found already posted) under this voucher.
    Posted { reference: String, voucher: String },
    /// A catalog update went out to this product or variant (the catalog flow).
    Sent { target: String },
    /// The ledger already matched the document (or the catalog the item).
    Unchanged,
    /// The shopper's QAD customer (found or created).
    Customer { code: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_decision_follows_the_cause() {
        assert!(FlowError::Qad(QadError::Transient("503".into())).is_transient());
        assert!(!FlowError::Qad(QadError::Business(Vec::new())).is_transient());
        assert!(!FlowError::Refused("closed".into()).is_transient());
        assert!(FlowError::Store(StoreError::NoJob(1)).is_transient());
        // The cause stays reachable.
        let error = FlowError::Qad(QadError::Permission("no role".into()));
        assert_eq!(
            error.to_string(),
            "QAD denied access: no role (check the user's roles and the workspace)"
        );
    }
}
