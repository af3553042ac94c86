//! The claim on a SQLite store: an exclusive lock on the file `<store>.lock` held by the
//! one process that runs the store's schedules and polls, with that process named in the
//! file so that a refused one can say who holds it.

use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::store::StoreError;

/// A process's claim on a SQLite store ([`super::SqliteStore::claim`]); released when
/// dropped.
#[derive(Debug)]
pub struct Claim {
    _file: std::fs::File,
}

/// Takes the claim on the store at `path` for a process of `role`, or says who has it.
pub(super) fn claim(path: &Path, role: &str) -> Result<Claim, StoreError> {
    let lock_path = path.with_file_name(format!(
        "{}.lock",
        path.file_name()
            .map_or("store".into(), |n| n.to_string_lossy())
    ));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|source| StoreError::LockFile {
            path: lock_path.clone(),
            source,
        })?;
    if file.try_lock().is_err() {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        return Err(StoreError::InUse {
            path: path.to_path_buf(),
            holder: holder.trim().to_string(),
        });
    }
    let since = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| write!(file, "`{role}`, pid {}, since {since}", std::process::id()));
    if let Err(error) = written {
        tracing::warn!(%error, "the store's lock file cannot name its holder");
    }
    Ok(Claim { _file: file })
}
