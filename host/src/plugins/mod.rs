//! The sandboxed plugin runtime: customer mappings (order -> journal, item -> catalog
//! update) run as WebAssembly components against the `ml-connector:mapping` contract.
//!
//! - [`engine`]: the one wasmtime engine and why each setting is what it is;
//! - [`inspect`]: checks a binary before compiling it (size, world, version, imports);
//! - [`sandbox`]: what an instance can touch (bounded log, deterministic WASI, nothing else);
//! - [`plugin`]: a loaded plugin version and the limited, validated calls into it;
//! - [`validate`]: host-side checks of every output, and the host's facts put in place;
//! - [`text`]: plugin-supplied text made safe to print;
//! - [`registry`]: built-ins, the plugin directory, the compile cache, hot reload;
//! - [`scaffold`]: a new plugin project (`plugins new`).

pub mod bindings;
pub mod builtin;
pub mod cache;
pub mod engine;
pub mod error;
mod exports;
pub mod fixture;
pub mod inspect;
pub mod limits;
pub mod plugin;
pub mod registry;
pub mod sandbox;
pub mod scaffold;
pub mod text;
pub mod validate;

pub use bindings::types;
pub use cache::CompileCache;
pub use error::{Fault, FaultKind, LoadError, OpenError, RecordError};
pub use inspect::World;
pub use limits::Limits;
pub use plugin::{CallReport, LoadedPlugin, Mapped, Settings};
pub use registry::{
    Entry, LoadEvent, PluginSlot, PluginStatus, Registry, RegistryOptions, Shelf, Source,
};
pub use validate::Refusal;
