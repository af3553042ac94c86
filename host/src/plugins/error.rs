//! The plugin layer's errors, in three kinds that are handled differently:
//! a plugin that cannot be loaded ([`LoadError`]), a sandbox fault during a call
//! ([`Fault`]: the plugin version's fault, counted toward quarantine), and a record the
//! plugin could not map or whose output the host refused ([`RecordError`]: the record's
//! problem, parked with the record).

use std::fmt;

use super::bindings::types::MappingError;
use super::inspect::World;
use super::validate::Refusal;

/// Why a plugin binary was not activated. Displayed after the plugin's name.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read it: {0}")]
    Io(String),
    #[error("bad plugin.toml: {0}")]
    Manifest(String),
    #[error("file is {size} bytes, over the {limit}-byte plugin size limit")]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "is a precompiled artifact; the plugin directory takes .wasm components only (the host compiles and caches them itself)"
    )]
    Precompiled,
    #[error("is not a WebAssembly file")]
    NotWasm,
    #[error(
        "is a core WebAssembly module, not a component: build it for wasm32-wasip2 (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule,
    #[error("is not a valid WebAssembly component: {0}")]
    Invalid(String),
    #[error(
        "exports neither `ml-connector:mapping/orders` (order-to-gl) nor `ml-connector:mapping/catalog` (item-to-catalog); it exports {exports:?}"
    )]
    NoWorld { exports: Vec<String> },
    #[error("exports both worlds; a plugin implements one: order-to-gl or item-to-catalog")]
    SeveralWorlds,
    #[error("was built against contract version {found}; this host supports {supported}")]
    ApiVersion { found: String, supported: String },
    #[error("imports what plugins are not given: {}", .0.join(", "))]
    ForbiddenImports(Vec<String>),
    #[error("does not match its world: {0}")]
    Mismatch(String),
    #[error("failed to compile: {0}")]
    Compile(String),
    #[error("faulted in `{0}`: {1}")]
    Faulted(&'static str, Fault),
    #[error("rejected its configuration: {}", describe_mapping_errors(.0))]
    Config(Vec<MappingError>),
}

/// A sandbox fault: the plugin version misbehaved, whatever the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub plugin: String,
    pub version: String,
    pub sha256: String,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Used up its fuel (CPU) budget.
    OutOfFuel { limit: u64 },
    /// Ran past its wall-clock budget.
    Timeout { limit_ms: u64 },
    /// Tried to grow its memory past the cap.
    MemoryLimit { limit: usize, requested: usize },
    /// Trapped: a panic, `unreachable`, an out-of-bounds access.
    Trap(String),
    /// Quarantined after repeated faults; not called.
    Quarantined { faults: u32 },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.sha256.get(..12).unwrap_or(&self.sha256);
        write!(f, "plugin `{}` {} ({short}): ", self.plugin, self.version)?;
        match &self.kind {
            FaultKind::OutOfFuel { limit } => {
                write!(f, "ran out of fuel (CPU limit of {limit} units)")
            }
            FaultKind::Timeout { limit_ms } => {
                write!(f, "ran past its time limit of {limit_ms} ms")
            }
            FaultKind::MemoryLimit { limit, requested } => {
                write!(
                    f,
                    "exceeded its memory limit of {limit} bytes (asked for {requested})"
                )
            }
            FaultKind::Trap(detail) => write!(f, "trapped: {detail}"),
            FaultKind::Quarantined { faults } => {
                write!(
                    f,
                    "is quarantined after {faults} consecutive faults; load a new version to resume"
                )
            }
        }
    }
}

impl std::error::Error for Fault {}

/// Why a plugin named on the command line or in the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no plugin named `{name}`{place} among the built-ins (order-to-gl, item-to-catalog)")]
    NotFound { name: String, place: String },
    #[error("plugin `{name}` ({origin}) {error}")]
    Load {
        name: String,
        origin: String,
        #[source]
        error: Box<LoadError>,
    },
    /// A plugin named to stand in for another maps another world.
    #[error("plugin `{name}` maps {world}, not {wanted}")]
    OtherWorld {
        name: String,
        world: World,
        wanted: World,
    },
}

/// Why one record produced no output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The plugin declined the record with its own error.
    #[error("plugin `{plugin}` could not map it: {}", describe_mapping_error(.error))]
    Mapping { plugin: String, error: MappingError },
    /// The plugin answered, but the host refused the answer.
    #[error("plugin `{plugin}` produced invalid output: {refusal}")]
    Invalid {
        plugin: String,
        #[source]
        refusal: Refusal,
    },
    /// The input record is over the size limit and was not passed to the plugin.
    #[error("record is about {size} bytes, over the {limit}-byte input limit of plugin `{plugin}`")]
    InputTooLarge {
        plugin: String,
        size: usize,
        limit: usize,
    },
    /// The record has something the plugin's contract version has no field for; it was
    /// not passed to the plugin.
    #[error("plugin `{plugin}` speaks contract {contract}: {reason}")]
    NotCarried {
        plugin: String,
        contract: super::bindings::Contract,
        reason: String,
    },
    /// The sandbox stopped the plugin while it worked on this record.
    #[error("{0}")]
    Fault(Fault),
}

impl RecordError {
    /// A stable code for dashboards and dead-letter reasons.
    pub fn code(&self) -> String {
        match self {
            RecordError::Mapping { error, .. } => error.code.clone(),
            RecordError::Invalid { .. } => "invalid-output".into(),
            RecordError::InputTooLarge { .. } => "input-too-large".into(),
            RecordError::NotCarried { .. } => "contract-too-old".into(),
            RecordError::Fault(_) => "plugin-fault".into(),
        }
    }
}

pub fn describe_mapping_error(error: &MappingError) -> String {
    let path = error
        .path
        .as_deref()
        .map(|p| format!(" at `{p}`"))
        .unwrap_or_default();
    format!("{} [{}]{path}", error.message, error.code)
}

fn describe_mapping_errors(errors: &[MappingError]) -> String {
    errors
        .iter()
        .map(describe_mapping_error)
        .collect::<Vec<_>>()
        .join("; ")
}
