//! TLS to the PostgreSQL server. A URL with `sslmode=require` connects over TLS and checks
//! the server's certificate and name against the public roots, and against the CA
//! certificates in the PEM file `PGSSLROOTCERT` names when it is set (a private CA, as
//! libpq reads it); any other `sslmode` connects in plain text, for a server on loopback
//! or a trusted network. Unlike libpq's `require`, the certificate is always checked: an
//! encrypted session to a server nobody vouched for would carry the store's password to
//! whoever answers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_postgres::config::SslMode;

/// The environment variable naming extra CA certificates (PEM), as libpq has it.
pub const ROOT_CERT: &str = "PGSSLROOTCERT";

/// Why the store's TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA certificates in {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{} holds no CA certificate", path.display())]
    NoCertificates { path: PathBuf },
    #[error("a CA certificate in {} cannot be used", path.display())]
    Unusable {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
}

/// How the store's sessions connect.
#[derive(Clone)]
pub enum Tls {
    Plain,
    Verified(tokio_postgres_rustls::MakeRustlsConnect),
}

impl Tls {
    /// What `config` asks for: TLS, checked against the public roots and the CA
    /// certificates in `roots` (a PEM file), when its `sslmode` is `require`.
    pub fn for_config(
        config: &tokio_postgres::Config,
        roots: Option<&Path>,
    ) -> Result<Tls, TlsError> {
        if config.get_ssl_mode() != SslMode::Require {
            return Ok(Tls::Plain);
        }
        let mut store = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = roots {
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                .map_err(|source| TlsError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
            if certificates.is_empty() {
                return Err(TlsError::NoCertificates {
                    path: path.to_path_buf(),
                });
            }
            for certificate in certificates {
                store
                    .add(certificate)
                    .map_err(|source| TlsError::Unusable {
                        path: path.to_path_buf(),
                        source,
                    })?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Tls::Verified(
            tokio_postgres_rustls::MakeRustlsConnect::new(config),
        ))
    }

    /// The CA file the environment names, if any.
    pub fn roots_from_env() -> Option<PathBuf> {
        std::env::var_os(ROOT_CERT)
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
    }
}
