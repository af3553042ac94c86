//! The plugin registry: built-in defaults, the operator's plugin directory, hot reload.
//!
//! Discovery: `<dir>/<name>.wasm`, or `<dir>/<name>/plugin.wasm` with an optional
//! `<dir>/<name>/plugin.toml` (limits and settings). Dot-files and `*.tmp` are ignored; a
//! directory plugin overrides the built-in of the same name. Names are letters, digits,
//! `.`, `_` and `-`.
//!
//! The directory is read defensively, since anyone who can write to it can try to hang
//! or probe the host: only regular files are read (a FIFO or a device is refused without
//! blocking), a binary's size is checked before any of it is read, a `plugin.toml` must be
//! a regular file in its plugin's folder (not a link), and no file's content is ever
//! echoed in an error.
//!
//! A registry holds every plugin it finds under its own name (`plugins list`), or only
//! the [`Entry`]s it is given, each one connection's use of a plugin with that
//! connection's settings and limits (`run`). All loading goes through
//! [`Registry::reload`], one load at a time, so loads never race. Each entry's active
//! version is in a [`PluginSlot`] that callers keep: a new version replaces the old for
//! the next call, calls in flight finish on the version they started with, and a version
//! that fails to load leaves the last good one active and says why in [`Registry::list`].

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::Duration;

use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher};
use serde::{Deserialize, Serialize};

use super::builtin::BUILTINS;
use super::cache::CompileCache;
use super::error::{LoadError, OpenError};
use super::limits::Limits;
use super::plugin::{LoadedPlugin, Settings};
use super::text::printable;
use crate::digest::sha256_hex;

/// Quiet time after the last file event before reloading: a copy in progress produces a
/// burst of events, and one reload after it is enough.
pub const RELOAD_DEBOUNCE: Duration = Duration::from_millis(200);

/// How the registry finds, limits and configures plugins.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// The operator's plugin directory, if any.
    pub dir: Option<PathBuf>,
    pub cache: CompileCache,
    /// The operator's limits for every plugin found (a `plugin.toml` may only lower them).
    pub limits: Limits,
    /// Settings per plugin name. They override the `[config]` of the plugin's
    /// `plugin.toml`.
    pub settings: BTreeMap<String, Settings>,
    /// When not empty, the registry holds these and nothing else, instead of every
    /// plugin found.
    pub entries: Vec<Entry>,
}

/// One use of a plugin: `plugin` (a name in the directory or a built-in) held under
/// `key`, with its own settings (over its `plugin.toml`'s) and the operator's limits
/// (which its `plugin.toml` may only lower).
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub plugin: String,
    pub settings: Settings,
    pub limits: Limits,
}

/// The active version of one registry entry, kept by whoever calls the plugin: the
/// registry swaps a new version in, and each call takes the version active when it
/// starts.
pub struct PluginSlot(ArcSwap<LoadedPlugin>);

impl PluginSlot {
    /// A slot that holds `plugin` for good (a command that loads one plugin once).
    pub fn fixed(plugin: LoadedPlugin) -> Arc<PluginSlot> {
        Arc::new(PluginSlot(ArcSwap::from_pointee(plugin)))
    }

    /// The version active now.
    pub fn get(&self) -> Arc<LoadedPlugin> {
        self.0.load_full()
    }
}

impl std::fmt::Debug for PluginSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PluginSlot").field(&self.get()).finish()
    }
}

/// Where a plugin version came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    BuiltIn,
    File(PathBuf),
    /// An entry's plugin that is nowhere to be found.
    Missing,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::BuiltIn => f.write_str("built-in"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Missing => f.write_str("not found"),
        }
    }
}

/// One line of `plugins list`, or one entry's plugin in `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginStatus {
    /// The registry's key: the plugin's name, or the [`Entry`]'s key.
    pub name: String,
    /// The plugin's own name (an entry's plugin), when a version is active.
    pub plugin: Option<String>,
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

/// The most a `plugin.toml` may be: a few limits and settings.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

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
    active: ArcSwap<BTreeMap<String, Arc<PluginSlot>>>,
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

    /// The active version of plugin (or entry) `name`.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.slot(name).map(|slot| slot.get())
    }

    /// The slot of plugin (or entry) `name`, which follows its reloads.
    pub fn slot(&self, name: &str) -> Option<Arc<PluginSlot>> {
        self.active.load().get(name).cloned()
    }

    /// Rescans built-ins and the directory and loads what changed. The one way plugins
    /// are loaded; callers are serialised.
    pub fn reload(&self) -> Vec<LoadEvent> {
        let mut state = self.loader.lock().unwrap_or_else(|e| e.into_inner());
        let found = candidates(self.options.dir.as_deref());
        let entries: Vec<Entry> = if self.options.entries.is_empty() {
            found
                .keys()
                .map(|name| Entry {
                    key: name.clone(),
                    plugin: name.clone(),
                    settings: self.options.settings.get(name).cloned().unwrap_or_default(),
                    limits: self.options.limits.clone(),
                })
                .collect()
        } else {
            self.options.entries.clone()
        };
        let current = self.active.load_full();
        let mut next: BTreeMap<String, Arc<PluginSlot>> = BTreeMap::new();
        let mut events = Vec::new();

        for entry in &entries {
            let key = entry.key.clone();
            let Some(candidate) = found.get(&entry.plugin) else {
                let error = format!(
                    "plugin `{}` is neither in the plugin directory nor built in",
                    entry.plugin
                );
                if state.failed.get(&key).is_none_or(|(_, _, e)| *e != error) {
                    tracing::error!(%error, entry = %key, "plugin not loaded");
                    events.push(LoadEvent::Failed {
                        name: key.clone(),
                        error: error.clone(),
                    });
                }
                state
                    .failed
                    .insert(key.clone(), (Source::Missing, None, error));
                if let Some(slot) = current.get(&key) {
                    next.insert(key, slot.clone());
                }
                continue;
            };
            // The version's identity: the binary and its manifest.
            let sha = candidate
                .bytes
                .as_ref()
                .ok()
                .map(|b| format!("{}:{}", sha256_hex(b), candidate.manifest_sha));
            let unchanged = state.active.get(&key).is_some_and(|(source, active_sha)| {
                *source == candidate.source && Some(active_sha) == sha.as_ref()
            });
            if unchanged && let Some(slot) = current.get(&key) {
                next.insert(key, slot.clone());
                continue;
            }
            let known_failure = state
                .failed
                .get(&key)
                .is_some_and(|(source, failed_sha, _)| {
                    *source == candidate.source && *failed_sha == sha && sha.is_some()
                });
            if !known_failure {
                match load_candidate(candidate, entry, &self.options.cache) {
                    Ok(plugin) => {
                        events.push(LoadEvent::Loaded {
                            name: key.clone(),
                            version: plugin.info().version.clone(),
                            sha256: plugin.inspection().sha256.clone(),
                        });
                        tracing::info!(plugin = %key, version = %plugin.info().version, source = %candidate.source, "plugin loaded");
                        state.active.insert(
                            key.clone(),
                            (candidate.source.clone(), sha.clone().unwrap_or_default()),
                        );
                        state.failed.remove(&key);
                        let slot = match current.get(&key) {
                            Some(slot) => {
                                slot.0.store(Arc::new(plugin));
                                slot.clone()
                            }
                            None => PluginSlot::fixed(plugin),
                        };
                        next.insert(key, slot);
                        continue;
                    }
                    Err(error) => {
                        let error = format!("plugin `{key}` ({}) {error}", candidate.source);
                        tracing::error!(%error, "plugin not loaded");
                        events.push(LoadEvent::Failed {
                            name: key.clone(),
                            error: error.clone(),
                        });
                        state
                            .failed
                            .insert(key.clone(), (candidate.source.clone(), sha, error));
                    }
                }
            }
            // Keep the last good version, if there is one.
            if let Some(slot) = current.get(&key) {
                next.insert(key, slot.clone());
            }
        }
        for name in current.keys().filter(|name| !next.contains_key(*name)) {
            events.push(LoadEvent::Removed { name: name.clone() });
            state.active.remove(name);
        }
        // A failure is forgotten once its entry is gone.
        state
            .failed
            .retain(|key, _| entries.iter().any(|entry| entry.key == *key));
        self.active.store(Arc::new(next));
        events
    }

    /// The plugin directory, if there is one.
    pub fn dir(&self) -> Option<&Path> {
        self.options.dir.as_deref()
    }

    /// The plugins it could load by name, for a load outside its entries.
    pub fn shelf(&self) -> Shelf {
        Shelf {
            dir: self.options.dir.clone(),
            cache: self.options.cache.clone(),
        }
    }

    /// The names of every plugin that could be loaded: the built-ins and the directory's,
    /// whether an entry uses them or not.
    /// Read from the directory's listing only, as [`discover`] names them.
    pub fn names(&self) -> Vec<String> {
        let mut names: std::collections::BTreeSet<String> =
            BUILTINS.iter().map(|(name, _)| name.to_string()).collect();
        if let Some(entries) = self
            .options
            .dir
            .as_deref()
            .and_then(|d| std::fs::read_dir(d).ok())
        {
            for entry in entries.flatten() {
                let file = entry.file_name().to_string_lossy().to_string();
                if file.starts_with('.') || file.ends_with(".tmp") {
                    continue;
                }
                let name = if entry.path().join("plugin.wasm").exists() {
                    Some(file.as_str())
                } else {
                    file.strip_suffix(".wasm")
                };
                if let Some(name) = name.filter(|name| is_plugin_name(name)) {
                    names.insert(name.to_string());
                }
            }
        }
        names.into_iter().collect()
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
                match active.get(name).map(|slot| slot.get()) {
                    Some(plugin) => PluginStatus {
                        name: name.clone(),
                        plugin: Some(plugin.name().to_string()),
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
                        plugin: None,
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

    /// Watches the plugin directory and reloads after each burst of changes, handing
    /// what each reload did to `reloaded`. Watching stops when the returned watcher is
    /// dropped.
    pub fn watch(
        self: &Arc<Self>,
        reloaded: impl Fn(&[LoadEvent]) + Send + 'static,
    ) -> notify::Result<notify::RecommendedWatcher> {
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
                    reloaded(&registry.reload());
                }
            })
            .map_err(notify::Error::io)?;
        Ok(watcher)
    }
}

/// Built-ins, then the directory's plugins (which replace built-ins of the same name).
fn candidates(dir: Option<&Path>) -> BTreeMap<String, Candidate> {
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
    by_name
}

/// Loads one plugin outside any registry: `plugin` is a path to a `.wasm` file, or the
/// name of a plugin in `dir` or a built-in. `settings` override its `plugin.toml` config;
/// `limits` are the operator's (its `plugin.toml` may only lower them).
pub fn load_one(
    plugin: &str,
    dir: Option<&Path>,
    settings: &Settings,
    limits: &Limits,
    cache: &CompileCache,
) -> Result<LoadedPlugin, OpenError> {
    let path = Path::new(plugin);
    if !(plugin.ends_with(".wasm") || path.is_file()) {
        return load_named(plugin, dir, settings, limits, cache);
    }
    let candidate = Candidate {
        name: name_from_path(path),
        source: Source::File(path.to_path_buf()),
        bytes: read_binary(path),
        manifest: Ok(Manifest::default()),
        manifest_sha: String::new(),
    };
    load_as(candidate, settings, limits, cache)
}

/// Loads plugin `name` from `dir` or the built-ins only (never a path), outside any
/// registry, with `settings` and `limits` as [`load_one`] takes them.
pub fn load_named(
    name: &str,
    dir: Option<&Path>,
    settings: &Settings,
    limits: &Limits,
    cache: &CompileCache,
) -> Result<LoadedPlugin, OpenError> {
    load_as(named(name, dir)?, settings, limits, cache)
}

/// Plugin `name` in `dir` or among the built-ins, not loaded yet.
fn named(name: &str, dir: Option<&Path>) -> Result<Candidate, OpenError> {
    candidates(dir)
        .remove(name)
        .ok_or_else(|| OpenError::NotFound {
            name: printable(name),
            place: dir
                .map(|d| format!(" in {} or", d.display()))
                .unwrap_or_default(),
        })
}

/// The plugins that can be loaded by name outside a registry's entries: the plugin
/// directory's and the built-ins, compiled through the cache. A record an operator
/// replays with another plugin version is mapped by one loaded from here.
#[derive(Debug, Clone, Default)]
pub struct Shelf {
    pub dir: Option<PathBuf>,
    pub cache: CompileCache,
}

impl Shelf {
    /// Plugin `name` ([`load_named`]: never a path) with the settings and limits of
    /// `like`, refused when it maps another world than `like` does. It compiles (or reads
    /// the cache): call it off the async threads.
    pub fn load_like(&self, name: &str, like: &LoadedPlugin) -> Result<LoadedPlugin, OpenError> {
        let candidate = named(name, self.dir.as_deref())?;
        // Its world first: `like`'s settings would be refused by a plugin of another
        // world, which would hide the reason.
        let world = candidate
            .bytes
            .as_ref()
            .ok()
            .and_then(|bytes| super::inspect::inspect(bytes, like.limits().max_plugin_bytes).ok())
            .map(|inspection| inspection.world);
        if let Some(world) = world.filter(|world| *world != like.world()) {
            return Err(OpenError::OtherWorld {
                name: printable(name),
                world,
                wanted: like.world(),
            });
        }
        load_as(candidate, like.settings(), like.limits(), &self.cache)
    }
}

fn load_as(
    candidate: Candidate,
    settings: &Settings,
    limits: &Limits,
    cache: &CompileCache,
) -> Result<LoadedPlugin, OpenError> {
    let entry = Entry {
        key: candidate.name.clone(),
        plugin: candidate.name.clone(),
        settings: settings.clone(),
        limits: limits.clone(),
    };
    load_candidate(&candidate, &entry, cache).map_err(|error| OpenError::Load {
        name: candidate.name.clone(),
        origin: candidate.source.to_string(),
        error: Box::new(error),
    })
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
    entry: &Entry,
    cache: &CompileCache,
) -> Result<LoadedPlugin, LoadError> {
    let bytes = candidate.bytes.as_ref().map_err(clone_error)?;
    let manifest = candidate.manifest.as_ref().map_err(clone_error)?;
    let operator = entry.limits.clone().capped_by(&Limits::CEILING);
    let limits = match &manifest.limits {
        Some(own) => own.clone().capped_by(&operator),
        None => operator,
    };
    let mut settings: BTreeMap<String, String> = manifest.config.clone();
    settings.extend(entry.settings.iter().cloned());
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
        let (name, kind) = if path.is_dir() {
            if !path.join("plugin.wasm").exists() {
                continue;
            }
            (file_name.as_str(), Kind::Folder)
        } else if let Some(name) = file_name.strip_suffix(".wasm") {
            (name, Kind::Component)
        } else if let Some(name) = file_name.strip_suffix(".cwasm") {
            (name, Kind::Precompiled)
        } else {
            continue;
        };
        let unnamed = |error| Candidate {
            name: printable(name),
            source: Source::File(path.clone()),
            bytes: Err(error),
            manifest: Ok(Manifest::default()),
            manifest_sha: String::new(),
        };
        if !is_plugin_name(name) {
            found.push(unnamed(LoadError::Io(
                "a plugin's name may only have letters, digits, `.`, `_` and `-`; rename it".into(),
            )));
            continue;
        }
        found.push(match kind {
            Kind::Precompiled => unnamed(LoadError::Precompiled),
            Kind::Component => Candidate {
                bytes: read_binary(&path),
                ..unnamed(LoadError::Precompiled)
            },
            Kind::Folder => {
                let wasm = path.join("plugin.wasm");
                let (manifest, manifest_sha) = read_manifest(&path);
                Candidate {
                    source: Source::File(wasm.clone()),
                    bytes: read_binary(&wasm),
                    manifest,
                    manifest_sha,
                    ..unnamed(LoadError::Precompiled)
                }
            }
        });
    }
    found
}

enum Kind {
    Component,
    Folder,
    Precompiled,
}

/// Letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 64.
pub fn is_plugin_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A plugin folder's `plugin.toml` (none: the defaults) and the hash of its text. It must
/// be a regular file in the folder itself; its content is never shown in an error.
fn read_manifest(folder: &Path) -> (Result<Manifest, LoadError>, String) {
    let path = folder.join("plugin.toml");
    let bad = |reason: String| LoadError::Manifest(format!("{}: {reason}", path.display()));
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (Ok(Manifest::default()), String::new());
        }
        Err(e) => return (Err(bad(e.to_string())), String::new()),
        Ok(meta) if !meta.file_type().is_file() => {
            return (
                Err(bad(
                    "is not a regular file (a link, a folder or a device); the manifest must be a file in the plugin's folder".into(),
                )),
                String::new(),
            );
        }
        Ok(_) => {}
    }
    let text = match read_regular(&path, MAX_MANIFEST_BYTES)
        .map_err(|e| bad(e.to_string()))
        .and_then(|bytes| String::from_utf8(bytes).map_err(|_| bad("is not UTF-8 text".into())))
    {
        Ok(text) => text,
        Err(error) => return (Err(error), String::new()),
    };
    let manifest_sha = sha256_hex(text.as_bytes());
    let manifest = toml::from_str(&text).map_err(|e: toml::de::Error| {
        // The message without the excerpt of the file that `Display` adds.
        let at = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {column}: ")
            })
            .unwrap_or_default();
        bad(format!("{at}{}", printable(e.message().trim())))
    });
    (manifest, manifest_sha)
}

/// A plugin binary, read no further than the hard ceiling on plugin size (each plugin's
/// own limit is checked when it is inspected).
pub fn read_binary(path: &Path) -> Result<Vec<u8>, LoadError> {
    read_regular(path, Limits::CEILING.max_plugin_bytes)
}

/// Reads a regular file of at most `limit` bytes. It is opened without blocking (opening
/// a FIFO for reading would wait for a writer), refused unless it is a regular file, its
/// size is checked before a byte is read, and the read stops past `limit` should it grow.
fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| LoadError::Io(e.to_string()))?;
    let meta = file.metadata().map_err(|e| LoadError::Io(e.to_string()))?;
    if !meta.file_type().is_file() {
        return Err(LoadError::Io(
            "it is not a regular file (a FIFO, a device or a folder)".into(),
        ));
    }
    if meta.len() > limit {
        return Err(LoadError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError::Io(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(LoadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
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

    #[test]
    fn plugin_names_are_plain() {
        assert!(is_plugin_name("order-to-gl_v2.1"));
        for bad in ["", "-x", "a b", "x\u{1b}[2J", "../x", "ü"] {
            assert!(!is_plugin_name(bad), "{bad:?}");
        }
    }
}
