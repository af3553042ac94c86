//! Checks a plugin binary before anything compiles it: size, that it is a valid component
//! (not a core module or a precompiled artifact), which world and contract version it
//! implements, and that it imports nothing a plugin is not given.
//!
//! The whole binary is parsed and validated with `wasmparser` first, so malformed bytes
//! become a one-line error here rather than a failure deep in the compiler.

use crate::digest::sha256_hex;
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

use super::bindings::{Contract, PACKAGE};
use super::error::LoadError;

/// The two kinds of plugin, one per world of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    OrderToGl,
    ItemToCatalog,
}

impl World {
    pub fn name(self) -> &'static str {
        match self {
            World::OrderToGl => "order-to-gl",
            World::ItemToCatalog => "item-to-catalog",
        }
    }

    /// The interface that distinguishes the world among the plugin's exports.
    fn interface(self) -> &'static str {
        match self {
            World::OrderToGl => "orders",
            World::ItemToCatalog => "catalog",
        }
    }
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a plugin binary is, learned without compiling it.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub size: u64,
    /// Hex SHA-256 of the binary: the plugin version's identity in the audit trail.
    pub sha256: String,
    pub world: World,
    /// The contract version the plugin was built against, e.g. `0.1.0`.
    pub api_version: String,
    /// The contract the host serves it with.
    pub contract: Contract,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Interfaces a plugin may import, by `package/interface` without version. WASI is
/// offered only as deterministic stand-ins: no environment, empty stdin, bounded stdout
/// and stderr, a fixed clock and seeded randomness.
const ALLOWED_IMPORTS: &[&str] = &[
    "ml-connector:mapping/host",
    "ml-connector:mapping/types",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

/// Checks `bytes` and says what the plugin is. `max_bytes` is the size cap.
pub fn inspect(bytes: &[u8], max_bytes: u64) -> Result<Inspection, LoadError> {
    let size = bytes.len() as u64;
    if size > max_bytes {
        return Err(LoadError::TooLarge {
            size,
            limit: max_bytes,
        });
    }
    if wasmtime::Engine::detect_precompiled(bytes).is_some() {
        return Err(LoadError::Precompiled);
    }
    if !bytes.starts_with(b"\0asm") {
        return Err(LoadError::NotWasm);
    }
    if Parser::is_core_wasm(bytes) {
        return Err(LoadError::CoreModule);
    }
    Validator::new_with_features(WasmFeatures::default())
        .validate_all(bytes)
        .map_err(|e| LoadError::Invalid(e.to_string()))?;

    let (imports, exports) =
        top_level_names(bytes).map_err(|e| LoadError::Invalid(e.to_string()))?;
    let (world, api_version) = world_of(&exports)?;
    let contract = check_version(&api_version)?;
    check_imports(&imports)?;
    Ok(Inspection {
        size,
        sha256: sha256_hex(bytes),
        world,
        api_version,
        contract,
        imports,
        exports,
    })
}

/// The component's own imports and exports (not those of components nested inside it).
fn top_level_names(bytes: &[u8]) -> wasmparser::Result<(Vec<String>, Vec<String>)> {
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    let mut depth = 0_usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    imports.push(import?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(section) if depth == 0 => {
                for export in section {
                    exports.push(export?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

/// Splits `pkg:ns/iface@1.2.3` into (`pkg:ns/iface`, `1.2.3`).
fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((base, version)) => (base, Some(version)),
        None => (name, None),
    }
}

fn world_of(exports: &[String]) -> Result<(World, String), LoadError> {
    let mut found: Vec<(World, String)> = Vec::new();
    let mut has_plugin = false;
    for export in exports {
        let (base, version) = split_version(export);
        let Some(interface) = base.strip_prefix(&format!("{}/", PACKAGE)) else {
            continue;
        };
        let version = version.unwrap_or_default().to_string();
        has_plugin |= interface == "plugin";
        for world in [World::OrderToGl, World::ItemToCatalog] {
            if interface == world.interface() {
                found.push((world, version.clone()));
            }
        }
    }
    match found.as_slice() {
        [] => Err(LoadError::NoWorld {
            exports: exports.to_vec(),
        }),
        [_, _, ..] => Err(LoadError::SeveralWorlds),
        [(world, version)] => {
            if !has_plugin {
                return Err(LoadError::Mismatch(format!(
                    "it exports `{}` but not `{}/plugin` (describe, validate-config)",
                    world.interface(),
                    PACKAGE
                )));
            }
            Ok((*world, version.clone()))
        }
    }
}

/// The contract the host serves a plugin of `version` with (see [`Contract::of`]).
fn check_version(version: &str) -> Result<Contract, LoadError> {
    Contract::of(version).ok_or_else(|| LoadError::ApiVersion {
        found: version.to_string(),
        supported: Contract::SUPPORTED.to_string(),
    })
}

fn check_imports(imports: &[String]) -> Result<(), LoadError> {
    let refused: Vec<String> = imports
        .iter()
        .filter(|name| !ALLOWED_IMPORTS.contains(&split_version(name).0))
        .map(|name| {
            let base = split_version(name).0;
            let why = if base.starts_with("wasi:filesystem/") {
                "file access"
            } else if base.starts_with("wasi:sockets/") {
                "network access"
            } else if base.starts_with("wasi:http/") {
                "HTTP access"
            } else {
                "not offered to plugins"
            };
            format!("{name} ({why})")
        })
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(LoadError::ForbiddenImports(refused))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_modules_and_garbage_are_refused_before_compiling() {
        let core = b"\0asm\x01\0\0\0";
        assert!(matches!(inspect(core, 1 << 20), Err(LoadError::CoreModule)));
        assert!(matches!(
            inspect(b"hello", 1 << 20),
            Err(LoadError::NotWasm)
        ));
        assert!(matches!(
            inspect(b"\0asm\x0d\0\x01\0garbage", 1 << 20),
            Err(LoadError::Invalid(_))
        ));
        assert!(matches!(
            inspect(&[0; 64], 10),
            Err(LoadError::TooLarge {
                size: 64,
                limit: 10
            })
        ));
    }

    #[test]
    fn a_component_of_a_contract_version_not_served_is_refused() {
        let exports = vec![
            "ml-connector:mapping/plugin@0.3.0".to_string(),
            "ml-connector:mapping/orders@0.3.0".to_string(),
        ];
        let (world, version) = world_of(&exports).unwrap();
        assert_eq!(world, World::OrderToGl);
        assert!(matches!(
            check_version(&version),
            Err(LoadError::ApiVersion { .. })
        ));
        assert_eq!(check_version("0.1.4").unwrap(), Contract::V0_1);
        assert_eq!(check_version("0.2.0").unwrap(), Contract::V0_2);
        assert!(check_version("0.1.0-rc.1").is_err());
    }

    #[test]
    fn filesystem_and_socket_imports_are_named_with_the_reason() {
        let imports = vec![
            "wasi:io/streams@0.2.6".to_string(),
            "wasi:filesystem/types@0.2.6".to_string(),
            "wasi:sockets/tcp@0.2.6".to_string(),
        ];
        let LoadError::ForbiddenImports(refused) = check_imports(&imports).unwrap_err() else {
            panic!()
        };
        assert_eq!(
            refused,
            vec![
                "wasi:filesystem/types@0.2.6 (file access)",
                "wasi:sockets/tcp@0.2.6 (network access)"
            ]
        );
    }
}
