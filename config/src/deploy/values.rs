//! Value types of the deployment file that are more than a string: origin hosts, HTTP
//! URLs, secrets and TLS file pairs. Each parses from the text written in the TOML and
//! prints it back.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use crate::name::DnsName;

/// A host as a client names it in a URL, with its port when not the scheme's default:
/// `img.xyz.com` or `img.xyz.com:8080`. Origin hosts and partner hosts are written so
/// (spec §5: the port is part of the origin's identity).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostPort {
    /// The host name, canonical (lower-case).
    pub host: DnsName,
    /// The port, when one is written.
    pub port: Option<u16>,
}

impl HostPort {
    /// Parses `host` or `host:port`.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let (host, port) = match s.rsplit_once(':') {
            Some((host, port)) => (host, Some(parse_port(port)?)),
            None => (s, None),
        };
        Ok(Self {
            host: DnsName::new(host)?,
            port,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.host.as_str())?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

fn parse_port(s: &str) -> Result<u16, &'static str> {
    const BAD: &str = "a port is a number from 1 to 65535";
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD);
    }
    match s.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(BAD),
    }
}

/// `http` or `https`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP, default port 80.
    Http,
    /// HTTP over TLS, default port 443.
    Https,
}

impl Scheme {
    /// The port used when a URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// The host part of a URL: a DNS name or an address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UrlHost {
    /// A DNS name, canonical.
    Name(DnsName),
    /// An IPv4 or IPv6 address (IPv6 written in brackets).
    Ip(IpAddr),
}

impl UrlHost {
    /// A host written alone: an IPv4 or IPv6 address (brackets optional) or a DNS name.
    pub fn parse_bare(s: &str) -> Result<Self, &'static str> {
        let unbracketed = s
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(s);
        match unbracketed.parse::<IpAddr>() {
            Ok(ip) => Ok(Self::Ip(ip)),
            Err(_) => Ok(Self::Name(DnsName::new(s)?)),
        }
    }
}

impl fmt::Display for UrlHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name.as_str()),
            Self::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Self::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
        }
    }
}

/// An `http://` or `https://` URL without user info, query or fragment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpUrl {
    /// The scheme.
    pub scheme: Scheme,
    /// The host.
    pub host: UrlHost,
    /// The port, when written.
    pub port: Option<u16>,
    /// The path as written, starting with `/`, or empty.
    pub path: String,
}

impl HttpUrl {
    /// Parses an absolute `http(s)://host[:port][/path]` URL.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or("expected an http:// or https:// URL")?;
        let scheme = if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else {
            return Err("expected an http:// or https:// URL");
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        if path.contains(['?', '#']) {
            return Err("a URL here has no query or fragment");
        }
        if !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a URL path has only visible ASCII characters");
        }
        if authority.contains('@') {
            return Err("a URL here has no user name");
        }
        let (host, port) = split_host_port(authority)?;
        Ok(Self {
            scheme,
            host,
            port: port.map(parse_port).transpose()?,
            path: path.to_owned(),
        })
    }

    /// The port to connect to: the written one or the scheme's default.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or_else(|| self.scheme.default_port())
    }
}

fn split_host_port(authority: &str) -> Result<(UrlHost, Option<&str>), &'static str> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (ip, after) = bracketed
            .split_once(']')
            .ok_or("an IPv6 host ends with `]`")?;
        let ip: Ipv6Addr = ip.parse().map_err(|_| "not an IPv6 address")?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("expected `:` after `]`")?),
        };
        return Ok((UrlHost::Ip(IpAddr::V6(ip)), port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host = match host.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => UrlHost::Ip(IpAddr::V4(ip)),
        Err(_) => UrlHost::Name(DnsName::new(host)?),
    };
    Ok((host, port))
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        f.write_str(&self.path)
    }
}

/// A shared secret (management token, partner bearer token): 1 to 256 visible ASCII
/// characters. `Debug` does not show it, so it never lands in a log by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

impl Token {
    /// Checks `s` against the token syntax.
    pub fn new(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() || s.len() > 256 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a token has 1 to 256 visible ASCII characters, no blanks");
        }
        Ok(Self(s.to_owned()))
    }

    /// The secret itself, for comparing with what a peer presents.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when a peer presented this token; takes the same time wherever the bytes
    /// differ (a timing side channel would reveal the prefix that matched).
    pub fn matches(&self, presented: &[u8]) -> bool {
        let mine = self.0.as_bytes();
        mine.len() == presented.len()
            && mine
                .iter()
                .zip(presented)
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

/// A certificate chain and its private key, PEM files (paths resolved against the
/// deployment file's folder).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_keeps_its_port() {
        let h = HostPort::parse("IMG.xyz.com:8080").unwrap();
        assert_eq!(h.to_string(), "img.xyz.com:8080");
        assert_eq!(HostPort::parse("img.xyz.com").unwrap().port, None);
        assert!(HostPort::parse("img.xyz.com:0").is_err());
        assert!(HostPort::parse("img.xyz.com:+80").is_err());
        assert!(HostPort::parse("img xyz").is_err());
    }

    #[test]
    fn urls_parse_and_print() {
        for s in [
            "http://127.0.0.1:8000",
            "https://[::1]:9443/alert",
            "https://img-real.xyz.com",
            "http://a.example/",
        ] {
            assert_eq!(HttpUrl::parse(s).unwrap().to_string(), s);
        }
        let u = HttpUrl::parse("HTTPS://Example.COM/x").unwrap();
        assert_eq!(u.to_string(), "https://example.com/x");
        assert_eq!(u.port_or_default(), 443);
    }

    #[test]
    fn bad_urls_say_why() {
        let e = |s| HttpUrl::parse(s).unwrap_err();
        assert_eq!(e("ftp://a.example"), "expected an http:// or https:// URL");
        assert_eq!(e("a.example"), "expected an http:// or https:// URL");
        assert_eq!(e("http://u@a.example"), "a URL here has no user name");
        assert_eq!(
            e("http://a.example/?q"),
            "a URL here has no query or fragment"
        );
        assert_eq!(
            e("http://a.example:99999"),
            "a port is a number from 1 to 65535"
        );
        assert_eq!(e("http://[::1"), "an IPv6 host ends with `]`");
    }

    #[test]
    fn tokens_hide_in_debug() {
        let t = Token::new("s3cret").unwrap();
        assert_eq!(format!("{t:?}"), "Token(..)");
        assert_eq!(t.expose(), "s3cret");
        assert!(Token::new("has space").is_err());
        assert!(Token::new("").is_err());
    }
}
