//! The plugin registry: built-in defaults, the operator's plugin directory, hot reload.
//!
//! Discovery: `<dir>/<name>.wasm`, or `<dir>/<name>/plugin.wasm` with an optional
//! `<dir>/<name>/plugin.toml` (limits and settings). Dot-files and `*.tmp` are ignored; a
//! directory plugin overrides the built-in of the same name.
//!
//! All loading goes through [`Registry::reload`], one load at a time, so loads never
//! race. The active set is swapped atomically: calls in flight keep the version they
//! started with. A version that fails to load leaves the last good one active and says
//! why in [`Registry::list`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::Duration;

use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher};
use serde::{Deserialize, Serialize};

use super::builtin::BUILTINS;
use super::cache::CompileCache;
use super::error::LoadError;
use super::inspect::sha256_hex;
use super::limits::Limits;
use super::plugin::{LoadedPlugin, Settings};

/// Quiet time after the last file event before reloading: a copy in progress produces a
/// burst of events, and one reload after it is enough.
pub const RELOAD_DEBOUNCE: Duration = Duration::from_millis(200);

/// How the registry finds, limits and configures plugins.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// The operator's plugin directory, if any.
    pub dir: Option<PathBuf>,
    pub cache: CompileCache,
    /// The ceiling for every plugin's limits (a `plugin.toml` may only lower them).
    pub limits: Limits,
    /// Settings per plugin name, from the connection's config. They override the
    /// `[config]` of the plugin's `plugin.toml`.
    pub settings: BTreeMap<String, Settings>,
}

/// Where a plugin version came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    BuiltIn,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::BuiltIn => f.write_str("built-in"),
            Source::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One line of `plugins list`.
#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    pub name: String,
    pub version: Option<String>,
    pub world: Option<String>,
    pub sha256: Option<String>,
    pub source: String,
    /// `active`, `quarantined`, or `failed`.
    pub status: String,
    /// Why the newest version found is not the active one, if it is not.
    pub error: Option<String>,
}

/// What one reload did, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadEvent {
    Loaded {
        name: String,
        version: String,
        sha256: String,
    },
    Failed {
        name: String,
        error: String,
    },
    Removed {
        name: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    limits: Option<Limits>,
    #[serde(default)]
    config: BTreeMap<String, String>,
}

struct Candidate {
    name: String,
    source: Source,
    bytes: Result<Vec<u8>, LoadError>,
    manifest: Result<Manifest, LoadError>,
    /// Hash of the `plugin.toml` text: a changed manifest is a new version too.
    manifest_sha: String,
}

#[derive(Default)]
struct LoaderState {
    /// Source and identity (binary and manifest hashes) of the active version per name.
    active: BTreeMap<String, (Source, String)>,
    /// The newest version that failed per name: its hash (if readable) and the reason.
    failed: BTreeMap<String, (Source, Option<String>, String)>,
}

pub struct Registry {
    options: RegistryOptions,
    active: ArcSwap<BTreeMap<String, Arc<LoadedPlugin>>>,
    loader: Mutex<LoaderState>,
}

impl Registry {
    /// A registry with the plugins found now loaded.
    pub fn open(options: RegistryOptions) -> (Arc<Registry>, Vec<LoadEvent>) {
        let registry = Arc::new(Registry {
            options,
            active: ArcSwap::from_pointee(BTreeMap::new()),
            loader: Mutex::default(),
        });
        let events = registry.reload();
        (registry, events)
    }

    /// The active version of plugin `name`.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.active.load().get(name).cloned()
    }

    /// Rescans built-ins and the directory and loads what changed. The one way plugins
    /// are loaded; callers are serialised.
    pub fn reload(&self) -> Vec<LoadEvent> {
        let mut state = self.loader.lock().unwrap_or_else(|e| e.into_inner());
        let candidates = candidates(self.options.dir.as_deref());
        let found: std::collections::BTreeSet<String> =
            candidates.iter().map(|c| c.name.clone()).collect();
        let mut next: BTreeMap<String, Arc<LoadedPlugin>> = BTreeMap::new();
        let current = self.active.load_full();
        let mut events = Vec::new();

        for candidate in candidates {
            let name = candidate.name.clone();
            // The version's identity: the binary and its manifest.
            let sha = candidate
                .bytes
                .as_ref()
                .ok()
                .map(|b| format!("{}:{}", sha256_hex(b), candidate.manifest_sha));
            let unchanged = state.active.get(&name).is_some_and(|(source, active_sha)| {
                *source == candidate.source && Some(active_sha) == sha.as_ref()
            });
            if unchanged && let Some(plugin) = current.get(&name) {
                next.insert(name, plugin.clone());
                continue;
            }
            let known_failure = state
                .failed
                .get(&name)
                .is_some_and(|(source, failed_sha, _)| {
                    *source == candidate.source && *failed_sha == sha && sha.is_some()
                });
            if !known_failure {
                match self.load(&candidate) {
                    Ok(plugin) => {
                        events.push(LoadEvent::Loaded {
                            name: name.clone(),
                            version: plugin.info().version.clone(),
                            sha256: plugin.inspection().sha256.clone(),
                        });
                        tracing::info!(plugin = %name, version = %plugin.info().version, source = %candidate.source, "plugin loaded");
                        state.active.insert(
                            name.clone(),
                            (candidate.source.clone(), sha.clone().unwrap_or_default()),
                        );
                        state.failed.remove(&name);
                        next.insert(name, Arc::new(plugin));
                        continue;
                    }
                    Err(error) => {
                        let error = format!("plugin `{name}` ({}) {error}", candidate.source);
                        tracing::error!(%error, "plugin not loaded");
                        events.push(LoadEvent::Failed {
                            name: name.clone(),
                            error: error.clone(),
                        });
                        state
                            .failed
                            .insert(name.clone(), (candidate.source.clone(), sha, error));
                    }
                }
            }
            // Keep the last good version, if there is one.
            if let Some(plugin) = current.get(&name) {
                next.insert(name, plugin.clone());
            }
        }
        for name in current.keys().filter(|name| !next.contains_key(*name)) {
            events.push(LoadEvent::Removed { name: name.clone() });
            state.active.remove(name);
        }
        // A failure is forgotten once its file is gone.
        state.failed.retain(|name, _| found.contains(name));
        self.active.store(Arc::new(next));
        events
    }

    /// Every plugin known: active ones and ones that failed to load.
    pub fn list(&self) -> Vec<PluginStatus> {
        let state = self.loader.lock().unwrap_or_else(|e| e.into_inner());
        let active = self.active.load();
        let mut names: Vec<&String> = active.keys().chain(state.failed.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|name| {
                let failure = state.failed.get(name);
                match active.get(name) {
                    Some(plugin) => PluginStatus {
                        name: name.clone(),
                        version: Some(plugin.info().version.clone()),
                        world: Some(plugin.world().to_string()),
                        sha256: Some(plugin.inspection().sha256.clone()),
                        source: state
                            .active
                            .get(name)
                            .map(|(source, _)| source.to_string())
                            .unwrap_or_default(),
                        status: if plugin.is_quarantined() {
                            "quarantined"
                        } else {
                            "active"
                        }
                        .to_string(),
                        error: failure.map(|(_, _, error)| error.clone()),
                    },
                    None => PluginStatus {
                        name: name.clone(),
                        version: None,
                        world: None,
                        sha256: failure
                            .and_then(|(_, id, _)| id.as_deref())
                            .and_then(|id| id.split(':').next())
                            .map(str::to_string),
                        source: failure
                            .map(|(source, _, _)| source.to_string())
                            .unwrap_or_default(),
                        status: "failed".to_string(),
                        error: failure.map(|(_, _, error)| error.clone()),
                    },
                }
            })
            .collect()
    }

    /// Watches the plugin directory and reloads after each burst of changes. Watching
    /// stops when the returned watcher is dropped.
    pub fn watch(self: &Arc<Self>) -> notify::Result<notify::RecommendedWatcher> {
        let dir = self
            .options
            .dir
            .clone()
            .ok_or_else(|| notify::Error::generic("no plugin directory configured"))?;
        let (tx, rx) = mpsc::channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| !e.kind.is_access()) {
                    let _ = tx.send(());
                }
            })?;
        watcher.watch(&dir, RecursiveMode::Recursive)?;
        let registry: Weak<Registry> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("plugin-loader".into())
            .spawn(move || {
                // Ends when the watcher (and so the sender) is dropped.
                while rx.recv().is_ok() {
                    while rx.recv_timeout(RELOAD_DEBOUNCE).is_ok() {}
                    let Some(registry) = registry.upgrade() else {
                        break;
                    };
                    registry.reload();
                }
            })
            .map_err(notify::Error::io)?;
        Ok(watcher)
    }

    fn load(&self, candidate: &Candidate) -> Result<LoadedPlugin, LoadError> {
        let overrides = self
            .options
            .settings
            .get(&candidate.name)
            .cloned()
            .unwrap_or_default();
        load_candidate(
            candidate,
            &overrides,
            &self.options.limits,
            &self.options.cache,
        )
    }
}

/// Built-ins, then the directory's plugins (which replace built-ins of the same name).
fn candidates(dir: Option<&Path>) -> Vec<Candidate> {
    let mut by_name: BTreeMap<String, Candidate> = BUILTINS
        .iter()
        .map(|(name, bytes)| {
            let candidate = Candidate {
                name: name.to_string(),
                source: Source::BuiltIn,
                bytes: Ok(bytes.to_vec()),
                manifest: Ok(Manifest::default()),
                manifest_sha: String::new(),
            };
            (name.to_string(), candidate)
        })
        .collect();
    if let Some(dir) = dir {
        let mut found = discover(dir);
        found.sort_by(|a, b| a.name.cmp(&b.name));
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        for candidate in found {
            let Source::File(path) = &candidate.source else {
                continue;
            };
            if let Some(other) = seen.insert(candidate.name.clone(), path.clone()) {
                let error = LoadError::Io(format!(
                    "both {} and {} claim this name; remove one",
                    other.display(),
                    path.display()
                ));
                by_name.insert(
                    candidate.name.clone(),
                    Candidate {
                        bytes: Err(error),
                        ..candidate
                    },
                );
                continue;
            }
            by_name.insert(candidate.name.clone(), candidate);
        }
    }
    by_name.into_values().collect()
}

/// Loads one plugin outside any registry: `plugin` is a path to a `.wasm` file, or the
/// name of a plugin in `dir` or a built-in. `settings` override its `plugin.toml` config.
pub fn load_one(
    plugin: &str,
    dir: Option<&Path>,
    settings: &Settings,
    ceiling: &Limits,
    cache: &CompileCache,
) -> Result<LoadedPlugin, String> {
    let path = Path::new(plugin);
    let candidate = if plugin.ends_with(".wasm") || path.is_file() {
        Candidate {
            name: name_from_path(path),
            source: Source::File(path.to_path_buf()),
            bytes: read(path),
            manifest: Ok(Manifest::default()),
            manifest_sha: String::new(),
        }
    } else {
        candidates(dir).into_iter().find(|c| c.name == plugin).ok_or_else(|| {
            let place = dir.map(|d| format!(" in {} or", d.display())).unwrap_or_default();
            format!("no plugin named `{plugin}`{place} among the built-ins (order-to-gl, item-to-catalog)")
        })?
    };
    let name = candidate.name.clone();
    let source = candidate.source.clone();
    load_candidate(&candidate, settings, ceiling, cache)
        .map_err(|e| format!("plugin `{name}` ({source}) {e}"))
}

/// A plugin's name from its file: `<name>.wasm`, or `<name>/plugin.wasm` (also when the
/// file is a build's output folder, `<name>/dist/plugin.wasm`, `build/` or `out/`).
pub fn name_from_path(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    if stem != "plugin" {
        return stem;
    }
    path.ancestors()
        .skip(1)
        .filter_map(|dir| dir.file_name().and_then(|n| n.to_str()))
        .find(|name| !matches!(*name, "dist" | "build" | "out"))
        .map(str::to_string)
        .unwrap_or(stem)
}

fn load_candidate(
    candidate: &Candidate,
    overrides: &Settings,
    ceiling: &Limits,
    cache: &CompileCache,
) -> Result<LoadedPlugin, LoadError> {
    let bytes = candidate.bytes.as_ref().map_err(clone_error)?;
    let manifest = candidate.manifest.as_ref().map_err(clone_error)?;
    let limits = manifest
        .limits
        .clone()
        .unwrap_or_default()
        .capped_by(ceiling);
    let mut settings: BTreeMap<String, String> = manifest.config.clone();
    settings.extend(overrides.iter().cloned());
    LoadedPlugin::load(
        &candidate.name,
        bytes,
        limits,
        settings.into_iter().collect(),
        cache,
    )
}

/// The plugins in `dir`: `<name>.wasm` files and `<name>/plugin.wasm` folders.
fn discover(dir: &Path) -> Vec<Candidate> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::warn!(dir = %dir.display(), "plugin directory cannot be read");
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().to_string();
        if file_name.starts_with('.') || file_name.ends_with(".tmp") {
            continue;
        }
        if path.is_dir() {
            let wasm = path.join("plugin.wasm");
            if !wasm.is_file() {
                continue;
            }
            let toml = path.join("plugin.toml");
            let text = if toml.is_file() {
                std::fs::read_to_string(&toml)
                    .map_err(|e| LoadError::Manifest(format!("{}: {e}", toml.display())))
            } else {
                Ok(String::new())
            };
            let manifest_sha = text
                .as_ref()
                .map(|t| sha256_hex(t.as_bytes()))
                .unwrap_or_default();
            let manifest = text.and_then(|text| {
                toml::from_str(&text)
                    .map_err(|e| LoadError::Manifest(format!("{}: {e}", toml.display())))
            });
            found.push(Candidate {
                name: file_name,
                source: Source::File(wasm.clone()),
                bytes: read(&wasm),
                manifest,
                manifest_sha,
            });
        } else if let Some(name) = file_name.strip_suffix(".wasm") {
            found.push(Candidate {
                name: name.to_string(),
                source: Source::File(path.clone()),
                bytes: read(&path),
                manifest: Ok(Manifest::default()),
                manifest_sha: String::new(),
            });
        } else if let Some(name) = file_name.strip_suffix(".cwasm") {
            found.push(Candidate {
                name: name.to_string(),
                source: Source::File(path.clone()),
                bytes: Err(LoadError::Precompiled),
                manifest: Ok(Manifest::default()),
                manifest_sha: String::new(),
            });
        }
    }
    found
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|e| LoadError::Io(e.to_string()))
}

/// Load errors are reported, not propagated; a display copy keeps the reason.
fn clone_error(error: &LoadError) -> LoadError {
    match error {
        LoadError::Precompiled => LoadError::Precompiled,
        LoadError::Manifest(m) => LoadError::Manifest(m.clone()),
        other => LoadError::Io(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_is_named_after_its_file_or_its_project_folder() {
        let name = |p: &str| name_from_path(Path::new(p));
        assert_eq!(name("plugins/margins.wasm"), "margins");
        assert_eq!(name("plugins/margins/plugin.wasm"), "margins");
        assert_eq!(
            name("examples/js-order-to-gl/dist/plugin.wasm"),
            "js-order-to-gl"
        );
        assert_eq!(name("flat/build/plugin.wasm"), "flat");
        assert_eq!(name("plugin.wasm"), "plugin");
    }
}
