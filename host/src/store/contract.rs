//! The promises every [`Store`] keeps, as checks that run against any backend: the queue
//! (deduplication, per-document order, leases per connection and owner, fencing, retries,
//! parking, covering), webhook intake, cursors, id maps, revisions and the audit chain.
//!
//! Each check is an async function taking a fresh, empty store and the [`TestClock`] it was
//! opened with. A backend's tests run them all, each as a `#[tokio::test]`, with
//! [`store_contract_tests!`], given an async closure that opens such a store:
//! `store_contract_tests!(async |clock: Clock| (SqliteStore::open_with_clock(..), guard))`,
//! where the guard (a temporary directory, a schema to drop) lives as long as the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use super::chain::chain_hash;
use super::{
    AuditEntry, AuditRecord, ByHand, Clock, CursorMove, Enqueued, IncomingWebhook, Intake, JobEnd,
    JobState, Lease, Millis, NewJob, ParkedFilter, PostedRevision, QueueDepth, Revision,
    ScheduleClaim, SessionsOf, Store, StoreError, WEBHOOK_RETENTION,
};

/// When every check starts.
pub const START: Millis = 1_000_000;

/// A store's clock that a check sets by hand.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl Default for TestClock {
    fn default() -> Self {
        TestClock(Arc::new(AtomicI64::new(START)))
    }
}

impl TestClock {
    /// The [`Clock`] to open the store with.
    pub fn clock(&self) -> Clock {
        let now = self.0.clone();
        Arc::new(move || now.load(Ordering::SeqCst))
    }

    pub fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }

    pub fn set(&self, at: Millis) {
        self.0.store(at, Ordering::SeqCst);
    }

    pub fn advance(&self, by: Millis) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
}

/// Defines one `#[tokio::test]` per contract check, each on a store `$open` opens: `$open` is
/// an async closure called with a [`Clock`] that returns the store and whatever must
/// outlive it (with `maybe $open`: `Some` of those, or `None` to skip the check).
macro_rules! store_contract_tests {
    // A backend whose server may be absent: `$open` returns `None` (having said why)
    // and the check is skipped.
    (@each maybe $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let clock = $crate::store::contract::TestClock::default();
                let Some((store, guard)) = ($open)(clock.clock()).await else {
                    return;
                };
                $crate::store::contract::$check(&store, &clock).await;
                // The store goes before what it lives in (a schema to drop).
                drop(store);
                drop(guard);
            }
        )*
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let clock = $crate::store::contract::TestClock::default();
                let (store, _guard) = ($open)(clock.clock()).await;
                $crate::store::contract::$check(&store, &clock).await;
            }
        )*
    };
    (maybe $open:expr) => {
        $crate::store::contract::store_contract_tests!(@checks maybe $open);
    };
    ($open:expr) => {
        $crate::store::contract::store_contract_tests!(@checks $open);
    };
    (@checks $($open:tt)+) => {
        $crate::store::contract::store_contract_tests!(@each $($open)+;
            a_key_is_enqueued_once_per_connection_and_kind,
            done_jobs_past_retention_are_pruned_oldest_first_and_nothing_else,
            jobs_enqueued_together_are_each_deduplicated_in_order,
            an_enqueued_job_is_stored_as_given,
            a_job_waits_for_its_not_before,
            one_document_runs_one_job_at_a_time_in_order,
            a_lease_takes_at_most_max_jobs_and_raises_the_attempt,
            a_job_covers_the_same_documents_jobs_queued_before_its_read,
            retries_wait_and_keep_the_document_in_order,
            next_retry_at_is_the_earliest_waiting_retry_of_the_connection,
            an_expired_lease_is_taken_again_and_the_old_worker_is_told,
            a_held_lease_is_extended,
            a_lease_is_checked_without_being_extended,
            a_worker_whose_lease_was_taken_over_cannot_renew_or_end_it,
            a_worker_leases_only_its_connections_jobs_and_releases_only_its_own,
            a_role_is_released_by_its_exact_prefix,
            parked_jobs_wait_for_a_replay_and_block_their_document,
            a_failure_found_outside_a_job_is_parked_once_and_can_be_replayed,
            jobs_in_a_state_come_oldest_first,
            parked_jobs_are_listed_newest_first_by_filter,
            a_parked_job_is_replayed_or_resolved_by_hand_with_its_audit_entry,
            console_sessions_last_until_idle_or_old_and_end_by_digest_or_operator,
            audit_entries_of_a_kind_are_counted_per_connection_and_bucket,
            what_only_the_first_attempt_reads_is_dropped_when_it_ends,
            queue_depth_counts_by_state_and_connection,
            webhooks_are_accepted_once_by_id_within_the_retention_window,
            revisions_are_begun_confirmed_or_abandoned,
            cursors_and_id_maps_are_upserted_per_connection,
            cursors_move_together_only_from_where_they_were_read,
            a_schedule_run_is_claimed_by_one_owner_at_a_time,
            the_audit_chain_links_every_entry_and_verifies,
            a_keyed_audit_chain_takes_appends_under_its_key_only,
            audit_entries_of_a_kind_are_found_by_time,
        );
    };
}
pub(crate) use store_contract_tests;

fn job(key: &str, document: &str) -> NewJob {
    NewJob {
        connection: "main".into(),
        kind: "order".into(),
        key: key.into(),
        document: document.into(),
        payload: format!("{{\"key\":\"{key}\"}}"),
        not_before: None,
    }
}

/// The audit entry of an operator's replay of `subject`.
fn replayed(subject: &str) -> AuditEntry {
    AuditEntry {
        connection: "main".into(),
        subject: subject.into(),
        kind: "console".into(),
        data: r#"{"action":"replay","operator":"ann"}"#.into(),
    }
}

fn lease_of(job: i64, owner: &str, token: u32) -> Lease {
    Lease {
        job,
        owner: owner.into(),
        token,
    }
}

fn ids(jobs: Vec<super::Job>) -> Vec<i64> {
    jobs.iter().map(|j| j.id).collect()
}

async fn state(store: &dyn Store, id: i64) -> JobState {
    store.job(id).await.unwrap().unwrap().state
}

pub async fn a_key_is_enqueued_once_per_connection_and_kind(store: &dyn Store, _: &TestClock) {
    let first = store.enqueue(&job("wh:1", "order:1")).await.unwrap();
    let second = store.enqueue(&job("wh:1", "order:1")).await.unwrap();
    assert!(matches!(first, Enqueued::New(_)));
    assert_eq!(second, Enqueued::Duplicate(first.id()));
    // The same key under another kind or connection is another job.
    let refund = store
        .enqueue(&NewJob {
            kind: "refund".into(),
            ..job("wh:1", "order:1")
        })
        .await
        .unwrap();
    let other = store
        .enqueue(&NewJob {
            connection: "other".into(),
            ..job("wh:1", "order:1")
        })
        .await
        .unwrap();
    assert!(matches!(refund, Enqueued::New(id) if id != first.id()));
    assert!(matches!(other, Enqueued::New(id) if id != first.id() && id != refund.id()));
    assert_eq!(store.queue_depth(Some("main")).await.unwrap().ready, 2);
    assert_eq!(store.queue_depth(None).await.unwrap().ready, 3);
}

pub async fn done_jobs_past_retention_are_pruned_oldest_first_and_nothing_else(
    store: &dyn Store,
    clock: &TestClock,
) {
    let done = |key: &str| job(key, &format!("order:{key}"));
    // Queues the job of `key`, leases it (for `lease_for`) and ends it as `end` says.
    let ended = async |key: &str, lease_for: Millis, end: Option<JobEnd>| {
        let id = store.enqueue(&done(key)).await.unwrap().id();
        store.lease("main", "w", 1, lease_for).await.unwrap();
        if let Some(end) = end {
            store
                .end_job(&lease_of(id, "w", 1), &end, &[])
                .await
                .unwrap();
        }
        id
    };
    let finished = || {
        Some(JobEnd::Done {
            covering: None,
            posted: None,
        })
    };
    // Three jobs done at START, then a parked, a leased and a ready one, and one done
    // an hour later.
    let mut old = Vec::new();
    for key in ["a", "b", "c"] {
        old.push(ended(key, 30_000, finished()).await);
    }
    let closed = Some(JobEnd::Park {
        reason: "closed".into(),
    });
    let parked = ended("p", 30_000, closed).await;
    let leased = ended("l", 7_200_000, None).await;
    clock.advance(3_600_000);
    let recent = ended("r", 30_000, finished()).await;
    let ready = store.enqueue(&done("q")).await.unwrap().id();

    // Older than half an hour, two at a time: the oldest first.
    let before = clock.now() - 1_800_000;
    assert_eq!(store.prune_done_jobs(before, 2).await.unwrap(), 2);
    assert_eq!(store.job(old[0]).await.unwrap(), None);
    assert_eq!(store.job(old[1]).await.unwrap(), None);
    assert_eq!(state(store, old[2]).await, JobState::Done);
    assert_eq!(store.prune_done_jobs(before, 2).await.unwrap(), 1);
    assert_eq!(store.prune_done_jobs(before, 2).await.unwrap(), 0);
    assert_eq!(state(store, parked).await, JobState::Parked);
    assert_eq!(state(store, leased).await, JobState::Leased);
    assert_eq!(state(store, recent).await, JobState::Done);
    assert_eq!(state(store, ready).await, JobState::Ready);
    // A pruned job's key queues a new job.
    let again = store.enqueue(&done("a")).await.unwrap();
    assert!(
        matches!(again, Enqueued::New(id) if id != old[0]),
        "{again:?}"
    );
}

pub async fn jobs_enqueued_together_are_each_deduplicated_in_order(
    store: &dyn Store,
    _: &TestClock,
) {
    let earlier = store.enqueue(&job("wh:2", "order:2")).await.unwrap();
    let page = [
        job("wh:1", "order:1"),
        job("wh:2", "order:2"),
        job("wh:3", "order:1"),
        // Twice in the same call: the second is the first's duplicate.
        job("wh:1", "order:1"),
    ];
    let enqueued = store.enqueue_all(&page).await.unwrap();
    assert_eq!(enqueued.len(), 4);
    assert!(matches!(enqueued[0], Enqueued::New(_)));
    assert_eq!(enqueued[1], Enqueued::Duplicate(earlier.id()));
    assert!(matches!(enqueued[2], Enqueued::New(id) if id > enqueued[0].id()));
    assert_eq!(enqueued[3], Enqueued::Duplicate(enqueued[0].id()));
    for (stored, given) in [(&enqueued[0], &page[0]), (&enqueued[2], &page[2])] {
        let stored = store.job(stored.id()).await.unwrap().unwrap();
        assert_eq!(
            (stored.key, stored.document),
            (given.key.clone(), given.document.clone())
        );
    }
    assert_eq!(store.queue_depth(Some("main")).await.unwrap().ready, 3);
    assert_eq!(store.enqueue_all(&[]).await.unwrap(), Vec::new());
}

pub async fn an_enqueued_job_is_stored_as_given(store: &dyn Store, clock: &TestClock) {
    let id = store.enqueue(&job("wh:1", "order:1")).await.unwrap().id();
    let stored = store.job(id).await.unwrap().unwrap();
    assert_eq!(stored.id, id);
    assert_eq!(stored.connection, "main");
    assert_eq!(stored.kind, "order");
    assert_eq!(stored.key, "wh:1");
    assert_eq!(stored.document, "order:1");
    assert_eq!(stored.payload, "{\"key\":\"wh:1\"}");
    assert_eq!(stored.state, JobState::Ready);
    assert_eq!(stored.attempts, 0);
    assert_eq!(stored.next_attempt_at, clock.now());
    assert_eq!(stored.last_error, None);
    assert_eq!(stored.created_at, clock.now());
    assert_eq!(store.job(id + 1000).await.unwrap(), None);
}

pub async fn a_job_waits_for_its_not_before(store: &dyn Store, clock: &TestClock) {
    let later = NewJob {
        not_before: Some(START + 5_000),
        ..job("a", "order:1")
    };
    let id = store.enqueue(&later).await.unwrap().id();
    assert_eq!(
        store.job(id).await.unwrap().unwrap().next_attempt_at,
        START + 5_000
    );
    assert!(
        store
            .lease("main", "w", 10, 60_000)
            .await
            .unwrap()
            .is_empty()
    );
    clock.set(START + 5_000);
    assert_eq!(
        ids(store.lease("main", "w", 10, 60_000).await.unwrap()),
        [id]
    );
}

pub async fn one_document_runs_one_job_at_a_time_in_order(store: &dyn Store, _: &TestClock) {
    let a1 = store.enqueue(&job("a1", "order:1")).await.unwrap().id();
    let a2 = store.enqueue(&job("a2", "order:1")).await.unwrap().id();
    let b1 = store.enqueue(&job("b1", "order:2")).await.unwrap().id();
    let leased = ids(store.lease("main", "w1", 10, 60_000).await.unwrap());
    assert_eq!(leased, [a1, b1], "a2 waits for a1");
    assert!(
        store
            .lease("main", "w2", 10, 60_000)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .end_job(
            &lease_of(a1, "w1", 1),
            &JobEnd::Done {
                covering: None,
                posted: None,
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(state(store, a1).await, JobState::Done);
    assert_eq!(
        ids(store.lease("main", "w2", 10, 60_000).await.unwrap()),
        [a2]
    );
}

pub async fn a_lease_takes_at_most_max_jobs_and_raises_the_attempt(
    store: &dyn Store,
    clock: &TestClock,
) {
    let a = store.enqueue(&job("a", "order:1")).await.unwrap().id();
    let b = store.enqueue(&job("b", "order:2")).await.unwrap().id();
    let c = store.enqueue(&job("c", "order:3")).await.unwrap().id();
    let first = store.lease("main", "w", 2, 30_000).await.unwrap();
    assert_eq!(ids(first.clone()), [a, b]);
    for leased in &first {
        assert_eq!(leased.state, JobState::Leased);
        assert_eq!(leased.attempts, 1);
        assert_eq!(
            leased.payload,
            store.job(leased.id).await.unwrap().unwrap().payload
        );
    }
    assert_eq!(state(store, a).await, JobState::Leased);
    assert_eq!(store.job(a).await.unwrap().unwrap().attempts, 1);
    assert_eq!(ids(store.lease("main", "w", 2, 30_000).await.unwrap()), [c]);
    assert!(
        store
            .lease("main", "w", 0, 30_000)
            .await
            .unwrap()
            .is_empty()
    );
    // Leased again after the lease ran out: the next attempt.
    clock.advance(30_000);
    let again = store.lease("main", "w", 1, 30_000).await.unwrap();
    assert_eq!((again[0].id, again[0].attempts), (a, 2));
    assert_eq!(Lease::of(&again[0], "w"), lease_of(a, "w", 2));
}

pub async fn a_job_covers_the_same_documents_jobs_queued_before_its_read(
    store: &dyn Store,
    clock: &TestClock,
) {
    let first = store.enqueue(&job("wh:1", "order:1")).await.unwrap().id();
    let before = store.enqueue(&job("wh:2", "order:1")).await.unwrap().id();
    let mut refund = job("refund:9", "order:1");
    refund.kind = "refund".into();
    let refund = store.enqueue(&refund).await.unwrap().id();
    let other = store.enqueue(&job("wh:3", "order:2")).await.unwrap().id();
    let leased = store.lease("main", "w", 1, 60_000).await.unwrap();
    assert_eq!(leased[0].id, first);
    // Read at START + 500; a change queued after the read is not covered.
    clock.set(START + 1_000);
    let after = store.enqueue(&job("wh:4", "order:1")).await.unwrap().id();
    let covered = store
        .end_job(
            &lease_of(first, "w", 1),
            &JobEnd::Done {
                covering: Some(START + 500),
                posted: None,
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(covered, 1);
    assert_eq!(state(store, first).await, JobState::Done);
    assert_eq!(state(store, before).await, JobState::Done);
    for id in [refund, other, after] {
        assert_eq!(state(store, id).await, JobState::Ready, "job {id}");
    }
    // A lost lease covers nothing.
    assert!(matches!(
        store.end_job(&lease_of(first, "w", 1), &JobEnd::Done { covering: Some(START + 2_000), posted: None }, &[]).await,
        Err(StoreError::LeaseLost(id)) if id == first
    ));
    assert_eq!(state(store, after).await, JobState::Ready);
}

pub async fn what_only_the_first_attempt_reads_is_dropped_when_it_ends(
    store: &dyn Store,
    clock: &TestClock,
) {
    let listed = |key: &str, id: u64, name: &str| NewJob {
        payload: format!(
            r#"{{"order_id":{id},"source":"poll","listed":{{"read_at":5,"order":{{"id":{id},"name":"{name}"}}}}}}"#
        ),
        ..job(key, &format!("order:{id}"))
    };
    let members = |payload: &str| -> Vec<String> {
        let value: serde_json::Value = serde_json::from_str(payload).unwrap();
        value.as_object().unwrap().keys().cloned().collect()
    };
    // A retry, a park and a done job each lose the member; a job covered by another too;
    // a payload without it is left byte for byte.
    let retried = store.enqueue(&listed("a", 1, "x")).await.unwrap().id();
    let parked = store.enqueue(&listed("b", 2, "x")).await.unwrap().id();
    let done = store.enqueue(&listed("c", 3, "x")).await.unwrap().id();
    let covered = store.enqueue(&listed("d", 3, "x")).await.unwrap().id();
    let plain = store.enqueue(&job("e", "order:4")).await.unwrap().id();
    let before = store.job(plain).await.unwrap().unwrap().payload;
    // A text a backend's JSON cannot hold (PostgreSQL's jsonb takes no \u0000): the job
    // still ends; its payload loses the member or stays whole.
    let odd = store
        .enqueue(&listed("f", 5, "x\\u0000y"))
        .await
        .unwrap()
        .id();
    let odd_before = store.job(odd).await.unwrap().unwrap().payload;
    store.lease("main", "w", 10, 60_000).await.unwrap();
    clock.advance(1_000);
    let ends = [
        (
            retried,
            JobEnd::Retry {
                error: "503".into(),
                at: START,
            },
        ),
        (
            parked,
            JobEnd::Park {
                reason: "closed".into(),
            },
        ),
        (
            done,
            JobEnd::Done {
                covering: Some(clock.now()),
                posted: None,
            },
        ),
        (
            plain,
            JobEnd::Done {
                covering: None,
                posted: None,
            },
        ),
        (
            odd,
            JobEnd::Done {
                covering: None,
                posted: None,
            },
        ),
    ];
    for (id, end) in &ends {
        store
            .end_job(&lease_of(*id, "w", 1), end, &[])
            .await
            .unwrap();
    }
    for id in [retried, parked, done, covered] {
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!(members(&job.payload), ["order_id", "source"], "job {id}");
    }
    assert_eq!(state(store, covered).await, JobState::Done);
    assert_eq!(store.job(plain).await.unwrap().unwrap().payload, before);
    let odd = store.job(odd).await.unwrap().unwrap();
    assert_eq!(odd.state, JobState::Done);
    assert!(
        odd.payload == odd_before || members(&odd.payload) == ["order_id", "source"],
        "{}",
        odd.payload
    );
}

pub async fn retries_wait_and_keep_the_document_in_order(store: &dyn Store, clock: &TestClock) {
    let a1 = store.enqueue(&job("a1", "order:1")).await.unwrap().id();
    store.enqueue(&job("a2", "order:1")).await.unwrap();
    store.lease("main", "w", 10, 60_000).await.unwrap();
    store
        .end_job(
            &lease_of(a1, "w", 1),
            &JobEnd::Retry {
                error: "QAD is unavailable".into(),
                at: START + 5_000,
            },
            &[],
        )
        .await
        .unwrap();
    let waiting = store.job(a1).await.unwrap().unwrap();
    assert_eq!(waiting.state, JobState::Ready);
    assert_eq!(waiting.next_attempt_at, START + 5_000);
    assert!(
        store
            .lease("main", "w", 10, 60_000)
            .await
            .unwrap()
            .is_empty(),
        "not due, and a2 waits"
    );
    clock.set(START + 5_000);
    let again = store.lease("main", "w", 10, 60_000).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (a1, 2));
    assert_eq!(again[0].last_error.as_deref(), Some("QAD is unavailable"));
}

pub async fn next_retry_at_is_the_earliest_waiting_retry_of_the_connection(
    store: &dyn Store,
    clock: &TestClock,
) {
    assert_eq!(store.next_retry_at("main").await.unwrap(), None);
    let a = store.enqueue(&job("a", "order:1")).await.unwrap().id();
    let b = store.enqueue(&job("b", "order:2")).await.unwrap().id();
    assert_eq!(
        store.next_retry_at("main").await.unwrap(),
        None,
        "both are due"
    );
    store.lease("main", "w", 10, 60_000).await.unwrap();
    store
        .end_job(
            &lease_of(a, "w", 1),
            &JobEnd::Retry {
                error: "later".into(),
                at: START + 5_000,
            },
            &[],
        )
        .await
        .unwrap();
    store
        .end_job(
            &lease_of(b, "w", 1),
            &JobEnd::Retry {
                error: "sooner".into(),
                at: START + 3_000,
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        store.next_retry_at("main").await.unwrap(),
        Some(START + 3_000)
    );
    assert_eq!(store.next_retry_at("other").await.unwrap(), None);
    clock.set(START + 3_000);
    assert_eq!(
        store.next_retry_at("main").await.unwrap(),
        Some(START + 5_000)
    );
    clock.set(START + 5_000);
    assert_eq!(store.next_retry_at("main").await.unwrap(), None);
}

pub async fn an_expired_lease_is_taken_again_and_the_old_worker_is_told(
    store: &dyn Store,
    clock: &TestClock,
) {
    let id = store.enqueue(&job("a", "order:1")).await.unwrap().id();
    store.lease("main", "crashed", 1, 30_000).await.unwrap();
    clock.advance(29_999);
    assert!(
        store
            .lease("main", "w2", 1, 30_000)
            .await
            .unwrap()
            .is_empty()
    );
    clock.advance(1);
    let taken = store.lease("main", "w2", 1, 30_000).await.unwrap();
    assert_eq!(taken[0].id, id);
    assert!(matches!(
        store.end_job(&lease_of(id, "crashed", 1), &JobEnd::Done { covering: None, posted: None }, &[]).await,
        Err(StoreError::LeaseLost(lost)) if lost == id
    ));
    store
        .end_job(
            &Lease::of(&taken[0], "w2"),
            &JobEnd::Done {
                covering: None,
                posted: None,
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(state(store, id).await, JobState::Done);
}

pub async fn a_held_lease_is_extended(store: &dyn Store, clock: &TestClock) {
    let id = store.enqueue(&job("a", "order:1")).await.unwrap().id();
    let leased = store.lease("main", "w", 1, 30_000).await.unwrap();
    let lease = Lease::of(&leased[0], "w");
    clock.advance(20_000);
    store.hold(&lease, 30_000).await.unwrap();
    // Past the first lease's end, within the renewed one.
    clock.advance(20_000);
    assert!(
        store
            .lease("main", "w2", 1, 30_000)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(state(store, id).await, JobState::Leased);
    store.hold(&lease, 30_000).await.unwrap();
    clock.advance(30_000);
    // Run out: not renewed, and taken by the next lease.
    assert!(
        matches!(store.hold(&lease, 30_000).await, Err(StoreError::LeaseLost(lost)) if lost == id)
    );
    assert_eq!(
        ids(store.lease("main", "w2", 1, 30_000).await.unwrap()),
        [id]
    );
}

pub async fn a_lease_is_checked_without_being_extended(store: &dyn Store, clock: &TestClock) {
    store.enqueue(&job("a", "order:1")).await.unwrap();
    let leased = store.lease("main", "w", 1, 30_000).await.unwrap();
    let lease = Lease::of(&leased[0], "w");
    assert!(store.holds(&lease, 29_999).await.unwrap());
    assert!(!store.holds(&lease, 30_000).await.unwrap());
    clock.advance(20_000);
    assert!(store.holds(&lease, 9_999).await.unwrap());
    assert!(!store.holds(&lease, 10_000).await.unwrap());
    // Another owner or an older token does not hold it.
    assert!(!store.holds(&Lease::of(&leased[0], "w2"), 0).await.unwrap());
    let older = Lease {
        token: lease.token - 1,
        ..lease.clone()
    };
    assert!(!store.holds(&older, 0).await.unwrap());
    // The checks extended nothing: it runs out when it would have, and is taken.
    clock.advance(10_000);
    assert!(!store.holds(&lease, 0).await.unwrap());
    let taken = store.lease("main", "w2", 1, 30_000).await.unwrap();
    assert!(!store.holds(&lease, 0).await.unwrap());
    assert!(
        store
            .holds(&Lease::of(&taken[0], "w2"), 29_999)
            .await
            .unwrap()
    );
}

pub async fn a_worker_whose_lease_was_taken_over_cannot_renew_or_end_it(
    store: &dyn Store,
    clock: &TestClock,
) {
    let id = store.enqueue(&job("a", "order:1")).await.unwrap().id();
    // A slow worker, then another taking the job when the lease ran out: even under the
    // same owner name, the older attempt's token is refused.
    let slow = store.lease("main", "w", 1, 30_000).await.unwrap();
    let stale = Lease::of(&slow[0], "w");
    store.hold(&stale, 30_000).await.unwrap();
    clock.advance(30_000);
    assert!(matches!(
        store.hold(&stale, 30_000).await,
        Err(StoreError::LeaseLost(_))
    ));
    let taken = store.lease("main", "w", 1, 30_000).await.unwrap();
    let fresh = Lease::of(&taken[0], "w");
    assert_eq!(fresh.token, stale.token + 1);
    for refused in [
        store.hold(&stale, 30_000).await.map(|()| 0),
        store
            .end_job(
                &stale,
                &JobEnd::Retry {
                    error: "late".into(),
                    at: 0,
                },
                &[],
            )
            .await,
        store
            .end_job(
                &stale,
                &JobEnd::Park {
                    reason: "late".into(),
                },
                &[],
            )
            .await,
        store
            .end_job(
                &stale,
                &JobEnd::Done {
                    covering: None,
                    posted: None,
                },
                &[],
            )
            .await,
    ] {
        assert!(matches!(refused, Err(StoreError::LeaseLost(i)) if i == id));
    }
    // Ending it with audit entries changes nothing either: not even the audit log.
    let note = AuditEntry {
        connection: "main".into(),
        subject: format!("job:{id}"),
        kind: "done".into(),
        data: "{}".into(),
    };
    let before = store.audit_head().await.unwrap();
    let refused = store
        .end_job(
            &stale,
            &JobEnd::Done {
                covering: None,
                posted: None,
            },
            std::slice::from_ref(&note),
        )
        .await;
    assert!(matches!(refused, Err(StoreError::LeaseLost(i)) if i == id));
    assert_eq!(store.audit_head().await.unwrap(), before);
    // Another owner with the right token is refused too.
    assert!(matches!(
        store
            .end_job(
                &lease_of(id, "intruder", fresh.token),
                &JobEnd::Done {
                    covering: None,
                    posted: None
                },
                &[]
            )
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    assert_eq!(state(store, id).await, JobState::Leased);
    // Nor can it record a post: no revision, no audit entry.
    let revision = Revision {
        connection: "main".into(),
        document: "order:1".into(),
        number: 1,
        external_reference: "shop1:order:1:r1".into(),
        entry: "{}".into(),
        voucher: None,
        at: START,
    };
    let refused = store
        .begin_revision(
            &revision,
            Some((&stale, 30_000)),
            std::slice::from_ref(&note),
        )
        .await;
    assert!(matches!(refused, Err(StoreError::LeaseLost(i)) if i == id));
    assert!(store.revisions("main", "order:1").await.unwrap().is_empty());
    assert_eq!(store.audit_head().await.unwrap(), before);
    // The holder records it, renewing its lease, with its entries.
    store
        .begin_revision(
            &revision,
            Some((&fresh, 30_000)),
            std::slice::from_ref(&note),
        )
        .await
        .unwrap();
    assert_eq!(store.revisions("main", "order:1").await.unwrap().len(), 1);
    store.hold(&fresh, 30_000).await.unwrap();
    // The post landed. The stale worker's end cannot confirm it: it stays open.
    let posted = PostedRevision {
        connection: "main".into(),
        document: "order:1".into(),
        number: 1,
        voucher: "2026/SO/000001".into(),
    };
    let done = JobEnd::Done {
        covering: None,
        posted: Some(posted),
    };
    assert!(matches!(
        store.end_job(&stale, &done, &[]).await,
        Err(StoreError::LeaseLost(i)) if i == id
    ));
    assert_eq!(
        store.revisions("main", "order:1").await.unwrap()[0].voucher,
        None
    );
    // The holder ends it, its entries appended and its revision confirmed in the same
    // transaction.
    let ended = store
        .end_job(&fresh, &done, &[note.clone(), note])
        .await
        .unwrap();
    assert_eq!(ended, 0);
    assert_eq!(state(store, id).await, JobState::Done);
    assert_eq!(
        store.revisions("main", "order:1").await.unwrap()[0]
            .voucher
            .as_deref(),
        Some("2026/SO/000001")
    );
    // One entry with the revision, two with the end.
    assert_eq!(
        store.audit_for(&format!("job:{id}")).await.unwrap().len(),
        3
    );
}

pub async fn a_worker_leases_only_its_connections_jobs_and_releases_only_its_own(
    store: &dyn Store,
    _: &TestClock,
) {
    let a = store.enqueue(&job("a", "order:1")).await.unwrap().id();
    let b = store
        .enqueue(&NewJob {
            connection: "other".into(),
            ..job("a", "order:1")
        })
        .await
        .unwrap()
        .id();
    let mine = store.lease("main", "run-1", 10, 30_000).await.unwrap();
    assert_eq!(ids(mine), [a]);
    assert_eq!(store.next_retry_at("other").await.unwrap(), None);
    let theirs = store.lease("other", "replay-2", 10, 30_000).await.unwrap();
    assert_eq!(ids(theirs), [b]);
    // A second process releasing its own leases leaves the first's alone.
    assert_eq!(store.release("replay-2").await.unwrap(), 1);
    assert_eq!(store.release("replay-2").await.unwrap(), 0);
    assert_eq!(state(store, a).await, JobState::Leased);
    assert_eq!(state(store, b).await, JobState::Ready);
    // A process holding the store's claim frees a killed `run`'s leases at once.
    assert_eq!(store.release_role("sync").await.unwrap(), 0);
    assert_eq!(store.release_role("run").await.unwrap(), 1);
    assert_eq!(state(store, a).await, JobState::Ready);
}

pub async fn a_role_is_released_by_its_exact_prefix(store: &dyn Store, _: &TestClock) {
    let a = store.enqueue(&job("a", "order:1")).await.unwrap().id();
    let b = store.enqueue(&job("b", "order:2")).await.unwrap().id();
    store
        .lease("main", "runner-1-00ff", 1, 30_000)
        .await
        .unwrap();
    store.lease("main", "run-2-00aa", 1, 30_000).await.unwrap();
    assert_eq!(store.release_role("run").await.unwrap(), 1);
    assert_eq!(state(store, a).await, JobState::Leased, "runner is not run");
    assert_eq!(state(store, b).await, JobState::Ready);
    assert_eq!(store.release_role("runner").await.unwrap(), 1);
    assert_eq!(state(store, a).await, JobState::Ready);
    // Claims on schedule runs go with the leases.
    let claim = async |owner: &str| {
        store
            .claim_schedule("main", "reconcile", owner, 0, 60_000)
            .await
            .unwrap()
    };
    assert_eq!(claim("run-2-00aa").await, ScheduleClaim::Claimed);
    store.release_role("runner").await.unwrap();
    assert_eq!(
        claim("run-3-00bb").await,
        ScheduleClaim::Running {
            owner: "run-2-00aa".into()
        }
    );
    store.release_role("run").await.unwrap();
    assert_eq!(claim("run-3-00bb").await, ScheduleClaim::Claimed);
}

pub async fn parked_jobs_wait_for_a_replay_and_block_their_document(
    store: &dyn Store,
    clock: &TestClock,
) {
    let a1 = store.enqueue(&job("a1", "order:1")).await.unwrap().id();
    store.enqueue(&job("a2", "order:1")).await.unwrap();
    store.lease("main", "w", 10, 60_000).await.unwrap();
    store
        .end_job(
            &lease_of(a1, "w", 1),
            &JobEnd::Park {
                reason: "closed period".into(),
            },
            &[],
        )
        .await
        .unwrap();
    assert!(
        store
            .lease("main", "w", 10, 60_000)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.jobs_in(JobState::Parked, 10).await.unwrap()[0]
            .last_error
            .as_deref(),
        Some("closed period")
    );
    clock.advance(1_000);
    store
        .settle_parked(a1, &ByHand::Replay { payload: None }, &replayed("order:1"))
        .await
        .unwrap();
    let requeued = store.job(a1).await.unwrap().unwrap();
    assert_eq!(requeued.state, JobState::Ready);
    assert_eq!(requeued.next_attempt_at, clock.now());
    assert_eq!(
        store.lease("main", "w", 10, 60_000).await.unwrap()[0].id,
        a1
    );
}

pub async fn a_failure_found_outside_a_job_is_parked_once_and_can_be_replayed(
    store: &dyn Store,
    _: &TestClock,
) {
    let failing = NewJob {
        kind: "catalog".into(),
        ..job("item:A:1", "item:A")
    };
    let parked = store
        .enqueue_parked(&failing, "SKU A is not in the store")
        .await
        .unwrap();
    assert!(matches!(parked, Enqueued::New(_)));
    assert_eq!(
        store.enqueue_parked(&failing, "again").await.unwrap(),
        Enqueued::Duplicate(parked.id())
    );
    assert_eq!(
        store.enqueue(&failing).await.unwrap(),
        Enqueued::Duplicate(parked.id())
    );
    let stored = store.job(parked.id()).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Parked);
    assert_eq!(stored.attempts, 0);
    assert_eq!(
        stored.last_error.as_deref(),
        Some("SKU A is not in the store")
    );
    assert!(
        store
            .lease("main", "w", 10, 1_000)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .settle_parked(
            parked.id(),
            &ByHand::Replay { payload: None },
            &replayed("item:A"),
        )
        .await
        .unwrap();
    let leased = store.lease("main", "w", 10, 1_000).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].kind, "catalog");
}

pub async fn jobs_in_a_state_come_oldest_first(store: &dyn Store, _: &TestClock) {
    let mut queued = Vec::new();
    for n in 1..=4 {
        let job = job(&format!("k{n}"), &format!("order:{n}"));
        queued.push(store.enqueue(&job).await.unwrap().id());
    }
    let parked = store
        .enqueue_parked(&job("p", "order:9"), "refused")
        .await
        .unwrap()
        .id();
    assert_eq!(
        ids(store.jobs_in(JobState::Ready, 3).await.unwrap()),
        queued[..3]
    );
    assert_eq!(
        ids(store.jobs_in(JobState::Ready, 10).await.unwrap()),
        queued
    );
    assert_eq!(
        ids(store.jobs_in(JobState::Parked, 10).await.unwrap()),
        [parked]
    );
    assert!(store.jobs_in(JobState::Done, 10).await.unwrap().is_empty());
}

pub async fn parked_jobs_are_listed_newest_first_by_filter(store: &dyn Store, clock: &TestClock) {
    let mut parked = Vec::new();
    for (n, (connection, kind)) in [
        ("main", "order"),
        ("other", "order"),
        ("main", "refund"),
        ("main", "order"),
    ]
    .into_iter()
    .enumerate()
    {
        let job = NewJob {
            connection: connection.into(),
            kind: kind.into(),
            ..job(&format!("p{n}"), &format!("order:{n}"))
        };
        parked.push(store.enqueue_parked(&job, "refused").await.unwrap().id());
        clock.advance(1_000);
    }
    store.enqueue(&job("ready", "order:9")).await.unwrap();
    let all = ParkedFilter {
        connection: None,
        kind: None,
        since: None,
        before: None,
        limit: 10,
    };
    let listed = store.parked_jobs(&all).await.unwrap();
    assert_eq!(
        ids(listed.clone()),
        [parked[3], parked[2], parked[1], parked[0]]
    );
    assert_eq!(listed[0].updated_at, START + 3_000, "when it was parked");
    let main_orders = ParkedFilter {
        connection: Some("main".into()),
        kind: Some("order".into()),
        ..all.clone()
    };
    assert_eq!(
        ids(store.parked_jobs(&main_orders).await.unwrap()),
        [parked[3], parked[0]]
    );
    let since = ParkedFilter {
        since: Some(START + 1_000),
        ..all.clone()
    };
    assert_eq!(
        ids(store.parked_jobs(&since).await.unwrap()),
        [parked[3], parked[2], parked[1]]
    );
    let page = ParkedFilter {
        before: Some(parked[2]),
        limit: 1,
        ..all.clone()
    };
    assert_eq!(ids(store.parked_jobs(&page).await.unwrap()), [parked[1]]);
}

pub async fn a_parked_job_is_replayed_or_resolved_by_hand_with_its_audit_entry(
    store: &dyn Store,
    clock: &TestClock,
) {
    let first = store
        .enqueue_parked(&job("a", "order:1"), "refused")
        .await
        .unwrap()
        .id();
    let second = store
        .enqueue_parked(&job("b", "order:2"), "refused")
        .await
        .unwrap()
        .id();
    let ready = store.enqueue(&job("c", "order:3")).await.unwrap().id();
    let said = |subject: &str, kind: &str| AuditEntry {
        connection: "main".into(),
        subject: subject.into(),
        kind: kind.into(),
        data: r#"{"operator":"ann"}"#.into(),
    };
    let third = store
        .enqueue_parked(&job("d", "order:4"), "refused")
        .await
        .unwrap()
        .id();
    let payload = store.job(first).await.unwrap().unwrap().payload;
    clock.advance(5_000);
    let replay = ByHand::Replay { payload: None };
    store
        .settle_parked(first, &replay, &said("order:1", "replay requested"))
        .await
        .unwrap();
    let replayed = store.job(first).await.unwrap().unwrap();
    assert_eq!(replayed.state, JobState::Ready);
    assert_eq!(replayed.next_attempt_at, clock.now());
    // A replay that names another plugin version rewrites the payload; one that does
    // not keeps it.
    assert_eq!(replayed.payload, payload);
    let named = ByHand::Replay {
        payload: Some(r#"{"order_id":4,"plugin":"next"}"#.into()),
    };
    store
        .settle_parked(third, &named, &said("order:4", "replay requested"))
        .await
        .unwrap();
    let replayed = store.job(third).await.unwrap().unwrap();
    assert_eq!(replayed.state, JobState::Ready);
    assert_eq!(replayed.payload, r#"{"order_id":4,"plugin":"next"}"#);
    let resolve = ByHand::Resolve {
        reason: "posted by hand in QAD".into(),
    };
    store
        .settle_parked(second, &resolve, &said("order:2", "resolved"))
        .await
        .unwrap();
    let resolved = store.job(second).await.unwrap().unwrap();
    assert_eq!(resolved.state, JobState::Done);
    assert_eq!(
        resolved.last_error.as_deref(),
        Some("resolved by hand: posted by hand in QAD")
    );
    // Only a parked job: neither again, nor a ready one, nor one that is not there; and
    // nothing is audited for a refusal.
    for id in [first, second, ready, ready + 100] {
        assert!(matches!(
            store.settle_parked(id, &replay, &said("order:9", "replay requested")).await,
            Err(StoreError::NoJob(refused)) if refused == id
        ));
    }
    let audited = |subject: &'static str| async move {
        store
            .audit_for(subject)
            .await
            .unwrap()
            .into_iter()
            .map(|record| record.entry.kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(audited("order:1").await, ["replay requested"]);
    assert_eq!(audited("order:2").await, ["resolved"]);
    assert!(audited("order:9").await.is_empty());
}

pub async fn console_sessions_last_until_idle_or_old_and_end_by_digest_or_operator(
    store: &dyn Store,
    clock: &TestClock,
) {
    const IDLE: Millis = 30 * 60_000;
    const LONGEST: Millis = 12 * 3_600_000;
    let started = clock.now();
    store.start_session("d1", "ann", "t1").await.unwrap();
    store.start_session("d2", "ann", "t2").await.unwrap();
    store.start_session("d3", "bob", "t3").await.unwrap();
    assert!(
        store.start_session("d1", "eve", "t4").await.is_err(),
        "a digest is one session"
    );
    // Seen within the idle time, each look keeps it open; the longest time ends it.
    for _ in 0..24 {
        clock.advance(IDLE - 1);
        let found = store.find_session("d1", IDLE, LONGEST).await.unwrap();
        let found = found.expect("seen within the idle time");
        assert_eq!(
            (found.operator.as_str(), found.csrf.as_str()),
            ("ann", "t1")
        );
        assert_eq!((found.started_at, found.seen_at), (started, clock.now()));
    }
    clock.advance(IDLE - 1);
    assert!(clock.now() - started > LONGEST);
    assert_eq!(store.find_session("d1", IDLE, LONGEST).await.unwrap(), None);
    // The others were not seen meanwhile: gone too.
    assert_eq!(store.find_session("d3", IDLE, LONGEST).await.unwrap(), None);
    store.start_session("d4", "ann", "t4").await.unwrap();
    store.start_session("d5", "ann", "t5").await.unwrap();
    store.start_session("d6", "bob", "t6").await.unwrap();
    clock.advance(IDLE);
    assert_eq!(
        store.find_session("d4", IDLE, LONGEST).await.unwrap(),
        None,
        "idle"
    );
    store.start_session("d7", "ann", "t7").await.unwrap();
    store.start_session("d8", "bob", "t8").await.unwrap();
    let ended = store
        .end_sessions(&SessionsOf::Digest("d8".into()))
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(store.find_session("d8", IDLE, LONGEST).await.unwrap(), None);
    store.start_session("d9", "ann", "t9").await.unwrap();
    let ended = store
        .end_sessions(&SessionsOf::Operator("ann".into()))
        .await
        .unwrap();
    assert_eq!(ended, 2, "d7 and d9");
    assert_eq!(store.find_session("d9", IDLE, LONGEST).await.unwrap(), None);
    assert_eq!(
        store
            .end_sessions(&SessionsOf::Digest("d9".into()))
            .await
            .unwrap(),
        0
    );
}

pub async fn queue_depth_counts_by_state_and_connection(store: &dyn Store, _: &TestClock) {
    assert_eq!(
        store.queue_depth(None).await.unwrap(),
        QueueDepth::default()
    );
    for n in 1..=4 {
        store
            .enqueue(&job(&format!("k{n}"), &format!("order:{n}")))
            .await
            .unwrap();
    }
    store
        .enqueue(&NewJob {
            connection: "other".into(),
            ..job("k1", "order:1")
        })
        .await
        .unwrap();
    store
        .enqueue_parked(&job("p", "order:9"), "refused")
        .await
        .unwrap();
    let leased = store.lease("main", "w", 2, 30_000).await.unwrap();
    store
        .end_job(
            &Lease::of(&leased[0], "w"),
            &JobEnd::Done {
                covering: None,
                posted: None,
            },
            &[],
        )
        .await
        .unwrap();
    let main = QueueDepth {
        ready: 2,
        leased: 1,
        done: 1,
        parked: 1,
    };
    assert_eq!(store.queue_depth(Some("main")).await.unwrap(), main);
    assert_eq!(
        store.queue_depth(Some("other")).await.unwrap(),
        QueueDepth {
            ready: 1,
            ..QueueDepth::default()
        }
    );
    assert_eq!(
        store.queue_depth(None).await.unwrap(),
        QueueDepth { ready: 3, ..main }
    );
    // The open queue alone, of every connection.
    assert_eq!(
        store.open_jobs().await.unwrap(),
        QueueDepth {
            ready: 3,
            done: 0,
            ..main
        }
    );
}

fn webhook(connection: &str, id: &str, body: &str, jobs: Vec<NewJob>) -> IncomingWebhook {
    IncomingWebhook {
        connection: connection.into(),
        webhook_id: id.into(),
        body_sha256: crate::digest::sha256_hex(body),
        scope: "store/order/created".into(),
        body: body.into(),
        jobs,
    }
}

pub async fn webhooks_are_accepted_once_by_id_within_the_retention_window(
    store: &dyn Store,
    clock: &TestClock,
) {
    let queued = store
        .enqueue(&job("order:2", "order:2"))
        .await
        .unwrap()
        .id();
    let first = webhook(
        "main",
        "msg_1",
        "{\"id\":1}",
        vec![job("order:1", "order:1"), job("order:2", "order:2")],
    );
    let outcomes = store
        .accept_webhooks(&[
            first.clone(),
            // Delivered twice in one batch: the second is a duplicate.
            first.clone(),
            // Another id with the same body: a delivery of its own (two changes in one
            // second can have the same body; the signature covers the id).
            webhook("main", "msg_2", "{\"id\":1}", vec![job("x", "order:3")]),
            // The same id and body on another connection is its own delivery.
            webhook("other", "msg_1", "{\"id\":1}", vec![]),
        ])
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 4);
    let Intake::Accepted { jobs } = &outcomes[0] else {
        panic!("{outcomes:?}");
    };
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[1], queued, "a job already queued is not added again");
    assert_eq!(
        store.job(jobs[0]).await.unwrap().unwrap().document,
        "order:1"
    );
    assert_eq!(outcomes[1], Intake::Duplicate);
    assert!(matches!(&outcomes[2], Intake::Accepted { jobs } if jobs.len() == 1));
    assert_eq!(outcomes[3], Intake::Accepted { jobs: vec![] });
    // A redelivery within the window is a duplicate too, and queues nothing.
    clock.advance(WEBHOOK_RETENTION - 1);
    assert_eq!(
        store
            .accept_webhooks(std::slice::from_ref(&first))
            .await
            .unwrap(),
        [Intake::Duplicate]
    );
    assert_eq!(store.queue_depth(None).await.unwrap().ready, 3);
    // Each accepted delivery is audited with its id, scope, body and jobs.
    let audited = store.audit_for("webhook").await.unwrap();
    assert_eq!(audited.len(), 3);
    assert_eq!(audited[0].entry.connection, "main");
    assert_eq!(audited[0].entry.kind, "received");
    let data: serde_json::Value = serde_json::from_str(&audited[0].entry.data).unwrap();
    assert_eq!(
        data,
        serde_json::json!({
            "webhook_id": "msg_1",
            "scope": "store/order/created",
            "body": "{\"id\":1}",
            "jobs": jobs,
        })
    );
    assert_eq!(audited[2].entry.connection, "other");
    // Past the window the id is forgotten (pruned when deliveries arrive): a delivery
    // with it is accepted, and its jobs, already queued, are not added again.
    clock.advance(2);
    let late = store.accept_webhooks(&[first]).await.unwrap();
    assert!(
        matches!(&late[0], Intake::Accepted { jobs: again } if again == jobs),
        "{late:?}"
    );
    assert_eq!(store.queue_depth(None).await.unwrap().ready, 3);
    assert_eq!(store.verify_audit(None).await.unwrap().entries, 4);
}

pub async fn revisions_are_begun_confirmed_or_abandoned(store: &dyn Store, _: &TestClock) {
    let revision = Revision {
        connection: "main".into(),
        document: "order:1".into(),
        number: 1,
        external_reference: "main:order:1:r1".into(),
        entry: "{}".into(),
        voucher: None,
        at: 1,
    };
    assert!(store.revisions("main", "order:1").await.unwrap().is_empty());
    store.begin_revision(&revision, None, &[]).await.unwrap();
    assert_eq!(
        store.revisions("main", "order:1").await.unwrap(),
        std::slice::from_ref(&revision)
    );
    // An unconfirmed revision is replaced by the next begin of its number.
    let retried = Revision {
        entry: "{\"lines\":2}".into(),
        at: 2,
        ..revision.clone()
    };
    store.begin_revision(&retried, None, &[]).await.unwrap();
    assert_eq!(
        store.revisions("main", "order:1").await.unwrap(),
        std::slice::from_ref(&retried)
    );
    store
        .confirm_revision("main", "order:1", 1, "2026/SO/000001")
        .await
        .unwrap();
    let posted = Revision {
        voucher: Some("2026/SO/000001".into()),
        ..retried
    };
    assert_eq!(
        store.revisions("main", "order:1").await.unwrap(),
        std::slice::from_ref(&posted)
    );
    match store.begin_revision(&revision, None, &[]).await {
        Err(StoreError::RevisionPosted {
            document,
            number,
            voucher,
        }) => assert_eq!(
            (document.as_str(), number, voucher.as_str()),
            ("order:1", 1, "2026/SO/000001")
        ),
        other => panic!("a posted revision is final: {other:?}"),
    }
    // Abandoning a posted revision leaves it.
    store.abandon_revision("main", "order:1", 1).await.unwrap();
    assert_eq!(
        store.revisions("main", "order:1").await.unwrap(),
        std::slice::from_ref(&posted)
    );
    let second = Revision {
        number: 2,
        external_reference: "main:order:1:r2".into(),
        ..revision.clone()
    };
    store.begin_revision(&second, None, &[]).await.unwrap();
    assert_eq!(
        store.revisions("main", "order:1").await.unwrap(),
        [posted.clone(), second]
    );
    store.abandon_revision("main", "order:1", 2).await.unwrap();
    assert_eq!(store.revisions("main", "order:1").await.unwrap(), [posted]);
    assert!(matches!(
        store.confirm_revision("main", "order:1", 2, "V").await,
        Err(StoreError::NoRevision { number: 2, ref document }) if document == "order:1"
    ));
    // Revisions belong to their connection.
    assert!(
        store
            .revisions("other", "order:1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.confirm_revision("other", "order:1", 1, "V").await,
        Err(StoreError::NoRevision { .. })
    ));
}

fn moved(name: &str, from: Option<&str>, to: &str) -> CursorMove {
    CursorMove {
        name: name.into(),
        from: from.map(str::to_string),
        to: to.into(),
    }
}

pub async fn cursors_move_together_only_from_where_they_were_read(
    store: &dyn Store,
    _clock: &TestClock,
) {
    // Two runs of a poll read the cursors unset; the first to move them wins.
    let first = [moved("orders", None, "o1"), moved("refunds", None, "r1")];
    store.move_cursors("main", &first).await.unwrap();
    let late = [moved("orders", None, "o0"), moved("refunds", None, "r0")];
    match store.move_cursors("main", &late).await {
        Err(StoreError::CursorMoved { connection, name }) => {
            assert_eq!((connection.as_str(), name.as_str()), ("main", "orders"));
        }
        other => panic!("{other:?}"),
    }
    // All or nothing: the first cursor matches, the second does not; neither moves.
    let half = [
        moved("orders", Some("o1"), "o2"),
        moved("refunds", Some("r0"), "r2"),
    ];
    assert!(matches!(
        store.move_cursors("main", &half).await,
        Err(StoreError::CursorMoved { name, .. }) if name == "refunds"
    ));
    assert_eq!(
        store.cursor("main", "orders").await.unwrap().as_deref(),
        Some("o1")
    );
    assert_eq!(
        store.cursor("main", "refunds").await.unwrap().as_deref(),
        Some("r1")
    );
    let next = [
        moved("orders", Some("o1"), "o2"),
        moved("refunds", Some("r1"), "r2"),
    ];
    store.move_cursors("main", &next).await.unwrap();
    assert_eq!(
        store.cursor("main", "refunds").await.unwrap().as_deref(),
        Some("r2")
    );
    // Per connection: another connection's cursor of the same name is its own.
    store
        .move_cursors("other", &[moved("orders", None, "x")])
        .await
        .unwrap();
    store.move_cursors("main", &[]).await.unwrap();
}

pub async fn a_schedule_run_is_claimed_by_one_owner_at_a_time(
    store: &dyn Store,
    clock: &TestClock,
) {
    let claim = |owner: &'static str, covers: Millis| async move {
        store
            .claim_schedule("main", "reconcile", owner, covers, 60_000)
            .await
            .unwrap()
    };
    assert_eq!(claim("a", 0).await, ScheduleClaim::Claimed);
    assert_eq!(
        claim("b", 0).await,
        ScheduleClaim::Running { owner: "a".into() }
    );
    // Another connection's schedule of the same name is its own.
    assert_eq!(
        store
            .claim_schedule("other", "reconcile", "b", 0, 60_000)
            .await
            .unwrap(),
        ScheduleClaim::Claimed
    );
    clock.advance(50_000);
    store
        .hold_schedule("main", "reconcile", "a", 60_000)
        .await
        .unwrap();
    clock.advance(50_000);
    assert_eq!(
        claim("b", 0).await,
        ScheduleClaim::Running { owner: "a".into() },
        "renewed"
    );
    store.end_schedule("main", "reconcile", "b").await.unwrap();
    assert_eq!(
        claim("b", 0).await,
        ScheduleClaim::Running { owner: "a".into() },
        "only the holder ends its claim"
    );
    store.end_schedule("main", "reconcile", "a").await.unwrap();
    let started = START;
    // A run that started within `covers` stands for this one.
    assert_eq!(claim("b", 200_000).await, ScheduleClaim::RanAt(started));
    clock.advance(10);
    assert_eq!(claim("b", 100_000).await, ScheduleClaim::Claimed);
    // A claim that ran out unrenewed is taken; its holder is told when it renews.
    clock.advance(60_001);
    assert_eq!(claim("c", 0).await, ScheduleClaim::Claimed);
    assert!(matches!(
        store.hold_schedule("main", "reconcile", "b", 60_000).await,
        Err(StoreError::ScheduleLost { connection, name })
            if connection == "main" && name == "reconcile"
    ));
}

pub async fn cursors_and_id_maps_are_upserted_per_connection(store: &dyn Store, clock: &TestClock) {
    assert_eq!(store.cursor("main", "orders").await.unwrap(), None);
    assert!(store.cursors("main").await.unwrap().is_empty());
    store.set_cursor("main", "orders", "a").await.unwrap();
    clock.advance(10);
    store.set_cursor("main", "orders", "b").await.unwrap();
    store.set_cursor("main", "refunds", "r").await.unwrap();
    store.set_cursor("other", "orders", "z").await.unwrap();
    assert_eq!(
        store.cursor("main", "orders").await.unwrap().as_deref(),
        Some("b")
    );
    assert_eq!(
        store.cursor("other", "orders").await.unwrap().as_deref(),
        Some("z")
    );
    assert_eq!(
        store.cursors("main").await.unwrap(),
        [
            ("orders".to_string(), "b".to_string(), START + 10),
            ("refunds".to_string(), "r".to_string(), START + 10),
        ]
    );

    assert_eq!(
        store
            .mapped("main", "email", "ada@example.com")
            .await
            .unwrap(),
        None
    );
    store
        .map("main", "email", "ada@example.com", "W1")
        .await
        .unwrap();
    store
        .map("main", "email", "ada@example.com", "W2")
        .await
        .unwrap();
    store
        .map("main", "sku", "ada@example.com", "P9")
        .await
        .unwrap();
    assert_eq!(
        store
            .mapped("main", "email", "ada@example.com")
            .await
            .unwrap()
            .as_deref(),
        Some("W2")
    );
    assert_eq!(
        store
            .mapped("main", "sku", "ada@example.com")
            .await
            .unwrap()
            .as_deref(),
        Some("P9")
    );
    assert_eq!(
        store
            .mapped("other", "email", "ada@example.com")
            .await
            .unwrap(),
        None
    );
}

pub async fn the_audit_chain_links_every_entry_and_verifies(store: &dyn Store, clock: &TestClock) {
    assert_eq!(store.verify_audit(None).await.unwrap().entries, 0);
    for n in 0..5 {
        let seq = store
            .audit(&AuditEntry {
                connection: "main".into(),
                subject: format!("order:{}", n % 2),
                kind: "received".into(),
                data: format!("{{\"n\":{n}}}"),
            })
            .await
            .unwrap();
        assert_eq!(seq, n + 1);
        clock.advance(100);
    }
    assert_eq!(store.verify_audit(None).await.unwrap().entries, 5);
    let about = store.audit_for("order:1").await.unwrap();
    assert_eq!(about.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 4]);
    assert_eq!(about[0].at, START + 100);
    assert_eq!(about[0].entry.data, "{\"n\":1}");
    // Every backend chains the same way: each hash covers the previous one.
    let zero = store.audit_for("order:0").await.unwrap();
    assert_eq!(zero[0].hash, chain_hash(None, "", 1, START, &zero[0].entry));
    assert_eq!(
        about[0].hash,
        chain_hash(None, &zero[0].hash, 2, START + 100, &about[0].entry)
    );
    assert_eq!(
        zero[1].hash,
        chain_hash(None, &about[0].hash, 3, START + 200, &zero[1].entry)
    );
    assert!(store.audit_for("order:7").await.unwrap().is_empty());
}

pub async fn audit_entries_of_a_kind_are_found_by_time(store: &dyn Store, clock: &TestClock) {
    for n in 0..6 {
        let kind = if n % 2 == 0 { "mapped" } else { "posted" };
        store
            .audit(&AuditEntry {
                connection: "main".into(),
                subject: format!("order:{n}"),
                kind: kind.into(),
                data: "{}".into(),
            })
            .await
            .unwrap();
        clock.advance(100);
    }
    let subjects = |records: Vec<AuditRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.entry.subject).collect()
    };
    let all = store.audit_of_kind("mapped", 0, 100).await.unwrap();
    assert_eq!(subjects(all), ["order:0", "order:2", "order:4"]);
    // At or after the time: order:2 was appended at START + 200.
    let since = store
        .audit_of_kind("mapped", START + 200, 100)
        .await
        .unwrap();
    assert_eq!(subjects(since), ["order:2", "order:4"]);
    let first = store.audit_of_kind("mapped", START + 1, 1).await.unwrap();
    assert_eq!(subjects(first), ["order:2"]);
    assert!(
        store
            .audit_of_kind("parked", 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn audit_entries_of_a_kind_are_counted_per_connection_and_bucket(
    store: &dyn Store,
    clock: &TestClock,
) {
    // Every 100 ms for a second: main posts each time, west every other time; main's
    // mappings are not counted with its posts.
    for n in 0..10 {
        let mut said = vec![("main", "posted"), ("main", "mapped")];
        if n % 2 == 0 {
            said.push(("west", "posted"));
        }
        for (connection, kind) in said {
            store
                .audit(&AuditEntry {
                    connection: connection.into(),
                    subject: format!("order:{n}"),
                    kind: kind.into(),
                    data: "{}".into(),
                })
                .await
                .unwrap();
        }
        clock.advance(100);
    }
    let counts = store
        .audit_counts("posted", START + 100, 400)
        .await
        .unwrap();
    let counts: Vec<(&str, i64, u64)> = counts
        .iter()
        .map(|c| (c.connection.as_str(), c.bucket, c.count))
        .collect();
    // From START + 100: buckets of 400 ms hold 4, 4 and 1 of main's (the first is before
    // `since`), and west's at 200, 400 | 600, 800.
    assert_eq!(
        counts,
        [
            ("main", 0, 4),
            ("main", 1, 4),
            ("main", 2, 1),
            ("west", 0, 2),
            ("west", 1, 2)
        ]
    );
    assert!(
        store
            .audit_counts("parked", START, 60_000)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_keyed_audit_chain_takes_appends_under_its_key_only(
    store: &dyn Store,
    _: &TestClock,
) {
    use crate::store::{AuditBreak, AuditKey, SignedHead};
    let entry = |n: u32| AuditEntry {
        connection: "main".into(),
        subject: "order:1".into(),
        kind: "received".into(),
        data: format!("{{\"n\":{n}}}"),
    };
    // A log begun without a key goes on under one.
    store.audit(&entry(1)).await.unwrap();
    let key = AuditKey::new(zeroize::Zeroizing::new([3; 32]));
    store.key_audit(key.clone());
    store.audit(&entry(2)).await.unwrap();
    store.audit(&entry(3)).await.unwrap();
    let summary = store.verify_audit(None).await.unwrap();
    assert_eq!((summary.entries, summary.keyed), (3, 2));
    let (seq, hash) = store.audit_head().await.unwrap().unwrap();
    assert_eq!(seq, 3);
    assert!(hash.starts_with(&format!("k1:{}:", key.id())), "{hash}");
    assert_eq!(store.audit_hash(3).await.unwrap(), Some(hash.clone()));
    assert_eq!(store.audit_hash(4).await.unwrap(), None);
    // Against its signed head, and a head it no longer reaches.
    let head = SignedHead::sign(&key, seq, &hash, 0);
    assert_eq!(store.verify_audit(Some(&head)).await.unwrap().entries, 3);
    let ahead = SignedHead::sign(&key, 9, "k1:x:y", 0);
    assert!(matches!(
        store.verify_audit(Some(&ahead)).await,
        Err(StoreError::AuditBroken {
            seq: 9,
            reason: AuditBreak::Truncated { last: 3 }
        })
    ));
}
