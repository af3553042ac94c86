//! Compiled plugin artifacts, cached in a host-owned directory.
//!
//! An entry is keyed by the plugin's SHA-256 and a hash of the engine's compatibility
//! fingerprint (wasmtime version and every setting that changes code generation), so an
//! upgrade or a config change never loads a stale artifact. Loading an artifact skips
//! compilation (about 100x faster) but trusts its bytes as machine code: only files this
//! host wrote, in a directory only it can write (0700), are ever deserialized. A
//! precompiled file dropped into the plugin directory is refused by `inspect`.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use super::engine::engine;
use super::error::LoadError;

#[derive(Debug, Clone, Default)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    /// A cache in `dir`, created with owner-only permissions if missing.
    pub fn at(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
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
        // Read into memory rather than mmap: an entry truncated or rewritten while mapped
        // would crash the process (SIGBUS) instead of failing one load.
        if let Ok(artifact) = std::fs::read(&path) {
            // SAFETY: the file is in the host-owned cache directory and was written by
            // `store` below from `Engine::precompile_component`; the key includes the
            // engine fingerprint, and wasmtime re-checks compatibility on load.
            match unsafe { Component::deserialize(engine(), &artifact) } {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "discarding unusable compiled plugin");
                    let _ = std::fs::remove_file(&path);
                }
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

/// Writes to a temporary file and renames it into place, so a reader never sees half.
fn store(path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(artifact)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn engine_fingerprint() -> String {
    let mut hasher = DefaultHasher::new();
    engine().precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}
