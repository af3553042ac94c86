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
    let (kind, data) = match result {
        Ok(output) => (
            "mapped",
            json!({"plugin": identity, "input": input, "output": output}),
        ),
        Err(error) => (
            "mapping-failed",
            json!({"plugin": identity, "input": input, "error": error.to_string()}),
        ),
    };
    crate::exchanges::audit_entry(store, connection, subject, kind, &data).await?;
    Ok(())
}
