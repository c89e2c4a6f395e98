//! The origin client: a pooled HTTP/1 and HTTP/2 client for `http://` and `https://`
//! back doors (web PKI roots plus an optional configured CA), with a deadline on the
//! response head.

use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::edge::tls::provider;

/// Largest read buffer of an origin connection.
const ORIGIN_READ_BUF: usize = 64 * 1024;

/// Why the origin gave no response head.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OriginError {
    /// Connecting to, or talking with, the origin failed.
    #[error("origin unreachable: {0}")]
    Unreachable(#[source] hyper_util::client::legacy::Error),
    /// No response head within the deadline.
    #[error("origin timed out")]
    Timeout,
}

/// Forwards client requests (their bodies streamed) to origins.
pub(crate) struct OriginClient {
    client: Client<HttpsConnector<HttpConnector>, Incoming>,
    timeout: Duration,
}

impl OriginClient {
    pub(crate) fn new(extra_roots: rustls::RootCertStore, timeout: Duration) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        roots.roots.extend(extra_roots.roots);
        let tls = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            // The ring provider supports the default versions: this cannot fail.
            .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"));
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout.min(Duration::from_secs(10))));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            // hyper's adaptive read buffer grows to ~400 KiB per origin connection and
            // keeps it while pooled: 1,000 concurrent pages held 385 MB (bench/proxy/
            // memory.sh). 64 KiB reads still take a 155 KB page in three.
            .http1_max_buf_size(ORIGIN_READ_BUF)
            .build(https);
        Self { client, timeout }
    }

    /// Sends `req`; the response head must come within the deadline.
    pub(crate) async fn send(
        &self,
        req: Request<Incoming>,
    ) -> Result<Response<Incoming>, OriginError> {
        match tokio::time::timeout(self.timeout, self.client.request(req)).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(OriginError::Unreachable(e)),
            Err(_) => Err(OriginError::Timeout),
        }
    }
}
