//! A loaded plugin version and the calls into it.
//!
//! Loading runs the whole admission pipeline: inspect (size, component, world, version,
//! imports) -> compile (or the cache) -> resolve imports (`InstancePre`) -> find and
//! type-check the world's exports -> `describe` -> `validate-config`. Only a plugin that passes every step exists as a
//! [`LoadedPlugin`].
//!
//! Every record is mapped in a fresh store and instance from the `InstancePre`, so no
//! record can see another's data or anything an earlier call left in the plugin's memory:
//! a record's result depends on that record alone. (The contract's batch exports are
//! never called: one instance over a batch let a plugin keep a static across records.)
//! Fuel, a wall-clock deadline and the memory cap are armed per store, so a fault lands on
//! the record that caused it. Every text the plugin returns is made printable before the
//! host logs or shows it ([`printable`]).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::InstancePre;
use wasmtime::{Store, Trap};

use super::bindings::types::*;
use super::bindings::{Contract, v0_1};
use super::cache::CompileCache;
use super::engine::{POOL_INSTANCES, engine, ticks};
use super::error::{Fault, FaultKind, LoadError, RecordError};
use super::exports::{Bound, Exports};
use super::inspect::{Inspection, World, inspect};
use super::limits::Limits;
use super::sandbox::{State, linker};
use super::text::printable;
use super::validate::{self, Facts, Refusal, Rules, WireSize};

/// Settings passed to every call: the connection's config for this plugin.
pub type Settings = Vec<(String, String)>;

/// What a call into the plugin returns for one record: its answer, or a trap.
type CallResult<O> = wasmtime::Result<Result<O, MappingError>>;

/// What one call cost, for `plugins test`, metrics and the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallReport {
    /// Instances created (one per record).
    pub instances: u32,
    pub fuel_consumed: u64,
    /// Largest linear memory any instance reached, in bytes.
    pub memory_peak: usize,
    pub elapsed: Duration,
    /// Host `log` lines and captured stdout/stderr, bounded per call.
    pub logs: Vec<String>,
}

/// One call's results, one per input record, in order.
#[derive(Debug)]
pub struct Mapped<T> {
    pub results: Vec<Result<T, RecordError>>,
    pub report: CallReport,
}

/// A plugin version that passed admission, ready to call from any thread.
pub struct LoadedPlugin {
    name: String,
    info: PluginInfo,
    inspection: Inspection,
    limits: Limits,
    settings: Settings,
    pre: InstancePre<State>,
    exports: Exports,
    consecutive_faults: AtomicU32,
    quarantined: AtomicBool,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("version", &self.info.version)
            .field("world", &self.inspection.world)
            .field("sha256", &self.inspection.sha256)
            .finish()
    }
}

impl LoadedPlugin {
    /// Runs the admission pipeline on `bytes`. `name` is the plugin's name in the
    /// registry; `settings` are passed to `validate-config` and to every call.
    pub fn load(
        name: &str,
        bytes: &[u8],
        limits: Limits,
        settings: Settings,
        cache: &CompileCache,
    ) -> Result<LoadedPlugin, LoadError> {
        let inspection = inspect(bytes, limits.max_plugin_bytes)?;
        let component = cache.component(bytes, &inspection.sha256)?;
        let pre = linker()
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Mismatch(format!("{e:#}")))?;
        let exports = Exports::find(
            &component,
            inspection.world,
            inspection.contract,
            &inspection.exports,
        )
        .map_err(LoadError::Mismatch)?;

        let mut plugin = LoadedPlugin {
            name: name.to_string(),
            info: PluginInfo {
                name: name.to_string(),
                version: "?".into(),
                description: String::new(),
                config_keys: Vec::new(),
            },
            inspection,
            limits,
            settings,
            pre,
            exports,
            consecutive_faults: AtomicU32::new(0),
            quarantined: AtomicBool::new(false),
        };
        plugin.check_types()?;
        let (described, _) = plugin.run(|store, bound| bound.describe(store));
        plugin.info =
            printable_info(described.map_err(|fault| LoadError::Faulted("describe", fault))?);
        plugin.check_settings()?;
        Ok(plugin)
    }

    /// Asks the plugin's `validate-config` about its settings.
    fn check_settings(&self) -> Result<(), LoadError> {
        let (validated, _) = self.run(|store, bound| bound.validate_config(store, &self.settings));
        validated
            .map_err(|fault| LoadError::Faulted("validate-config", fault))?
            .map_err(|errors| LoadError::Config(errors.into_iter().map(printable_error).collect()))
    }

    /// The same plugin version with other settings: nothing is compiled again, and
    /// `validate-config` must accept the new settings. `plugins check` runs each fixture
    /// with its own settings this way.
    pub fn with_settings(&self, settings: Settings) -> Result<LoadedPlugin, LoadError> {
        let plugin = LoadedPlugin {
            name: self.name.clone(),
            info: self.info.clone(),
            inspection: self.inspection.clone(),
            limits: self.limits.clone(),
            settings,
            pre: self.pre.clone(),
            exports: self.exports.clone(),
            consecutive_faults: AtomicU32::new(0),
            quarantined: AtomicBool::new(false),
        };
        plugin.check_settings()?;
        Ok(plugin)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    pub fn inspection(&self) -> &Inspection {
        &self.inspection
    }

    pub fn world(&self) -> World {
        self.inspection.world
    }

    /// This version as an operator reads it: `name version (sha-256's first 12)`.
    pub fn label(&self) -> String {
        format!(
            "{} {} ({})",
            self.name,
            self.info().version,
            &self.inspection.sha256[..12.min(self.inspection.sha256.len())]
        )
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether this version was stopped after repeated faults.
    pub fn is_quarantined(&self) -> bool {
        self.quarantined.load(Ordering::Relaxed)
    }

    /// Maps orders to the journals they should have, each checked and normalised against
    /// its order. `chart`, when given, is the set of postable accounts every journal line
    /// must use.
    pub fn map_orders(
        &self,
        orders: &[Order],
        chart: Option<&std::collections::HashSet<String>>,
    ) -> Mapped<JournalEntry> {
        self.map_records(
            orders,
            |order| match self.inspection.contract {
                Contract::V0_1 => v0_1::cannot_carry(order),
                Contract::V0_2 => None,
            },
            |store, bound, order| bound.map_order(store, &self.settings, order),
            |order, entry| {
                validate::normalise_journal(entry, &Facts::of_order(order)?, self.rules(chart))
            },
        )
    }

    /// Maps refunds to their journals, each checked and normalised against its refund.
    pub fn map_refunds(
        &self,
        refunds: &[Refund],
        chart: Option<&std::collections::HashSet<String>>,
    ) -> Mapped<JournalEntry> {
        self.map_records(
            refunds,
            |_| None,
            |store, bound, refund| bound.map_refund(store, &self.settings, refund),
            |refund, entry| {
                validate::normalise_journal(entry, &Facts::of_refund(refund)?, self.rules(chart))
            },
        )
    }

    fn rules<'a>(&'a self, chart: Option<&'a std::collections::HashSet<String>>) -> Rules<'a> {
        Rules {
            limits: &self.limits,
            chart,
        }
    }

    /// Maps first-time shoppers to the ledger customers to create.
    pub fn map_customers(&self, customers: &[Customer]) -> Mapped<ErpCustomer> {
        self.map_records(
            customers,
            |_| None,
            |store, bound, customer| bound.map_customer(store, &self.settings, customer),
            |_, customer| validate::check_customer(&customer, &self.limits).map(|()| customer),
        )
    }

    /// Maps ledger item changes to catalog updates (`None`: nothing to change).
    pub fn map_items(&self, items: &[ErpItem]) -> Mapped<Option<CatalogUpdate>> {
        self.map_records(
            items,
            |_| None,
            |store, bound, item| bound.map_item(store, &self.settings, item),
            |item, update| match update {
                Some(update) => validate::check_catalog_update(&update, item, &self.limits)
                    .map(|()| Some(update)),
                None => Ok(None),
            },
        )
    }

    /// The shared shape of every mapping call: each record checked by `admit` (which
    /// says why the plugin's contract version cannot carry it) and size-checked, mapped in
    /// an instance of its own, and its output checked (and normalised) by `check`.
    fn map_records<I: WireSize, O>(
        &self,
        inputs: &[I],
        admit: impl Fn(&I) -> Option<String>,
        call: impl Fn(&mut Store<State>, &Bound<'_>, &I) -> CallResult<O>,
        check: impl Fn(&I, O) -> Result<O, Refusal>,
    ) -> Mapped<O> {
        let mut report = CallReport::default();
        let results = inputs
            .iter()
            .map(|input| {
                if let Some(reason) = admit(input) {
                    return Err(RecordError::NotCarried {
                        plugin: self.name.clone(),
                        contract: self.inspection.contract,
                        reason,
                    });
                }
                let size = input.wire_size();
                if size > self.limits.max_input_bytes {
                    return Err(RecordError::InputTooLarge {
                        plugin: self.name.clone(),
                        size,
                        limit: self.limits.max_input_bytes,
                    });
                }
                let (outcome, call_report) = self.run(|store, bound| call(store, bound, input));
                report.absorb(call_report);
                match outcome {
                    Err(fault) => Err(RecordError::Fault(fault)),
                    Ok(Err(error)) => Err(RecordError::Mapping {
                        plugin: self.name.clone(),
                        error: printable_error(error),
                    }),
                    Ok(Ok(output)) => {
                        check(input, output).map_err(|refusal| RecordError::Invalid {
                            plugin: self.name.clone(),
                            refusal,
                        })
                    }
                }
            })
            .collect();
        Mapped { results, report }
    }

    /// A fresh store for one call, armed with the plugin's fuel, time limit and memory cap.
    fn store(&self) -> Store<State> {
        let time = self.limits.time_per_call();
        let state = State::new(
            self.limits.memory_bytes,
            self.limits.log_bytes_per_call,
            time,
        );
        let mut store = Store::new(engine(), state);
        store.limiter(|state| &mut state.memory);
        store
            .set_fuel(self.limits.fuel_per_record)
            .expect("fuel is enabled on the engine");
        store.set_epoch_deadline(ticks(time));
        store.epoch_deadline_trap();
        store
    }

    /// Type-checks every export of the plugin's world against the contract, once.
    fn check_types(&self) -> Result<(), LoadError> {
        let _slot = PoolSlot::acquire();
        let mut store = self.store();
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| LoadError::Mismatch(format!("{e:#}")))?;
        self.exports
            .bind(instance)
            .check(&mut store)
            .map_err(|e| LoadError::Mismatch(format!("{e:#}")))
    }

    /// Runs `call` on a fresh instance armed for one call, turning any trap into a
    /// [`Fault`] and keeping the consecutive-fault count for quarantine.
    fn run<R>(
        &self,
        call: impl FnOnce(&mut Store<State>, &Bound<'_>) -> wasmtime::Result<R>,
    ) -> (Result<R, Fault>, CallReport) {
        let started = Instant::now();
        let mut report = CallReport::default();
        if self.is_quarantined() {
            let faults = self.consecutive_faults.load(Ordering::Relaxed);
            return (Err(self.fault(FaultKind::Quarantined { faults })), report);
        }
        let _slot = PoolSlot::acquire();
        let fuel = self.limits.fuel_per_record;
        let time = self.limits.time_per_call();
        let mut store = self.store();
        let outcome = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| call(&mut store, &self.exports.bind(instance)));
        report.instances = 1;
        report.fuel_consumed = fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        report.memory_peak = store.data().memory.peak;
        report.logs = store.data_mut().take_log();
        report.elapsed = started.elapsed();

        let outcome = outcome.map_err(|error| {
            let kind = if let Some(requested) = store.data().memory.refused {
                FaultKind::MemoryLimit {
                    limit: self.limits.memory_bytes,
                    requested,
                }
            } else if store.data().time.overslept.is_some() {
                FaultKind::Timeout {
                    limit_ms: time.as_millis() as u64,
                }
            } else {
                match error.downcast_ref::<Trap>() {
                    Some(Trap::OutOfFuel) => FaultKind::OutOfFuel { limit: fuel },
                    Some(Trap::Interrupt) => FaultKind::Timeout {
                        limit_ms: time.as_millis() as u64,
                    },
                    _ => FaultKind::Trap(trap_detail(&error, &report.logs)),
                }
            };
            self.record_fault(kind)
        });
        if outcome.is_ok() {
            self.consecutive_faults.store(0, Ordering::Relaxed);
        }
        (outcome, report)
    }

    /// Counts a fault toward quarantine and returns it.
    fn record_fault(&self, kind: FaultKind) -> Fault {
        let faults = self.consecutive_faults.fetch_add(1, Ordering::Relaxed) + 1;
        if faults >= self.limits.quarantine_after_faults
            && !self.quarantined.swap(true, Ordering::Relaxed)
        {
            tracing::error!(plugin = %self.name, version = %self.info.version, faults, "plugin quarantined after repeated faults");
        }
        let fault = self.fault(kind);
        tracing::warn!(%fault, "plugin fault");
        fault
    }

    fn fault(&self, kind: FaultKind) -> Fault {
        Fault {
            plugin: self.name.clone(),
            version: self.info.version.clone(),
            sha256: self.inspection.sha256.clone(),
            kind,
        }
    }
}

impl CallReport {
    fn absorb(&mut self, other: CallReport) {
        self.instances += other.instances;
        self.fuel_consumed += other.fuel_consumed;
        self.memory_peak = self.memory_peak.max(other.memory_peak);
        self.elapsed += other.elapsed;
        self.logs.extend(other.logs);
    }
}

/// The root cause of a trap, with the plugin's last stderr line (a Rust panic message).
fn trap_detail(error: &wasmtime::Error, logs: &[String]) -> String {
    let cause = error.root_cause().to_string();
    let cause = printable(cause.lines().next().unwrap_or_default());
    let Some(stderr) = logs
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix("[stderr]"))
    else {
        return cause;
    };
    // One line: a Rust panic prints "thread '..' panicked at file:line:col:\nmessage",
    // which the log already shows with its newline escaped.
    let stderr = stderr.replace("\\n", " ");
    let stderr: String = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    let stderr: String = stderr.chars().take(400).collect();
    format!("{cause}; stderr: {stderr}")
}

/// A plugin's self-description, printable.
fn printable_info(info: PluginInfo) -> PluginInfo {
    PluginInfo {
        name: printable(&info.name),
        version: printable(&info.version),
        description: printable(&info.description),
        config_keys: info
            .config_keys
            .into_iter()
            .map(|key| ConfigKey {
                name: printable(&key.name),
                description: printable(&key.description),
                ..key
            })
            .collect(),
    }
}

/// A plugin's mapping error, printable.
fn printable_error(error: MappingError) -> MappingError {
    MappingError {
        code: printable(&error.code),
        message: printable(&error.message),
        path: error.path.as_deref().map(printable),
        ..error
    }
}

/// Admission to the instance pool: calls beyond its size wait instead of failing.
struct PoolSlot;

static POOL: (Mutex<u32>, Condvar) = (Mutex::new(0), Condvar::new());

impl PoolSlot {
    fn acquire() -> PoolSlot {
        let (lock, freed) = &POOL;
        let mut in_use = lock.lock().unwrap_or_else(|e| e.into_inner());
        while *in_use >= POOL_INSTANCES {
            in_use = freed.wait(in_use).unwrap_or_else(|e| e.into_inner());
        }
        *in_use += 1;
        PoolSlot
    }
}

impl Drop for PoolSlot {
    fn drop(&mut self) {
        let (lock, freed) = &POOL;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        freed.notify_one();
    }
}
