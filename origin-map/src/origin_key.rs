//! The identity of an origin server: canonical host plus optional port.

use std::borrow::Borrow;
use std::fmt;

use crate::authority::Authority;
use crate::host::HostError;

/// An origin host key: `img.xyz.com` or `img.xyz.com:8080`, canonical (lower-case,
/// punycode, no trailing dot, IP literals in `url`'s form).
///
/// The port is part of the identity: `img.xyz.com` and `img.xyz.com:8080` are two
/// origins. A key never carries port 80 or 443: the host alone means "the scheme's
/// default port", so `http://img.xyz.com:80/` and `https://img.xyz.com:443/` both have the
/// key `img.xyz.com`. Equality and hashing are on [`OriginKey::as_str`], so a map keyed by
/// origin keys can be searched with a `&str`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OriginKey(Authority);

impl OriginKey {
    /// Reads `host[:port]`, as written in `origins`, `offload` and `table` entries.
    pub fn parse(input: &str) -> Result<Self, HostError> {
        let authority = Authority::parse(input)?;
        if matches!(authority.port(), Some(80 | 443)) {
            return Err(HostError::DefaultPort);
        }
        Ok(Self(authority))
    }

    /// The canonical text, `host` or `host:port`; also the `Host` header for the origin.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The canonical host without the port.
    pub fn host(&self) -> &str {
        self.0.host()
    }

    /// The port, when the key names one.
    pub fn port(&self) -> Option<u16> {
        self.0.port()
    }

    /// True when the host is an IPv4 or IPv6 literal.
    pub fn is_ip(&self) -> bool {
        self.0.is_ip()
    }
}

impl Borrow<str> for OriginKey {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for OriginKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_text_is_canonical() {
        assert_eq!(
            OriginKey::parse("Img.XYZ.com.").unwrap().as_str(),
            "img.xyz.com"
        );
        let k = OriginKey::parse("img.xyz.com:8080").unwrap();
        assert_eq!((k.host(), k.port()), ("img.xyz.com", Some(8080)));
        assert_eq!(
            OriginKey::parse("127.1:8000").unwrap().as_str(),
            "127.0.0.1:8000"
        );
    }

    #[test]
    fn default_ports_are_refused_in_keys() {
        assert_eq!(
            OriginKey::parse("img.xyz.com:80"),
            Err(HostError::DefaultPort)
        );
        assert_eq!(
            OriginKey::parse("img.xyz.com:443"),
            Err(HostError::DefaultPort)
        );
    }

    #[test]
    fn port_is_part_of_identity() {
        let plain = OriginKey::parse("img.xyz.com").unwrap();
        let ported = OriginKey::parse("img.xyz.com:8080").unwrap();
        assert_ne!(plain, ported);
    }
}
