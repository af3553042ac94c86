//! A loaded plugin version and the calls into it.
//!
//! Loading runs the whole admission pipeline: inspect (size, component, world, version,
//! imports) -> compile (or the cache) -> resolve imports (`InstancePre`) -> find and
//! type-check the world's exports -> `describe` -> `validate-config`. Only a plugin that passes every step exists as a
//! [`LoadedPlugin`].
//!
//! Every call gets a fresh store and instance from the `InstancePre`: one per batch, or
//! one per record in strict isolation. Fuel, a wall-clock deadline and the memory cap
//! are armed per store. A batch that faults is re-run record by record, so the fault
//! lands on the record that caused it and the rest of the batch is mapped.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::InstancePre;
use wasmtime::{Store, Trap};

use super::bindings::types::*;
use super::cache::CompileCache;
use super::engine::{POOL_INSTANCES, engine, ticks};
use super::error::{Fault, FaultKind, LoadError, RecordError};
use super::exports::{Bound, Exports};
use super::inspect::{Inspection, World, inspect};
use super::limits::Limits;
use super::sandbox::{State, linker};
use super::validate::{self, Rules, WireSize};

/// Settings passed to every call: the connection's config for this plugin.
pub type Settings = Vec<(String, String)>;

/// How much a call isolates records from each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// One fresh instance per batch (the default: records share nothing the host gave
    /// them, and the instance is thrown away after the batch).
    #[default]
    Batch,
    /// One fresh instance per record: no guest state can leak between records.
    Record,
}

/// The plugin's answer for one record, or the fault that stopped it.
type Answer<O> = Result<Result<O, MappingError>, Fault>;

/// What a call into the plugin returns: one answer per record, or a trap.
type CallResult<O> = wasmtime::Result<Vec<Result<O, MappingError>>>;

/// What one call cost, for `plugins test`, metrics and the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallReport {
    /// Instances created (1 per batch, or 1 per record).
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
        let exports = Exports::find(&component, inspection.world, &inspection.exports)
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
        let (described, _) = plugin.run(1, |store, bound| bound.describe(store));
        plugin.info = described.map_err(|fault| LoadError::Faulted("describe", fault))?;
        plugin.check_settings()?;
        Ok(plugin)
    }

    /// Asks the plugin's `validate-config` about its settings.
    fn check_settings(&self) -> Result<(), LoadError> {
        let (validated, _) = self.run(1, |store, bound| {
            bound.validate_config(store, &self.settings)
        });
        validated
            .map_err(|fault| LoadError::Faulted("validate-config", fault))?
            .map_err(LoadError::Config)
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

    /// Maps orders to the journals they should have. `chart`, when given, is the set of
    /// postable accounts every journal line must use.
    pub fn map_orders(
        &self,
        orders: &[Order],
        isolation: Isolation,
        chart: Option<&std::collections::HashSet<String>>,
    ) -> Mapped<JournalEntry> {
        self.map_records(
            orders,
            isolation,
            |store, bound, batch| match batch {
                [one] => Ok(vec![bound.map_order(store, &self.settings, one)?]),
                many => bound.map_orders(store, &self.settings, many),
            },
            |order, entry| {
                validate::check_journal(
                    entry,
                    &order.currency,
                    Rules {
                        limits: &self.limits,
                        chart,
                    },
                )
            },
        )
    }

    /// Maps refunds to their journals.
    pub fn map_refunds(
        &self,
        refunds: &[Refund],
        isolation: Isolation,
        chart: Option<&std::collections::HashSet<String>>,
    ) -> Mapped<JournalEntry> {
        self.map_records(
            refunds,
            isolation,
            |store, bound, batch| match batch {
                [one] => Ok(vec![bound.map_refund(store, &self.settings, one)?]),
                many => bound.map_refunds(store, &self.settings, many),
            },
            |refund, entry| {
                validate::check_journal(
                    entry,
                    &refund.currency,
                    Rules {
                        limits: &self.limits,
                        chart,
                    },
                )
            },
        )
    }

    /// Maps first-time shoppers to the ledger customers to create.
    pub fn map_customers(
        &self,
        customers: &[Customer],
        isolation: Isolation,
    ) -> Mapped<ErpCustomer> {
        self.map_records(
            customers,
            isolation,
            |store, bound, batch| match batch {
                [one] => Ok(vec![bound.map_customer(store, &self.settings, one)?]),
                many => bound.map_customers(store, &self.settings, many),
            },
            |_, customer| validate::check_customer(customer, &self.limits),
        )
    }

    /// Maps ledger item changes to catalog updates (`None`: nothing to change).
    pub fn map_items(
        &self,
        items: &[ErpItem],
        isolation: Isolation,
    ) -> Mapped<Option<CatalogUpdate>> {
        self.map_records(
            items,
            isolation,
            |store, bound, batch| match batch {
                [one] => Ok(vec![bound.map_item(store, &self.settings, one)?]),
                many => bound.map_items(store, &self.settings, many),
            },
            |_, update| {
                update
                    .as_ref()
                    .map_or(Ok(()), |u| validate::check_catalog_update(u, &self.limits))
            },
        )
    }

    /// The shared shape of every mapping call: size-check the inputs, call in batches
    /// (at most `max_batch_records` per instance) or per record, fall back to per record
    /// when a batch faults, validate every output.
    fn map_records<I: WireSize + Clone, O>(
        &self,
        inputs: &[I],
        isolation: Isolation,
        call: impl Fn(&mut Store<State>, &Bound<'_>, &[I]) -> CallResult<O>,
        check: impl Fn(&I, &O) -> Result<(), String>,
    ) -> Mapped<O> {
        let mut results: Vec<Option<Result<O, RecordError>>> = Vec::with_capacity(inputs.len());
        let mut admitted: Vec<usize> = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            let size = input.wire_size();
            if size > self.limits.max_input_bytes {
                results.push(Some(Err(RecordError::InputTooLarge {
                    plugin: self.name.clone(),
                    size,
                    limit: self.limits.max_input_bytes,
                })));
            } else {
                results.push(None);
                admitted.push(i);
            }
        }

        let mut report = CallReport::default();
        let mut answers: Vec<(usize, Answer<O>)> = Vec::with_capacity(admitted.len());
        let batch_size = match isolation {
            Isolation::Batch => self.limits.max_batch_records.max(1),
            Isolation::Record => 1,
        };
        for chunk in admitted.chunks(batch_size) {
            if chunk.len() > 1 && self.map_batch(inputs, chunk, &call, &mut answers, &mut report) {
                continue;
            }
            for &i in chunk {
                let (outcome, call_report) = self.run(1, |store, bound| {
                    call(store, bound, std::slice::from_ref(&inputs[i]))
                });
                report.absorb(call_report);
                let answer = outcome.and_then(|mut one| {
                    let got = one.len();
                    match one.pop() {
                        Some(answer) if got == 1 => Ok(answer),
                        _ => {
                            Err(self.record_fault(FaultKind::WrongResultCount { expected: 1, got }))
                        }
                    }
                });
                answers.push((i, answer));
            }
        }

        for (i, answer) in answers {
            results[i] = Some(match answer {
                Err(fault) => Err(RecordError::Fault(fault)),
                Ok(Err(error)) => Err(RecordError::Mapping {
                    plugin: self.name.clone(),
                    error,
                }),
                Ok(Ok(output)) => match check(&inputs[i], &output) {
                    Ok(()) => Ok(output),
                    Err(reason) => Err(RecordError::Invalid {
                        plugin: self.name.clone(),
                        reason,
                    }),
                },
            });
        }
        Mapped {
            results: results
                .into_iter()
                .map(|r| r.expect("every record has a result"))
                .collect(),
            report,
        }
    }

    /// Maps the records at `chunk` (indices into `inputs`, ascending) in one instance.
    /// False when the batch faulted: the caller then maps the records one by one, so the
    /// fault lands on the record that caused it.
    fn map_batch<I: Clone, O>(
        &self,
        inputs: &[I],
        chunk: &[usize],
        call: &impl Fn(&mut Store<State>, &Bound<'_>, &[I]) -> CallResult<O>,
        answers: &mut Vec<(usize, Answer<O>)>,
        report: &mut CallReport,
    ) -> bool {
        let (first, last) = (chunk[0], chunk[chunk.len() - 1]);
        let (outcome, call_report) = if last - first + 1 == chunk.len() {
            self.run(chunk.len(), |store, bound| {
                call(store, bound, &inputs[first..=last])
            })
        } else {
            // Some records between were refused: the bindings take a slice, so copy.
            let batch: Vec<I> = chunk.iter().map(|&i| inputs[i].clone()).collect();
            self.run(batch.len(), |store, bound| call(store, bound, &batch))
        };
        report.absorb(call_report);
        match outcome {
            Ok(batch) if batch.len() == chunk.len() => {
                answers.extend(chunk.iter().copied().zip(batch.into_iter().map(Ok)));
                true
            }
            Ok(batch) => {
                self.record_fault(FaultKind::WrongResultCount {
                    expected: chunk.len(),
                    got: batch.len(),
                });
                false
            }
            Err(_) => false,
        }
    }

    /// A fresh store armed with `fuel`, a `time` deadline and the memory cap.
    fn store(&self, fuel: u64, time: std::time::Duration) -> Store<State> {
        let state = State::new(self.limits.memory_bytes, self.limits.log_bytes_per_call);
        let mut store = Store::new(engine(), state);
        store.limiter(|state| &mut state.memory);
        store.set_fuel(fuel).expect("fuel is enabled on the engine");
        store.set_epoch_deadline(ticks(time));
        store.epoch_deadline_trap();
        store
    }

    /// Type-checks every export of the plugin's world against the contract, once.
    fn check_types(&self) -> Result<(), LoadError> {
        let _slot = PoolSlot::acquire();
        let mut store = self.store(self.limits.fuel_per_record, self.limits.time_for(1));
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| LoadError::Mismatch(format!("{e:#}")))?;
        self.exports
            .bind(instance)
            .check(&mut store)
            .map_err(|e| LoadError::Mismatch(format!("{e:#}")))
    }

    /// Runs `call` on a fresh instance armed for `records` records, turning any trap into
    /// a [`Fault`] and keeping the consecutive-fault count for quarantine.
    fn run<R>(
        &self,
        records: usize,
        call: impl FnOnce(&mut Store<State>, &Bound<'_>) -> wasmtime::Result<R>,
    ) -> (Result<R, Fault>, CallReport) {
        let started = Instant::now();
        let mut report = CallReport::default();
        if self.is_quarantined() {
            let faults = self.consecutive_faults.load(Ordering::Relaxed);
            return (Err(self.fault(FaultKind::Quarantined { faults })), report);
        }
        let _slot = PoolSlot::acquire();
        let fuel = self.limits.fuel_for(records);
        let time = self.limits.time_for(records);
        let mut store = self.store(fuel, time);
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
    let cause = cause.lines().next().unwrap_or_default().to_string();
    let Some(stderr) = logs
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix("[stderr]"))
    else {
        return cause;
    };
    // One line: a Rust panic prints "thread '..' panicked at file:line:col:\nmessage".
    let stderr: String = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    let stderr: String = stderr.chars().take(400).collect();
    format!("{cause}; stderr: {stderr}")
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
