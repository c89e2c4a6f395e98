//! Edge side: a request (Host, path, query) -> which offloader, which origin, which back
//! door, or a refusal. This is the open-proxy guard: only an origin listed for the
//! offloader the request names is ever returned.

use std::borrow::Cow;

use crate::back_door::BackDoor;
use crate::edge_map::{EdgeMap, NameTarget, Offloader};
use crate::host::{HostError, canonical_host, is_ip_literal, parse_port, split_host_port};
use crate::origin_key::OriginKey;
use crate::path::{PathError, normalize};
use crate::scheme::Scheme;

/// The parts of an HTTP request the edge decides on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeRequest<'a> {
    /// The scheme the request came in on (TLS or not).
    pub scheme: Scheme,
    /// The `Host` header (or HTTP/2 `:authority`; for an absolute-form request target,
    /// its authority, which overrides `Host` per RFC 9112 §3.2.2), `host[:port]`. A port
    /// here is part of a directly served origin's identity (`img.xyz.com:8090` is not
    /// `img.xyz.com`); for the edge's own names it is checked only when the name was
    /// configured with one.
    pub host: &'a str,
    /// The request path, raw as received (starting with `/`).
    pub path: &'a str,
    /// The query without `?`, raw as received.
    pub query: Option<&'a str>,
}

/// Which of the spec §5 forms a request used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    /// `<partner-host>/<origin-host>/<path>`.
    Embedded,
    /// `<table-host>/<path>`.
    Table,
    /// `<origin-host>.<suffix>/<path>`.
    Semantic,
    /// `Host` is the origin itself (a DNS-outsourced client).
    Direct,
}

/// A request the edge may serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded<'m> {
    /// The offloading CDN the request is for (billing, capacity, alerts).
    pub offloader: &'m Offloader,
    /// The form the request used.
    pub form: Form,
    /// The origin: also the `Host` header of the back-door fetch.
    pub origin: &'m OriginKey,
    /// Where to fetch the origin from on a miss.
    pub back_door: &'m BackDoor,
    /// Normalised `path[?query]` to ask the origin for; starts with `/`.
    pub path_and_query: String,
}

impl Decoded<'_> {
    /// The origin URL: the back door's scheme, the origin key, the path and query (also a
    /// natural cache key).
    pub fn origin_url(&self) -> String {
        format!(
            "{}://{}{}",
            self.back_door.scheme(),
            self.origin,
            self.path_and_query
        )
    }
}

/// Why the edge refuses a request. No refusal causes an outbound connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Path plus query longer than [`crate::MAX_TARGET_LEN`].
    #[error("request target too long")]
    TooLong,
    /// A path not starting with `/`, holding `#`, or unreadable as a URL path.
    #[error("bad request path")]
    BadPath,
    /// A `Host` header that is not a valid `host[:port]`.
    #[error("bad host header: {0}")]
    BadHost(HostError),
    /// A `Host` this edge does not serve.
    #[error("host not served here")]
    UnknownHost,
    /// Embedded form without a first path segment.
    #[error("no origin host in path")]
    NoOriginSegment,
    /// Embedded (or semantic) origin text that is not a valid host.
    #[error("bad origin host: {0}")]
    BadOrigin(HostError),
    /// A valid origin that the offloader's origin map does not list.
    #[error("origin not allowed for this offloader")]
    OriginNotAllowed,
}

// A hot-path error stays a small `Copy` value.
const _: () = assert!(std::mem::size_of::<Refusal>() <= 2);

impl Refusal {
    /// The HTTP status to answer with: 404 for what is not here, 403 for the rest.
    pub fn status(self) -> u16 {
        match self {
            Self::UnknownHost | Self::NoOriginSegment => 404,
            _ => 403,
        }
    }
}

impl From<PathError> for Refusal {
    fn from(e: PathError) -> Self {
        match e {
            PathError::TooLong => Self::TooLong,
            PathError::Invalid => Self::BadPath,
        }
    }
}

/// `host` with `port` appended when there is one: origin key text.
fn key_text(host: &str, port: Option<u16>) -> Cow<'_, str> {
    match port {
        None => Cow::Borrowed(host),
        Some(port) => Cow::Owned(format!("{host}:{port}")),
    }
}

/// Reads `host[:port]` into canonical host and port, dropping the scheme's default port.
fn read_authority(text: &str, scheme: Scheme) -> Result<(Cow<'_, str>, Option<u16>), HostError> {
    let (host, port) = split_host_port(text)?;
    let host = canonical_host(host)?;
    let port = port.map(parse_port).transpose()?;
    Ok((host, port.filter(|&p| p != scheme.default_port())))
}

impl EdgeMap {
    /// Decides `req`: the offloader, origin, back door and normalised path it asks for,
    /// or why it is refused. Hosts are compared only in canonical form; the path is
    /// normalised like a browser's after the origin segment is cut off, so `..` never
    /// reaches into it.
    pub fn decode(&self, req: &EdgeRequest<'_>) -> Result<Decoded<'_>, Refusal> {
        if req.path.len() + req.query.map_or(0, |q| q.len() + 1) > crate::MAX_TARGET_LEN {
            return Err(Refusal::TooLong);
        }
        if !req.path.starts_with('/') {
            return Err(Refusal::BadPath);
        }
        let (host, port) = read_authority(req.host, req.scheme).map_err(Refusal::BadHost)?;
        let effective_port = port.unwrap_or(req.scheme.default_port());

        if let Some(route) = self.names.get(host.as_ref()) {
            if route.port.is_some_and(|p| p != effective_port) {
                return Err(Refusal::UnknownHost);
            }
            let offloader = self
                .offloaders
                .get(route.offloader)
                .ok_or(Refusal::UnknownHost)?;
            return match &route.target {
                NameTarget::Embedded => decode_embedded(offloader, req),
                NameTarget::Table(key) => {
                    served(offloader, Form::Table, key.as_str(), req.path, req.query)
                }
            };
        }
        let key = key_text(&host, port);
        if let Some(&index) = self.direct.get(key.as_ref()) {
            let offloader = self.offloaders.get(index).ok_or(Refusal::UnknownHost)?;
            return served(offloader, Form::Direct, &key, req.path, req.query);
        }
        for suffix in &self.suffixes {
            let Some(prefix) = host.strip_suffix(&*suffix.dotted) else {
                continue;
            };
            if suffix.port.is_some_and(|p| p != effective_port) {
                continue;
            }
            let origin = canonical_host(prefix).map_err(Refusal::BadOrigin)?;
            if is_ip_literal(&origin) {
                return Err(Refusal::BadOrigin(HostError::Invalid));
            }
            let offloader = self
                .offloaders
                .get(suffix.offloader)
                .ok_or(Refusal::UnknownHost)?;
            return served(offloader, Form::Semantic, &origin, req.path, req.query);
        }
        Err(Refusal::UnknownHost)
    }

    /// The offloader that `host` (a `Host` header) names, by the same routes as
    /// [`decode`](Self::decode): an edge name, a directly served origin or a semantic
    /// suffix, whatever the path. For counting a refused request against the offloader
    /// it came for; `None` for hosts this edge does not serve.
    pub fn offloader_of_host(&self, scheme: Scheme, host: &str) -> Option<&Offloader> {
        let (host, port) = read_authority(host, scheme).ok()?;
        let effective_port = port.unwrap_or(scheme.default_port());
        let port_fits = |wanted: Option<u16>| wanted.is_none_or(|p| p == effective_port);
        let index = match self.names.get(host.as_ref()) {
            Some(route) => port_fits(route.port).then_some(route.offloader)?,
            None => match self.direct.get(key_text(&host, port).as_ref()) {
                Some(&index) => index,
                None => {
                    self.suffixes
                        .iter()
                        .find(|s| host.ends_with(&*s.dotted) && port_fits(s.port))?
                        .offloader
                }
            },
        };
        self.offloaders.get(index)
    }
}

/// Embedded form: the first path segment is the origin; the rest is its path.
fn decode_embedded<'m>(
    offloader: &'m Offloader,
    req: &EdgeRequest<'_>,
) -> Result<Decoded<'m>, Refusal> {
    let after = req.path.strip_prefix('/').ok_or(Refusal::BadPath)?;
    let end = after
        .bytes()
        .position(|b| b == b'/' || b == b'\\')
        .unwrap_or(after.len());
    let (segment, rest) = after.split_at(end);
    if segment.is_empty() {
        return Err(Refusal::NoOriginSegment);
    }
    let (host, port) = read_authority(segment, req.scheme).map_err(Refusal::BadOrigin)?;
    let key = key_text(&host, port);
    served(offloader, Form::Embedded, &key, rest, req.query)
}

/// The answer for origin `key` of `offloader`, if listed, with the normalised path.
fn served<'m>(
    offloader: &'m Offloader,
    form: Form,
    key: &str,
    path: &str,
    query: Option<&str>,
) -> Result<Decoded<'m>, Refusal> {
    let (origin, back_door) = offloader.origin(key).ok_or(Refusal::OriginNotAllowed)?;
    Ok(Decoded {
        offloader,
        form,
        origin,
        back_door,
        path_and_query: normalize(path, query)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge_map::OffloaderSpec;

    fn map() -> EdgeMap {
        let c = OffloaderSpec {
            name: "C".into(),
            embedded_hosts: vec!["foo.cdn-g.example".into(), "bar.cdn-g.example:8090".into()],
            semantic_suffix: Some("c.cdn-g.example".into()),
            table: vec![("xyz.cdn-g.example".into(), "img.xyz.com".into())],
            origins: vec![
                ("img.xyz.com".into(), "http://127.0.0.1:8000".into()),
                ("img.xyz.com:8080".into(), "https://img-real.xyz.com".into()),
            ],
        };
        let d = OffloaderSpec {
            name: "D".into(),
            embedded_hosts: vec!["d.cdn-g.example".into()],
            origins: vec![("img.abc.com".into(), "10.0.0.2:81".into())],
            ..OffloaderSpec::default()
        };
        EdgeMap::new([c, d], &[]).unwrap()
    }

    fn get(
        host: &str,
        path: &str,
        query: Option<&str>,
    ) -> Result<(String, Form, String, String), Refusal> {
        let map = map();
        let req = EdgeRequest {
            scheme: Scheme::Http,
            host,
            path,
            query,
        };
        map.decode(&req).map(|d| {
            (
                d.offloader.name().to_string(),
                d.form,
                d.origin.to_string(),
                d.path_and_query.clone(),
            )
        })
    }

    fn ok(
        off: &str,
        form: Form,
        origin: &str,
        pq: &str,
    ) -> Result<(String, Form, String, String), Refusal> {
        Ok((off.into(), form, origin.into(), pq.into()))
    }

    #[test]
    fn the_four_ways_in() {
        assert_eq!(
            get("foo.cdn-g.example", "/img.xyz.com/pic1.gif", Some("a=1")),
            ok("C", Form::Embedded, "img.xyz.com", "/pic1.gif?a=1")
        );
        assert_eq!(
            get("xyz.cdn-g.example", "/pic1.gif", None),
            ok("C", Form::Table, "img.xyz.com", "/pic1.gif")
        );
        assert_eq!(
            get("img.xyz.com.c.cdn-g.example", "/pic1.gif", None),
            ok("C", Form::Semantic, "img.xyz.com", "/pic1.gif")
        );
        assert_eq!(
            get("img.xyz.com", "/pic1.gif", None),
            ok("C", Form::Direct, "img.xyz.com", "/pic1.gif")
        );
        assert_eq!(
            get("img.xyz.com:8080", "/p", None),
            ok("C", Form::Direct, "img.xyz.com:8080", "/p")
        );
        assert_eq!(
            get("d.cdn-g.example", "/img.abc.com", None),
            ok("D", Form::Embedded, "img.abc.com", "/")
        );
    }

    #[test]
    fn a_host_names_its_offloader_whatever_the_path() {
        let map = map();
        let of = |host: &str| {
            map.offloader_of_host(Scheme::Http, host)
                .map(|o| o.name().to_string())
        };
        for host in [
            "foo.cdn-g.example",
            "FOO.cdn-g.example.",
            "xyz.cdn-g.example",
            "evil.com.c.cdn-g.example",
            "img.xyz.com",
            "img.xyz.com:8080",
            "bar.cdn-g.example:8090",
        ] {
            assert_eq!(of(host).as_deref(), Some("C"), "{host}");
        }
        assert_eq!(of("d.cdn-g.example").as_deref(), Some("D"));
        for host in ["evil.com", "bar.cdn-g.example", "img.xyz.com:81", "a@b", ""] {
            assert_eq!(of(host), None, "{host}");
        }
    }

    #[test]
    fn ports_are_part_of_identity() {
        assert_eq!(
            get("foo.cdn-g.example:8090", "/img.xyz.com:8080/a", None),
            ok("C", Form::Embedded, "img.xyz.com:8080", "/a")
        );
        assert_eq!(
            get("foo.cdn-g.example", "/img.xyz.com:80/a", None),
            ok("C", Form::Embedded, "img.xyz.com", "/a")
        );
        assert_eq!(
            get("foo.cdn-g.example", "/img.xyz.com:8081/a", None),
            Err(Refusal::OriginNotAllowed)
        );
        assert_eq!(
            get("img.xyz.com:8081", "/a", None),
            Err(Refusal::UnknownHost)
        );
        assert_eq!(
            get("bar.cdn-g.example:8090", "/img.xyz.com/a", None),
            ok("C", Form::Embedded, "img.xyz.com", "/a")
        );
        assert_eq!(
            get("bar.cdn-g.example", "/img.xyz.com/a", None),
            Err(Refusal::UnknownHost)
        );
    }

    #[test]
    fn offloaders_cannot_use_each_others_origins() {
        let map = map();
        let req = EdgeRequest {
            scheme: Scheme::Http,
            host: "d.cdn-g.example",
            path: "/img.abc.com/",
            query: None,
        };
        assert_eq!(map.decode(&req).map(|d| d.offloader.index()), Ok(1));
        assert_eq!(
            get("d.cdn-g.example", "/img.xyz.com/a", None),
            Err(Refusal::OriginNotAllowed)
        );
        assert_eq!(
            get("foo.cdn-g.example", "/img.abc.com/a", None),
            Err(Refusal::OriginNotAllowed)
        );
        assert_eq!(
            get("img.abc.com.c.cdn-g.example", "/a", None),
            Err(Refusal::OriginNotAllowed)
        );
    }

    #[test]
    fn origin_url_uses_the_back_door_scheme() {
        let map = map();
        let req = EdgeRequest {
            scheme: Scheme::Https,
            host: "foo.cdn-g.example",
            path: "/img.xyz.com:8080/a",
            query: Some("q"),
        };
        let d = map.decode(&req).unwrap();
        assert_eq!(d.origin_url(), "https://img.xyz.com:8080/a?q");
        assert_eq!(d.back_door.host(), "img-real.xyz.com");
    }

    #[test]
    fn refusal_statuses() {
        assert_eq!(Refusal::UnknownHost.status(), 404);
        assert_eq!(Refusal::NoOriginSegment.status(), 404);
        assert_eq!(Refusal::OriginNotAllowed.status(), 403);
        assert_eq!(Refusal::BadHost(HostError::Empty).status(), 403);
    }
}
