//! The process's counters, rendered in the Prometheus/OpenMetrics text format for
//! `GET /metrics` (with the Prometheus project's `prometheus-client`).
//!
//! Counters are process-wide; the flows, the worker and the webhook intake bump them as
//! they go. Gauges that already live elsewhere are read when the page is rendered: the
//! BigCommerce quota in each connection's pacer and the active plugin versions in the
//! registry here, the queue depth from the store by the caller (the store is async),
//! which hands it to [`Metrics::render`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry as Exposition;

use crate::bigcommerce::Pacer;
use crate::plugins::Registry;
use crate::store::QueueDepth;

/// The content type of the page `render` writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why a webhook was refused (a label of `webhooks_rejected_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rejected {
    Signature,
    UnknownConnection,
    TooLarge,
    Malformed,
    UnknownScope,
    StoreError,
}

impl Rejected {
    fn label(self) -> &'static str {
        match self {
            Rejected::Signature => "signature",
            Rejected::UnknownConnection => "unknown_connection",
            Rejected::TooLarge => "too_large",
            Rejected::Malformed => "malformed",
            Rejected::UnknownScope => "unknown_scope",
            Rejected::StoreError => "store_error",
        }
    }

    const ALL: [Rejected; 6] = [
        Rejected::Signature,
        Rejected::UnknownConnection,
        Rejected::TooLarge,
        Rejected::Malformed,
        Rejected::UnknownScope,
        Rejected::StoreError,
    ];
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

/// Where a job's time goes (a label of `time_spent_microseconds` and `time_spent_calls`):
/// the jobs' own time, and their waits on BigCommerce, QAD and the store. Plugin calls
/// have their own counters. The waits of jobs in flight at once overlap, so each sums
/// what the jobs waited, not the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// A job, from its start to its end.
    Job,
    /// A BigCommerce request, its pacing and retries included.
    BigCommerce,
    /// A QAD request, its retries included.
    Qad,
    /// A call to the SQLite store, its wait for the connection included.
    Store,
}

impl Spent {
    fn label(self) -> &'static str {
        match self {
            Spent::Job => "job",
            Spent::BigCommerce => "bigcommerce",
            Spent::Qad => "qad",
            Spent::Store => "store",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Part {
    part: &'static str,
}

/// Every counter.
#[derive(Default)]
pub struct Metrics {
    pub webhooks_accepted: Counter,
    pub webhooks_duplicate: Counter,
    rejected: Family<Reason, Counter>,
    pub jobs_posted: Counter,
    pub jobs_unchanged: Counter,
    pub jobs_retried: Counter,
    pub jobs_parked: Counter,
    pub jobs_pruned: Counter,
    pub customers_matched: Counter,
    pub catalog_sent: Counter,
    pub catalog_parked: Counter,
    pub plugin_calls: Counter,
    pub plugin_micros: Counter,
    pub plugin_fuel: Counter,
    pub schedule_runs: Counter,
    pub schedule_failures: Counter,
    spent_micros: Family<Part, Counter>,
    spent_calls: Family<Part, Counter>,
    /// Each connection's pacer, for the quota gauge.
    pacers: Mutex<BTreeMap<String, Arc<Pacer>>>,
    /// The service's plugins, for the active-version gauge.
    plugins: Mutex<Option<Arc<Registry>>>,
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

/// A gauge family whose label sets are built as the page is rendered.
type Labelled = Family<Vec<(&'static str, String)>, Gauge>;

impl Metrics {
    pub fn rejected(&self, why: Rejected) {
        self.rejected
            .get_or_create(&Reason {
                reason: why.label(),
            })
            .inc();
    }

    /// One plugin call's cost.
    pub fn plugin_call(&self, elapsed: std::time::Duration, fuel: u64) {
        self.plugin_calls.inc();
        self.plugin_micros
            .inc_by(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
        self.plugin_fuel.inc_by(fuel);
    }

    /// Awaits `work`, its time counted in `part`.
    pub async fn timed<T>(&self, part: Spent, work: impl std::future::Future<Output = T>) -> T {
        let began = std::time::Instant::now();
        let done = work.await;
        self.spent(part, began.elapsed());
        done
    }

    /// One call's time in `part`.
    fn spent(&self, part: Spent, elapsed: std::time::Duration) {
        let part = Part { part: part.label() };
        self.spent_calls.get_or_create(&part).inc();
        self.spent_micros
            .get_or_create(&part)
            .inc_by(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
    }

    /// Shows `connection`'s BigCommerce quota.
    pub fn watch_pacer(&self, connection: &str, pacer: Arc<Pacer>) {
        self.pacers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(connection.to_string(), pacer);
    }

    /// Shows which version of each of `registry`'s plugins is active.
    pub fn watch_plugins(&self, registry: Arc<Registry>) {
        *self.plugins.lock().unwrap_or_else(|e| e.into_inner()) = Some(registry);
    }

    /// The text exposition of every counter and gauge (`CONTENT_TYPE`), with the store's
    /// `queue` depth (`None` when the store could not say: the family is left empty).
    /// Counters are named without `_total` here; the format adds it.
    pub fn render(&self, queue: Option<&QueueDepth>) -> String {
        let mut page = Exposition::with_prefix("ml_connector");
        for (name, help, counter) in [
            (
                "webhooks_accepted",
                "Webhooks verified and written to the queue.",
                &self.webhooks_accepted,
            ),
            (
                "webhooks_duplicate",
                "Webhooks already received (the same id); answered 200, not queued again.",
                &self.webhooks_duplicate,
            ),
            (
                "jobs_posted",
                "Jobs that posted a journal revision.",
                &self.jobs_posted,
            ),
            (
                "jobs_unchanged",
                "Jobs that found the ledger already matching.",
                &self.jobs_unchanged,
            ),
            (
                "jobs_retried",
                "Job attempts that failed transiently and were rescheduled.",
                &self.jobs_retried,
            ),
            (
                "jobs_parked",
                "Jobs parked for the operator.",
                &self.jobs_parked,
            ),
            (
                "jobs_pruned",
                "Done jobs deleted past their retention (their audit entries stay).",
                &self.jobs_pruned,
            ),
            (
                "customers_matched",
                "Shoppers matched to or created as QAD customers.",
                &self.customers_matched,
            ),
            (
                "catalog_updates",
                "Catalog updates BigCommerce accepted.",
                &self.catalog_sent,
            ),
            (
                "catalog_parked",
                "Items parked by the catalog poll.",
                &self.catalog_parked,
            ),
            ("plugin_calls", "Plugin calls.", &self.plugin_calls),
            (
                "plugin_call_microseconds",
                "Time spent in plugin calls.",
                &self.plugin_micros,
            ),
            (
                "plugin_fuel",
                "Fuel consumed by plugin calls.",
                &self.plugin_fuel,
            ),
            (
                "schedule_runs",
                "Scheduled runs (polls, hook checks) started.",
                &self.schedule_runs,
            ),
            (
                "schedule_failures",
                "Scheduled runs that failed.",
                &self.schedule_failures,
            ),
        ] {
            page.register(name, help, counter.clone());
        }
        // Every reason shows, a reason never seen as 0.
        for why in Rejected::ALL {
            let _ = self.rejected.get_or_create(&Reason {
                reason: why.label(),
            });
        }
        page.register(
            "webhooks_rejected",
            "Webhooks refused, by reason.",
            self.rejected.clone(),
        );
        page.register(
            "time_spent_microseconds",
            "Time spent by jobs and in calls to BigCommerce, QAD and the store, by part.",
            self.spent_micros.clone(),
        );
        page.register(
            "time_spent_calls",
            "Jobs run and calls made to BigCommerce, QAD and the store, by part.",
            self.spent_calls.clone(),
        );

        let jobs = Labelled::default();
        if let Some(depth) = queue {
            for (state, count) in [
                ("ready", depth.ready),
                ("leased", depth.leased),
                ("done", depth.done),
                ("parked", depth.parked),
            ] {
                jobs.get_or_create(&vec![("state", state.to_string())])
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
        }
        page.register("queue_jobs", "Jobs in the queue, by state.", jobs);

        let quota = Labelled::default();
        for (connection, pacer) in self.pacers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if let Some(left) = pacer.requests_left() {
                quota
                    .get_or_create(&vec![("connection", connection.clone())])
                    .set(i64::from(left));
            }
        }
        page.register(
            "bigcommerce_quota_left",
            "Requests BigCommerce last said are left in the window.",
            quota,
        );

        let active = Labelled::default();
        let registry = self
            .plugins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for status in registry.iter().flat_map(|r| r.list()) {
            let text = |value: Option<String>| value.unwrap_or_default();
            active
                .get_or_create(&vec![
                    ("entry", status.name),
                    ("plugin", text(status.plugin)),
                    ("version", text(status.version.clone())),
                    ("sha256", text(status.sha256)),
                    ("status", status.status),
                ])
                .set(i64::from(status.version.is_some()));
        }
        page.register(
            "plugin_active",
            "The plugin version serving each connection's entry (1), or none that loaded (0).",
            active,
        );

        let mut out = String::new();
        encode(&mut out, &page).expect("writing to a String does not fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_every_family_with_its_type() {
        let metrics = Metrics::default();
        metrics.rejected(Rejected::Signature);
        metrics.webhooks_accepted.inc_by(3);
        metrics.spent(Spent::Qad, std::time::Duration::from_micros(1_500));
        metrics.spent(Spent::Qad, std::time::Duration::from_micros(500));
        let page = metrics.render(Some(&QueueDepth::default()));
        assert!(
            page.contains("ml_connector_webhooks_accepted_total 3"),
            "{page}"
        );
        assert!(page.contains("# TYPE ml_connector_webhooks_accepted counter"));
        assert!(page.contains("ml_connector_webhooks_rejected_total{reason=\"signature\"} 1"));
        assert!(page.contains("ml_connector_webhooks_rejected_total{reason=\"malformed\"} 0"));
        assert!(
            page.contains("ml_connector_time_spent_microseconds_total{part=\"qad\"} 2000"),
            "{page}"
        );
        assert!(page.contains("ml_connector_time_spent_calls_total{part=\"qad\"} 2"));
        assert!(page.contains("# TYPE ml_connector_queue_jobs gauge"));
        assert!(page.contains("ml_connector_queue_jobs{state=\"ready\"} 0"));
        assert!(page.ends_with("# EOF\n"), "{page}");
        for line in page.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<u64>().is_ok(), "{line}");
        }
    }
}
