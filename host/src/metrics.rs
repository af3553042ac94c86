//! The process's counters, rendered as Prometheus text for `GET /metrics`.
//!
//! Counters are process-wide atomics that the flows, the worker and the webhook intake
//! bump as they go; gauges that already live elsewhere (queue depth in the store,
//! BigCommerce quota in each connection's pacer) are read when the page is rendered.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::bigcommerce::Pacer;
use crate::plugins::Registry;
use crate::store::Store;

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

/// Every counter.
#[derive(Default)]
pub struct Metrics {
    pub webhooks_accepted: AtomicU64,
    pub webhooks_duplicate: AtomicU64,
    rejected: [AtomicU64; 6],
    pub jobs_posted: AtomicU64,
    pub jobs_unchanged: AtomicU64,
    pub jobs_retried: AtomicU64,
    pub jobs_parked: AtomicU64,
    pub customers_matched: AtomicU64,
    pub catalog_sent: AtomicU64,
    pub catalog_parked: AtomicU64,
    pub plugin_calls: AtomicU64,
    pub plugin_micros: AtomicU64,
    pub plugin_fuel: AtomicU64,
    pub schedule_runs: AtomicU64,
    pub schedule_failures: AtomicU64,
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

impl Metrics {
    pub fn rejected(&self, why: Rejected) {
        self.rejected[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn rejected_count(&self, why: Rejected) -> u64 {
        self.rejected[why as usize].load(Ordering::Relaxed)
    }

    /// One plugin call's cost.
    pub fn plugin_call(&self, elapsed: std::time::Duration, fuel: u64) {
        self.plugin_calls.fetch_add(1, Ordering::Relaxed);
        self.plugin_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        self.plugin_fuel.fetch_add(fuel, Ordering::Relaxed);
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

    /// The Prometheus text exposition of every counter and gauge.
    pub fn render(&self, store: &dyn Store) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        };
        counter(
            "ml_connector_webhooks_accepted_total",
            "Webhooks verified and written to the queue.",
            &self.webhooks_accepted,
        );
        counter(
            "ml_connector_webhooks_duplicate_total",
            "Webhooks already received (same id or same body); answered 200, not queued again.",
            &self.webhooks_duplicate,
        );
        counter(
            "ml_connector_jobs_posted_total",
            "Jobs that posted a journal revision.",
            &self.jobs_posted,
        );
        counter(
            "ml_connector_jobs_unchanged_total",
            "Jobs that found the ledger already matching.",
            &self.jobs_unchanged,
        );
        counter(
            "ml_connector_jobs_retried_total",
            "Job attempts that failed transiently and were rescheduled.",
            &self.jobs_retried,
        );
        counter(
            "ml_connector_jobs_parked_total",
            "Jobs parked for the operator.",
            &self.jobs_parked,
        );
        counter(
            "ml_connector_customers_matched_total",
            "Shoppers matched to or created as QAD customers.",
            &self.customers_matched,
        );
        counter(
            "ml_connector_catalog_updates_total",
            "Catalog updates BigCommerce accepted.",
            &self.catalog_sent,
        );
        counter(
            "ml_connector_catalog_parked_total",
            "Items parked by the catalog poll.",
            &self.catalog_parked,
        );
        counter(
            "ml_connector_plugin_calls_total",
            "Plugin calls.",
            &self.plugin_calls,
        );
        counter(
            "ml_connector_plugin_call_microseconds_total",
            "Time spent in plugin calls.",
            &self.plugin_micros,
        );
        counter(
            "ml_connector_plugin_fuel_total",
            "Fuel consumed by plugin calls.",
            &self.plugin_fuel,
        );
        counter(
            "ml_connector_schedule_runs_total",
            "Scheduled runs (polls, hook checks) started.",
            &self.schedule_runs,
        );
        counter(
            "ml_connector_schedule_failures_total",
            "Scheduled runs that failed.",
            &self.schedule_failures,
        );
        let name = "ml_connector_webhooks_rejected_total";
        let _ = writeln!(
            out,
            "# HELP {name} Webhooks refused, by reason.\n# TYPE {name} counter"
        );
        for why in Rejected::ALL {
            let _ = writeln!(
                out,
                "{name}{{reason=\"{}\"}} {}",
                why.label(),
                self.rejected_count(why)
            );
        }
        let name = "ml_connector_queue_jobs";
        let _ = writeln!(
            out,
            "# HELP {name} Jobs in the queue, by state.\n# TYPE {name} gauge"
        );
        match store.queue_depth(None) {
            Ok(depth) => {
                for (state, count) in [
                    ("ready", depth.ready),
                    ("leased", depth.leased),
                    ("done", depth.done),
                    ("parked", depth.parked),
                ] {
                    let _ = writeln!(out, "{name}{{state=\"{state}\"}} {count}");
                }
            }
            Err(error) => tracing::warn!(%error, "queue depth unavailable for /metrics"),
        }
        let name = "ml_connector_bigcommerce_quota_left";
        let _ = writeln!(
            out,
            "# HELP {name} Requests BigCommerce last said are left in the window.\n# TYPE {name} gauge"
        );
        for (connection, pacer) in self.pacers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if let Some(left) = pacer.requests_left() {
                let _ = writeln!(out, "{name}{{connection=\"{connection}\"}} {left}");
            }
        }
        let name = "ml_connector_plugin_active";
        let _ = writeln!(
            out,
            "# HELP {name} The plugin version serving each connection's entry (1), or none that loaded (0).\n# TYPE {name} gauge"
        );
        let registry = self
            .plugins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for status in registry.iter().flat_map(|r| r.list()) {
            let label = |value: Option<&String>| label_value(value.map_or("", String::as_str));
            let _ = writeln!(
                out,
                "{name}{{entry=\"{}\",plugin=\"{}\",version=\"{}\",sha256=\"{}\",status=\"{}\"}} {}",
                label_value(&status.name),
                label(status.plugin.as_ref()),
                label(status.version.as_ref()),
                label(status.sha256.as_ref()),
                label_value(&status.status),
                u8::from(status.version.is_some())
            );
        }
        out
    }
}

/// A label value in the exposition format: backslash, quote and newline escaped.
fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn the_page_has_every_family_with_its_type() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let metrics = Metrics::default();
        metrics.rejected(Rejected::Signature);
        metrics.webhooks_accepted.fetch_add(3, Ordering::Relaxed);
        let page = metrics.render(&store);
        assert!(
            page.contains("ml_connector_webhooks_accepted_total 3"),
            "{page}"
        );
        assert!(page.contains("ml_connector_webhooks_rejected_total{reason=\"signature\"} 1"));
        assert!(page.contains("ml_connector_queue_jobs{state=\"ready\"} 0"));
        for line in page.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<u64>().is_ok(), "{line}");
        }
    }
}
