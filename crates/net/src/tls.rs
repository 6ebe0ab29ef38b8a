//! TLS settings from imapd.conf: the server's certificate and key (`tls_server_cert`,
//! `tls_server_key`, with the usual service-name prefixes) and the CA a client trusts
//! (`tls_client_ca_file`).
//!
//! Owns: loading PEM files into rustls configurations. Must not: decide when a protocol may
//! start TLS (that is the session's rule).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use config::{ImapdConf, Opt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file holds no certificate / no private key.
    #[error("{}: no {what} found", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// "certificate" or "private key".
        what: &'static str,
    },
    /// rustls refused the material.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let data = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let certs = rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            path: path.to_owned(),
            what: "certificate",
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let data = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })?
        .ok_or_else(|| TlsError::Empty {
            path: path.to_owned(),
            what: "private key",
        })
}

/// Server-side TLS (STARTTLS, STLS, `-s` services).
#[derive(Clone)]
pub struct TlsAcceptor(tokio_rustls::TlsAcceptor);

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsAcceptor")
    }
}

impl TlsAcceptor {
    /// From a certificate chain and key in PEM files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
        let certs = read_certs(cert)?;
        let key = read_key(key)?;
        let cfg = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        Ok(TlsAcceptor(tokio_rustls::TlsAcceptor::from(Arc::new(cfg))))
    }

    /// From `tls_server_cert` and `tls_server_key`; `None` when either is unset (the
    /// servers then offer no STARTTLS, as Cyrus without certificates).
    pub fn from_conf(conf: &ImapdConf) -> Result<Option<TlsAcceptor>, TlsError> {
        let cert = conf.string(Opt::TlsServerCert).filter(|s| !s.is_empty());
        let key = conf.string(Opt::TlsServerKey).filter(|s| !s.is_empty());
        match (cert, key) {
            (Some(c), Some(k)) => Ok(Some(TlsAcceptor::from_pem_files(
                Path::new(c),
                Path::new(k),
            )?)),
            _ => Ok(None),
        }
    }

    pub(crate) fn inner(&self) -> &tokio_rustls::TlsAcceptor {
        &self.0
    }
}

/// Client-side TLS (sync_client's STARTTLS), trusting the CAs of a PEM file.
#[derive(Clone)]
pub struct TlsConnector(tokio_rustls::TlsConnector);

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConnector")
    }
}

impl TlsConnector {
    /// Trusting the certificates in `ca_file`.
    pub fn from_ca_file(ca_file: &Path) -> Result<TlsConnector, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(ca_file)? {
            roots.add(cert)?;
        }
        let cfg = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConnector(tokio_rustls::TlsConnector::from(Arc::new(
            cfg,
        ))))
    }

    /// From `tls_client_ca_file`; `None` when unset.
    pub fn from_conf(conf: &ImapdConf) -> Result<Option<TlsConnector>, TlsError> {
        match conf.string(Opt::TlsClientCaFile).filter(|s| !s.is_empty()) {
            Some(f) => Ok(Some(TlsConnector::from_ca_file(Path::new(f))?)),
            None => Ok(None),
        }
    }

    pub(crate) fn inner(&self) -> &tokio_rustls::TlsConnector {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::Conn;

    #[tokio::test]
    async fn starttls_round_trip_with_a_generated_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, ck.cert.pem()).unwrap();
        std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
        let acceptor = TlsAcceptor::from_pem_files(&cert, &key).unwrap();
        let connector = TlsConnector::from_ca_file(&cert).unwrap();
        let (mut s, mut c) = Conn::pair();
        let server = tokio::spawn(async move {
            s.start_tls(&acceptor).await.unwrap();
            s.start_compress();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
            s.flush().await.unwrap();
            s
        });
        c.start_tls_client(&connector, "localhost").await.unwrap();
        c.start_compress();
        c.write_all(b"hello").await.unwrap();
        c.flush().await.unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        let s = server.await.unwrap();
        assert!(s.is_tls() && s.is_compressed());
    }

    #[test]
    fn missing_files_are_named() {
        let err = TlsAcceptor::from_pem_files(Path::new("/nonexistent/c"), Path::new("/x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/c"), "{err}");
    }
}
