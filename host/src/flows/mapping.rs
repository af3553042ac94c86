//! Calling a plugin from a flow: the mapping runs on a blocking thread (it is CPU-bound
//! WebAssembly and must not stall the runtime), and each record's mapping is audited with
//! the plugin version that made it, its input and its output or error.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::FlowError;
use crate::plugins::{LoadedPlugin, RecordError};
use crate::store::Store;

/// Runs `call` with `plugin` on a blocking thread.
pub async fn on_blocking_thread<T, F>(plugin: &Arc<LoadedPlugin>, call: F) -> Result<T, FlowError>
where
    T: Send + 'static,
    F: FnOnce(&LoadedPlugin) -> T + Send + 'static,
{
    let plugin = plugin.clone();
    Ok(tokio::task::spawn_blocking(move || call(&plugin)).await?)
}

/// Which plugin version mapped a record, for the audit trail.
pub fn plugin_identity(plugin: &LoadedPlugin) -> serde_json::Value {
    json!({
        "name": plugin.name(),
        "version": plugin.info().version,
        "sha256": plugin.inspection().sha256,
    })
}

/// Audits one record's mapping under `subject`: `mapped` with the output, or
/// `mapping-failed` with the error.
pub async fn audit_mapping<I: Serialize, O: Serialize>(
    store: &dyn Store,
    connection: &str,
    subject: &str,
    identity: &serde_json::Value,
    input: &I,
    result: Result<&O, &RecordError>,
) -> Result<(), FlowError> {
    let (kind, output, error) = match result {
        Ok(output) => ("mapped", Some(output), None),
        Err(error) => ("mapping-failed", None, Some(error.to_string())),
    };
    let data = Mapping {
        plugin: identity,
        input,
        output,
        error,
    };
    crate::exchanges::audit_entry(store, connection, subject, kind, &data).await?;
    Ok(())
}

/// A `mapped` or `mapping-failed` entry's data.
#[derive(Serialize)]
struct Mapping<'a, I, O> {
    plugin: &'a serde_json::Value,
    input: &'a I,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a O>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}
