//! Schedules for the service's periodic work (the reconciliation poll, the QAD item and
//! price poll, the hook check): an interval (`every 10m`) or a cron expression
//! (`*/15 * * * *`, UTC).
//!
//! Each schedule runs as one task, so its runs never overlap in a process: the next run
//! time is computed when a run ends, with a little jitter so connections do not all call
//! out in the same second. Across processes sharing a store (replicas on PostgreSQL) each
//! run is claimed in the store first (`Store::claim_schedule`), so that one replica makes
//! it. The next and last run of each schedule are written to the store
//! (`schedule.<name>.next`, `schedule.<name>.last` cursors) for `status`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::bigcommerce::wire;
use crate::metrics;
use crate::store::{Millis, ScheduleClaim, Store, StoreError};

/// When something runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Every(Duration),
    /// Five cron fields (`minute hour day-of-month month day-of-week`), in UTC, with
    /// `croner`'s reading: classic ranges, steps and lists, names (`MON`, `JAN`), and
    /// its extensions (`L`, `#`, `W`); when both day fields are restricted, a day
    /// matching either runs.
    Cron(Box<croner::Cron>),
}

/// Why a schedule's text was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("`{0}`: say how often, e.g. `every 10m`")]
    NoInterval(String),
    #[error("`{text}`: unknown unit `{unit}` (use s, m, h or d)")]
    UnknownUnit { text: String, unit: String },
    #[error(
        "`{text}` is neither `every <n><s|m|h|d>` nor five cron fields (minute hour day month weekday)"
    )]
    Cron {
        text: String,
        #[source]
        cause: croner::errors::CronError,
    },
}

impl std::str::FromStr for Schedule {
    type Err = ScheduleError;

    /// `every <n><s|m|h|d>` or five cron fields.
    fn from_str(text: &str) -> Result<Schedule, ScheduleError> {
        let text = text.trim();
        let Some(interval) = text.strip_prefix("every ") else {
            return croner::parser::CronParser::builder()
                .seconds(croner::parser::Seconds::Disallowed)
                .year(croner::parser::Year::Disallowed)
                .build()
                .parse(text)
                .map(|cron| Schedule::Cron(Box::new(cron)))
                .map_err(|cause| ScheduleError::Cron {
                    text: text.to_string(),
                    cause,
                });
        };
        let interval = interval.trim();
        let split = interval
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(interval.len());
        let (number, unit) = interval.split_at(split);
        let number: u64 = number
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ScheduleError::NoInterval(text.to_string()))?;
        let seconds = match unit.trim() {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            other => {
                return Err(ScheduleError::UnknownUnit {
                    text: text.to_string(),
                    unit: other.to_string(),
                });
            }
        };
        Ok(Schedule::Every(Duration::from_secs(number * seconds)))
    }
}

impl Schedule {
    /// The next run strictly after `after` (`None`: a cron expression that never
    /// matches, such as `0 0 31 2 *`).
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Schedule::Every(interval) => Some(after + *interval),
            Schedule::Cron(cron) => {
                // croner works on chrono's dates; this is the only place they meet ours.
                let at = chrono::DateTime::<chrono::Utc>::from_timestamp(
                    after.unix_timestamp(),
                    after.nanosecond(),
                )?;
                let next = cron.find_next_occurrence(&at, false).ok()?;
                OffsetDateTime::from_unix_timestamp(next.timestamp()).ok()
            }
        }
    }

    /// Half the time between the next two runs after `now`: a run started that recently
    /// stands for one due now (zero for a cron expression that never matches).
    fn half_period(&self, now: OffsetDateTime) -> Duration {
        let next = self.next_after(now);
        let after = next.and_then(|next| self.next_after(next));
        match (next, after) {
            (Some(next), Some(after)) => Duration::try_from(after - next).unwrap_or_default() / 2,
            _ => Duration::ZERO,
        }
    }

    /// The most a run may be delayed: a tenth of an interval, at most 30 s; 5 s for cron.
    fn max_jitter(&self) -> Duration {
        match self {
            Schedule::Every(interval) => (*interval / 10).min(Duration::from_secs(30)),
            Schedule::Cron(_) => Duration::from_secs(5),
        }
    }
}

/// A random delay up to `max`.
fn jitter(max: Duration) -> Duration {
    let max = max.as_millis() as u64;
    if max == 0 {
        return Duration::ZERO;
    }
    let noise = u64::from(OffsetDateTime::now_utc().nanosecond()) ^ u64::from(std::process::id());
    Duration::from_millis(noise.wrapping_mul(0x9E37_79B9_7F4A_7C15) % max)
}

/// How long a claim on a schedule's run holds unless renewed (renewed every third of it
/// while the run lasts).
const CLAIM_HOLD: Duration = Duration::from_secs(60);

/// One periodic job of a connection.
pub struct Periodic {
    pub connection: String,
    /// `reconcile`, `catalog`, `hooks`.
    pub name: &'static str,
    pub schedule: Schedule,
    /// Run once as soon as the service starts (before the first scheduled time).
    pub at_start: bool,
    /// Who claims the runs ([`crate::store::owner_id`]): replicas sharing a store each
    /// keep the schedule, and a run is made by whichever claims it first.
    pub owner: String,
}

impl Periodic {
    fn cursor(&self, what: &str) -> String {
        format!("schedule.{}.{what}", self.name)
    }

    /// Runs `run` on the schedule until `stop` turns true; a run in progress finishes
    /// first. Each run is claimed in the store first, so that replicas sharing it run the
    /// schedule once between them: a run is skipped while another replica's is under way,
    /// or when one started within the last half period (it stands for this one; a run at
    /// start skips only for one under way). Each outcome (a summary, or the error) is
    /// logged and kept in the store.
    pub async fn run_until<F, Fut>(
        self,
        store: Arc<dyn Store>,
        mut run: F,
        mut stop: watch::Receiver<bool>,
    ) where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<String, String>>,
    {
        let mut first = self.at_start;
        loop {
            let now = OffsetDateTime::now_utc();
            let covers = if first {
                Duration::ZERO
            } else {
                self.schedule.half_period(now)
            };
            let wait = if first {
                Duration::ZERO
            } else {
                let Some(next) = self.schedule.next_after(now) else {
                    tracing::warn!(connection = %self.connection, schedule = self.name, "the schedule never matches; not running");
                    return;
                };
                let wait = Duration::try_from(next - now).unwrap_or_default()
                    + jitter(self.schedule.max_jitter());
                let at = now + wait;
                if let Err(error) = store
                    .set_cursor(
                        &self.connection,
                        &self.cursor("next"),
                        &wire::to_rfc3339(at),
                    )
                    .await
                {
                    tracing::warn!(%error, "the next run time could not be recorded");
                }
                wait
            };
            first = false;
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|stopped| *stopped) => return,
            }
            if self.claim(store.as_ref(), covers).await {
                self.run_claimed(store.clone(), &mut run).await;
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    /// Whether this replica makes the run now.
    async fn claim(&self, store: &dyn Store, covers: Duration) -> bool {
        let claim = store
            .claim_schedule(
                &self.connection,
                self.name,
                &self.owner,
                covers.as_millis() as Millis,
                CLAIM_HOLD.as_millis() as Millis,
            )
            .await;
        match claim {
            Ok(ScheduleClaim::Claimed) => true,
            Ok(ScheduleClaim::Running { owner }) => {
                tracing::debug!(connection = %self.connection, schedule = self.name, %owner, "run under way elsewhere; skipped");
                false
            }
            Ok(ScheduleClaim::RanAt(at)) => {
                tracing::debug!(connection = %self.connection, schedule = self.name, at, "ran recently elsewhere; skipped");
                false
            }
            Err(error) => {
                metrics::global().schedule_failures.inc();
                tracing::warn!(connection = %self.connection, schedule = self.name, %error, "the run could not be claimed; skipped");
                false
            }
        }
    }

    /// Makes a claimed run, renewing the claim while it lasts (a run whose claim is lost is
    /// stopped where it stands: another replica has it), then ends the claim and records
    /// the outcome.
    async fn run_claimed<F, Fut>(&self, store: Arc<dyn Store>, run: &mut F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<String, String>>,
    {
        let started = OffsetDateTime::now_utc();
        metrics::global().schedule_runs.inc();
        let renewals = async {
            loop {
                tokio::time::sleep(CLAIM_HOLD / 3).await;
                let renewed = store
                    .hold_schedule(
                        &self.connection,
                        self.name,
                        &self.owner,
                        CLAIM_HOLD.as_millis() as Millis,
                    )
                    .await;
                match renewed {
                    Err(error @ StoreError::ScheduleLost { .. }) => return error,
                    Err(error) => {
                        tracing::warn!(connection = %self.connection, schedule = self.name, %error, "the run's claim could not be renewed")
                    }
                    Ok(()) => {}
                }
            }
        };
        let outcome = tokio::select! {
            outcome = run() => outcome,
            lost = renewals => Err(lost.to_string()),
        };
        if let Err(error) = store
            .end_schedule(&self.connection, self.name, &self.owner)
            .await
        {
            tracing::warn!(%error, "the run's claim could not be ended (it runs out)");
        }
        let summary = match &outcome {
            Ok(summary) => {
                tracing::info!(connection = %self.connection, schedule = self.name, %summary, "scheduled run done");
                serde_json::json!({"at": wire::to_rfc3339(started), "ok": summary})
            }
            Err(error) => {
                metrics::global().schedule_failures.inc();
                tracing::warn!(connection = %self.connection, schedule = self.name, %error, "scheduled run failed");
                serde_json::json!({"at": wire::to_rfc3339(started), "error": error})
            }
        };
        if let Err(error) = store
            .set_cursor(&self.connection, &self.cursor("last"), &summary.to_string())
            .await
        {
            tracing::warn!(%error, "the run's outcome could not be recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use time::macros::datetime;

    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn intervals_and_cron_parse_and_bad_ones_say_why() {
        assert_eq!(
            "every 10m".parse::<Schedule>().unwrap(),
            Schedule::Every(Duration::from_secs(600))
        );
        assert_eq!(
            "every 30s".parse::<Schedule>().unwrap(),
            Schedule::Every(Duration::from_secs(30))
        );
        let cron = "*/5 * * * *".parse::<Schedule>().unwrap();
        assert_eq!(
            cron.next_after(datetime!(2026-11-27 10:01 UTC)),
            Some(datetime!(2026-11-27 10:05 UTC))
        );
        for (text, says) in [
            ("every 0m", "how often"),
            ("every 5w", "unit `w`"),
            ("daily", "five cron fields"),
            ("* * * *", "five cron fields"),
            ("0 * * * * *", "five cron fields"),
            ("60 * * * *", "five cron fields"),
            ("*/0 * * * *", "five cron fields"),
        ] {
            let error = text.parse::<Schedule>().unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    fn next(expression: &str, after: OffsetDateTime) -> Option<OffsetDateTime> {
        expression.parse::<Schedule>().unwrap().next_after(after)
    }

    #[test]
    fn cron_steps_ranges_lists_and_days() {
        let at = datetime!(2026-11-27 10:07:30 UTC);
        assert_eq!(
            next("*/15 * * * *", at),
            Some(datetime!(2026-11-27 10:15 UTC))
        );
        assert_eq!(next("0 * * * *", at), Some(datetime!(2026-11-27 11:00 UTC)));
        assert_eq!(
            next("5,50 9-17 * * *", at),
            Some(datetime!(2026-11-27 10:50 UTC))
        );
        assert_eq!(
            next("30 2 * * *", at),
            Some(datetime!(2026-11-28 02:30 UTC))
        );
        // Strictly after: a matching minute is not repeated.
        assert_eq!(
            next("7 10 * * *", datetime!(2026-11-27 10:07 UTC)),
            Some(datetime!(2026-11-28 10:07 UTC))
        );
        // 2026-11-27 is a Friday; 0 and 7 are both Sunday.
        let at = datetime!(2026-11-27 10:00 UTC);
        assert_eq!(next("0 6 * * 1", at), Some(datetime!(2026-11-30 06:00 UTC)));
        assert_eq!(next("0 6 * * 7", at), Some(datetime!(2026-11-29 06:00 UTC)));
        assert_eq!(next("0 0 1 * *", at), Some(datetime!(2026-12-01 00:00 UTC)));
        assert_eq!(
            next("0 0 29 2 *", at),
            Some(datetime!(2028-02-29 00:00 UTC))
        );
        // Both day fields restricted: either day runs.
        assert_eq!(
            next("0 0 15 * 0", at),
            Some(datetime!(2026-11-29 00:00 UTC))
        );
        assert_eq!(next("0 0 31 2 *", at), None);
    }

    #[test]
    fn jitter_stays_under_its_bound() {
        let schedule = Schedule::Every(Duration::from_secs(60));
        for _ in 0..100 {
            assert!(jitter(schedule.max_jitter()) < Duration::from_secs(6));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[tokio::test]
    async fn runs_never_overlap_and_the_times_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("s.db")).unwrap());
        let (stop_tx, stop) = watch::channel(false);
        let running = Arc::new(AtomicU32::new(0));
        let runs = Arc::new(AtomicU32::new(0));
        let periodic = Periodic {
            connection: "main".into(),
            name: "reconcile",
            schedule: Schedule::Every(Duration::from_millis(10)),
            at_start: true,
            owner: "run-1".into(),
        };
        let task = {
            let (running, runs) = (running.clone(), runs.clone());
            tokio::spawn(periodic.run_until(
                store.clone(),
                move || {
                    let (running, runs) = (running.clone(), runs.clone());
                    async move {
                        assert_eq!(running.fetch_add(1, Ordering::SeqCst), 0, "overlap");
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                        let n = runs.fetch_add(1, Ordering::SeqCst);
                        if n == 1 {
                            Err("boom".into())
                        } else {
                            Ok(format!("run {n}"))
                        }
                    }
                },
                stop,
            ))
        };
        while runs.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        assert!(
            store
                .cursor("main", "schedule.reconcile.next")
                .await
                .unwrap()
                .is_some()
        );
        let last = store
            .cursor("main", "schedule.reconcile.last")
            .await
            .unwrap()
            .unwrap();
        assert!(last.contains("\"at\""), "{last}");
    }

    #[tokio::test]
    async fn replicas_sharing_a_store_take_turns_and_a_recent_run_stands_for_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("s.db")).unwrap());
        let (stop_tx, stop) = watch::channel(false);
        let running = Arc::new(AtomicU32::new(0));
        let runs = Arc::new(AtomicU32::new(0));
        let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut replicas = Vec::new();
        for owner in ["run-a", "run-b", "run-c"] {
            let periodic = Periodic {
                connection: "main".into(),
                name: "reconcile",
                schedule: Schedule::Every(Duration::from_millis(200)),
                at_start: false,
                owner: owner.into(),
            };
            let (running, runs, starts) = (running.clone(), runs.clone(), starts.clone());
            replicas.push(tokio::spawn(periodic.run_until(
                store.clone(),
                move || {
                    let (running, runs, starts) = (running.clone(), runs.clone(), starts.clone());
                    async move {
                        assert_eq!(running.fetch_add(1, Ordering::SeqCst), 0, "overlap");
                        starts.lock().unwrap().push(crate::store::system_clock());
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                        runs.fetch_add(1, Ordering::SeqCst);
                        Ok(owner.to_string())
                    }
                },
                stop.clone(),
            )));
        }
        while runs.load(Ordering::SeqCst) < 4 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop_tx.send(true).unwrap();
        for replica in replicas {
            replica.await.unwrap();
        }
        // Three replicas woke each period; a run within the last half period stood for
        // the others' (the store's clock and this one are the same system clock).
        let starts = starts.lock().unwrap();
        for pair in starts.windows(2) {
            assert!(
                pair[1] - pair[0] >= 100,
                "runs {} ms apart",
                pair[1] - pair[0]
            );
        }
    }
}
