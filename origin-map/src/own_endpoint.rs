//! Whether a host and port are this edge itself, so that no origin or back door is.
//!
//! Spec §5: "the edge never fetches from its own names or any CDN name", and "the port is
//! part of the origin's identity". The rule differs for names and addresses, on purpose:
//!
//! - A DNS name of the edge (an embedded or table host, a name under a semantic suffix,
//!   an own name) is the edge at every port. A CDN's name points at CDN servers, which
//!   are never an origin's back door whatever the port, and decode serves a name given
//!   without a port on any port the edge listens on.
//! - An IP address is one machine with many services (the edge on 8090, the origin on
//!   8000), so it is the edge only at a port the edge answers on there: the port written
//!   with it (a listen address, `127.0.0.1:8090`), or the default ports 80 and 443 for an
//!   address written without one (what a client of `http://10.0.0.5/` connects to).
//! - An unspecified listen address (`0.0.0.0`, `[::]`) is every local address; with no
//!   I/O only loopback addresses (and `localhost`) are known to be local, so those are
//!   the ones it catches. `localhost`, `*.localhost` and an unspecified target reach
//!   every loopback or unspecified address of the edge.

use std::net::IpAddr;

/// Where a connection to a canonical host would land, as far as text can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// A DNS name.
    Name(&'a str),
    /// One IP address (IPv4-mapped IPv6 as IPv4).
    Ip(IpAddr),
    /// This machine, by some loopback address: `localhost` or `0.0.0.0`.
    Local,
}

impl<'a> Target<'a> {
    /// Reads canonical host text (IPv6 in brackets).
    pub(crate) fn of(host: &'a str) -> Self {
        match ip_of(host) {
            Some(ip) if ip.is_unspecified() => Self::Local,
            Some(ip) => Self::Ip(ip),
            None if host == "localhost" || host.ends_with(".localhost") => Self::Local,
            None => Self::Name(host),
        }
    }
}

/// The address of canonical host text, IPv6 in brackets; IPv4-mapped IPv6 as IPv4.
fn ip_of(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// An IP address the edge answers on: at `port`, or at 80 and 443 when `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EdgeAddress {
    pub(crate) ip: IpAddr,
    pub(crate) port: Option<u16>,
}

impl EdgeAddress {
    /// The address of canonical `host` with `port`, when the host is an IP literal.
    pub(crate) fn of(host: &str, port: Option<u16>) -> Option<Self> {
        ip_of(host).map(|ip| Self { ip, port })
    }

    /// True when a connection to `target` at `port` reaches this address.
    pub(crate) fn reaches(&self, target: Target<'_>, port: u16) -> bool {
        let port_matches = match self.port {
            Some(own) => own == port,
            None => port == 80 || port == 443,
        };
        let local = |ip: IpAddr| ip.is_loopback() || ip.is_unspecified();
        port_matches
            && match target {
                Target::Name(_) => false,
                Target::Ip(ip) => self.ip == ip || (self.ip.is_unspecified() && ip.is_loopback()),
                Target::Local => local(self.ip),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(host: &str, port: Option<u16>) -> EdgeAddress {
        EdgeAddress::of(host, port).unwrap()
    }

    #[test]
    fn hosts_are_read_as_names_addresses_or_this_machine() {
        assert_eq!(Target::of("img.xyz.com"), Target::Name("img.xyz.com"));
        assert_eq!(
            Target::of("[::ffff:7f00:1]"),
            Target::Ip("127.0.0.1".parse().unwrap())
        );
        for local in ["localhost", "a.localhost", "0.0.0.0", "[::]"] {
            assert_eq!(Target::of(local), Target::Local, "{local}");
        }
        assert_eq!(EdgeAddress::of("img.xyz.com", Some(80)), None);
    }

    #[test]
    fn an_address_with_a_port_is_the_edge_only_at_that_port() {
        let listen = addr("127.0.0.1", Some(8090));
        let ip = Target::of("127.0.0.1");
        assert!(listen.reaches(ip, 8090));
        assert!(!listen.reaches(ip, 8000));
        assert!(!listen.reaches(ip, 80));
        assert!(!listen.reaches(Target::of("127.0.0.2"), 8090));
        assert!(listen.reaches(Target::of("localhost"), 8090));
        assert!(listen.reaches(Target::of("[::ffff:127.0.0.1]"), 8090));
        assert!(!listen.reaches(Target::of("foo.example"), 8090));
    }

    #[test]
    fn an_address_without_a_port_is_the_edge_at_the_default_ports() {
        let name = addr("10.0.0.5", None);
        let ip = Target::of("10.0.0.5");
        assert!(name.reaches(ip, 80));
        assert!(name.reaches(ip, 443));
        assert!(!name.reaches(ip, 8000));
        assert!(!name.reaches(Target::Local, 80));
    }

    #[test]
    fn an_unspecified_listen_address_is_every_loopback_address() {
        let any = addr("0.0.0.0", Some(8090));
        assert!(any.reaches(Target::of("127.0.0.1"), 8090));
        assert!(any.reaches(Target::of("[::1]"), 8090));
        assert!(any.reaches(Target::of("localhost"), 8090));
        assert!(!any.reaches(Target::of("127.0.0.1"), 8000));
        assert!(!any.reaches(Target::of("192.0.2.1"), 8090), "unknowable");
    }
}
