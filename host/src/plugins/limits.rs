//! The resource limits every plugin call runs under, with the reasons for the defaults.
//! A plugin's `plugin.toml` may lower them, never raise them past the engine's pool.

use std::time::Duration;

use serde::Deserialize;

/// Limits for one plugin. Defaults follow the published limits of comparable products
/// (Shopify Functions: 11M instructions, 128 kB in, 20 kB out, 1 kB logs; Redpanda
/// transforms: 10 MiB binaries, 1 KiB log lines) scaled to what an order mapping needs.
/// Fuel depends on the plugin's language: a 3-line order costs about 25k fuel in the Rust
/// plugin, but about 6M in the JavaScript example, whose JavaScript engine interprets the
/// mapping inside the sandbox (about 5.5M per call plus 180k per order line). The budget
/// covers a 500-line order in JavaScript; the wall clock per record stays the backstop.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest `.wasm` file accepted, checked before anything is parsed.
    pub max_plugin_bytes: u64,
    /// Linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// Fuel (roughly wasm instructions) per record; a batch gets this times its size.
    pub fuel_per_record: u64,
    /// Wall-clock budget per record in milliseconds; a batch gets this times its size,
    /// at least `min_call_ms`.
    pub time_per_record_ms: u64,
    pub min_call_ms: u64,
    /// Estimated size of one input record as the plugin sees it.
    pub max_input_bytes: usize,
    /// Size of one output record (journal, customer, catalog update).
    pub max_output_bytes: usize,
    /// Lines in one journal entry.
    pub max_journal_lines: usize,
    /// Records per instance in batch isolation: a bigger batch is split. Bounds the
    /// memory a batch needs and the work a fault makes the host redo record by record.
    pub max_batch_records: usize,
    /// Log text kept per call (host `log` plus stdout and stderr).
    pub log_bytes_per_call: usize,
    /// Consecutive sandbox faults (traps, fuel, time, memory) after which a plugin version
    /// is quarantined: no more calls until a new version is loaded.
    pub quarantine_after_faults: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_plugin_bytes: 16 * 1024 * 1024,
            memory_bytes: 32 * 1024 * 1024,
            fuel_per_record: 100_000_000,
            time_per_record_ms: 100,
            min_call_ms: 1_000,
            max_input_bytes: 256 * 1024,
            max_output_bytes: 64 * 1024,
            max_journal_lines: 1_000,
            max_batch_records: 256,
            log_bytes_per_call: 4 * 1024,
            quarantine_after_faults: 5,
        }
    }
}

impl Limits {
    /// Applies the caps of the engine: a plugin may ask for less, never for more.
    pub fn capped_by(mut self, ceiling: &Limits) -> Limits {
        self.max_plugin_bytes = self.max_plugin_bytes.min(ceiling.max_plugin_bytes);
        self.memory_bytes = self.memory_bytes.min(ceiling.memory_bytes);
        self.fuel_per_record = self.fuel_per_record.min(ceiling.fuel_per_record);
        self.time_per_record_ms = self.time_per_record_ms.min(ceiling.time_per_record_ms);
        self.min_call_ms = self.min_call_ms.min(ceiling.min_call_ms);
        self.max_input_bytes = self.max_input_bytes.min(ceiling.max_input_bytes);
        self.max_output_bytes = self.max_output_bytes.min(ceiling.max_output_bytes);
        self.max_journal_lines = self.max_journal_lines.min(ceiling.max_journal_lines);
        self.max_batch_records = self.max_batch_records.min(ceiling.max_batch_records);
        self.log_bytes_per_call = self.log_bytes_per_call.min(ceiling.log_bytes_per_call);
        self.quarantine_after_faults = self
            .quarantine_after_faults
            .min(ceiling.quarantine_after_faults);
        self
    }

    /// Fuel for a call over `records` records.
    pub fn fuel_for(&self, records: usize) -> u64 {
        self.fuel_per_record.saturating_mul(records.max(1) as u64)
    }

    /// Wall-clock budget for a call over `records` records.
    pub fn time_for(&self, records: usize) -> Duration {
        let per_record = self
            .time_per_record_ms
            .saturating_mul(records.max(1) as u64);
        Duration::from_millis(per_record.max(self.min_call_ms))
    }
}
