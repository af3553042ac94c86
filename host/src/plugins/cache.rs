//! Compiled plugin artifacts, cached in a host-owned directory.
//!
//! An entry is keyed by the plugin's SHA-256 and a hash of the engine's compatibility
//! fingerprint (wasmtime version and every setting that changes code generation), so an
//! upgrade or a config change never loads a stale artifact. Loading an artifact skips
//! compilation (about 100x faster) but trusts its bytes as machine code, so only files
//! this host wrote, in a directory only it can write, are ever deserialized:
//! - the directory must be a real directory (not a link) owned by this process's user,
//!   and is set to 0700; otherwise there is no cache (every load compiles), with a warning;
//! - each artifact must be a regular file owned by that user, and its bytes must match the
//!   SHA-256 recorded beside it when it was written (`<entry>.sha256`); anything else is
//!   discarded and compiled again.
//!
//! A precompiled file dropped into the plugin directory is refused by `inspect`.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use super::engine::engine;
use super::error::LoadError;
use crate::digest::sha256_hex;

#[derive(Debug, Clone, Default)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    /// A cache in `dir`, created with owner-only permissions if missing. Refused when
    /// `dir` is a link, or not a directory this process's user owns.
    pub fn at(dir: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir)?;
        let meta = std::fs::symlink_metadata(dir)?;
        let refuse = |why: &str| {
            Err(std::io::Error::other(format!(
                "{} {why}; compiled plugins are machine code, kept only where no one else can write",
                dir.display()
            )))
        };
        if meta.file_type().is_symlink() {
            return refuse("is a link");
        }
        if !meta.is_dir() {
            return refuse("is not a directory");
        }
        if meta.uid() != current_uid() {
            return refuse("belongs to another user");
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(CompileCache {
            dir: Some(dir.to_path_buf()),
        })
    }

    /// No cache: every load compiles.
    pub fn none() -> Self {
        CompileCache { dir: None }
    }

    /// The compiled component for `bytes` (whose hash is `sha256`), from the cache when
    /// there is a valid entry, else compiled (and stored).
    pub fn component(&self, bytes: &[u8], sha256: &str) -> Result<Component, LoadError> {
        let Some(dir) = &self.dir else {
            return compile(bytes);
        };
        let path = dir.join(format!("{sha256}-{}.cwasm", engine_fingerprint()));
        match read_artifact(&path) {
            Ok(Some(artifact)) => {
                // SAFETY: the file is a regular file of this user's, in a directory only
                // this user can write, whose bytes match the hash `store` recorded when it
                // wrote them from `Engine::precompile_component`; the key includes the
                // engine fingerprint, and wasmtime re-checks compatibility on load.
                match unsafe { Component::deserialize(engine(), &artifact) } {
                    Ok(component) => return Ok(component),
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "discarding unusable compiled plugin");
                        discard(&path);
                    }
                }
            }
            Ok(None) => {}
            Err(why) => {
                tracing::warn!(path = %path.display(), %why, "discarding compiled plugin");
                discard(&path);
            }
        }
        let artifact = engine()
            .precompile_component(bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        if let Err(error) = store(&path, &artifact) {
            tracing::warn!(path = %path.display(), %error, "cannot cache compiled plugin; continuing without");
        }
        // SAFETY: `artifact` was produced just now by this engine.
        unsafe { Component::deserialize(engine(), &artifact) }
            .map_err(|e| LoadError::Compile(format!("{e:#}")))
    }
}

fn compile(bytes: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine(), bytes).map_err(|e| LoadError::Compile(format!("{e:#}")))
}

/// The artifact at `path` when it can be trusted; `None` when there is none; why not
/// otherwise. Read into memory rather than mmap: an entry truncated or rewritten while
/// mapped would crash the process (SIGBUS) instead of failing one load.
fn read_artifact(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if !meta.file_type().is_file() || meta.uid() != current_uid() {
        return Err("not a regular file of this user's".into());
    }
    let artifact = std::fs::read(path).map_err(|e| e.to_string())?;
    let recorded = std::fs::read_to_string(hash_path(path)).unwrap_or_default();
    if recorded.trim() != sha256_hex(&artifact) {
        return Err("its bytes do not match the hash recorded when it was written".into());
    }
    Ok(Some(artifact))
}

/// Where the SHA-256 of the artifact at `path` is recorded.
fn hash_path(path: &Path) -> PathBuf {
    path.with_extension("cwasm.sha256")
}

fn discard(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(hash_path(path));
}

/// Writes the artifact and its hash, each to a temporary file renamed into place, so a
/// reader never sees half of either.
fn store(path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    write_atomically(&hash_path(path), sha256_hex(artifact).as_bytes())?;
    write_atomically(path, artifact)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn engine_fingerprint() -> String {
    let mut hasher = DefaultHasher::new();
    engine().precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}
