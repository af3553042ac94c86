//! The resource limits every plugin call runs under, with the reasons for the defaults.
//!
//! Three layers: the defaults below; the operator's limits for a connection's plugin
//! (`connector.toml`), which may raise or lower any default up to the hard
//! [`Limits::CEILING`]; and a plugin's own `plugin.toml`, which may only lower them.

use std::time::Duration;

use serde::Deserialize;

/// Limits for one plugin. Defaults follow the published limits of comparable products
/// (Shopify Functions: 11M instructions, 128 kB in, 20 kB out, 1 kB logs; Redpanda
/// transforms: 10 MiB binaries, 1 KiB log lines) scaled to what an order mapping needs.
/// Fuel depends on the plugin's language: a 3-line order costs about 25k fuel in the Rust
/// plugin, about 1M in the Python example and about 6M in the JavaScript one, whose
/// engines interpret the mapping inside the sandbox (JavaScript: about 5.5M per call plus
/// 180k per order line). The budget covers a 500-line order in JavaScript; the wall clock
/// per record stays the backstop. The size limit admits a Python plugin (about 18 MB:
/// CPython and its standard library are inside the component).
///
/// Every record is mapped in a fresh instance, so each limit is per record.
///
/// Read from a `plugin.toml`, a limit left out takes the ceiling's value: it lowers
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default = "Limits::ceiling")]
pub struct Limits {
    /// Largest `.wasm` file accepted, checked before anything is parsed.
    pub max_plugin_bytes: u64,
    /// Linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// Fuel (roughly wasm instructions) per record.
    pub fuel_per_record: u64,
    /// Wall-clock budget per record (and for `describe` and `validate-config`) in
    /// milliseconds. A plugin's sleeps count against it.
    pub time_per_record_ms: u64,
    /// Estimated size of one input record as the plugin sees it.
    pub max_input_bytes: usize,
    /// Size of one output record (journal, customer, catalog update).
    pub max_output_bytes: usize,
    /// Lines in one journal entry.
    pub max_journal_lines: usize,
    /// Log text kept per call (host `log` plus stdout and stderr).
    pub log_bytes_per_call: usize,
    /// Consecutive sandbox faults (traps, fuel, time, memory) after which a plugin version
    /// is quarantined: no more calls until a new version is loaded.
    pub quarantine_after_faults: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_plugin_bytes: 32 * 1024 * 1024,
            memory_bytes: 32 * 1024 * 1024,
            fuel_per_record: 100_000_000,
            time_per_record_ms: 1_000,
            max_input_bytes: 256 * 1024,
            max_output_bytes: 64 * 1024,
            max_journal_lines: 1_000,
            log_bytes_per_call: 4 * 1024,
            quarantine_after_faults: 5,
        }
    }
}

impl Limits {
    /// The hard ceiling no operator setting passes. Memory sizes the engine's instance
    /// pool (address space is reserved per slot, not memory); the others bound what one
    /// record may cost the host: 10 s and 20 G fuel is about a thousand times a
    /// 25-line order in an interpreted JavaScript plugin.
    pub const CEILING: Limits = Limits {
        max_plugin_bytes: 64 * 1024 * 1024,
        memory_bytes: 256 * 1024 * 1024,
        fuel_per_record: 20_000_000_000,
        time_per_record_ms: 10_000,
        max_input_bytes: 4 * 1024 * 1024,
        max_output_bytes: 1024 * 1024,
        max_journal_lines: 10_000,
        log_bytes_per_call: 64 * 1024,
        quarantine_after_faults: 100,
    };

    fn ceiling() -> Limits {
        Limits::CEILING
    }

    /// These limits, none above `ceiling`'s: a plugin's own may only lower the
    /// operator's.
    pub fn capped_by(mut self, ceiling: &Limits) -> Limits {
        self.max_plugin_bytes = self.max_plugin_bytes.min(ceiling.max_plugin_bytes);
        self.memory_bytes = self.memory_bytes.min(ceiling.memory_bytes);
        self.fuel_per_record = self.fuel_per_record.min(ceiling.fuel_per_record);
        self.time_per_record_ms = self.time_per_record_ms.min(ceiling.time_per_record_ms);
        self.max_input_bytes = self.max_input_bytes.min(ceiling.max_input_bytes);
        self.max_output_bytes = self.max_output_bytes.min(ceiling.max_output_bytes);
        self.max_journal_lines = self.max_journal_lines.min(ceiling.max_journal_lines);
        self.log_bytes_per_call = self.log_bytes_per_call.min(ceiling.log_bytes_per_call);
        self.quarantine_after_faults = self
            .quarantine_after_faults
            .min(ceiling.quarantine_after_faults);
        self
    }

    /// Wall-clock budget for one call.
    pub fn time_per_call(&self) -> Duration {
        Duration::from_millis(self.time_per_record_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_under_the_ceiling() {
        assert_eq!(
            Limits::default().capped_by(&Limits::CEILING),
            Limits::default()
        );
    }

    #[test]
    fn a_manifest_lowers_only_the_limits_it_names() {
        let manifest: Limits = toml::from_str("memory_bytes = 1048576").unwrap();
        let operator = Limits {
            fuel_per_record: 1_000_000_000,
            ..Limits::default()
        };
        let effective = manifest.capped_by(&operator);
        assert_eq!(effective.memory_bytes, 1_048_576);
        assert_eq!(effective.fuel_per_record, 1_000_000_000);
    }
}
