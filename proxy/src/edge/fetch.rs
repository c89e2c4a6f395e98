//! Back-door fetches: on a miss the edge asks the real origin (never the offloader), at
//! the address the origin map gives, keeping the origin's `Host` and marking the request
//! with its `Via`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, HOST, HeaderValue, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE,
    IF_UNMODIFIED_SINCE, RANGE, VIA,
};
use http::{HeaderMap, Method, Request, Response, Uri};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use origin_map::Decoded;

use super::hop;
use super::via::ViaMark;

/// How long the edge waits for an origin's response head.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a back-door fetch failed; every cause is the origin's side (502 or 504).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The back-door URI could not be built from the origin map's parts.
    #[error("bad back-door uri")]
    Uri,
    /// Connecting to, or talking with, the origin failed.
    #[error("origin unreachable: {0}")]
    Origin(#[source] hyper_util::client::legacy::Error),
    /// No response head within the timeout.
    #[error("origin timed out")]
    Timeout,
    /// The origin's body broke off while the cache read it.
    #[error("origin body: {0}")]
    Body(#[source] hyper::Error),
}

impl FetchError {
    /// The status the client gets.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::Timeout => http::StatusCode::GATEWAY_TIMEOUT,
            Self::Uri | Self::Origin(_) | Self::Body(_) => http::StatusCode::BAD_GATEWAY,
        }
    }
}

/// Validators of a stored response, sent when revalidating it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Validators {
    /// Stored `ETag`, sent as `If-None-Match`.
    pub(crate) etag: Option<HeaderValue>,
    /// Stored `Last-Modified`, sent as `If-Modified-Since`.
    pub(crate) last_modified: Option<HeaderValue>,
}

impl Validators {
    /// True when there is something to revalidate with.
    pub(crate) fn any(&self) -> bool {
        self.etag.is_some() || self.last_modified.is_some()
    }
}

/// What a fetch is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Filling the cache: the whole object, the cache answers the client's conditionals
    /// and ranges itself.
    Fill,
    /// Passing an unstorable (or too large) object through: the origin answers the
    /// client's conditionals and ranges, so a range of a large file costs only that range.
    Pass,
}

/// A pooled HTTP/1 and HTTP/2 client for back doors, `http://` and `https://`.
#[derive(Clone)]
pub(crate) struct BackDoorClient {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    via: Arc<ViaMark>,
    timeout: Duration,
}

impl BackDoorClient {
    /// A client trusting the web PKI roots (for `https://` back doors) plus `extra_roots`.
    pub(crate) fn new(
        via: Arc<ViaMark>,
        extra_roots: rustls::RootCertStore,
        timeout: Duration,
    ) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        roots.roots.extend(extra_roots.roots);
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        // The ring provider supports the default versions: this cannot fail.
        .unwrap_or_else(|_| unreachable!("ring supports TLS 1.2 and 1.3"));
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Self {
            client,
            via,
            timeout,
        }
    }

    /// GETs `decoded`'s path from its back door with `Host: <origin>`, forwarding the
    /// client's end-to-end headers (in [`Mode::Fill`] not its conditionals and ranges: the
    /// cache answers those), plus `validators` when revalidating a stored copy.
    pub(crate) async fn get(
        &self,
        decoded: &Decoded<'_>,
        client_headers: &HeaderMap,
        validators: &Validators,
        mode: Mode,
    ) -> Result<Response<Incoming>, FetchError> {
        let door = decoded.back_door;
        let uri: Uri = format!(
            "{}://{}:{}{}",
            door.scheme(),
            door.host(),
            door.port(),
            decoded.path_and_query
        )
        .parse()
        .map_err(|_| FetchError::Uri)?;
        let host = HeaderValue::from_str(decoded.origin.as_str()).map_err(|_| FetchError::Uri)?;
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .body(Empty::new())
            .map_err(|_| FetchError::Uri)?;
        let headers = req.headers_mut();
        *headers = client_headers.clone();
        hop::strip(headers);
        headers.remove(HOST);
        headers.remove(ACCEPT_RANGES);
        if mode == Mode::Fill {
            for name in [
                RANGE,
                IF_RANGE,
                IF_MATCH,
                IF_NONE_MATCH,
                IF_MODIFIED_SINCE,
                IF_UNMODIFIED_SINCE,
            ] {
                headers.remove(name);
            }
        }
        headers.insert(HOST, host);
        headers.append(VIA, self.via.value().clone());
        if let Some(etag) = &validators.etag {
            headers.insert(IF_NONE_MATCH, etag.clone());
        }
        if let Some(lm) = &validators.last_modified {
            headers.insert(IF_MODIFIED_SINCE, lm.clone());
        }
        match tokio::time::timeout(self.timeout, self.client.request(req)).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(FetchError::Origin(e)),
            Err(_) => Err(FetchError::Timeout),
        }
    }
}
