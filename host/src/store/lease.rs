//! Job leases that are safe across processes.
//!
//! A worker leases jobs under an owner id unique to it ([`owner_id`]: never a pid alone,
//! which every process in a container shares). Each lease carries a fencing token, the
//! job's attempt number, which a new lease of the same job always raises: a worker whose
//! lease ran out and was taken again holds a stale token, and the store refuses its
//! renewal, completion, retry or park. While a job runs, [`holding`] renews its lease
//! every third of its length (the worker renews those of the jobs leased with it that
//! wait their turn), and ends the work when the lease is lost. Before anything
//! irreversible the lease is confirmed: a journal post renews it in the transaction that
//! records the revision first (`Store::begin_revision`); a customer's creation calls
//! [`confirm`], which reads it (renewing it unless more than half is left) and fails if it
//! is no longer held.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;

use super::{Job, Millis, Store, StoreError};

/// One held lease: the job, who holds it, and the fencing token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job: i64,
    pub owner: String,
    /// The job's attempt number when it was leased.
    pub token: u32,
}

impl Lease {
    /// The lease `owner` was given on `job` (as `Store::lease` returned it).
    pub fn of(job: &Job, owner: &str) -> Lease {
        Lease {
            job: job.id,
            owner: owner.to_string(),
            token: job.attempts,
        }
    }
}

/// An owner id for a worker of `role` (`run`, `sync`, `replay`): the role, the process id
/// for people reading `status`, and 64 random bits so that no two workers share one.
pub fn owner_id(role: &str) -> String {
    format!("{role}-{}-{:016x}", std::process::id(), OsRng.next_u64())
}

#[derive(Clone)]
struct Held {
    store: Arc<dyn Store>,
    lease: Lease,
    lease_for: Duration,
}

impl Held {
    async fn renew(&self) -> Result<(), StoreError> {
        self.store
            .hold(&self.lease, self.lease_for.as_millis() as Millis)
            .await
    }
}

tokio::task_local! {
    static HELD: Held;
}

/// Runs `work` while holding `lease`, renewed every third of `lease_for`. When a renewal
/// finds `lease` lost, `work` is dropped where it stands and the error returned.
pub async fn holding<F: Future>(
    store: Arc<dyn Store>,
    lease: Lease,
    lease_for: Duration,
    work: F,
) -> Result<F::Output, StoreError> {
    let held = Held {
        store,
        lease,
        lease_for,
    };
    let renewing = held.clone();
    HELD.scope(held, async move {
        let renewals = async {
            loop {
                tokio::time::sleep(lease_for / 3).await;
                if let Err(error) = renewing.renew().await {
                    return error;
                }
            }
        };
        tokio::select! {
            output = work => Ok(output),
            lost = renewals => Err(lost),
        }
    })
    .await
}

/// The current job's lease and how long a renewal extends it; `None` outside a job.
pub fn current() -> Option<(Lease, Millis)> {
    HELD.try_with(|held| (held.lease.clone(), held.lease_for.as_millis() as Millis))
        .ok()
}

/// Confirms the current job's lease, or fails when it is no longer held: called right
/// before an irreversible step. A lease with more than half its length left is only read
/// (the renewals go on while the step runs); one closer to its end is renewed. Outside a
/// job (a dry run, a command's own call) there is no lease to confirm.
pub async fn confirm() -> Result<(), StoreError> {
    let Ok(held) = HELD.try_with(Held::clone) else {
        return Ok(());
    };
    let half = held.lease_for.as_millis() as Millis / 2;
    if held.store.holds(&held.lease, half).await? {
        return Ok(());
    }
    held.renew().await
}
