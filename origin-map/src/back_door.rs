//! Where the edge fetches an origin from on a cache miss, never through the offloader.

use std::fmt;

use url::Url;

use crate::host::{HostError, canonical_host, parse_port, split_host_port};
use crate::scheme::Scheme;

/// Why a back-door entry is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackDoorError {
    /// A scheme other than `http` or `https`.
    #[error("back door scheme must be http or https")]
    Scheme,
    /// `url` could not parse `scheme://...`.
    #[error("back door is not a valid URL")]
    Url,
    /// User name or password in the URL.
    #[error("back door has user info")]
    UserInfo,
    /// A path other than `/`, a query or a fragment: a back door is a server, not a page.
    #[error("back door has a path, query or fragment")]
    NotServer,
    /// Bad host or port.
    #[error("back door host: {0}")]
    Host(#[from] HostError),
}

/// A back door: `http(s)://host[:port]`, or `host:port` / bare `host` meaning `http`.
///
/// Spec §5: "another host name (`img.xyz.com -> img-real.xyz.com`) or a fixed address
/// (`img.xyz.com -> 203.0.113.7:80`)". The fetch keeps the origin's `Host` header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BackDoor {
    scheme: Scheme,
    host: Box<str>,
    port: u16,
}

impl BackDoor {
    /// Reads a back-door entry, e.g. `http://127.0.0.1:8000` or `203.0.113.7:80`.
    pub fn parse(input: &str) -> Result<Self, BackDoorError> {
        match input.split_once("://") {
            Some((scheme, _)) => {
                let scheme = Scheme::from_name(scheme).ok_or(BackDoorError::Scheme)?;
                Self::parse_url(input, scheme)
            }
            None => {
                let (host, port) = split_host_port(input)?;
                let port = port.map(parse_port).transpose()?;
                Ok(Self {
                    scheme: Scheme::Http,
                    host: canonical_host(host)?.into(),
                    port: port.unwrap_or(Scheme::Http.default_port()),
                })
            }
        }
    }

    fn parse_url(input: &str, scheme: Scheme) -> Result<Self, BackDoorError> {
        let url = Url::parse(input).map_err(|_| BackDoorError::Url)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BackDoorError::UserInfo);
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(BackDoorError::NotServer);
        }
        let host = url.host_str().ok_or(HostError::Empty)?;
        Ok(Self {
            scheme,
            host: canonical_host(host)?.into(),
            port: url.port().unwrap_or(scheme.default_port()),
        })
    }

    /// `http` or `https`: how the edge talks to the origin.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Canonical host to connect to (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port to connect to (the scheme's default filled in).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for BackDoor {
    /// `scheme://host:port`, port always written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bd(s: &str) -> Result<(Scheme, String, u16), BackDoorError> {
        BackDoor::parse(s).map(|b| (b.scheme(), b.host().to_owned(), b.port()))
    }

    #[test]
    fn url_forms() {
        assert_eq!(
            bd("http://127.0.0.1:8000"),
            Ok((Scheme::Http, "127.0.0.1".into(), 8000))
        );
        assert_eq!(
            bd("HTTPS://Img-Real.xyz.com/"),
            Ok((Scheme::Https, "img-real.xyz.com".into(), 443))
        );
        assert_eq!(
            bd("http://[::1]:81"),
            Ok((Scheme::Http, "[::1]".into(), 81))
        );
        assert_eq!(
            BackDoor::parse("https://a.b:8443").unwrap().to_string(),
            "https://a.b:8443"
        );
    }

    #[test]
    fn address_forms() {
        assert_eq!(
            bd("203.0.113.7:80"),
            Ok((Scheme::Http, "203.0.113.7".into(), 80))
        );
        assert_eq!(
            bd("img-real.xyz.com"),
            Ok((Scheme::Http, "img-real.xyz.com".into(), 80))
        );
    }

    #[test]
    fn non_servers_are_refused() {
        assert_eq!(bd("ftp://a.b"), Err(BackDoorError::Scheme));
        assert_eq!(bd("http://u:p@a.b"), Err(BackDoorError::UserInfo));
        assert_eq!(bd("http://a.b/x"), Err(BackDoorError::NotServer));
        assert_eq!(bd("http://a.b/?q"), Err(BackDoorError::NotServer));
        assert_eq!(bd("http://"), Err(BackDoorError::Url));
        assert_eq!(bd("a.b:0"), Err(BackDoorError::Host(HostError::BadPort)));
        assert_eq!(bd(""), Err(BackDoorError::Host(HostError::Empty)));
    }
}
