//! The PostgreSQL job queue: the same operations as the SQLite backend's, with leasing
//! made safe for several replicas (an advisory lock per connection while leasing, and
//! `FOR UPDATE SKIP LOCKED` on the rows taken).

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use super::records::alive;
use crate::store::{
    ByHand, Enqueued, FIRST_ATTEMPT_ONLY, Job, JobState, Lease, Millis, NewJob, ParkedFilter,
    QueueDepth, StoreError,
};

const JOB_COLUMNS: &str = "id, connection, kind, key, document, payload, state, attempts, \
                           next_attempt_at, last_error, created_at, updated_at";

fn job_from(row: &Row) -> Job {
    let state: String = row.get(6);
    let attempts: i32 = row.get(7);
    Job {
        id: row.get(0),
        connection: row.get(1),
        kind: row.get(2),
        key: row.get(3),
        document: row.get(4),
        payload: row.get(5),
        state: JobState::parse(&state).unwrap_or(JobState::Parked),
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at: row.get(8),
        last_error: row.get(9),
        created_at: row.get(10),
        updated_at: row.get(11),
    }
}

fn token(lease: &Lease) -> i32 {
    i32::try_from(lease.token).unwrap_or(i32::MAX)
}

/// Adds a job in `state` (ready, or parked with `error`) unless one with its connection,
/// kind and key exists (a concurrent insert of the same key waits for the other to end).
pub(super) async fn insert(
    tx: &Transaction<'_>,
    job: &NewJob,
    state: JobState,
    error: Option<&str>,
    now: Millis,
) -> Result<Enqueued, StoreError> {
    let inserted = tx
        .query_opt(
            &tx.prepare_cached(
                "INSERT INTO jobs (connection, kind, key, document, payload, state, attempts,
                     next_attempt_at, last_error, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $9)
                 ON CONFLICT (connection, kind, key) DO NOTHING
                 RETURNING id",
            )
            .await?,
            &[
                &job.connection,
                &job.kind,
                &job.key,
                &job.document,
                &job.payload,
                &state.as_str(),
                &job.not_before.unwrap_or(now),
                &error,
                &now,
            ],
        )
        .await?;
    if let Some(row) = inserted {
        return Ok(Enqueued::New(row.get(0)));
    }
    let existing = tx
        .query_one(
            &tx.prepare_cached(
                "SELECT id FROM jobs WHERE connection = $1 AND kind = $2 AND key = $3",
            )
            .await?,
            &[&job.connection, &job.kind, &job.key],
        )
        .await?;
    Ok(Enqueued::Duplicate(existing.get(0)))
}

/// Frees `connection`'s leases that ran out or whose process is gone (its presence lock
/// is no longer held: a replica killed mid-job), then leases up to `max` of its runnable
/// jobs to `owner` of the process with `presence` until `now + lease_for`, raising each
/// one's attempt number (its fencing token). Leasing for one connection is serialized
/// across replicas by an advisory lock held to the end of the transaction, so "first in
/// line for its document" is decided by one replica at a time.
pub(super) async fn lease(
    tx: &Transaction<'_>,
    connection: &str,
    (owner, presence): (&str, i64),
    max: usize,
    lease_for: Millis,
    now: Millis,
) -> Result<Vec<Job>, StoreError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('ml-connector lease ' || $1, 0))",
        &[&connection],
    )
    .await?;
    tx.execute(
        &tx.prepare_cached(&format!(
            "UPDATE jobs SET state = 'ready', lease_owner = NULL, lease_until = NULL,
                 lease_presence = NULL, updated_at = $1
             WHERE connection = $2 AND state = 'leased'
               AND (lease_until <= $1 OR NOT {})",
            alive("lease_presence")
        ))
        .await?,
        &[&now, &connection],
    )
    .await?;
    let rows = tx
        .query(
            &tx.prepare_cached(
                "WITH taken AS (
                     SELECT j.id FROM jobs j
                     WHERE j.connection = $3 AND j.state = 'ready' AND j.next_attempt_at <= $1
                       AND NOT EXISTS (
                           SELECT 1 FROM jobs k
                           WHERE k.connection = j.connection AND k.document = j.document
                             AND ((k.id < j.id AND k.state IN ('ready', 'leased', 'parked'))
                                  OR k.state = 'leased'))
                     ORDER BY j.next_attempt_at, j.id
                     LIMIT $2
                     FOR UPDATE SKIP LOCKED)
                 UPDATE jobs SET state = 'leased', lease_owner = $4, lease_until = $5,
                     lease_presence = $6, attempts = attempts + 1, updated_at = $1
                 FROM taken WHERE jobs.id = taken.id
                 RETURNING jobs.id, jobs.connection, jobs.kind, jobs.key, jobs.document,
                     jobs.payload, jobs.state, jobs.attempts, jobs.next_attempt_at,
                     jobs.last_error, jobs.created_at, jobs.updated_at",
            )
            .await?,
            &[
                &now,
                &i64::try_from(max).unwrap_or(i64::MAX),
                &connection,
                &owner,
                &(now + lease_for),
                &presence,
            ],
        )
        .await?;
    let mut leased: Vec<Job> = rows.iter().map(job_from).collect();
    leased.sort_by_key(|job| (job.next_attempt_at, job.id));
    Ok(leased)
}

/// Extends a lease still held (owner and token match, not run out) to `now + lease_for`.
pub(super) async fn hold(
    tx: &Transaction<'_>,
    lease: &Lease,
    lease_for: Millis,
    now: Millis,
) -> Result<(), StoreError> {
    let changed = tx
        .execute(
            &tx.prepare_cached(
                "UPDATE jobs SET lease_until = $1, updated_at = $2
                 WHERE id = $3 AND state = 'leased' AND lease_owner = $4 AND attempts = $5
                   AND lease_until > $2",
            )
            .await?,
            &[
                &(now + lease_for),
                &now,
                &lease.job,
                &lease.owner,
                &token(lease),
            ],
        )
        .await?;
    if changed == 0 {
        return Err(StoreError::LeaseLost(lease.job));
    }
    Ok(())
}

/// Whether `lease` is held (owner and token match) past `now + for_at_least`.
pub(super) async fn holds(
    tx: &Transaction<'_>,
    lease: &Lease,
    for_at_least: Millis,
    now: Millis,
) -> Result<bool, StoreError> {
    let row = tx
        .query_opt(
            &tx.prepare_cached(
                "SELECT 1 FROM jobs
                 WHERE id = $1 AND state = 'leased' AND lease_owner = $2 AND attempts = $3
                   AND lease_until > $4",
            )
            .await?,
            &[
                &lease.job,
                &lease.owner,
                &token(lease),
                &(now + for_at_least),
            ],
        )
        .await?;
    Ok(row.is_some())
}

/// Frees the leases `owner` holds.
pub(super) async fn release(
    tx: &Transaction<'_>,
    owner: &str,
    now: Millis,
) -> Result<u64, StoreError> {
    free_leases(tx, "lease_owner = $2", owner, now).await
}

/// Deletes up to `limit` done jobs last changed before `before`, in id order (oldest
/// first); returns how many. Rows another transaction holds are skipped, not waited for.
pub(super) async fn prune_done(
    tx: &Transaction<'_>,
    before: Millis,
    limit: usize,
) -> Result<u64, StoreError> {
    Ok(tx
        .execute(
            "DELETE FROM jobs WHERE id IN (
                 SELECT id FROM jobs WHERE state = 'done' AND updated_at < $1
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)",
            &[&before, &i64::try_from(limit).unwrap_or(i64::MAX)],
        )
        .await?)
}

/// Frees the leases of every owner whose id starts with `role` and a dash, and ends their
/// claims on schedule runs; returns how many leases it freed.
pub(super) async fn release_role(
    tx: &Transaction<'_>,
    role: &str,
    now: Millis,
) -> Result<u64, StoreError> {
    tx.execute(
        "UPDATE schedule_runs SET owner = NULL, presence = NULL, held_until = 0
         WHERE starts_with(owner, $1 || '-')",
        &[&role],
    )
    .await?;
    free_leases(tx, "starts_with(lease_owner, $2 || '-')", role, now).await
}

/// Frees the leases whose owner matches `condition` on `$2` (`value`).
async fn free_leases(
    tx: &Transaction<'_>,
    condition: &str,
    value: &str,
    now: Millis,
) -> Result<u64, StoreError> {
    Ok(tx
        .execute(
            &format!(
                "UPDATE jobs SET state = 'ready', lease_owner = NULL, lease_until = NULL,
                     lease_presence = NULL, updated_at = $1
                 WHERE state = 'leased' AND {condition}"
            ),
            &[&now, &value],
        )
        .await?)
}

/// Ends `lease` in `state`; fails if it was lost (its owner or fencing token no longer
/// match).
pub(super) async fn end_lease(
    tx: &Transaction<'_>,
    lease: &Lease,
    state: JobState,
    error: Option<&str>,
    next_attempt_at: Option<Millis>,
    now: Millis,
) -> Result<(), StoreError> {
    let changed = tx
        .execute(
            &tx.prepare_cached(&format!(
                "UPDATE jobs SET state = $1, lease_owner = NULL, lease_until = NULL,
                     lease_presence = NULL,
                     last_error = COALESCE($2, last_error),
                     next_attempt_at = COALESCE($3, next_attempt_at), updated_at = $4,
                     payload = {trimmed}
                 WHERE id = $5 AND state = 'leased' AND lease_owner = $6 AND attempts = $7",
                trimmed = trimmed_payload()
            ))
            .await?,
            &[
                &state.as_str(),
                &error,
                &next_attempt_at,
                &now,
                &lease.job,
                &lease.owner,
                &token(lease),
            ],
        )
        .await?;
    if changed == 0 {
        return Err(StoreError::LeaseLost(lease.job));
    }
    Ok(())
}

/// A job's payload without its first-attempt-only member ([`FIRST_ATTEMPT_ONLY`]), as an
/// SQL expression (`payload_without`, migration 7, keeps a payload jsonb cannot read).
fn trimmed_payload() -> String {
    format!(
        "CASE WHEN strpos(payload, '\"{m}\"') > 0
              THEN payload_without(payload, '{m}') ELSE payload END",
        m = FIRST_ATTEMPT_ONLY
    )
}

/// Completes `lease`'s job and the ready jobs of the same document and kind created
/// before `read_at`; returns how many it covered.
pub(super) async fn complete_covering(
    tx: &Transaction<'_>,
    lease: &Lease,
    read_at: Millis,
    now: Millis,
) -> Result<u64, StoreError> {
    let id = lease.job;
    end_lease(tx, lease, JobState::Done, None, None, now).await?;
    Ok(tx
        .execute(
            &tx.prepare_cached(&format!(
                "UPDATE jobs SET state = 'done', last_error = $1, updated_at = $2,
                     payload = {trimmed}
                 WHERE state = 'ready' AND created_at < $3 AND id != $4
                   AND (connection, document, kind) =
                       (SELECT connection, document, kind FROM jobs WHERE id = $4)",
                trimmed = trimmed_payload()
            ))
            .await?,
            &[&format!("covered by job {id}"), &now, &read_at, &id],
        )
        .await?)
}

/// Replays (due now) or resolves (done, with the operator's reason) a parked job.
pub(super) async fn settle_parked(
    tx: &Transaction<'_>,
    id: i64,
    action: &ByHand,
    now: Millis,
) -> Result<(), StoreError> {
    let changed = match action {
        ByHand::Replay { payload } => {
            tx.execute(
                "UPDATE jobs SET state = 'ready', next_attempt_at = $1, updated_at = $1,
                                 payload = coalesce($3, payload)
                 WHERE id = $2 AND state = 'parked'",
                &[&now, &id, payload],
            )
            .await?
        }
        ByHand::Resolve { reason } => {
            tx.execute(
                "UPDATE jobs SET state = 'done', last_error = $3, updated_at = $1
                 WHERE id = $2 AND state = 'parked'",
                &[&now, &id, &format!("resolved by hand: {reason}")],
            )
            .await?
        }
    };
    if changed == 0 {
        return Err(StoreError::NoJob(id));
    }
    Ok(())
}

/// Parked jobs by `filter`, newest first (the partial index `jobs_open` holds them).
pub(super) async fn parked_jobs(
    db: &impl GenericClient,
    filter: &ParkedFilter,
) -> Result<Vec<Job>, StoreError> {
    let rows = db
        .query(
            &db.prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs
                 WHERE state = 'parked' AND ($1::TEXT IS NULL OR connection = $1)
                   AND ($2::TEXT IS NULL OR kind = $2) AND updated_at >= $3 AND id < $4
                 ORDER BY id DESC LIMIT $5"
            ))
            .await?,
            &[
                &filter.connection,
                &filter.kind,
                &filter.since.unwrap_or(Millis::MIN),
                &filter.before.unwrap_or(i64::MAX),
                &i64::try_from(filter.limit).unwrap_or(i64::MAX),
            ],
        )
        .await?;
    Ok(rows.iter().map(job_from).collect())
}

pub(super) async fn job(db: &impl GenericClient, id: i64) -> Result<Option<Job>, StoreError> {
    let row = db
        .query_opt(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(job_from))
}

pub(super) async fn jobs_in(
    db: &impl GenericClient,
    state: JobState,
    limit: usize,
) -> Result<Vec<Job>, StoreError> {
    let rows = db
        .query(
            &db.prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE state = $1 ORDER BY id LIMIT $2"
            ))
            .await?,
            &[&state.as_str(), &i64::try_from(limit).unwrap_or(i64::MAX)],
        )
        .await?;
    Ok(rows.iter().map(job_from).collect())
}

/// The jobs not done, by state (the partial index `jobs_open` holds only those).
pub(super) async fn open_jobs(db: &impl GenericClient) -> Result<QueueDepth, StoreError> {
    let rows = db
        .query(
            &db.prepare_cached(
                "SELECT state, COUNT(*) FROM jobs WHERE state <> 'done' GROUP BY state",
            )
            .await?,
            &[],
        )
        .await?;
    Ok(depth_by_state(&rows))
}

pub(super) async fn queue_depth(
    db: &impl GenericClient,
    connection: Option<&str>,
) -> Result<QueueDepth, StoreError> {
    let rows = db
        .query(
            &db.prepare_cached(
                "SELECT state, COUNT(*) FROM jobs WHERE $1::TEXT IS NULL OR connection = $1
                 GROUP BY state",
            )
            .await?,
            &[&connection],
        )
        .await?;
    Ok(depth_by_state(&rows))
}

/// The queue depth from rows of state and count.
fn depth_by_state(rows: &[tokio_postgres::Row]) -> QueueDepth {
    let mut depth = QueueDepth::default();
    for row in rows {
        let state: String = row.get(0);
        depth.add(&state, u64::try_from(row.get::<_, i64>(1)).unwrap_or(0));
    }
    depth
}

/// The earliest time a ready job of `connection` that is not yet due becomes due.
pub(super) async fn next_retry_at(
    db: &impl GenericClient,
    connection: &str,
    now: Millis,
) -> Result<Option<Millis>, StoreError> {
    let row = db
        .query_one(
            "SELECT MIN(next_attempt_at) FROM jobs
             WHERE connection = $2 AND state = 'ready' AND next_attempt_at > $1",
            &[&now, &connection],
        )
        .await?;
    Ok(row.get(0))
}
