//! Read access to the connection's settings (`config`, a list of string pairs).

use crate::MappingError;
use crate::error::config_error;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A view over the settings passed to a call. Lookups are linear: settings lists are short.
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> Settings<'a> {
    pub fn new(pairs: &'a [(String, String)]) -> Self {
        Settings { pairs }
    }

    /// The value of `key`, if set and not blank.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.get_with(key, "")
    }

    /// The value of the key `prefix` + `suffix` (e.g. `account.clearing.` + a gateway), if
    /// set and not blank. Builds no string: it runs once per line on the hot path.
    pub fn get_with(&self, prefix: &str, suffix: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| {
                k.len() == prefix.len() + suffix.len()
                    && k.starts_with(prefix)
                    && k.ends_with(suffix)
            })
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of `key`, or a `missing-setting` config error naming it.
    pub fn require(&self, key: &str) -> Result<&'a str, MappingError> {
        self.get(key).ok_or_else(|| {
            config_error(
                "missing-setting",
                format!("setting `{key}` is required"),
                key,
            )
        })
    }

    /// The value of the first of `keys` that is set, e.g. a specific account then its default.
    pub fn first_of(&self, keys: &[&str]) -> Result<&'a str, MappingError> {
        keys.iter().find_map(|key| self.get(key)).ok_or_else(|| {
            let last = keys.last().copied().unwrap_or_default();
            config_error(
                "missing-setting",
                format!("setting `{last}` is required"),
                last,
            )
        })
    }

    /// A boolean setting (`true`/`false`, `yes`/`no`, `1`/`0`), or `default` when unset.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, MappingError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "yes" | "1") => Ok(true),
            Some("false" | "no" | "0") => Ok(false),
            Some(other) => Err(config_error(
                "bad-setting",
                format!("setting `{key}` must be true or false, not `{other}`"),
                key,
            )),
        }
    }

    /// Checks that every key in `required` is set; one error per missing key.
    pub fn require_all(&self, required: &[&str]) -> Result<(), Vec<MappingError>> {
        let errors: Vec<_> = required
            .iter()
            .filter_map(|key| self.require(key).err())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// An `unknown-setting` error for every key that is neither one of `keys` (the
    /// plugin's `(name, required, description)` list) nor starts with one of `prefixes`:
    /// a misspelt setting is an error, not silently ignored.
    pub fn unknown(&self, keys: &[(&str, bool, &str)], prefixes: &[&str]) -> Vec<MappingError> {
        self.pairs
            .iter()
            .map(|(key, _)| key.as_str())
            .filter(|key| {
                !keys.iter().any(|(name, _, _)| key == name)
                    && !prefixes.iter().any(|p| key.starts_with(p))
            })
            .map(|key| config_error("unknown-setting", format!("unknown setting `{key}`"), key))
            .collect()
    }

    /// Every `(key, value)` whose key starts with `prefix`, with the prefix removed.
    pub fn with_prefix(&self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.pairs
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, v.as_str())))
    }
}
