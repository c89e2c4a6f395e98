//! TLS on the partner host names: one certificate per set of names, chosen by SNI
//! (exact name first, then a `*.` wildcard one label deep, then the first certificate),
//! HTTP/2 or HTTP/1.1 by ALPN.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::tls::{TlsError, provider};

/// One certificate of the edge and the host names it is served for (`*.suffix` allowed).
#[derive(Clone, Debug)]
pub struct SiteCert {
    /// Names the client may ask for by SNI.
    pub names: Vec<String>,
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

#[derive(Debug)]
struct BySni {
    sites: Vec<(Vec<String>, Arc<CertifiedKey>)>,
}

impl BySni {
    fn find(&self, name: &str) -> Option<&Arc<CertifiedKey>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let exact = self.sites.iter().find(|(names, _)| names.contains(&name));
        let wildcard = || {
            let (_, parent) = name.split_once('.')?;
            self.sites
                .iter()
                .find(|(names, _)| names.iter().any(|n| n.strip_prefix("*.") == Some(parent)))
        };
        exact.or_else(wildcard).map(|(_, key)| key)
    }
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        hello
            .server_name()
            .and_then(|n| self.find(n))
            .or_else(|| self.sites.first().map(|(_, key)| key))
            .cloned()
    }
}

fn load(site: &SiteCert) -> Result<Arc<CertifiedKey>, TlsError> {
    let pem_error = |path: &PathBuf, e: &dyn std::fmt::Display| TlsError::Pem {
        path: path.clone(),
        reason: e.to_string(),
    };
    let certs = CertificateDer::pem_file_iter(&site.cert)
        .map_err(|e| pem_error(&site.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(&site.cert, &e))?;
    if certs.is_empty() {
        return Err(pem_error(&site.cert, &"no certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(&site.key).map_err(|e| pem_error(&site.key, &e))?;
    Ok(Arc::new(CertifiedKey::from_der(certs, key, &provider())?))
}

/// A server config choosing among `sites` by SNI, offering `h2` then `http/1.1`.
pub(crate) fn server_config(sites: &[SiteCert]) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let sites = sites
        .iter()
        .map(|s| {
            let names = s
                .names
                .iter()
                .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
                .collect();
            Ok((names, load(s)?))
        })
        .collect::<Result<Vec<_>, TlsError>>()?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(BySni { sites }));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
