//! Constructors for [`MappingError`], one per error kind, with an optional field path.

use crate::{ErrorKind, MappingError};
use alloc::string::{String, ToString};

fn error(
    kind: ErrorKind,
    code: &str,
    message: impl Into<String>,
    path: Option<&str>,
) -> MappingError {
    MappingError {
        kind,
        code: code.to_string(),
        message: message.into(),
        path: path.map(str::to_string),
    }
}

/// The record cannot be mapped as it is; `path` names the field, e.g. `lines[2].sku`.
pub fn invalid_input(code: &str, message: impl Into<String>, path: Option<&str>) -> MappingError {
    error(ErrorKind::InvalidInput, code, message, path)
}

/// A setting is missing or wrong; `key` names it.
pub fn config_error(code: &str, message: impl Into<String>, key: &str) -> MappingError {
    error(ErrorKind::Config, code, message, Some(key))
}

/// The record uses something this plugin does not handle.
pub fn unsupported(code: &str, message: impl Into<String>, path: Option<&str>) -> MappingError {
    error(ErrorKind::Unsupported, code, message, path)
}

/// A fault in the plugin itself (an invariant it expected to hold did not).
pub fn internal_error(code: &str, message: impl Into<String>) -> MappingError {
    error(ErrorKind::Internal, code, message, None)
}
