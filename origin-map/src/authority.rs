//! `host[:port]` in canonical text: the shared core of origin keys and partner hosts.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::host::{HostError, canonical_host, is_ip_literal, parse_port, split_host_port};

/// Canonical `host` or `host:port`; identity is the text (so maps can be searched with
/// a borrowed `&str`).
#[derive(Clone, Debug)]
pub(crate) struct Authority {
    text: Box<str>,
    host_len: usize,
    port: Option<u16>,
}

impl Authority {
    /// Reads `host[:port]`, canonicalising the host.
    pub(crate) fn parse(input: &str) -> Result<Self, HostError> {
        let (host, port) = split_host_port(input)?;
        let host = canonical_host(host)?;
        let port = port.map(parse_port).transpose()?;
        Ok(Self::from_canonical(&host, port))
    }

    /// Builds from an already canonical host.
    pub(crate) fn from_canonical(host: &str, port: Option<u16>) -> Self {
        let text = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Self {
            text: text.into_boxed_str(),
            host_len: host.len(),
            port,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn host(&self) -> &str {
        &self.text[..self.host_len]
    }

    pub(crate) fn port(&self) -> Option<u16> {
        self.port
    }

    pub(crate) fn is_ip(&self) -> bool {
        is_ip_literal(self.host())
    }
}

impl PartialEq for Authority {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Authority {}

impl Hash for Authority {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Borrow<str> for Authority {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_canonical_host_then_port() {
        let a = Authority::parse("IMG.xyz.com.:08080").unwrap();
        assert_eq!(a.as_str(), "img.xyz.com:8080");
        assert_eq!(a.host(), "img.xyz.com");
        assert_eq!(a.port(), Some(8080));
        assert!(!a.is_ip());
        let b = Authority::parse("[::1]:8000").unwrap();
        assert_eq!((b.host(), b.port()), ("[::1]", Some(8000)));
        assert!(b.is_ip());
        assert!(Authority::parse("127.1").unwrap().is_ip());
    }

    #[test]
    fn bad_ports_are_refused() {
        assert_eq!(Authority::parse("a.b:"), Err(HostError::BadPort));
        assert_eq!(Authority::parse("a.b:x"), Err(HostError::BadPort));
        assert_eq!(Authority::parse("a.b:1:2"), Err(HostError::BadPort));
    }
}
