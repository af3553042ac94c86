//! Credentials at rest: each one sealed with XChaCha20-Poly1305 under a master key, in a
//! secrets file beside the store (`ml-connector.db` keeps its secrets in
//! `ml-connector.secrets.db`, readable by its owner only). `connector.toml` names one as
//! `secret:NAME`; `ml-connector secrets set|list|rm` keeps them.
//!
//! The master key is 32 random bytes written as 64 hex or 44 base64 characters, from
//! `ML_CONNECTOR_MASTER_KEY` or from the file `ML_CONNECTOR_MASTER_KEY_FILE` names, which
//! must not be readable by group or others. Nothing else is taken as a key: any 32 bytes
//! used to be, so a 32-character phrase passed for one. Each secret gets a fresh random 192-bit nonce, and
//! its name is the associated data, so a sealed value moved to another name does not
//! open. Beside it is the key's id (a digest of the key, not the key), which tells a
//! wrong key ("does not open") from a damaged file ("does not authenticate"). Nothing
//! here writes a value to a log, an error or the disk in plain text.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The environment variable holding the master key.
pub const KEY_VARIABLE: &str = "ML_CONNECTOR_MASTER_KEY";
/// The environment variable naming a file that holds the master key.
pub const KEY_FILE_VARIABLE: &str = "ML_CONNECTOR_MASTER_KEY_FILE";

const HOW_TO_MAKE_A_KEY: &str =
    "32 random bytes in hex or base64, e.g. from `openssl rand -hex 32`";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretsError {
    #[error(
        "no master key: set {KEY_VARIABLE} to {HOW_TO_MAKE_A_KEY}, or {KEY_FILE_VARIABLE} to a file holding one that only its owner can read"
    )]
    NoKey,
    #[error("set {KEY_VARIABLE} or {KEY_FILE_VARIABLE}, not both")]
    TwoKeys,
    #[error("the master key from {0} is not {HOW_TO_MAKE_A_KEY}")]
    BadKey(String),
    #[error(
        "the key file {path} can be read by group or others (mode {mode:o}); make it private with `chmod 600 {path}`"
    )]
    LooseKeyFile { path: String, mode: u32 },
    #[error(
        "the master key does not open secret `{0}`: it was sealed under another key (use that key, or set the secret again)"
    )]
    WrongKey(String),
    #[error(
        "secret `{0}` does not authenticate under the master key that sealed it: the secrets file was altered or damaged; set the secret again"
    )]
    Tampered(String),
    #[error("no secret `{name}` in {file} (store one with `ml-connector secrets set {name}`)")]
    Missing { name: String, file: String },
    #[error(
        "`{0}` is not a secret name: use 1 to 64 letters, digits, `_`, `-` or `.`, e.g. QAD_PASSWORD"
    )]
    BadName(String),
    #[error(
        "{file} holds secrets sealed under another master key ({names}); use that key, or remove them first"
    )]
    MixedKeys { file: String, names: String },
    #[error("the secrets file {file}: {reason}")]
    File { file: String, reason: String },
}

/// The key every secret is sealed under. Its bytes are wiped when dropped.
pub struct MasterKey {
    key: Zeroizing<[u8; 32]>,
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    /// From `ML_CONNECTOR_MASTER_KEY` or the file `ML_CONNECTOR_MASTER_KEY_FILE` names.
    pub fn from_environment() -> Result<MasterKey, SecretsError> {
        let text = std::env::var(KEY_VARIABLE).ok().map(Zeroizing::new);
        let file = std::env::var_os(KEY_FILE_VARIABLE);
        match (text, file) {
            (Some(_), Some(_)) => Err(SecretsError::TwoKeys),
            (Some(text), None) => MasterKey::parse(text.as_bytes(), KEY_VARIABLE),
            (None, Some(file)) => MasterKey::from_file(Path::new(&file)),
            (None, None) => Err(SecretsError::NoKey),
        }
    }

    /// From a key file, refused when group or others may read it.
    pub fn from_file(path: &Path) -> Result<MasterKey, SecretsError> {
        let shown = path.display().to_string();
        let unreadable = |e: std::io::Error| SecretsError::File {
            file: shown.clone(),
            reason: format!("cannot read the key file: {e}"),
        };
        let metadata = std::fs::metadata(path).map_err(unreadable)?;
        refuse_loose(&metadata, &shown)?;
        let bytes = Zeroizing::new(std::fs::read(path).map_err(unreadable)?);
        MasterKey::parse(&bytes, &shown)
    }

    /// 32 bytes as 64 hex or 44 base64 characters (surrounding whitespace ignored).
    pub fn parse(bytes: &[u8], source: &str) -> Result<MasterKey, SecretsError> {
        let bad = || SecretsError::BadKey(source.to_string());
        let mut key = Zeroizing::new([0u8; 32]);
        let text = std::str::from_utf8(bytes).ok().map(str::trim);
        let decoded: Option<Zeroizing<Vec<u8>>> = match text {
            Some(text) if text.len() == 64 => hex::decode(text).ok().map(Zeroizing::new),
            Some(text) if text.len() == 44 => base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .map(Zeroizing::new),
            _ => None,
        };
        let decoded = decoded.filter(|d| d.len() == 32).ok_or_else(bad)?;
        key.copy_from_slice(&decoded);
        let mut hash = Sha256::new();
        hash.update(b"ml-connector master key id\0");
        hash.update(key.as_slice());
        let id = hex::encode(&hash.finalize()[..8]);
        Ok(MasterKey { key, id })
    }

    /// A digest naming the key (never the key): which key sealed a secret.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key the audit log is kept under, derived from this one (an HMAC of a fixed
    /// label under it), so that neither reveals the other.
    pub fn audit_key(&self) -> crate::store::AuditKey {
        use hmac::{Hmac, Mac};
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice()).expect("any key length");
        mac.update(b"ml-connector audit log key, version 1");
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&mac.finalize().into_bytes());
        crate::store::AuditKey::new(key)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.as_slice().into())
    }
}

#[cfg(unix)]
fn refuse_loose(metadata: &std::fs::Metadata, path: &str) -> Result<(), SecretsError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretsError::LooseKeyFile {
            path: path.to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_loose(_: &std::fs::Metadata, _: &str) -> Result<(), SecretsError> {
    Ok(())
}

/// What `list` shows of a secret: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    pub name: String,
    /// Unix milliseconds.
    pub set_at: i64,
    /// The id of the master key that sealed it.
    pub key_id: String,
}

/// The secrets file of a store. Opened on each use: most runs never read it.
#[derive(Debug, Clone)]
pub struct Secrets {
    path: PathBuf,
}

/// The associated data binding a sealed value to its name.
fn associated_data(name: &str) -> Vec<u8> {
    let mut data = b"ml-connector secret\0".to_vec();
    data.extend_from_slice(name.as_bytes());
    data
}

/// Refuses a name that is not 1 to 64 letters, digits, `_`, `-` or `.`.
pub fn check_name(name: &str) -> Result<(), SecretsError> {
    let valid = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(SecretsError::BadName(name.to_string()))
    }
}

impl Secrets {
    /// The secrets file beside `store`: `<stem>.secrets.db` in the same directory.
    pub fn beside(store: &Path) -> Secrets {
        let stem = store
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "ml-connector".into());
        Secrets {
            path: store.with_file_name(format!("{stem}.secrets.db")),
        }
    }

    /// A secrets file at exactly this path.
    pub fn at(path: &Path) -> Secrets {
        Secrets {
            path: path.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, reason: impl std::fmt::Display) -> SecretsError {
        SecretsError::File {
            file: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    /// The file's connection; `create` makes the file (owner-only) when it is absent.
    fn open(&self, create: bool) -> Result<Option<Connection>, SecretsError> {
        if !self.path.exists() {
            if !create {
                return Ok(None);
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options.open(&self.path).map_err(|e| self.error(e))?;
        }
        let connection = Connection::open(&self.path).map_err(|e| self.error(e))?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS secrets (
                    name TEXT PRIMARY KEY,
                    key_id TEXT NOT NULL,
                    nonce BLOB NOT NULL,
                    sealed BLOB NOT NULL,
                    set_at INTEGER NOT NULL
                );",
            )
            .map_err(|e| self.error(e))?;
        Ok(Some(connection))
    }

    /// Seals `value` under `key` as `name`, replacing an earlier value.
    pub fn set(&self, name: &str, value: &[u8], key: &MasterKey) -> Result<(), SecretsError> {
        check_name(name)?;
        let connection = self.open(true)?.expect("created");
        let others: Vec<String> = self
            .list()?
            .into_iter()
            .filter(|s| s.key_id != key.id && s.name != name)
            .map(|s| s.name)
            .collect();
        if !others.is_empty() {
            return Err(SecretsError::MixedKeys {
                file: self.path.display().to_string(),
                names: others.join(", "),
            });
        }
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated_data(name);
        let sealed = key
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: value,
                    aad: &aad,
                },
            )
            .map_err(|_| self.error("encryption failed"))?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        connection
            .execute(
                "INSERT INTO secrets (name, key_id, nonce, sealed, set_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(name) DO UPDATE SET key_id = ?2, nonce = ?3, sealed = ?4, set_at = ?5",
                params![name, key.id, nonce.as_slice(), sealed, now as i64],
            )
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Every secret's name, when it was set and under which key, by name.
    pub fn list(&self) -> Result<Vec<SecretInfo>, SecretsError> {
        let Some(connection) = self.open(false)? else {
            return Ok(Vec::new());
        };
        let mut statement = connection
            .prepare("SELECT name, set_at, key_id FROM secrets ORDER BY name")
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok(SecretInfo {
                    name: row.get(0)?,
                    set_at: row.get(1)?,
                    key_id: row.get(2)?,
                })
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }

    /// Removes a secret; false when there was none.
    pub fn remove(&self, name: &str) -> Result<bool, SecretsError> {
        check_name(name)?;
        let Some(connection) = self.open(false)? else {
            return Ok(false);
        };
        let removed = connection
            .execute("DELETE FROM secrets WHERE name = ?1", params![name])
            .map_err(|e| self.error(e))?;
        Ok(removed > 0)
    }

    /// Opens one secret with `key`.
    pub fn open_with(
        &self,
        name: &str,
        key: &MasterKey,
    ) -> Result<Zeroizing<String>, SecretsError> {
        check_name(name)?;
        let missing = || SecretsError::Missing {
            name: name.to_string(),
            file: self.path.display().to_string(),
        };
        let connection = self.open(false)?.ok_or_else(missing)?;
        let row: Option<(String, Vec<u8>, Vec<u8>)> = connection
            .query_row(
                "SELECT key_id, nonce, sealed FROM secrets WHERE name = ?1",
                params![name],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(|e| self.error(e))?;
        let (key_id, nonce, sealed) = row.ok_or_else(missing)?;
        if key_id != key.id {
            return Err(SecretsError::WrongKey(name.to_string()));
        }
        if nonce.len() != 24 {
            return Err(SecretsError::Tampered(name.to_string()));
        }
        let aad = associated_data(name);
        let plain = Zeroizing::new(
            key.cipher()
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| SecretsError::Tampered(name.to_string()))?,
        );
        String::from_utf8(plain.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| SecretsError::Tampered(name.to_string()))
    }

    /// Opens one secret with the master key from the environment.
    pub fn reveal(&self, name: &str) -> Result<Zeroizing<String>, SecretsError> {
        check_name(name)?;
        let key = MasterKey::from_environment()?;
        self.open_with(name, &key)
    }
}

/// Where `secret:NAME` credentials are revealed from: the secrets file ([`Secrets`]), or
/// values held in memory ([`Given`], for the demo and tests, which run with no master key).
pub trait Reveal {
    fn reveal(&self, name: &str) -> Result<Zeroizing<String>, SecretsError>;
}

impl Reveal for Secrets {
    fn reveal(&self, name: &str) -> Result<Zeroizing<String>, SecretsError> {
        Secrets::reveal(self, name)
    }
}

/// Secrets given in memory, by name.
#[derive(Default)]
pub struct Given(std::collections::BTreeMap<String, Zeroizing<String>>);

impl Given {
    pub fn with(mut self, name: &str, value: &str) -> Given {
        self.0.insert(name.into(), Zeroizing::new(value.into()));
        self
    }
}

impl Reveal for Given {
    fn reveal(&self, name: &str) -> Result<Zeroizing<String>, SecretsError> {
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| SecretsError::Missing {
                name: name.into(),
                file: "the secrets given".into(),
            })
    }
}

/// Reads a secret's value from standard input (everything, less one line ending), for
/// scripts; `Ok(None)` when standard input is a terminal (the caller prompts instead).
pub fn value_from_stdin() -> std::io::Result<Option<Zeroizing<String>>> {
    use std::io::{IsTerminal, Read};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut value = Zeroizing::new(String::new());
    stdin.lock().read_to_string(&mut value)?;
    let trimmed = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .unwrap_or(&value);
    Ok(Some(Zeroizing::new(trimmed.to_string())))
}

/// Asks for a secret's value on the terminal without echoing it.
pub fn value_from_prompt(name: &str) -> std::io::Result<Zeroizing<String>> {
    let _ = std::io::stderr().flush();
    rpassword::prompt_password(format!("value of secret {name} (not shown): ")).map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::parse(hex::encode([byte; 32]).as_bytes(), "test").unwrap()
    }

    fn file() -> (tempfile::TempDir, Secrets) {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::beside(&dir.path().join("store.db"));
        (dir, secrets)
    }

    #[test]
    fn a_secret_round_trips_and_is_not_on_disk_in_plain_text() {
        let (dir, secrets) = file();
        assert_eq!(secrets.path(), dir.path().join("store.secrets.db"));
        secrets
            .set("QAD_PASSWORD", b"correct horse battery", &key(7))
            .unwrap();
        assert_eq!(
            secrets.open_with("QAD_PASSWORD", &key(7)).unwrap().as_str(),
            "correct horse battery"
        );
        let listed = secrets.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "QAD_PASSWORD");
        assert!(listed[0].set_at > 0);
        let bytes = std::fs::read(secrets.path()).unwrap();
        assert!(!bytes.windows(21).any(|w| w == b"correct horse battery"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(secrets.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
        }
        assert!(secrets.remove("QAD_PASSWORD").unwrap());
        assert!(!secrets.remove("QAD_PASSWORD").unwrap());
        assert!(matches!(
            secrets.open_with("QAD_PASSWORD", &key(7)),
            Err(SecretsError::Missing { .. })
        ));
    }

    #[test]
    fn a_wrong_master_key_is_a_clear_error_never_garbage() {
        let (_dir, secrets) = file();
        secrets.set("BC_TOKEN", b"abc", &key(1)).unwrap();
        let error = secrets.open_with("BC_TOKEN", &key(2)).unwrap_err();
        assert_eq!(error, SecretsError::WrongKey("BC_TOKEN".into()));
        assert!(
            error
                .to_string()
                .contains("the master key does not open secret `BC_TOKEN`")
        );
        // Nor may a second key seal into the same file.
        assert!(matches!(
            secrets.set("OTHER", b"x", &key(2)),
            Err(SecretsError::MixedKeys { .. })
        ));
    }

    #[test]
    fn a_tampered_or_moved_ciphertext_does_not_authenticate() {
        let (_dir, secrets) = file();
        secrets.set("A", b"value-a", &key(3)).unwrap();
        secrets.set("B", b"value-b", &key(3)).unwrap();
        let connection = Connection::open(secrets.path()).unwrap();
        // One bit flipped in A's sealed value.
        let mut sealed: Vec<u8> = connection
            .query_row("SELECT sealed FROM secrets WHERE name = 'A'", [], |r| {
                r.get(0)
            })
            .unwrap();
        sealed[0] ^= 1;
        connection
            .execute(
                "UPDATE secrets SET sealed = ?1 WHERE name = 'A'",
                params![sealed],
            )
            .unwrap();
        assert_eq!(
            secrets.open_with("A", &key(3)).unwrap_err(),
            SecretsError::Tampered("A".into())
        );
        // B's sealed value and nonce copied under C: bound to B's name, it does not open.
        connection
            .execute(
                "INSERT INTO secrets SELECT 'C', key_id, nonce, sealed, set_at FROM secrets WHERE name = 'B'",
                [],
            )
            .unwrap();
        assert_eq!(
            secrets.open_with("C", &key(3)).unwrap_err(),
            SecretsError::Tampered("C".into())
        );
        assert_eq!(secrets.open_with("B", &key(3)).unwrap().as_str(), "value-b");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, hex::encode([9u8; 32])).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = MasterKey::from_file(&path).unwrap_err();
        assert!(matches!(
            error,
            SecretsError::LooseKeyFile { mode: 0o644, .. }
        ));
        assert!(error.to_string().contains("chmod 600"), "{error}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(MasterKey::from_file(&path).unwrap().id(), key(9).id());
    }

    #[test]
    fn keys_are_32_bytes_of_hex_or_base64_only() {
        let hex_key = MasterKey::parse(hex::encode([5u8; 32]).as_bytes(), "env").unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode([5u8; 32]);
        let b64_key = MasterKey::parse(format!("{b64}\n").as_bytes(), "env").unwrap();
        assert_eq!(hex_key.id(), b64_key.id());
        assert_eq!(hex_key.id(), key(5).id());
        for weak in [
            &b"too short"[..],
            // Any 32 bytes used to pass: a phrase, or the raw bytes of a key.
            b"correct horse battery staple 123",
            &[5u8; 32],
            // Hex of the wrong length, or not hex at all.
            "5".repeat(64).replace('5', "g").as_bytes(),
            hex::encode([5u8; 31]).as_bytes(),
        ] {
            assert_eq!(
                MasterKey::parse(weak, "env").unwrap_err(),
                SecretsError::BadKey("env".into()),
                "{weak:?}"
            );
        }
        assert!(matches!(
            Secrets::at(Path::new("x")).set("no spaces", b"v", &key(1)),
            Err(SecretsError::BadName(_))
        ));
    }
}
