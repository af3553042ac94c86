//! Who may use the console: operator accounts, sessions and the checks every action
//! passes.
//!
//! An operator is a secret named `console.operator.NAME` in the secrets file, sealed with
//! the master key like every credential; its value is an Argon2id hash of the password
//! (PHC form), never the password. A login that matches starts a session: 32 random
//! bytes in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when the console is reached
//! over https), kept in the store by their SHA-256 only (so every process over the store
//! knows the session), ended by logout, by removing the operator, after 30 minutes idle or
//! 12 hours in all. Each session has its own CSRF token, which every form carries and
//! every action checks, with the request's `Origin` when the browser sends one. Five
//! refused logins of one name within 15 minutes refuse that name, in this process, for
//! the rest of those minutes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::secrets::{MasterKey, Secrets, SecretsError, check_name};
use crate::store::{Millis, SessionsOf, Store, StoreError};

/// The secret that holds operator NAME's password hash.
const PREFIX: &str = "console.operator.";

/// The session cookie's name.
pub const COOKIE: &str = "mlc_session";
/// The cookie a login form is paired with (its CSRF token before there is a session).
pub const LOGIN_COOKIE: &str = "mlc_login";

/// A session ends after this long without a request (milliseconds)...
const IDLE: Millis = 30 * 60 * 1000;
/// ...and after this long in all.
const LONGEST: Millis = 12 * 3600 * 1000;
/// Refused logins of one name within [`THROTTLE_WINDOW`] before it is refused outright.
const THROTTLE_AFTER: u32 = 5;
const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("`{0}` is not an operator name: use 1 to 40 lowercase letters, digits, `-` or `_`")]
    BadName(String),
    #[error("the password is shorter than 12 characters")]
    ShortPassword,
    #[error("the password could not be hashed: {0}")]
    Hash(String),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

/// 32 random bytes as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn check_operator_name(name: &str) -> Result<(), AuthError> {
    let fits = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if fits {
        Ok(())
    } else {
        Err(AuthError::BadName(name.to_string()))
    }
}

/// The operator accounts, in the secrets file.
pub struct Operators {
    secrets: Secrets,
    key: Arc<MasterKey>,
    /// Refused logins by name: how many, since when.
    refused: Mutex<HashMap<String, (u32, Instant)>>,
}

/// What a login attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Accepted,
    Refused,
    /// Too many refusals of this name lately; the password was not checked.
    Throttled,
}

impl Operators {
    pub fn new(secrets: Secrets, key: Arc<MasterKey>) -> Operators {
        Operators {
            secrets,
            key,
            refused: Mutex::new(HashMap::new()),
        }
    }

    /// Adds (or replaces) operator `name` with `password`'s hash.
    pub fn add(&self, name: &str, password: &str) -> Result<(), AuthError> {
        check_operator_name(name)?;
        if password.chars().count() < 12 {
            return Err(AuthError::ShortPassword);
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AuthError::Hash(e.to_string()))?
            .to_string();
        let secret = format!("{PREFIX}{name}");
        check_name(&secret)?;
        self.secrets.set(&secret, hash.as_bytes(), &self.key)?;
        Ok(())
    }

    /// Removes operator `name`; false when there was none.
    pub fn remove(&self, name: &str) -> Result<bool, AuthError> {
        check_operator_name(name)?;
        Ok(self.secrets.remove(&format!("{PREFIX}{name}"))?)
    }

    /// The operators' names.
    pub fn names(&self) -> Result<Vec<String>, AuthError> {
        Ok(self
            .secrets
            .list()?
            .into_iter()
            .filter_map(|s| s.name.strip_prefix(PREFIX).map(str::to_string))
            .collect())
    }

    /// Checks `password` for operator `name` (an unknown name costs the same hash check).
    /// Blocking: an Argon2 check takes tens of milliseconds.
    pub fn check(&self, name: &str, password: &str) -> Result<Login, AuthError> {
        {
            let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
            refused.retain(|_, (_, since)| since.elapsed() < THROTTLE_WINDOW);
            if refused.get(name).is_some_and(|(n, _)| *n >= THROTTLE_AFTER) {
                return Ok(Login::Throttled);
            }
        }
        let stored: Option<Zeroizing<String>> = match check_operator_name(name) {
            Err(_) => None,
            Ok(()) => match self
                .secrets
                .open_with(&format!("{PREFIX}{name}"), &self.key)
            {
                Ok(hash) => Some(hash),
                Err(SecretsError::Missing { .. }) => None,
                Err(error) => return Err(error.into()),
            },
        };
        // An unknown name is checked against a hash made now, so that it takes as long.
        let unknown;
        let hash = match &stored {
            Some(hash) => hash.as_str(),
            None => {
                unknown = Argon2::default()
                    .hash_password(b"no such operator", &SaltString::generate(&mut OsRng))
                    .map_err(|e| AuthError::Hash(e.to_string()))?
                    .to_string();
                unknown.as_str()
            }
        };
        let matches = PasswordHash::new(hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        }) && stored.is_some();
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        if matches {
            refused.remove(name);
            Ok(Login::Accepted)
        } else {
            // Names that are not operators are counted too, but only as many as fit.
            if refused.len() < 10_000 || refused.contains_key(name) {
                refused
                    .entry(name.to_string())
                    .or_insert((0, Instant::now()))
                    .0 += 1;
            }
            Ok(Login::Refused)
        }
    }
}

/// A logged-in operator.
#[derive(Debug, Clone)]
pub struct Session {
    pub operator: String,
    /// The token every form of this session carries.
    pub csrf: String,
}

/// The console's sessions, kept in the store by the SHA-256 of their cookie.
pub struct Sessions {
    store: Arc<dyn Store>,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Sessions {
    pub fn new(store: Arc<dyn Store>) -> Sessions {
        Sessions { store }
    }

    /// Starts a session for `operator`; returns the cookie's value.
    pub async fn start(&self, operator: &str) -> Result<String, StoreError> {
        let token = random_token();
        self.store
            .start_session(&digest(&token), operator, &random_token())
            .await?;
        Ok(token)
    }

    /// The session of a cookie's value, if it is open (and now seen).
    pub async fn find(&self, token: &str) -> Result<Option<Session>, StoreError> {
        let found = self
            .store
            .find_session(&digest(token), IDLE, LONGEST)
            .await?;
        Ok(found.map(|session| Session {
            operator: session.operator,
            csrf: session.csrf,
        }))
    }

    pub async fn end(&self, token: &str) -> Result<(), StoreError> {
        self.store
            .end_sessions(&SessionsOf::Digest(digest(token)))
            .await
            .map(drop)
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for `name`; `value` `None` removes it.
pub fn set_cookie(name: &str, value: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match value {
        Some(value) => format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operators(dir: &std::path::Path) -> Operators {
        let key = MasterKey::parse(hex::encode([7u8; 32]).as_bytes(), "test").unwrap();
        Operators::new(Secrets::at(&dir.join("secrets.db")), Arc::new(key))
    }

    #[test]
    fn an_operator_logs_in_with_the_password_only_and_is_throttled_after_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let operators = operators(dir.path());
        assert!(matches!(
            operators.add("Ann", "long enough password"),
            Err(AuthError::BadName(_))
        ));
        assert!(matches!(
            operators.add("ann", "short"),
            Err(AuthError::ShortPassword)
        ));
        operators.add("ann", "correct horse battery").unwrap();
        assert_eq!(operators.names().unwrap(), ["ann"]);
        assert_eq!(
            operators.check("ann", "correct horse battery").unwrap(),
            Login::Accepted
        );
        assert_eq!(
            operators.check("bob", "correct horse battery").unwrap(),
            Login::Refused
        );
        for _ in 0..THROTTLE_AFTER {
            assert_eq!(operators.check("ann", "wrong").unwrap(), Login::Refused);
        }
        assert_eq!(
            operators.check("ann", "correct horse battery").unwrap(),
            Login::Throttled,
            "the right password is not even checked while the name is throttled"
        );
        // The stored value is a hash, not the password.
        let stored = operators
            .secrets
            .open_with("console.operator.ann", &operators.key)
            .unwrap();
        assert!(stored.starts_with("$argon2id$"), "{}", stored.as_str());
        assert!(!stored.contains("correct horse"));
        assert!(operators.remove("ann").unwrap());
        assert!(!operators.remove("ann").unwrap());
    }

    #[tokio::test]
    async fn a_session_is_found_by_its_cookie_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::SqliteStore::open(&dir.path().join("store.db")).unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let sessions = Sessions::new(store.clone());
        let token = sessions.start("ann").await.unwrap();
        let session = sessions.find(&token).await.unwrap().unwrap();
        assert_eq!(session.operator, "ann");
        assert_ne!(session.csrf, token);
        // Another process over the same store knows it; the store keeps no cookie.
        let elsewhere = Sessions::new(store.clone());
        assert_eq!(
            elsewhere.find(&token).await.unwrap().unwrap().csrf,
            session.csrf
        );
        assert!(
            store
                .find_session(&token, IDLE, LONGEST)
                .await
                .unwrap()
                .is_none()
        );
        assert!(sessions.find(&random_token()).await.unwrap().is_none());
        sessions.end(&token).await.unwrap();
        assert!(elsewhere.find(&token).await.unwrap().is_none());
    }

    #[test]
    fn cookies_are_read_by_name_and_set_strictly() {
        let header = "a=1; mlc_session=abc; mlc_login=def";
        assert_eq!(cookie(header, COOKIE), Some("abc"));
        assert_eq!(cookie(header, LOGIN_COOKIE), Some("def"));
        assert_eq!(cookie(header, "b"), None);
        let set = set_cookie(COOKIE, Some("abc"), true);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.ends_with("Secure")
        );
        assert!(!set_cookie(COOKIE, Some("abc"), false).contains("Secure"));
        assert!(same_secret("x", "x") && !same_secret("x", "y"));
    }
}
