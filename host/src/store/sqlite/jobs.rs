//! The SQLite job queue: adding jobs (deduplicated by connection, kind and key), leasing
//! the runnable ones of a connection (first in line for their document), renewing and
//! ending leases under their fencing token, freeing leases, and reading the queue.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::store::{
    ByHand, Enqueued, FIRST_ATTEMPT_ONLY, Job, JobState, Lease, Millis, NewJob, ParkedFilter,
    QueueDepth, StoreError,
};

const JOB_COLUMNS: &str = "id, connection, kind, key, document, payload, state, attempts, \
                           next_attempt_at, last_error, created_at, updated_at";

fn job_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let state: String = row.get(6)?;
    Ok(Job {
        id: row.get(0)?,
        connection: row.get(1)?,
        kind: row.get(2)?,
        key: row.get(3)?,
        document: row.get(4)?,
        payload: row.get(5)?,
        state: JobState::parse(&state).unwrap_or(JobState::Parked),
        attempts: row.get(7)?,
        next_attempt_at: row.get(8)?,
        last_error: row.get(9)?,
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
    })
}

/// Adds a job in `state` (ready, or parked with `error`) unless one with its connection,
/// kind and key exists.
pub(super) fn insert(
    tx: &Transaction<'_>,
    job: &NewJob,
    state: JobState,
    error: Option<&str>,
    now: Millis,
) -> Result<Enqueued, StoreError> {
    let existing: Option<i64> = tx
        .prepare_cached("SELECT id FROM jobs WHERE connection = ?1 AND kind = ?2 AND key = ?3")?
        .query_row(params![job.connection, job.kind, job.key], |row| row.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok(Enqueued::Duplicate(id));
    }
    tx.prepare_cached(
        "INSERT INTO jobs (connection, kind, key, document, payload, state, attempts,
             next_attempt_at, last_error, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?9)",
    )?
    .execute(params![
        job.connection,
        job.kind,
        job.key,
        job.document,
        job.payload,
        state.as_str(),
        job.not_before.unwrap_or(now),
        error,
        now
    ])?;
    Ok(Enqueued::New(tx.last_insert_rowid()))
}

/// Frees the connection's leases that ran out, then leases up to `max` of its runnable jobs
/// to `owner` until `now + lease_for`, raising each one's attempt number (its fencing
/// token).
pub(super) fn lease(
    tx: &Transaction<'_>,
    connection: &str,
    owner: &str,
    max: usize,
    lease_for: Millis,
    now: Millis,
) -> Result<Vec<Job>, StoreError> {
    // The connection's run-out leases, found by the runnable index (over every
    // connection the statement would read the whole table, done jobs and all).
    tx.prepare_cached(
        "UPDATE jobs SET state = 'ready', lease_owner = NULL, lease_until = NULL,
             updated_at = ?1
         WHERE connection = ?2 AND state = 'leased' AND lease_until <= ?1",
    )?
    .execute(params![now, connection])?;
    let ids: Vec<i64> = {
        let mut select = tx.prepare_cached(
            "SELECT j.id FROM jobs j
             WHERE j.connection = ?3 AND j.state = 'ready' AND j.next_attempt_at <= ?1
               AND NOT EXISTS (
                   SELECT 1 FROM jobs k
                   WHERE k.connection = j.connection AND k.document = j.document
                     AND ((k.id < j.id AND k.state IN ('ready', 'leased', 'parked'))
                          OR k.state = 'leased'))
             ORDER BY j.next_attempt_at, j.id
             LIMIT ?2",
        )?;
        select
            .query_map(params![now, max as i64, connection], |row| row.get(0))?
            .collect::<Result<_, _>>()?
    };
    // Two ready jobs of one document can both pass the check above only if both are
    // first in line, which cannot happen; still, take one per document.
    let mut documents = HashSet::new();
    let mut leased = Vec::new();
    for id in ids {
        let job: Job = tx
            .prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"))?
            .query_row(params![id], job_from)?;
        if !documents.insert((job.connection.clone(), job.document.clone())) {
            continue;
        }
        tx.prepare_cached(
            "UPDATE jobs SET state = 'leased', lease_owner = ?1, lease_until = ?2,
                 attempts = attempts + 1, updated_at = ?3
             WHERE id = ?4",
        )?
        .execute(params![owner, now + lease_for, now, id])?;
        leased.push(Job {
            state: JobState::Leased,
            attempts: job.attempts + 1,
            updated_at: now,
            ..job
        });
    }
    Ok(leased)
}

/// Extends a lease still held (owner and token match, not run out) to `now + lease_for`.
pub(super) fn hold(
    tx: &Transaction<'_>,
    lease: &Lease,
    lease_for: Millis,
    now: Millis,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE jobs SET lease_until = ?1, updated_at = ?2
             WHERE id = ?3 AND state = 'leased' AND lease_owner = ?4 AND attempts = ?5
               AND lease_until > ?2",
        )?
        .execute(params![
            now + lease_for,
            now,
            lease.job,
            lease.owner,
            lease.token
        ])?;
    if changed == 0 {
        return Err(StoreError::LeaseLost(lease.job));
    }
    Ok(())
}

/// Whether `lease` is held (owner and token match) past `now + for_at_least`.
pub(super) fn holds(
    db: &Connection,
    lease: &Lease,
    for_at_least: Millis,
    now: Millis,
) -> Result<bool, StoreError> {
    let held = db
        .prepare_cached(
            "SELECT 1 FROM jobs
             WHERE id = ?1 AND state = 'leased' AND lease_owner = ?2 AND attempts = ?3
               AND lease_until > ?4",
        )?
        .exists(params![
            lease.job,
            lease.owner,
            lease.token,
            now + for_at_least
        ])?;
    Ok(held)
}

/// Frees the leases `owner` holds.
pub(super) fn release(tx: &Transaction<'_>, owner: &str, now: Millis) -> Result<u64, StoreError> {
    free_leases(tx, "lease_owner = ?2", owner, now)
}

/// Frees the leases of every owner whose id starts with `role` and a dash, and ends their
/// claims on schedule runs; returns how many leases it freed.
pub(super) fn release_role(
    tx: &Transaction<'_>,
    role: &str,
    now: Millis,
) -> Result<u64, StoreError> {
    tx.prepare_cached(
        "UPDATE schedule_runs SET owner = NULL, held_until = 0
         WHERE substr(owner, 1, length(?1) + 1) = ?1 || '-'",
    )?
    .execute(params![role])?;
    free_leases(
        tx,
        "substr(lease_owner, 1, length(?2) + 1) = ?2 || '-'",
        role,
        now,
    )
}

/// Frees the leases whose owner matches `condition` on `?2` (`value`).
fn free_leases(
    tx: &Transaction<'_>,
    condition: &str,
    value: &str,
    now: Millis,
) -> Result<u64, StoreError> {
    let freed = tx
        .prepare_cached(&format!(
            "UPDATE jobs SET state = 'ready', lease_owner = NULL, lease_until = NULL,
                 updated_at = ?1
             WHERE state = 'leased' AND {condition}"
        ))?
        .execute(params![now, value])?;
    Ok(freed as u64)
}

/// Ends `lease` in `state`; fails if it was lost (its owner or fencing token no longer
/// match).
pub(super) fn end_lease(
    tx: &Transaction<'_>,
    lease: &Lease,
    state: JobState,
    error: Option<&str>,
    next_attempt_at: Option<Millis>,
    now: Millis,
) -> Result<(), StoreError> {
    let changed = tx
        .prepare_cached(&format!(
            "UPDATE jobs SET state = ?1, lease_owner = NULL, lease_until = NULL,
                 last_error = COALESCE(?2, last_error),
                 next_attempt_at = COALESCE(?3, next_attempt_at), updated_at = ?4,
                 payload = {trimmed}
             WHERE id = ?5 AND state = 'leased' AND lease_owner = ?6 AND attempts = ?7",
            trimmed = trimmed_payload()
        ))?
        .execute(params![
            state.as_str(),
            error,
            next_attempt_at,
            now,
            lease.job,
            lease.owner,
            lease.token
        ])?;
    if changed == 0 {
        return Err(StoreError::LeaseLost(lease.job));
    }
    Ok(())
}

/// A job's payload without its first-attempt-only member ([`FIRST_ATTEMPT_ONLY`]), as an
/// SQL expression (a payload without it, or that is no JSON, is left as it is).
fn trimmed_payload() -> String {
    format!(
        "CASE WHEN instr(payload, '\"{m}\"') > 0 AND json_valid(payload)
              THEN json_remove(payload, '$.{m}') ELSE payload END",
        m = FIRST_ATTEMPT_ONLY
    )
}

/// Completes `lease`'s job and the ready jobs of the same document and kind created
/// before `read_at`; returns how many it covered.
pub(super) fn complete_covering(
    tx: &Transaction<'_>,
    lease: &Lease,
    read_at: Millis,
    now: Millis,
) -> Result<u64, StoreError> {
    let id = lease.job;
    end_lease(tx, lease, JobState::Done, None, None, now)?;
    let covered = tx
        .prepare_cached(&format!(
            "UPDATE jobs SET state = 'done', last_error = ?1, updated_at = ?2,
                 payload = {trimmed}
             WHERE state = 'ready' AND created_at < ?3 AND id != ?4
               AND (connection, document, kind) =
                   (SELECT connection, document, kind FROM jobs WHERE id = ?4)",
            trimmed = trimmed_payload()
        ))?
        .execute(params![format!("covered by job {id}"), now, read_at, id])?;
    Ok(covered as u64)
}

/// Deletes up to `limit` done jobs last changed before `before`, in id order (oldest
/// first); returns how many.
pub(super) fn prune_done(
    tx: &Transaction<'_>,
    before: Millis,
    limit: usize,
) -> Result<u64, StoreError> {
    let deleted = tx
        .prepare_cached(
            "DELETE FROM jobs WHERE id IN (
                 SELECT id FROM jobs WHERE state = 'done' AND updated_at < ?1
                 ORDER BY id LIMIT ?2)",
        )?
        .execute(params![before, i64::try_from(limit).unwrap_or(i64::MAX)])?;
    Ok(deleted as u64)
}

/// Replays (due now) or resolves (done, with the operator's reason) a parked job.
pub(super) fn settle_parked(
    tx: &Transaction<'_>,
    id: i64,
    action: &ByHand,
    now: Millis,
) -> Result<(), StoreError> {
    let changed = match action {
        ByHand::Replay { payload } => tx
            .prepare_cached(
                "UPDATE jobs SET state = 'ready', next_attempt_at = ?1, updated_at = ?1,
                             payload = coalesce(?3, payload)
             WHERE id = ?2 AND state = 'parked'",
            )?
            .execute(params![now, id, payload])?,
        ByHand::Resolve { reason } => tx
            .prepare_cached(
                "UPDATE jobs SET state = 'done', last_error = ?3, updated_at = ?1
             WHERE id = ?2 AND state = 'parked'",
            )?
            .execute(params![now, id, format!("resolved by hand: {reason}")])?,
    };
    if changed == 0 {
        return Err(StoreError::NoJob(id));
    }
    Ok(())
}

/// Parked jobs by `filter`, newest first, from the index of open jobs (the `<> 'done'`
/// lets SQLite use the partial index).
pub(super) fn parked_jobs(db: &Connection, filter: &ParkedFilter) -> Result<Vec<Job>, StoreError> {
    let mut select = db.prepare_cached(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs INDEXED BY jobs_open
         WHERE state <> 'done' AND state = 'parked'
           AND (?1 IS NULL OR connection = ?1) AND (?2 IS NULL OR kind = ?2)
           AND updated_at >= ?3 AND id < ?4
         ORDER BY id DESC LIMIT ?5"
    ))?;
    let jobs = select
        .query_map(
            params![
                filter.connection,
                filter.kind,
                filter.since.unwrap_or(Millis::MIN),
                filter.before.unwrap_or(i64::MAX),
                i64::try_from(filter.limit).unwrap_or(i64::MAX),
            ],
            job_from,
        )?
        .collect::<Result<_, _>>()?;
    Ok(jobs)
}

pub(super) fn job(db: &Connection, id: i64) -> Result<Option<Job>, StoreError> {
    Ok(db
        .query_row(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
            params![id],
            job_from,
        )
        .optional()?)
}

pub(super) fn jobs_in(
    db: &Connection,
    state: JobState,
    limit: usize,
) -> Result<Vec<Job>, StoreError> {
    let mut select = db.prepare_cached(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE state = ?1 ORDER BY id LIMIT ?2"
    ))?;
    let jobs = select
        .query_map(params![state.as_str(), limit as i64], job_from)?
        .collect::<Result<_, _>>()?;
    Ok(jobs)
}

pub(super) fn queue_depth(
    db: &Connection,
    connection: Option<&str>,
) -> Result<QueueDepth, StoreError> {
    depth_by_state(
        db,
        "SELECT state, COUNT(*) FROM jobs WHERE ?1 IS NULL OR connection = ?1
         GROUP BY state",
        params![connection],
    )
}

/// The jobs not done, by state, from the index of open jobs.
pub(super) fn open_jobs(db: &Connection) -> Result<QueueDepth, StoreError> {
    depth_by_state(
        db,
        "SELECT state, COUNT(*) FROM jobs INDEXED BY jobs_open WHERE state <> 'done'
         GROUP BY state",
        [],
    )
}

/// The queue depth from `sql`'s rows of state and count.
fn depth_by_state(
    db: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<QueueDepth, StoreError> {
    let mut select = db.prepare_cached(sql)?;
    let mut depth = QueueDepth::default();
    let rows = select.query_map(params, |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
    })?;
    for row in rows {
        let (state, count) = row?;
        depth.add(&state, count);
    }
    Ok(depth)
}

/// The earliest time a ready job of `connection` that is not yet due becomes due.
pub(super) fn next_retry_at(
    db: &Connection,
    connection: &str,
    now: Millis,
) -> Result<Option<Millis>, StoreError> {
    Ok(db.query_row(
        "SELECT MIN(next_attempt_at) FROM jobs
         WHERE connection = ?2 AND state = 'ready' AND next_attempt_at > ?1",
        params![now, connection],
        |row| row.get(0),
    )?)
}
