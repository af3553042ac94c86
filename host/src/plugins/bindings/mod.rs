//! Host bindings for each supported version of the WIT contract, and which version a
//! plugin speaks.
//!
//! A released contract version is frozen in `wit/mapping@X.Y.Z/` and gets one module here.
//! The newest version's types ([`types`]) are what the rest of the host works with; a call
//! on a plugin of an older version converts its input down and its output up in that
//! version's module and nowhere else (the way Zed's extension host dispatches on API
//! version). Wasmtime matches 0.x versions on their minor: a 0.1.7 plugin is served by the
//! 0.1 module, a 0.3 plugin by none.

pub mod v0_1;
pub mod v0_2;

/// The newest contract's types: what the rest of the host works with.
pub use v0_2::types;

/// The package the contract's interfaces live in.
pub const PACKAGE: &str = "ml-connector:mapping";

/// A contract version the host serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Contract {
    /// `ml-connector:mapping@0.1.x`: orders without tenders.
    #[serde(rename = "0.1")]
    V0_1,
    /// `ml-connector:mapping@0.2.x`: the newest.
    #[serde(rename = "0.2")]
    V0_2,
}

impl Contract {
    /// The version new plugins are built against.
    pub const NEWEST: Contract = Contract::V0_2;

    /// What the host serves, for errors: `0.1.x or 0.2.x`.
    pub const SUPPORTED: &str = "0.1.x or 0.2.x";

    /// The contract a plugin built against `version` (e.g. `0.1.4`) speaks; `None` for a
    /// version the host does not serve (another minor, a pre-release, no version).
    pub fn of(version: &str) -> Option<Contract> {
        if version.contains('-') || version.contains('+') {
            return None;
        }
        let mut parts = version.split('.');
        let contract = match (parts.next(), parts.next()) {
            (Some("0"), Some("1")) => Contract::V0_1,
            (Some("0"), Some("2")) => Contract::V0_2,
            _ => return None,
        };
        let patch = parts.next()?;
        let numeric = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        (numeric(patch) && parts.next().is_none()).then_some(contract)
    }

    /// `0.1`, `0.2`.
    pub fn name(self) -> &'static str {
        match self {
            Contract::V0_1 => "0.1",
            Contract::V0_2 => "0.2",
        }
    }
}

impl std::fmt::Display for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Contract;

    #[test]
    fn versions_are_served_by_their_minor() {
        assert_eq!(Contract::of("0.1.0"), Some(Contract::V0_1));
        assert_eq!(Contract::of("0.1.7"), Some(Contract::V0_1));
        assert_eq!(Contract::of("0.2.0"), Some(Contract::V0_2));
        for refused in [
            "0.3.0",
            "1.0.0",
            "0.2.0-rc.1",
            "0.1",
            "",
            "0.1.x",
            "0.2.0.1",
        ] {
            assert_eq!(Contract::of(refused), None, "{refused}");
        }
    }
}
