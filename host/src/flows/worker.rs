//! Runs one connection's queued jobs: orders, refunds and shoppers through its
//! [`OrderFlow`], catalog items through its [`CatalogFlow`].
//!
//! A worker leases its connection's jobs (and only those) from the store in batches, runs
//! each through the connection's [`OrderFlow`] while holding the lease (renewed as it
//! runs; see [`crate::store::lease`]), several at once ([`Worker::in_flight`]; a batch
//! never holds two jobs of one document), and ends the lease: done; a transient failure
//! back in line after an exponential backoff with jitter; a permanent one parked with its
//! reason (visible, replayable). A job that keeps failing transiently is parked after
//! `max_attempts`. A worker whose lease was lost (it ran out and another worker took the
//! job) stops the job and leaves it to the new holder. Jobs of one order (the order and its
//! refunds) never run at the same time, and run oldest first (the store sees to it).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use super::catalog::CatalogFlow;
use super::jobs::{JobInput, now_millis};
use super::orders::OrderFlow;
use super::{FlowError, Outcome};
use crate::exchanges;
use crate::metrics;
use crate::store::{AuditEntry, Job, JobEnd, Lease, Millis, StoreError, lease};

/// Counts of what a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunStats {
    pub posted: u64,
    pub unchanged: u64,
    /// Shoppers matched to or created as QAD customers.
    pub customers: u64,
    pub retried: u64,
    pub parked: u64,
}

/// A worker's jobs in flight at once, unless set otherwise ([`Worker::in_flight`]).
pub const IN_FLIGHT: usize = 8;

impl RunStats {
    /// Adds what another run did.
    pub fn add(&mut self, other: &RunStats) {
        self.posted += other.posted;
        self.unchanged += other.unchanged;
        self.customers += other.customers;
        self.retried += other.retried;
        self.parked += other.parked;
    }
}

/// Runs one connection's jobs.
pub struct Worker {
    pub flow: Arc<OrderFlow>,
    /// Runs `catalog` jobs (items parked by a catalog poll, replayed); `None` parks them.
    pub catalog: Option<Arc<CatalogFlow>>,
    /// Unique to this worker ([`crate::store::owner_id`]).
    pub owner: String,
    /// How long a lease lasts unless renewed; renewed every third of it while its job
    /// runs, so a stopped process's jobs are taken again after at most this long.
    pub lease_for: Duration,
    /// The first retry's delay; it doubles per attempt (with up to 20% jitter), capped at
    /// ten minutes.
    pub backoff: Duration,
    pub max_attempts: u32,
    /// Jobs leased at a time.
    pub batch: usize,
    /// Jobs of a batch run at once (each of another document): their waits on
    /// BigCommerce, the plugin, QAD and the store overlap, and the store commits their
    /// writes together. It bounds the requests in flight to QAD per connection too.
    pub in_flight: usize,
}

impl Worker {
    /// A worker of `flow`'s connection, with an owner id unique to it for `role`
    /// (`run`, `sync`, `replay`).
    pub fn new(flow: Arc<OrderFlow>, role: &str) -> Worker {
        Worker {
            flow,
            catalog: None,
            owner: crate::store::owner_id(role),
            lease_for: Duration::from_secs(30),
            backoff: Duration::from_secs(2),
            max_attempts: 12,
            batch: 16,
            in_flight: IN_FLIGHT,
        }
    }

    fn retry_delay(&self, attempts: u32) -> Duration {
        let base = self
            .backoff
            .saturating_mul(1 << attempts.saturating_sub(1).min(16))
            .min(Duration::from_secs(600));
        // Up to a fifth more, so jobs that failed together do not come back together.
        let spread = u64::try_from((base / 5).as_nanos()).unwrap_or(u64::MAX);
        let noise = u64::from(OffsetDateTime::now_utc().nanosecond()) % 1_000;
        base + Duration::from_nanos(spread / 1_000 * noise)
    }

    /// Leases and runs one batch of the connection's jobs, up to [`Worker::in_flight`] at
    /// once; returns how many it leased. The batch holds one job per document (the store
    /// sees to it), so jobs that run at once never share a document. Every job runs to its
    /// end even when another fails; the first store failure is returned after.
    pub async fn run_batch(&self, stats: &mut RunStats) -> Result<usize, StoreError> {
        self.run_refilling(stats, || false).await
    }

    /// [`Self::run_batch`], and while `more()` says so, leases more jobs whenever half of
    /// [`Worker::in_flight`] is free, so slots do not wait for a batch's slowest job; it
    /// ends when a lease finds nothing or `more()` says no, once the jobs in hand have
    /// ended. A lease never hands out a job of a document whose job is leased, so the jobs
    /// leased here and those running never share a document either.
    pub async fn run_refilling(
        &self,
        stats: &mut RunStats,
        more: impl Fn() -> bool,
    ) -> Result<usize, StoreError> {
        let store = self.flow.store.clone();
        let lease_for = self.lease_for.as_millis() as Millis;
        let in_flight = self.in_flight.max(1);
        let jobs = store
            .lease(&self.flow.connection, &self.owner, self.batch, lease_for)
            .await?;
        let mut leased = jobs.len();
        let leased_at = tokio::time::Instant::now();
        let leases: Vec<Lease> = jobs.iter().map(|j| Lease::of(j, &self.owner)).collect();
        // How many of the first lease's jobs have started; the leases of the others are
        // kept below.
        let started = AtomicUsize::new(0);
        let mut failed = None;
        // Each job's end counted as it comes (a refilling run may work a whole backlog).
        let mut ended = |result: Result<RunStats, StoreError>| match result {
            Ok(job) => stats.add(&job),
            Err(StoreError::LeaseLost(id)) => {
                tracing::warn!(job = id, owner = %self.owner, "lease lost: another worker has the job now; left to it");
            }
            Err(other) => {
                failed.get_or_insert(other);
            }
        };
        let runs = async {
            let mut next: std::collections::VecDeque<_> = jobs
                .iter()
                .cloned()
                .zip(leases.iter().cloned())
                .map(|(job, held)| (job, held, leased_at))
                .collect();
            let mut running = FuturesUnordered::new();
            let mut refilling = !jobs.is_empty();
            let mut refill = None;
            loop {
                while running.len() < in_flight {
                    let Some((job, held, at)) = next.pop_front() else {
                        break;
                    };
                    // Past the first lease's jobs it counts on harmlessly: the refills'
                    // jobs start as soon as they are leased.
                    started.fetch_add(1, Ordering::Relaxed);
                    running.push(async move { self.run_leased(&job, &held, at).await });
                }
                let free = in_flight - running.len();
                refilling &= more();
                if refilling && refill.is_none() && next.is_empty() && free * 2 >= in_flight {
                    let store = store.clone();
                    refill = Some(Box::pin(async move {
                        let jobs = store
                            .lease(&self.flow.connection, &self.owner, free, lease_for)
                            .await;
                        (jobs, tokio::time::Instant::now())
                    }));
                }
                tokio::select! {
                    Some(result) = running.next(), if !running.is_empty() => ended(result),
                    (more_jobs, at) = async { refill.as_mut().expect("a refill").await }, if refill.is_some() => {
                        refill = None;
                        match more_jobs {
                            Ok(more_jobs) if !more_jobs.is_empty() => {
                                leased += more_jobs.len();
                                next.extend(more_jobs.into_iter().map(|job| {
                                    let held = Lease::of(&job, &self.owner);
                                    (job, held, at)
                                }));
                            }
                            Ok(_) => refilling = false,
                            Err(error) => {
                                refilling = false;
                                ended(Err(error));
                            }
                        }
                    }
                    else => return,
                }
            }
        };
        let keeping = async {
            loop {
                tokio::time::sleep(self.lease_for / 3).await;
                let waiting = leases.get(started.load(Ordering::Relaxed)..).unwrap_or(&[]);
                for lease in waiting {
                    // One that is lost is found when its turn comes.
                    let _ = store.hold(lease, lease_for).await;
                }
            }
        };
        tokio::select! {
            () = runs => {}
            never = keeping => match never {},
        }
        failed.map_or(Ok(leased), Err)
    }

    /// Runs `job` of a batch leased at `leased_at`, once its lease is confirmed: a job
    /// leased with earlier ones may have been taken meanwhile, once its lease could have
    /// run out (the leases of waiting jobs are renewed while earlier ones run, so before a
    /// third of a lease nothing can have).
    async fn run_leased(
        &self,
        job: &Job,
        held: &Lease,
        leased_at: tokio::time::Instant,
    ) -> Result<RunStats, StoreError> {
        if leased_at.elapsed() >= self.lease_for / 3 {
            let lease_for = self.lease_for.as_millis() as Millis;
            self.flow.store.hold(held, lease_for).await?;
        }
        metrics::global()
            .timed(metrics::Spent::Job, self.run_job(job, held))
            .await
    }

    /// Frees the leases this worker holds (jobs it leased but did not start).
    pub async fn release(&self) -> Result<u64, StoreError> {
        self.flow.store.release(&self.owner).await
    }

    /// Runs `job` under its lease `held`; what it did, counted.
    async fn run_job(&self, job: &Job, held: &Lease) -> Result<RunStats, StoreError> {
        let mut stats = RunStats::default();
        let store = &self.flow.store;
        if job.connection != self.flow.connection {
            // The store leases only this connection's jobs; were one handed over anyway,
            // running it would use this connection's credentials, plugin and ledger.
            let reason = format!(
                "a worker of connection `{}` was given a job of `{}`; not run",
                self.flow.connection, job.connection
            );
            tracing::error!(job = job.id, %reason);
            let end = JobEnd::Retry {
                error: reason,
                at: now_millis(),
            };
            return store.end_job(held, &end, &[]).await.map(|_| stats);
        }
        let input = serde_json::from_str::<JobInput>(&job.payload);
        let listed = input.as_ref().ok().and_then(|i| i.listing_for(job));
        // The order is read after this (or was, by the poll that listed it): jobs of the
        // same order queued before then are covered by what this one posts.
        let read_at = listed.map_or_else(now_millis, |l| l.read_at.min(now_millis()));
        // The job's audit entries are written together: with the revision recorded before
        // a post leaves, and here with the job's end.
        let work = exchanges::capture_batched(async {
            if job.kind == super::catalog::JOB_KIND || job.kind == super::catalog::PRODUCT_JOB_KIND
            {
                let Some(catalog) = &self.catalog else {
                    return Err(FlowError::Refused(
                        "this worker has no catalog flow for the connection".into(),
                    ));
                };
                return if job.kind == super::catalog::JOB_KIND {
                    catalog.run_job(job).await
                } else {
                    catalog.run_product_job(job).await
                };
            }
            match &input {
                Err(error) => Err(FlowError::Refused(format!(
                    "the job's input cannot be read: {error}"
                ))),
                Ok(input) => {
                    // A replay that named another plugin version maps with it.
                    let other = match &input.plugin {
                        Some(name) => Some(self.flow.with_plugin_named(name).await?),
                        None => None,
                    };
                    let flow = other.as_ref().unwrap_or(self.flow.as_ref());
                    match (job.kind.as_str(), input.refund_id, input.customer_id) {
                        ("order", _, _) => flow.process_order(input.order_id, listed).await,
                        ("refund", Some(refund), _) => {
                            flow.process_refund(input.order_id, refund, listed).await
                        }
                        ("customer", _, Some(customer)) => flow.process_customer(customer).await,
                        (kind, _, _) => {
                            Err(FlowError::Refused(format!("unknown job kind `{kind}`")))
                        }
                    }
                }
            }
        });
        let (outcome, kept, unwritten) =
            lease::holding(store.clone(), held.clone(), self.lease_for, work).await?;
        let exchanges::Kept {
            audit: mut kept,
            mut posted,
        } = kept;
        // The requests made after the flow's last entry (a failed post, say) go with
        // the record they were made for.
        let record = input
            .as_ref()
            .map_or_else(|_| job.document.clone(), |input| input.record(job));
        kept.extend(exchanges::entries(&job.connection, &record, unwritten));
        let metrics = metrics::global();
        let entry = |kind: &str, data: serde_json::Value| AuditEntry {
            connection: job.connection.clone(),
            subject: format!("job:{}", job.id),
            kind: kind.into(),
            data: data.to_string(),
        };
        let end = match outcome {
            Ok(outcome) => {
                let (count, counter) = match &outcome {
                    Outcome::Posted { .. } | Outcome::Sent { .. } => {
                        (&mut stats.posted, &metrics.jobs_posted)
                    }
                    Outcome::Unchanged => (&mut stats.unchanged, &metrics.jobs_unchanged),
                    Outcome::Customer { .. } => (&mut stats.customers, &metrics.customers_matched),
                };
                *count += 1;
                counter.inc();
                // An order's job also ends the jobs of the order queued before its read,
                // and a product's check those of the product.
                let covering = (job.kind == "order"
                    || job.kind == super::catalog::PRODUCT_JOB_KIND)
                    .then_some(read_at);
                kept.push(entry(
                    "done",
                    json!({
                        "document": job.document,
                        "outcome": format!("{outcome:?}"),
                        "covering_read_at": covering,
                    }),
                ));
                JobEnd::Done {
                    covering,
                    posted: posted.take(),
                }
            }
            Err(error)
                if error.settles_at().is_some()
                    || (error.is_transient() && job.attempts < self.max_attempts) =>
            {
                let reason = error.to_string();
                stats.retried += 1;
                metrics.jobs_retried.inc();
                let mut at = now_millis() + self.retry_delay(job.attempts).as_millis() as Millis;
                // An unsettled post is looked up again on the usual backoff, and at the
                // latest when the lookup becomes conclusive.
                if let Some(settles) = error.settles_at() {
                    at = at.min(settles);
                }
                kept.push(entry(
                    "retry",
                    json!({"document": job.document, "attempt": job.attempts, "reason": reason}),
                ));
                JobEnd::Retry { error: reason, at }
            }
            Err(error) => {
                stats.parked += 1;
                metrics.jobs_parked.inc();
                let reason = if error.is_transient() {
                    format!("gave up after {} attempts: {error}", job.attempts)
                } else {
                    error.to_string()
                };
                tracing::warn!(job = job.id, document = %job.document, %reason, "parked");
                kept.push(entry(
                    "parked",
                    json!({"document": job.document, "reason": reason}),
                ));
                JobEnd::Park { reason }
            }
        };
        // A revision posted by a job that then failed (none does today) is confirmed on
        // its own.
        if let Some(posted) = posted.take() {
            posted.confirm_in(store.as_ref()).await?;
        }
        // The job's audit entries, the revision it posted and its end in one transaction:
        // on disk before it is done. A worker whose lease was taken over still writes
        // what it did.
        match store.end_job(held, &end, &kept).await {
            Ok(_) => Ok(stats),
            Err(StoreError::LeaseLost(id)) => {
                kept.pop();
                store.audit_batch(&kept).await?;
                if let JobEnd::Done {
                    posted: Some(posted),
                    ..
                } = &end
                {
                    // Else the new holder finds it in QAD by its reference.
                    if let Err(error) = posted.confirm_in(store.as_ref()).await {
                        tracing::warn!(job = job.id, %error, "a posted revision is left open");
                    }
                }
                Err(StoreError::LeaseLost(id))
            }
            Err(other) => Err(other),
        }
    }

    /// How long until the next of the connection's jobs waiting for a retry falls due
    /// (zero when it is overdue); `None` when none is waiting.
    pub async fn next_retry_in(&self) -> Result<Option<Duration>, StoreError> {
        Ok(self
            .flow
            .store
            .next_retry_at(&self.flow.connection)
            .await?
            .map(|due| Duration::from_millis(u64::try_from(due - now_millis()).unwrap_or(0))))
    }

    /// Runs jobs until nothing can run: no job is runnable now and none is waiting for a
    /// retry due within `patience` (jobs behind a parked job of their document wait for
    /// the operator, not for time). Slots are refilled as they free
    /// ([`Self::run_refilling`]), not batch by batch.
    pub async fn drain(&self, patience: Duration) -> Result<RunStats, StoreError> {
        let mut stats = RunStats::default();
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if self.run_refilling(&mut stats, || true).await? > 0 {
                continue;
            }
            let Some(wait) = self.next_retry_in().await? else {
                // A retry may have fallen due between the lease and this look (it counts
                // only retries still to come): one more lease settles it.
                if self.run_batch(&mut stats).await? > 0 {
                    continue;
                }
                return Ok(stats);
            };
            if tokio::time::Instant::now() + wait > deadline {
                return Ok(stats);
            }
            tokio::time::sleep(wait.max(Duration::from_millis(5))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::jobs::order_job;
    use crate::flows::testing::{Rig, order, rig};
    use crate::store::JobState;

    fn worker(rig: &Rig) -> Worker {
        let mut worker = Worker::new(rig.flow.clone(), "test");
        worker.backoff = Duration::from_millis(1);
        worker
    }

    /// Order `id` of `email` in the shop, and its job queued.
    async fn queue_order(rig: &Rig, id: u64, email: &str) {
        rig.shop.put(order(id, 0, email, 1, 11));
        rig.flow
            .store
            .enqueue(&order_job("main", id, "v1", "test", None))
            .await
            .unwrap();
    }

    async fn in_state(rig: &Rig, state: JobState) -> Vec<Job> {
        rig.flow.store.jobs_in(state, 100).await.unwrap()
    }

    #[tokio::test]
    async fn a_job_that_names_another_plugin_is_mapped_by_it_or_parked_saying_why() {
        let rig = rig();
        let store = &rig.flow.store;
        for (id, plugin) in [(1, "order-to-gl"), (2, "item-to-catalog"), (3, "no-such")] {
            rig.shop.put(order(id, 0, "", 1, 11));
            let mut job = order_job("main", id, "v1", "replay", None);
            let mut input: serde_json::Value = serde_json::from_str(&job.payload).unwrap();
            input["plugin"] = plugin.into();
            job.payload = input.to_string();
            store.enqueue(&job).await.unwrap();
        }
        worker(&rig).drain(Duration::from_secs(5)).await.unwrap();
        let done = in_state(&rig, JobState::Done).await;
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].document, "order:1");
        let mapped = store.audit_for("order:1").await.unwrap();
        let mapped = mapped.iter().find(|e| e.entry.kind == "mapped").unwrap();
        assert!(mapped.entry.data.contains(r#""name":"order-to-gl""#));
        let mut parked = in_state(&rig, JobState::Parked).await;
        parked.sort_by_key(|job| job.id);
        let reasons: Vec<String> = parked
            .iter()
            .map(|job| job.last_error.clone().unwrap_or_default())
            .collect();
        assert!(
            reasons[0].contains("plugin `item-to-catalog` maps item-to-catalog, not order-to-gl"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].contains("no plugin named `no-such`"),
            "{reasons:?}"
        );
        assert_eq!(
            rig.books.journals.lock().unwrap().len(),
            1,
            "only the first is posted"
        );
    }

    #[tokio::test]
    async fn a_batch_runs_its_documents_at_once_and_a_new_shopper_is_created_once() {
        use std::sync::atomic::Ordering::SeqCst;
        let rig = rig();
        *rig.books.post_takes.lock().unwrap() = Duration::from_millis(50);
        // Six orders, two of them by one new guest.
        for id in 1..=6 {
            let email = if id <= 2 {
                "twice@example.com".to_string()
            } else {
                format!("shopper{id}@example.com")
            };
            queue_order(&rig, id, &email).await;
        }
        let mut worker = worker(&rig);
        worker.in_flight = 4;
        let stats = worker.drain(Duration::from_secs(5)).await.unwrap();
        assert_eq!((stats.posted, stats.parked, stats.retried), (6, 0, 0));
        assert_eq!(in_state(&rig, JobState::Done).await.len(), 6);
        let most = rig.books.most_posting.load(SeqCst);
        assert!(
            (2..=4).contains(&most),
            "{most} posts at once, of at most 4"
        );
        let created: Vec<String> = rig
            .books
            .created
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.email.clone())
            .collect();
        assert_eq!(
            created.iter().filter(|e| *e == "twice@example.com").count(),
            1,
            "{created:?}"
        );
        assert_eq!(created.len(), 5, "{created:?}");
    }

    #[tokio::test]
    async fn a_refilling_run_leases_more_as_slots_free_until_told_to_stop() {
        use std::sync::atomic::Ordering::SeqCst;
        let rig = rig();
        *rig.books.post_takes.lock().unwrap() = Duration::from_millis(20);
        for id in 1..=12 {
            queue_order(&rig, id, "").await;
        }
        let mut worker = worker(&rig);
        (worker.in_flight, worker.batch) = (4, 4);
        // Told to stop at once: one lease, as a batch.
        let mut stats = RunStats::default();
        let leased = worker.run_refilling(&mut stats, || false).await.unwrap();
        assert_eq!((leased, stats.posted), (4, 4));
        // Else it leases as slots free, never more than four running, until none is left.
        let mut stats = RunStats::default();
        let leased = worker.run_refilling(&mut stats, || true).await.unwrap();
        assert_eq!((leased, stats.posted), (8, 8));
        assert_eq!(in_state(&rig, JobState::Done).await.len(), 12);
        let most = rig.books.most_posting.load(SeqCst);
        assert!(
            (2..=4).contains(&most),
            "{most} posts at once, of at most 4"
        );
    }

    #[tokio::test]
    async fn a_posted_job_is_done_and_a_refused_one_parked_with_its_reason() {
        let rig = rig();
        rig.shop.put(order(1, 0, "", 1, 11));
        rig.shop.put(order(2, 0, "", 1, 11));
        let store = &rig.flow.store;
        store
            .enqueue(&order_job("main", 1, "v1", "test", None))
            .await
            .unwrap();
        let mut stats = RunStats::default();
        worker(&rig).drain(Duration::from_secs(5)).await.unwrap();
        assert_eq!(in_state(&rig, JobState::Done).await.len(), 1);
        // Its revision was confirmed with its end.
        let revisions = store.revisions("main", "order:1").await.unwrap();
        assert!(revisions[0].voucher.is_some(), "{revisions:?}");

        *rig.books.refuse_next.lock().unwrap() = true;
        store
            .enqueue(&order_job("main", 2, "v1", "test", None))
            .await
            .unwrap();
        worker(&rig).run_batch(&mut stats).await.unwrap();
        assert_eq!((stats.posted, stats.parked), (0, 1));
        let parked = in_state(&rig, JobState::Parked).await;
        assert_eq!(parked.len(), 1);
        let reason = parked[0].last_error.clone().unwrap_or_default();
        assert!(reason.contains("the period is closed"), "{reason}");
        assert_eq!(rig.books.references(), ["shop1:order:1:r1"]);
    }

    #[tokio::test]
    async fn a_lost_answer_is_retried_and_settled_without_a_second_post() {
        let rig = rig();
        rig.shop.put(order(3, 0, "", 1, 11));
        *rig.books.lose_next_answer.lock().unwrap() = true;
        rig.flow
            .store
            .enqueue(&order_job("main", 3, "v1", "test", None))
            .await
            .unwrap();
        let stats = worker(&rig).drain(Duration::from_secs(5)).await.unwrap();
        assert_eq!((stats.retried, stats.unchanged, stats.parked), (1, 1, 0));
        assert_eq!(in_state(&rig, JobState::Done).await.len(), 1);
        assert_eq!(rig.books.references(), ["shop1:order:3:r1"]);
    }

    #[tokio::test]
    async fn a_post_whose_job_never_ended_is_found_in_qad_and_not_posted_again() {
        let rig = rig();
        let store = &rig.flow.store;
        rig.shop.put(order(5, 0, "", 1, 11));
        // A job posts, and its process dies before the transaction that ends it (and
        // confirms the revision) is written.
        let (outcome, kept, _) = exchanges::capture_batched(rig.flow.process_order(5, None)).await;
        assert!(matches!(outcome, Ok(Outcome::Posted { .. })), "{outcome:?}");
        assert!(kept.posted.is_some());
        assert_eq!(
            store.revisions("main", "order:5").await.unwrap()[0].voucher,
            None
        );
        store
            .enqueue(&order_job("main", 5, "v1", "test", None))
            .await
            .unwrap();
        let stats = worker(&rig).drain(Duration::from_secs(5)).await.unwrap();
        assert_eq!((stats.unchanged, stats.parked), (1, 0));
        assert_eq!(rig.books.references(), ["shop1:order:5:r1"]);
        let revisions = store.revisions("main", "order:5").await.unwrap();
        assert!(revisions[0].voucher.is_some(), "{revisions:?}");
        let trail = store.audit_for("order:5").await.unwrap();
        assert!(
            trail.iter().any(|e| e.entry.kind == "resolved"),
            "{trail:?}"
        );
    }

    #[tokio::test]
    async fn a_job_that_keeps_failing_is_parked_after_its_attempts() {
        let rig = rig();
        rig.shop.put(order(4, 0, "", 1, 11));
        *rig.books.unavailable_next.lock().unwrap() = true;
        rig.flow
            .store
            .enqueue(&order_job("main", 4, "v1", "test", None))
            .await
            .unwrap();
        let mut worker = worker(&rig);
        worker.max_attempts = 1;
        let stats = worker.drain(Duration::from_secs(5)).await.unwrap();
        assert_eq!((stats.retried, stats.parked), (0, 1));
        let parked = in_state(&rig, JobState::Parked).await;
        let reason = parked[0].last_error.clone().unwrap_or_default();
        assert!(reason.starts_with("gave up after 1 attempts"), "{reason}");
    }

    #[tokio::test]
    async fn an_unsettled_post_waits_without_being_parked_for_its_attempts() {
        let rig = crate::flows::testing::rig_settling_after(Duration::ZERO);
        rig.shop.put(order(6, 0, "", 1, 11));
        *rig.books.swallow_next.lock().unwrap() = true;
        rig.flow
            .store
            .enqueue(&order_job("main", 6, "v1", "test", None))
            .await
            .unwrap();
        let mut worker = worker(&rig);
        worker.max_attempts = 1;
        let stats = worker.drain(Duration::from_secs(5)).await.unwrap();
        assert_eq!((stats.retried, stats.posted, stats.parked), (1, 1, 0));
        assert_eq!(rig.books.references(), ["shop1:order:6:r1"]);
    }

    #[tokio::test]
    async fn a_worker_leases_only_its_own_connections_jobs() {
        let rig = rig();
        rig.shop.put(order(5, 0, "", 1, 11));
        rig.flow
            .store
            .enqueue(&order_job("other", 5, "v1", "test", None))
            .await
            .unwrap();
        let mut stats = RunStats::default();
        assert_eq!(worker(&rig).run_batch(&mut stats).await.unwrap(), 0);
        assert!(rig.books.references().is_empty());
        assert_eq!(in_state(&rig, JobState::Ready).await.len(), 1);
    }
}
